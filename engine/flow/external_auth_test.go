package flow_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jig-dev/jig/internal/yamlutil"
)

// TestExternalAuthTokenKeys: an external deployment's token comes from
// auth_token or from auth_token_file (first line, trimmed); the keys are
// for external deployments only, not both at once, and a missing or
// empty file is bad input whose message never quotes the file's content.
func TestExternalAuthTokenKeys(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "tok")
	os.WriteFile(tok, []byte("s3cret-value\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte(" \n"), 0o600)

	f, err := parse(t, "executors:\n  - {name: a, external: true, host: h:1, auth_token_file: "+tok+"}\n  - {name: b, external: true, host: h:2, auth_token: t2}\n  - {name: c, external: true, host: h:3}\n")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "s3cret-value", "b": "t2", "c": ""} {
		if got := f.Deployment(name).AuthToken; got != want {
			t.Fatalf("%s: token %q, want %q", name, got, want)
		}
	}
	cases := []struct{ name, yml, want string }{
		{"not external", "executors:\n  - {name: a, uses: builtin:FlowNop, auth_token: x}\n", "executors[0].auth_token: only external executors take auth_token"},
		{"both", "executors:\n  - {name: a, external: true, host: h:1, auth_token: x, auth_token_file: " + tok + "}\n", "not both"},
		{"missing", "executors:\n  - {name: a, external: true, host: h:1, auth_token_file: " + filepath.Join(dir, "nope") + "}\n", "executors[0].auth_token_file: read the token file"},
		{"empty", "executors:\n  - {name: a, external: true, host: h:1, auth_token_file: " + empty + "}\n", "is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(t, c.yml)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret-value") {
				t.Fatalf("got %v\nwant it to contain %q", err, c.want)
			}
			if !errors.Is(err, yamlutil.ErrBadInput) {
				t.Fatalf("not a bad-input error: %v", err)
			}
		})
	}
}
