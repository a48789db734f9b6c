package replica

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"

	"github.com/jig-dev/jig/internal/yamlutil"
)

// A child that exits says why on stderr: Go's runtime prints "panic: ..."
// (and exits with status 2), the worker prints "error: ..." (status 2 for
// bad input such as a config error, 1 otherwise), or the last log lines
// tell. stderrTail keeps the end of a child's stderr so the engine's
// error, the replica's Failed event and `jig up`'s exit message carry that
// reason instead of a bare "exit status 2".

// stderrKeep is how many of the last stderr lines a child's tail keeps.
const stderrKeep = 40

// stderrTail is the end of one child's stderr (safe for concurrent use).
type stderrTail struct {
	mu    sync.Mutex
	lines []string
	panic []string // the runtime's panic or fatal error line and the next
}

func (t *stderrTail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
		if t.panic == nil {
			t.panic = []string{line}
		}
	} else if len(t.panic) == 1 && strings.HasPrefix(line, "[recovered") {
		t.panic = append(t.panic, line)
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > stderrKeep {
		t.lines = t.lines[len(t.lines)-stderrKeep:]
	}
}

// reason is the child's own account of its failure: the panic, else its
// last "error:" line, else its last error-level log line, else (with
// anyLines) its last three lines. errorLine reports that it is the
// worker's "error:" line.
func (t *stderrTail) reason(anyLines bool) (reason string, errorLine bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.panic) > 0 {
		return strings.Join(t.panic, " "), false
	}
	for i := len(t.lines) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(t.lines[i], "error: "); ok {
			return msg, true
		}
	}
	for i := len(t.lines) - 1; i >= 0; i-- {
		if msg, ok := errorLogLine(t.lines[i]); ok {
			return msg, false
		}
	}
	if !anyLines {
		return "", false
	}
	var last []string
	for i := len(t.lines) - 1; i >= 0 && len(last) < 3; i-- {
		if l := strings.TrimSpace(t.lines[i]); l != "" {
			last = append([]string{l}, last...)
		}
	}
	return strings.Join(last, " | "), false
}

// errorLogLine renders a slog JSON line at level ERROR as "msg: err".
func errorLogLine(line string) (string, bool) {
	if !strings.HasPrefix(line, "{") {
		return "", false
	}
	var m map[string]any
	if json.Unmarshal([]byte(line), &m) != nil || m["level"] != "ERROR" {
		return "", false
	}
	msg, _ := m["msg"].(string)
	if e, ok := m["err"]; ok {
		msg += ": " + fmt.Sprint(e)
	}
	return msg, true
}

// ExitError is a child replica that exited (before serving, or while
// serving when the monitor reports it). Its message carries the child's
// reason; errors.Is(err, yamlutil.ErrBadInput) holds when the child
// rejected its input (exit status 2 with the worker's "error:" line and no
// panic), so `jig up` exits 2 for bad input only.
type ExitError struct {
	// Replica is the runner's name (deployment/replica).
	Replica string
	// When is "exited before serving" or "exited".
	When string
	// Status is the process state ("exit status 2", "signal: killed").
	Status string
	// Code is the exit code (-1 when killed by a signal).
	Code int
	// Reason is what the child said on stderr (may be empty).
	Reason string
	// BadInput: the child reported bad input (its configuration, flags).
	BadInput bool
	// Located: Reason was mapped to where the input was written (a flow
	// file's line and field), so it is all the message needs to say.
	Located bool
}

// locate rewrites a bad-input reason with fn (see ProcessSpec.Locate).
func (e *ExitError) locate(fn func(string) (string, bool)) *ExitError {
	if fn == nil || !e.BadInput {
		return e
	}
	if r, ok := fn(e.Reason); ok {
		e.Reason, e.Located = r, true
	}
	return e
}

func newExitError(replica, when string, ps *exec.ExitError, waitErr error, tail *stderrTail) *ExitError {
	e := &ExitError{Replica: replica, When: when, Code: -1}
	if waitErr != nil {
		e.Status = waitErr.Error()
	}
	if ps != nil {
		e.Status, e.Code = ps.ProcessState.String(), ps.ExitCode()
	}
	var errorLine bool
	e.Reason, errorLine = tail.reason(true)
	e.BadInput = e.Code == 2 && errorLine
	return e
}

func (e *ExitError) Error() string {
	if e.Located {
		// Like a built-in executor's config error: where, what.
		return e.Replica + ": " + e.Reason
	}
	s := fmt.Sprintf("%s: %s (%s)", e.Replica, e.When, e.Status)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Is makes errors.Is(err, yamlutil.ErrBadInput) hold for bad input.
func (e *ExitError) Is(target error) bool { return e.BadInput && target == yamlutil.ErrBadInput }
