package scaffold_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/jig-dev/jig/scaffold"
)

func TestValidateName(t *testing.T) {
	for _, name := range []string{"Greeter", "TextCleaner", "HTTPProxy", "V2", "A"} {
		if err := scaffold.ValidateName(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, want := range map[string]string{
		"":                      "missing",
		"greeter":               "capital letter (CamelCase, e.g. Greeter)",
		"text_cleaner":          "e.g. TextCleaner",
		"Text-Cleaner":          "not CamelCase",
		"Grüßer":                "not CamelCase",
		"2Fast":                 "not CamelCase",
		"Greeter Bot":           "not CamelCase",
		"TestMain":              "already a name in the generated package",
		strings.Repeat("A", 64): "longer than 63",
	} {
		err := scaffold.ValidateName(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", name, err, want)
		}
	}
}

func TestKebabAndMethodNames(t *testing.T) {
	for in, want := range map[string]string{
		"Greeter": "greeter", "TextCleaner": "text-cleaner", "HTTPProxy": "http-proxy",
		"MyExecutor": "my-executor", "V1Search": "v1-search", "A": "a",
	} {
		if got := scaffold.Kebab(in); got != want {
			t.Errorf("Kebab(%s) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"/hello": "Hello", "/find-similar": "FindSimilar", "/v1/search": "V1Search", "/a_b": "AB",
	} {
		if got := scaffold.MethodName(in); got != want {
			t.Errorf("MethodName(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestParseEndpoints(t *testing.T) {
	got, err := scaffold.ParseEndpoints(" /hello, /bye /default,/hello ", false)
	if err != nil || !slices.Equal(got, []string{"/hello", "/bye"}) {
		t.Errorf("got %q, %v", got, err)
	}
	if got, err := scaffold.ParseEndpoints("", true); err != nil || len(got) != 0 {
		t.Errorf("empty: %q, %v", got, err)
	}
	if got, err := scaffold.ParseEndpoints("/remember", false); err != nil || !slices.Equal(got, []string{"/remember"}) {
		t.Errorf("/remember without state: %q, %v", got, err)
	}
	for in, want := range map[string]string{
		"hello":       "want /name",
		"/1st":        "want /name",
		"/a b":        "want /name", // split into /a and "b"
		"/héllo":      "want /name",
		"/remember":   "write endpoint of a stateful executor",
		"/init":       "would be the method Init",
		"/logger":     "would be the method Logger",
		"/a-b,/a_b":   "would both be the method AB",
		"/x/":         "want /name",
		"/greet":      "would be the method Greet",
		"/v1/Search/": "want /name",
	} {
		_, err := scaffold.ParseEndpoints(in, true)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Chdir(t.TempDir())
	o, err := scaffold.Options{}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if o.Name != scaffold.DefaultName || o.Path != filepath.Join(wd, "my-executor") || o.Dockerfile != scaffold.DockerCPU ||
		o.Module != "example.com/my-executor" || o.Description == "" {
		t.Errorf("defaults: %+v", o)
	}
	for _, c := range []struct {
		o    scaffold.Options
		want string
	}{
		{scaffold.Options{Name: "greeter"}, "--name: "},
		{scaffold.Options{Endpoints: []string{"nope"}}, "--endpoints: "},
		{scaffold.Options{Dockerfile: "tpu"}, `--dockerfile: want cpu, gpu or none, got "tpu"`},
		{scaffold.Options{Description: "two\nlines"}, "--description: must be one line"},
		{scaffold.Options{Module: "not a module"}, "--module: "},
		{scaffold.Options{Module: "a/../b"}, "--module: "},
	} {
		_, err := c.o.Normalize()
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, yamlutil.ErrBadInput) {
			t.Errorf("%+v: got %v, want bad input %q", c.o, err, c.want)
		}
	}
}

func TestFindJigRoot(t *testing.T) {
	root := jigRoot(t)
	t.Setenv(scaffold.RootEnv, "")
	got, err := scaffold.FindJigRoot("")
	if err != nil || got != root {
		t.Errorf("from the source: %s, %v; want %s", got, err, root)
	}
	if got, err := scaffold.FindJigRoot(root + "/./scaffold/.."); err != nil || got != root {
		t.Errorf("explicit: %s, %v", got, err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{other, filepath.Join(other, "missing")} {
		if _, err := scaffold.FindJigRoot(dir); err == nil || !errors.Is(err, yamlutil.ErrBadInput) || !strings.Contains(err.Error(), "--jig-path") {
			t.Errorf("%s: %v", dir, err)
		}
	}
	t.Setenv(scaffold.RootEnv, other)
	if _, err := scaffold.FindJigRoot(""); err == nil || !strings.Contains(err.Error(), "$JIG_ROOT") || !strings.Contains(err.Error(), "not a jig checkout") {
		t.Errorf("bad $JIG_ROOT: %v", err)
	}
	// A copy of jig elsewhere: a quoted module line counts too.
	copyRoot := t.TempDir()
	if err := os.WriteFile(filepath.Join(copyRoot, "go.mod"), []byte("// a fork\nmodule \"github.com/jig-dev/jig\" // comment\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(scaffold.RootEnv, copyRoot)
	if got, err := scaffold.FindJigRoot(""); err != nil || got != copyRoot {
		t.Errorf("$JIG_ROOT: %s, %v", got, err)
	}
}

// jigRoot is the checkout under test: the parent of this package's folder.
func jigRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}
