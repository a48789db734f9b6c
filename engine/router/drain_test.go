package router

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestInflightWaitWakesOnLastEnd: a waiter blocked while requests run is
// woken by the one that ends last, however begins and ends interleave.
func TestInflightWaitWakesOnLastEnd(t *testing.T) {
	for range 200 {
		var f inflight
		const n = 8
		for range n {
			f.begin()
		}
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-release
				// A short request that starts and ends while draining.
				f.begin()
				f.end()
				f.end()
			}()
		}
		waited := make(chan error, 1)
		go func() { waited <- f.wait(context.Background()) }()
		close(release)
		wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		select {
		case err := <-waited:
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal("wait did not return after the last request ended")
		}
		cancel()
	}
}

// TestInflightWaitHonoursContext: with a request still in flight, wait
// returns the context's error.
func TestInflightWaitHonoursContext(t *testing.T) {
	var f inflight
	f.begin()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.wait(ctx); err != context.Canceled {
		t.Fatalf("wait = %v, want context.Canceled", err)
	}
	f.end()
	if err := f.wait(context.Background()); err != nil {
		t.Fatalf("wait after the last end = %v", err)
	}
}
