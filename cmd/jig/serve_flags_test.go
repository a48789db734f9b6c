package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDefaultServeName: a served or exported executor is named after its
// metas.name, its folder, or its file without the extension, never
// "req-yml".
func TestDefaultServeName(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) string {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string]string{
		write("req.yml", "jtype: Echo\n"):                          "req",
		write("enc.yaml", "jtype: Echo\nmetas: {name: Encoder}\n"): "encoder",
		write("My_Exec/config.yml", "jtype: Echo\n"):               "my_exec",
		filepath.Join(dir, "My_Exec"):                              "my_exec",
		"builtin:TextNormalizer":                                   "textnormalizer",
	}
	for uses, want := range cases {
		if got := defaultServeName(uses); got != want {
			t.Errorf("%s: name %q, want %q", uses, got, want)
		}
		f, err := serveFlow(serveSpec{uses: uses, replicas: 1, shards: 1})
		if err != nil {
			t.Fatal(err)
		}
		if f.Deployments[0].Name != want {
			t.Errorf("%s: deployment %q, want %q", uses, f.Deployments[0].Name, want)
		}
	}
}

// TestServeOverrideFlags: --uses-metas, --uses-requests and
// --uses-dynamic-batching reach the deployment; bad values name the flag
// (exit 2).
func TestServeOverrideFlags(t *testing.T) {
	f, err := serveFlow(serveSpec{uses: "builtin:Echo", replicas: 1, shards: 1,
		usesMetas: `{name: e2}`, usesRequests: `{/hi: Echo}`, usesDynamicBatching: `{/hi: {preferred_batch_size: 4, timeout: 50}}`})
	if err != nil {
		t.Fatal(err)
	}
	d := f.Deployments[0]
	if d.UsesMetas == nil || d.UsesMetas.File != "--uses-metas" || d.UsesRequests["/hi"] != "Echo" || d.UsesRequestsAt.File != "--uses-requests" ||
		d.UsesDynamicBatching["/hi"].PreferredBatchSize != 4 {
		t.Fatalf("deployment %+v", d)
	}
	for _, c := range []struct{ args []string }{
		{[]string{"serve", "builtin:Echo", "--uses-metas", "{nme: x}"}},
		{[]string{"serve", "builtin:Echo", "--uses-requests", "[1]"}},
		{[]string{"serve", "builtin:Echo", "--uses-dynamic-batching", "{/x: {size: 2}}"}},
	} {
		_, errOut, code := runJig(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.args[2]) {
			t.Errorf("%v: exit %d, %s", c.args, code, errOut)
		}
	}
}

// TestExportErrorsSayExport: errors of `jig export` name that command.
func TestExportErrorsSayExport(t *testing.T) {
	_, errOut, code := runJig(t, "export", "kubernetes", filepath.Join(t.TempDir(), "nope"), filepath.Join(t.TempDir(), "out"))
	if code != 2 || !strings.Contains(errOut, "jig export kubernetes") || strings.Contains(errOut, "jig serve") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
