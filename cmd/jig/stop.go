package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/flow"
)

// stopGrace is how long `jig up --headless` waits, after SIGINT or
// SIGTERM, for the flow to stop cleanly (executors' Close hooks, child
// processes, the gateway) before it exits anyway: a flow stops within 5 s
// of the signal in every phase (building, starting, ready). Child
// replicas are started with a parent-death signal, so exiting takes them
// along.
const stopGrace = 4 * time.Second

// errStopTimeout is returned when the flow did not stop within stopGrace.
var errStopTimeout = fmt.Errorf("the flow did not stop within %s of the signal; exiting anyway", stopGrace)

// startInterruptible starts f like engine.Start, but returns as soon as
// ctx ends (a signal) even if the engine is stuck in a phase that does
// not notice: it then gives the start stopGrace to unwind and stops
// whatever it started. A nil engine with a nil error means the start was
// interrupted by the signal.
func startInterruptible(ctx context.Context, errOut io.Writer, f *flow.Flow, opts engine.Options) (*engine.Engine, error) {
	type result struct {
		eng *engine.Engine
		err error
	}
	// Buffered: the goroutine ends on its own when Start returns, even
	// when nobody waits for it anymore (the process is exiting).
	done := make(chan result, 1)
	go func() {
		eng, err := engine.Start(ctx, f, opts)
		done <- result{eng, err}
	}()
	select {
	case r := <-done:
		if r.err != nil && ctx.Err() != nil {
			fmt.Fprintln(errOut, "interrupted while starting")
			return nil, nil
		}
		return r.eng, r.err
	case <-ctx.Done():
	}
	fmt.Fprintln(errOut, "interrupted while starting; stopping...")
	deadline := time.Now().Add(stopGrace)
	force := forceSignal()
	defer signal.Stop(force)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.eng != nil {
			return nil, stopWithin(r.eng, time.Until(deadline), force)
		}
		return nil, nil
	case <-force:
		return nil, errors.New("forced to stop by a second signal")
	case <-timer.C:
		return nil, errStopTimeout
	}
}

// stopWithin stops eng, waiting at most grace or until a second signal
// arrives on force.
func stopWithin(eng *engine.Engine, grace time.Duration, force <-chan os.Signal) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- eng.Stop(ctx) }()
	select {
	case err := <-done:
		return err
	case <-force:
		return errors.New("forced to stop by a second signal")
	case <-ctx.Done():
		// Stop honours ctx; this bounds an executor's Close that does not.
		select {
		case err := <-done:
			return err
		case <-time.After(200 * time.Millisecond):
			return errStopTimeout
		}
	}
}

// forceSignal reports a further SIGINT or SIGTERM, which the context of
// the first one no longer does.
func forceSignal() chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch
}
