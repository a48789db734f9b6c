// Package waitfor is how tests wait for something that gives no signal to
// wait on: poll a condition until it holds or a deadline passes, then fail
// the test naming what was awaited, how long it waited and the last value
// it observed. It replaces the hand-written `for { ...; time.Sleep }`
// loops tests used to carry, each with its own deadline and message.
//
// Prefer a real signal (a channel, an event, a readiness probe) where one
// exists; use waitfor where the code under test has none (a RAFT index
// catching up, a process changing state, a file being written). Only
// tests import this package.
package waitfor

import (
	"fmt"
	"reflect"
	"time"
)

// TB is the part of testing.TB waitfor uses (*testing.T and *testing.B
// satisfy it).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// deadliner is implemented by *testing.T: a test run with -timeout has a
// deadline, and a wait that would outlive it is cut short so the test
// fails with waitfor's message instead of the runner's panic.
type deadliner interface {
	Deadline() (time.Time, bool)
}

// Polling starts fast (a condition that holds almost at once costs about
// a millisecond) and backs off to maxInterval, so a slow condition polled
// for seconds does not busy the CPU it is waiting on.
const (
	firstInterval = time.Millisecond
	maxInterval   = 25 * time.Millisecond
	// deadlineMargin is kept free before the test binary's own deadline
	// for the failure to be reported and cleanups to run.
	deadlineMargin = 5 * time.Second
)

// True polls cond until it returns true; after within it fails t with
// "timed out after <within> waiting for <what>".
func True(t TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	Value(t, what, within, func() (struct{}, bool) { return struct{}{}, cond() })
}

// NoError polls f until it returns nil; after within it fails t naming
// what and the last error f returned.
func NoError(t TB, what string, within time.Duration, f func() error) {
	t.Helper()
	var last error
	ok, within := poll(t, within, func() bool { last = f(); return last == nil })
	if !ok {
		t.Fatalf("timed out after %v waiting for %s; last error: %v", within, what, last)
	}
}

// Value polls f until it returns ok and returns the value it returned
// then; after within it fails t naming what and the last value observed
// (formatted with %+v) and returns that value (a *testing.T stops at
// Fatalf, so only a TB that does not stop sees it).
func Value[T any](t TB, what string, within time.Duration, f func() (T, bool)) T {
	t.Helper()
	var last T
	observed := false
	ok, within := poll(t, within, func() bool {
		var ok bool
		last, ok = f()
		observed = true
		return ok
	})
	if !ok {
		if !observed || !informative(last) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		} else {
			t.Fatalf("timed out after %v waiting for %s; last observed: %s", within, what, describe(last))
		}
	}
	return last
}

// informative reports whether an observed value says anything: the empty
// struct of True and a nil pointer, map, slice or interface (a probe that
// found nothing yet) do not.
func informative(v any) bool {
	if v == nil {
		return false
	}
	if _, empty := v.(struct{}); empty {
		return false
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func, reflect.Chan:
		return !rv.IsNil()
	}
	return true
}

// describe formats an observed value for a failure message.
func describe(v any) string {
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%+v", v)
}

// poll calls cond until it returns true (then true) or the wait is over
// (then false). cond is always called at least once. It also returns how
// long it was allowed to wait: within, or less when the test's deadline
// came first.
func poll(t TB, within time.Duration, cond func() bool) (bool, time.Duration) {
	start := time.Now()
	end := start.Add(within)
	if d, ok := t.(deadliner); ok {
		if td, ok := d.Deadline(); ok && td.Add(-deadlineMargin).Before(end) {
			end = td.Add(-deadlineMargin)
			within = max(end.Sub(start), 0).Round(time.Millisecond)
		}
	}
	interval := firstInterval
	for {
		if cond() {
			return true, within
		}
		left := time.Until(end)
		if left <= 0 {
			return false, within
		}
		time.Sleep(min(interval, left))
		interval = min(2*interval, maxInterval)
	}
}
