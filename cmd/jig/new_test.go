package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runNew runs `jig new args...` in-process with stdin not a terminal.
func runNew(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runJig(t, append([]string{"new"}, args...)...)
}

func TestNewYes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "greeter")
	out, errOut, code := runNew(t, "--yes", "--name", "Greeter", "--path", dir, "--stateful", "--endpoints", "/hello,/bye", "--dockerfile", "gpu", "--no-tidy")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, s := range []string{"Created executor Greeter in " + dir, "executor_test.go", "Dockerfile", "go test ./...", "jig serve"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	src, err := os.ReadFile(filepath.Join(dir, "executor.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`executors.On(r, "/hello", g.Hello)`, `executors.On(r, "/bye", g.Bye)`, `executors.Write(r, "/remember", g.Remember)`} {
		if !strings.Contains(string(src), s) {
			t.Errorf("executor.go lacks %s", s)
		}
	}
	if df, err := os.ReadFile(filepath.Join(dir, "Dockerfile")); err != nil || !strings.Contains(string(df), "nvidia/cuda:") {
		t.Errorf("Dockerfile: %v", err)
	}

	// The same folder again is refused, and accepted with --force.
	if _, errOut, code := runNew(t, "--yes", "--name", "Greeter", "--path", dir, "--no-tidy"); code != 2 || !strings.Contains(errOut, "--path: ") || !strings.Contains(errOut, "--force") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if _, errOut, code := runNew(t, "--yes", "--name", "Greeter", "--path", dir, "--no-tidy", "--force", "--dockerfile", "none"); code != 0 {
		t.Errorf("--force: exit %d: %s", code, errOut)
	}
}

func TestNewDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	out, errOut, code := runNew(t, "-y", "--no-tidy")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Created executor MyExecutor") || !strings.Contains(out, "cd ./my-executor && go test ./...") {
		t.Errorf("output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join("my-executor", "Dockerfile")); err != nil {
		t.Errorf("the default Dockerfile (cpu): %v", err)
	}
}

func TestNewBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--yes", "--name", "greeter", "--path", dir}, `--name: "greeter" must start with a capital letter`},
		{[]string{"--yes", "--name", "Greeter", "--path", dir, "--dockerfile", "tpu"}, `--dockerfile: want cpu, gpu or none, got "tpu"`},
		{[]string{"--yes", "--name", "Greeter", "--path", dir, "--endpoints", "hello"}, `--endpoints: endpoint "hello": want /name`},
		{[]string{"--yes", "--name", "Greeter", "--path", dir, "--jig-path", t.TempDir()}, "--jig-path: "},
		{[]string{"--path", dir}, "no terminal to ask on: pass --name"},
		{[]string{"--yes", "extra"}, "accepts 0 arg(s)"},
		{[]string{"--yes", "--stateful=maybe"}, "invalid argument"},
	} {
		_, errOut, code := runNew(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bad input created %s", dir)
	}
}
