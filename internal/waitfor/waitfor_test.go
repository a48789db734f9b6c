package waitfor

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTB records a failure instead of stopping the goroutine.
type fakeTB struct {
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestTrueReturnsOnceTheConditionHolds(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	True(t, "three calls", 10*time.Second, func() bool { return n.Add(1) >= 3 })
	if n.Load() != 3 {
		t.Fatalf("cond called %d times, want 3 (it must stop polling once it holds)", n.Load())
	}
}

func TestTrueFailsNamingWhatWasAwaited(t *testing.T) {
	t.Parallel()
	f := &fakeTB{}
	True(f, "the leader to step down", 20*time.Millisecond, func() bool { return false })
	want := "timed out after 20ms waiting for the leader to step down"
	if f.failed != want {
		t.Fatalf("failure %q, want %q", f.failed, want)
	}
}

func TestValueReturnsTheValueThatSatisfied(t *testing.T) {
	t.Parallel()
	n := 0
	got := Value(t, "n to reach 5", 10*time.Second, func() (int, bool) { n++; return n, n == 5 })
	if got != 5 {
		t.Fatalf("Value returned %d, want 5", got)
	}
}

func TestValueFailureShowsTheLastObservedValue(t *testing.T) {
	t.Parallel()
	f := &fakeTB{}
	type stats struct{ Applied, Commit int }
	n := 0
	got := Value(f, "replica 2 to catch up", 20*time.Millisecond, func() (stats, bool) {
		n++
		return stats{Applied: n, Commit: 100}, false
	})
	if !strings.HasPrefix(f.failed, "timed out after 20ms waiting for replica 2 to catch up; last observed: {Applied:") ||
		!strings.HasSuffix(f.failed, fmt.Sprintf("Applied:%d Commit:100}", got.Applied)) {
		t.Fatalf("failure %q does not name the last value %+v", f.failed, got)
	}
}

func TestNoErrorFailureShowsTheLastError(t *testing.T) {
	t.Parallel()
	f := &fakeTB{}
	calls := 0
	NoError(f, "the gateway to answer", 20*time.Millisecond, func() error {
		calls++
		return fmt.Errorf("dial attempt %d: %w", calls, errors.New("connection refused"))
	})
	want := fmt.Sprintf("timed out after 20ms waiting for the gateway to answer; last error: dial attempt %d: connection refused", calls)
	if f.failed != want {
		t.Fatalf("failure %q, want %q", f.failed, want)
	}
	f = &fakeTB{}
	NoError(f, "nothing", time.Second, func() error { return nil })
	if f.failed != "" {
		t.Fatalf("NoError failed on a nil error: %q", f.failed)
	}
}

// deadlineTB is a fakeTB whose test binary ends soon.
type deadlineTB struct {
	fakeTB
	deadline time.Time
}

func (d *deadlineTB) Deadline() (time.Time, bool) { return d.deadline, true }

func TestWaitEndsBeforeTheTestDeadline(t *testing.T) {
	t.Parallel()
	// The binary's deadline is 100ms away (less than the margin): the wait
	// of an hour must give up at once and report, not run into it.
	d := &deadlineTB{deadline: time.Now().Add(100 * time.Millisecond)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		True(d, "never", time.Hour, func() bool { return false })
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("True ignored the test's deadline")
	}
	if !strings.Contains(d.failed, "waiting for never") {
		t.Fatalf("failure %q", d.failed)
	}
}

func TestValueFailureLeavesOutANilObservation(t *testing.T) {
	t.Parallel()
	f := &fakeTB{}
	type node struct{}
	Value(f, "a leader", 10*time.Millisecond, func() (*node, bool) { return nil, false })
	if want := "timed out after 10ms waiting for a leader"; f.failed != want {
		t.Fatalf("failure %q, want %q", f.failed, want)
	}
}
