package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process (a Jina flow or `jig up`) started in its own
// process group, so that it and everything it forks (Jina's executor and
// gateway processes) can be signalled and killed together.
type child struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	started time.Time
	logPath string

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced when a line arrives or the process exits
	exited  bool

	done    chan struct{} // closed when the process has exited
	exitErr error
	exitAt  time.Time
}

// children holds every live child so that cleanup can kill them all, on
// any exit path (error, timeout, Ctrl-C).
var children struct {
	mu  sync.Mutex
	set map[*child]struct{}
}

// startChild execs argv in a new process group with stdout scanned for
// protocol lines and stderr (and stdout) copied to logDir/name.log.
func startChild(name, logDir string, env []string, argv ...string) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	// Setpgid: the group can be killed as one. Pdeathsig: if this driver is
	// killed outright, the kernel kills the direct child (Jina's own
	// children then see their parent's pipes close).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	logPath := filepath.Join(logDir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", name, err)
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, logPath: logPath, changed: make(chan struct{}), done: make(chan struct{})}
	c.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, argv[0], err)
	}
	children.mu.Lock()
	if children.set == nil {
		children.set = map[*child]struct{}{}
	}
	children.set[c] = struct{}{}
	children.mu.Unlock()
	// The reader owns stdout and ends at EOF; then the process is reaped.
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			c.mu.Lock()
			c.lines = append(c.lines, line)
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
		}
		io.Copy(io.Discard, stdout)
		err := cmd.Wait()
		c.mu.Lock()
		c.exited, c.exitErr, c.exitAt = true, err, time.Now()
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
		logf.Close()
		close(c.done)
	}()
	return c, nil
}

// waitLine waits for a stdout line starting with prefix and returns it.
func (c *child) waitLine(ctx context.Context, prefix string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	seen := 0
	for {
		c.mu.Lock()
		for ; seen < len(c.lines); seen++ {
			if strings.HasPrefix(c.lines[seen], prefix) {
				l := c.lines[seen]
				c.mu.Unlock()
				return l, nil
			}
		}
		exited, ch := c.exited, c.changed
		c.mu.Unlock()
		if exited {
			return "", fmt.Errorf("%s exited (%v) before printing %q; see %s%s", c.name, c.exitErr, prefix, c.logPath, c.logTail())
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return "", fmt.Errorf("%s: no %q line after %s; see %s%s", c.name, prefix, timeout, c.logPath, c.logTail())
		}
	}
}

// logTail is the end of the child's log, for error messages.
func (c *child) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return "\n--- " + c.logPath + " (end) ---\n" + string(b)
}

// stop asks the child to stop (closing stdin, or sending sig when sig is
// not 0), waits up to grace for it to exit and returns how long that took.
// Whatever happens, the whole process group is killed afterwards so that
// no executor process outlives the measurement.
func (c *child) stop(sig syscall.Signal, grace time.Duration) (time.Duration, error) {
	t0 := time.Now()
	if sig == 0 {
		c.stdin.Close()
	} else {
		c.cmd.Process.Signal(sig)
	}
	var err error
	select {
	case <-c.done:
	case <-time.After(grace):
		err = fmt.Errorf("%s did not exit within %s of being asked to stop; killed", c.name, grace)
	}
	took := time.Since(t0)
	if err == nil {
		took = c.exitAt.Sub(t0)
	}
	c.kill()
	return took, err
}

// kill SIGKILLs the child's process group and waits briefly for the reap.
func (c *child) kill() {
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
	children.mu.Lock()
	delete(children.set, c)
	children.mu.Unlock()
}

// killAll kills every child still registered (the cleanup of every exit
// path).
func killAll() {
	children.mu.Lock()
	live := make([]*child, 0, len(children.set))
	for c := range children.set {
		live = append(live, c)
	}
	children.mu.Unlock()
	for _, c := range live {
		c.kill()
	}
}

// groupCPU is the CPU time (user+system) used so far by the live processes
// of process group pgid, from /proc; it is how much the server side of a
// measurement costs (Jina spreads it over a gateway and executor
// processes).
func groupCPU(pgid int) time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks int64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name (field 2) may hold spaces; fields after it are
		// counted from the closing parenthesis.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		// f[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
		if len(f) < 13 {
			continue
		}
		if pg, _ := strconv.Atoi(f[2]); pg != pgid {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	// USER_HZ is 100 on Linux for every architecture Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond
}

// selfCPU is this process's CPU time (the client's).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var errNoJina = errors.New("jina not found")
