package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jig-dev/jig/internal/waitfor"
)

// cliEnv makes the test binary run the jig command line (TestMain in
// executor_test.go), so tests can start real `jig up` processes and
// signal them.
const cliEnv = "JIG_TEST_AS_JIG"

// jigRun is a `jig` child process whose stdout and stderr are
// collected; stderr lines are also sent on lines.
type jigRun struct {
	cmd   *exec.Cmd
	out   *lockedBuffer
	lines chan string
	done  chan struct{}
	err   error
}

func startJig(t *testing.T, dir string, env []string, args ...string) *jigRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), cliEnv+"=1"), env...)
	p := &jigRun{cmd: cmd, out: &lockedBuffer{}, lines: make(chan string, 1024), done: make(chan struct{})}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.out.Write(append(sc.Bytes(), '\n'))
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.err = cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitLine waits for a stderr line containing want.
func (p *jigRun) waitLine(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, want) {
				return
			}
		case <-p.done:
			t.Fatalf("jig exited before %q:\n%s", want, p.out)
		case <-timeout:
			t.Fatalf("no %q from jig:\n%s", want, p.out)
		}
	}
}

// wait waits for the process to exit on its own and returns its exit
// code; a flow that becomes ready instead fails the test.
func (p *jigRun) wait(t *testing.T) int {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, "flow ready") {
				t.Fatalf("the flow started:\n%s", p.out)
			}
		case <-p.done:
			return p.exitCode(t)
		case <-timeout:
			t.Fatalf("jig did not exit:\n%s", p.out)
		}
	}
}

// exitCode is the exit code of the ended process.
func (p *jigRun) exitCode(t *testing.T) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// signalAndWait sends sig and waits for the process to exit. The bound
// is the contract of `jig up` (stop within 5 s of a signal), doubled for
// a loaded machine: before the fix such flows took minutes or forever.
func (p *jigRun) signalAndWait(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("jig did not stop within 10 s of %v:\n%s", sig, p.out)
	}
	return p.exitCode(t)
}

// TestSignalStopsFlowInEveryPhase starts real `jig up --headless`
// processes and signals them while a Go executor is being built, while
// a deployment is starting (an external executor that accepts
// connections and never answers), and when the flow is ready.
func TestSignalStopsFlowInEveryPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts jig processes")
	}
	t.Run("ready", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "flow.yml"), []byte("executors:\n  - {name: a, uses: builtin:Echo, replicas: 2}\n"), 0o600)
		p := startJig(t, dir, nil, "up", "flow.yml", "--headless")
		p.waitLine(t, "flow ready")
		if code := p.signalAndWait(t, syscall.SIGTERM); code != 0 {
			t.Fatalf("exit code %d:\n%s", code, p.out)
		}
	})
	t.Run("starting", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 16)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- c
			}
		}()
		defer func() {
			ln.Close()
			for c := range accepted {
				c.Close()
			}
		}()
		dir := t.TempDir()
		port := ln.Addr().(*net.TCPAddr).Port
		os.WriteFile(filepath.Join(dir, "flow.yml"), []byte(fmt.Sprintf("with: {timeout_ready: 600000}\nexecutors:\n  - {name: silent, external: true, host: 127.0.0.1, port: %d}\n", port)), 0o600)
		p := startJig(t, dir, nil, "up", "flow.yml", "--headless")
		select {
		case c := <-accepted: // the deployment is connecting: starting
			accepted <- c
		case <-p.done:
			t.Fatalf("jig exited:\n%s", p.out)
		case <-time.After(2 * time.Minute):
			t.Fatalf("jig never connected:\n%s", p.out)
		}
		p.signalAndWait(t, os.Interrupt)
	})
	t.Run("building", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		ex := filepath.Join(dir, "ex")
		bin := filepath.Join(dir, "bin")
		os.MkdirAll(ex, 0o700)
		os.MkdirAll(bin, 0o700)
		os.WriteFile(filepath.Join(ex, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o600)
		os.WriteFile(filepath.Join(ex, "config.yml"), []byte("jtype: Mine\n"), 0o600)
		os.WriteFile(filepath.Join(dir, "flow.yml"), []byte("executors:\n  - {name: mine, uses: ./ex}\n"), 0o600)
		// A `go` that stands for a long build: a child (like compile and
		// link) holds the output pipe.
		pidFile := filepath.Join(dir, "compile.pid")
		script := "#!/bin/sh\nsleep 600 &\necho $! > " + pidFile + ".tmp\nmv " + pidFile + ".tmp " + pidFile + "\nwait\n"
		os.WriteFile(filepath.Join(bin, "go"), []byte(script), 0o700)
		var compilePID int
		t.Cleanup(func() {
			if compilePID > 0 {
				syscall.Kill(compilePID, syscall.SIGKILL)
			}
		})
		p := startJig(t, dir, []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "XDG_CACHE_HOME=" + filepath.Join(dir, "cache")}, "up", "flow.yml", "--headless")
		for compilePID == 0 {
			select {
			case <-p.done:
				t.Fatalf("jig exited:\n%s", p.out)
			case <-p.lines:
			case <-time.After(50 * time.Millisecond): // no event tells that the fake compiler started
			}
			if b, err := os.ReadFile(pidFile); err == nil {
				compilePID, _ = strconv.Atoi(string(bytes.TrimSpace(b)))
			}
		}
		p.signalAndWait(t, syscall.SIGTERM)
		// The build's whole process group is gone with it.
		waitfor.True(t, fmt.Sprintf("the build's child process %d to end with jig", compilePID), 2*time.Second, func() bool {
			return syscall.Kill(compilePID, 0) != nil
		})
	})
}
