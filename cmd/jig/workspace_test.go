package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNamesStayInsideWorkspace: a metas.name (inline, in an executor
// YAML, or in uses_metas) or a flow name holding ".." or a separator is
// bad input naming its file, line and field, and nothing is created
// outside the flow's workspace.
func TestNamesStayInsideWorkspace(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"inline metas.name", map[string]string{
			"flow.yml": "with: {workspace: ws}\nexecutors:\n  - {name: a, uses: {jtype: SimpleIndexer, metas: {name: ../../escaped}}}\n"},
			`flow.yml:3:58: metas.name: "../../escaped" must not contain a path separator (it names a folder)`},
		{"executor YAML metas.name", map[string]string{
			"flow.yml": "with: {workspace: ws}\nexecutors:\n  - {name: a, uses: idx.yml}\n",
			"idx.yml":  "jtype: SimpleIndexer\nmetas:\n  name: ..\n"},
			`DIR/idx.yml:3:9: metas.name: ".." must not contain ".." (it names a folder)`},
		{"uses_metas name", map[string]string{
			"flow.yml": "with: {workspace: ws}\nexecutors:\n  - {name: a, uses: builtin:SimpleIndexer, uses_metas: {name: ../escaped}}\n"},
			`executors[0].uses_metas.name: "../escaped" must not contain a path separator (it names a folder)`},
		{"flow name", map[string]string{
			"flow.yml": "name: ../escaped\nexecutors:\n  - {name: a, uses: builtin:SimpleIndexer, stateful: true}\n"},
			`flow.yml:1:7: name: "../escaped" must not contain a path separator (it names a folder)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "a", "b")
			for name, content := range c.files {
				if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			p := startJig(t, dir, []string{"XDG_CACHE_HOME=" + filepath.Join(dir, "cache")}, "up", "flow.yml", "--headless")
			code := p.wait(t)
			if code != 2 {
				t.Fatalf("exit code %d, want 2\n%s", code, p.out)
			}
			if want := strings.ReplaceAll(c.want, "DIR", dir); !strings.Contains(p.out.String(), want) {
				t.Fatalf("output\n  %s\nwant it to contain\n  %s", p.out, want)
			}
			// Nothing but the flow's own files (and its workspace) exists
			// anywhere under root.
			filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.Contains(filepath.Base(p), "escaped") {
					t.Errorf("created %s outside the workspace", p)
				}
				return nil
			})
		})
	}
}
