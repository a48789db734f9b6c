package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMain lets tests run this test binary as the jig command (for
// commands that replace their process, like `jig executor` on a folder).
func TestMain(m *testing.M) {
	if os.Getenv("JIG_TEST_AS_JIG") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// jigProcess starts this test binary as `jig args...`.
func jigProcess(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "JIG_TEST_AS_JIG=1"), env...)
	return cmd
}

// `jig executor --uses FOLDER` builds a Go executor and serves it with
// the same flags; a second start of the unchanged folder reuses the
// cached binary.
func TestExecutorServesAFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an executor")
	}
	folder, _ := filepath.Abs("../../engine/testdata/upper")
	// A fresh binary cache; Go's own build cache stays warm (it would
	// move with XDG_CACHE_HOME).
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"XDG_CACHE_HOME=" + t.TempDir(), "GOCACHE=" + strings.TrimSpace(string(gocache))}
	for i, want := range []string{"building executor", "up to date"} {
		cmd := jigProcess(t, env, "executor", "--uses", folder, "--port", "0", "--name", "shared-upper")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("start %d: no ready line: %v\n%s", i+1, err, stderr.String())
		}
		var ready struct {
			Jig     string `json:"jig"`
			Address string `json:"address"`
		}
		if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.Jig != "ready" || !strings.HasPrefix(ready.Address, "127.0.0.1:") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("start %d: ready line %q: %v", i+1, line, err)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("start %d: exit: %v\n%s", i+1, err, stderr.String())
		}
		if !strings.Contains(stderr.String(), want) {
			t.Fatalf("start %d: stderr does not say %q:\n%s", i+1, want, stderr.String())
		}
	}
}

// A folder executor's bad configuration is bad input (exit 2) before
// anything is built.
func TestExecutorFolderBadConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "config.yml"), []byte("with: {a: 1}\n"), 0o644)
	code := run([]string{"executor", "--uses", dir})
	if code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
}

// `jig up --headless` prints the start-up as it happens: here a build
// that fails, whose progress and compiler output are printed although
// the flow never becomes ready.
func TestUpHeadlessPrintsStartup(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "broken")
	os.MkdirAll(exe, 0o755)
	os.WriteFile(filepath.Join(exe, "go.mod"), []byte("module broken\n"), 0o644)
	os.WriteFile(filepath.Join(exe, "main.go"), []byte("package main\n\nfunc main() {\n\tx :=\n}\n"), 0o644)
	os.WriteFile(filepath.Join(exe, "config.yml"), []byte("jtype: Broken\n"), 0o644)
	flowFile := filepath.Join(dir, "flow.yml")
	os.WriteFile(flowFile, []byte("executors:\n  - {name: a, uses: ./broken}\n  - {name: b, uses: ./broken}\n"), 0o644)
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := jigProcess(t, []string{"XDG_CACHE_HOME=" + t.TempDir(), "GOCACHE=" + strings.TrimSpace(string(gocache))}, "up", flowFile, "--headless", "--port", "0")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	text := string(out)
	t.Logf("jig up:\n%s", text)
	if n := strings.Count(text, "building executor"); n != 1 {
		t.Fatalf("%d 'building executor' lines for one folder used twice, want 1:\n%s", n, text)
	}
	if !strings.Contains(text, "deployments=a,b") || !strings.Contains(text, "main.go:5") {
		t.Fatalf("the build and the compiler output are not printed:\n%s", text)
	}
}
