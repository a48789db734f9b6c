package scaffold_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/jig-dev/jig/scaffold"
)

// answer runs a wizard's form in huh's accessible mode (line prompts), with
// one answer per line, and returns what it printed. The reader hands out
// one byte at a time because each prompt reads the input afresh.
func answer(t *testing.T, w *scaffold.Wizard, lines ...string) string {
	t.Helper()
	var out bytes.Buffer
	in := iotest.OneByteReader(strings.NewReader(strings.Join(lines, "\n") + "\n"))
	if err := w.Form().WithAccessible(true).WithInput(in).WithOutput(&out).Run(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestWizardAnswers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "counter")
	w := scaffold.NewWizard(scaffold.Options{NoTidy: true, Module: "example.org/c"})
	out := answer(t, w,
		"counter", // not CamelCase: asked again
		"Counter",
		dir,
		"Counts greetings.",
		"y",         // stateful
		"/remember", // taken by the write endpoint: asked again
		"/hello, /bye",
		"3", // Dockerfile: none
	)
	for _, s := range []string{"Executor name", "must start with a capital letter", "Folder", "Stateful?", "write endpoint of a stateful executor", "Dockerfile"} {
		if !strings.Contains(out, s) {
			t.Errorf("the form did not say %q:\n%s", s, out)
		}
	}
	o, err := w.Options()
	if err != nil {
		t.Fatal(err)
	}
	want := scaffold.Options{
		Name: "Counter", Path: dir, Description: "Counts greetings.", Endpoints: []string{"/hello", "/bye"},
		Stateful: true, Dockerfile: scaffold.DockerNone, Module: "example.org/c", NoTidy: true,
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got %+v\nwant %+v", o, want)
	}
}

func TestWizardDefaultsFromFlags(t *testing.T) {
	t.Chdir(t.TempDir())
	flags := scaffold.Options{Name: "Greeter", Endpoints: []string{"/hi"}, Stateful: true, Dockerfile: scaffold.DockerGPU}
	w := scaffold.NewWizard(flags)
	answer(t, w, "", "", "", "", "", "") // enter everywhere
	o, err := w.Options()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if o.Name != "Greeter" || o.Path != filepath.Join(wd, "greeter") || !o.Stateful || o.Dockerfile != scaffold.DockerGPU ||
		!reflect.DeepEqual(o.Endpoints, []string{"/hi"}) || o.Description == "" {
		t.Errorf("got %+v", o)
	}
	// Each form starts again from the defaults.
	answer(t, w, "Other", "", "", "n", "", "1")
	if o, _ := w.Options(); o.Name != "Other" || o.Stateful || o.Dockerfile != scaffold.DockerCPU || o.Path != filepath.Join(wd, "other") {
		t.Errorf("second run: %+v", o)
	}
	answer(t, w)
	if o, _ := w.Options(); o.Name != "Greeter" {
		t.Errorf("third run kept the second's answers: %+v", o)
	}
}

func TestWizardRefusesNonEmptyFolder(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	free := filepath.Join(t.TempDir(), "free")
	w := scaffold.NewWizard(scaffold.Options{})
	out := answer(t, w, "Greeter", full, free, "", "", "", "")
	if !strings.Contains(out, "is not empty") {
		t.Errorf("no complaint about %s:\n%s", full, out)
	}
	if o, err := w.Options(); err != nil || o.Path != free {
		t.Errorf("got %+v, %v", o, err)
	}
	// With Force the same folder is accepted.
	w = scaffold.NewWizard(scaffold.Options{Force: true})
	answer(t, w, "Greeter", full, "", "", "", "")
	if o, err := w.Options(); err != nil || o.Path != full || !o.Force {
		t.Errorf("force: %+v, %v", o, err)
	}
}
