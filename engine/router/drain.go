package router

import (
	"context"
	"sync"
	"sync/atomic"
)

// inflight counts the requests a router is handling and lets Drain wait
// for the count to reach zero without spinning: the request that brings
// it to zero wakes the waiters. Requests pay one atomic add each way, and
// take the lock only when they end the last request while someone drains.
type inflight struct {
	n       atomic.Int64
	waiters atomic.Int32

	mu   sync.Mutex
	idle chan struct{} // closed when n reaches 0; nil when no one waits
}

func (f *inflight) begin() { f.n.Add(1) }

func (f *inflight) end() {
	// Both atomics are sequentially consistent: if this load misses a
	// waiter, that waiter's own load of n sees this decrement.
	if f.n.Add(-1) == 0 && f.waiters.Load() > 0 {
		f.mu.Lock()
		if f.idle != nil {
			close(f.idle)
			f.idle = nil
		}
		f.mu.Unlock()
	}
}

// wait returns when no request is in flight, or with ctx's error.
func (f *inflight) wait(ctx context.Context) error {
	f.waiters.Add(1)
	defer f.waiters.Add(-1)
	for {
		f.mu.Lock()
		if f.n.Load() == 0 {
			f.mu.Unlock()
			return nil
		}
		if f.idle == nil {
			f.idle = make(chan struct{})
		}
		idle := f.idle
		f.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
