// Package router sends requests through a flow: along the `needs` DAG
// (parallel branches, joins, floating deployments), to one or all shards
// of each deployment (polling ANY/ALL with reduce), and to the healthy
// replica with the fewest requests in flight (writes of a stateful
// deployment to its RAFT leader first), retrying another replica when one
// cannot be reached or does not answer within timeout_send.
package router

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jig-dev/jig/engine/replica"
)

// Target is one replica as the router sees it.
type Target struct {
	// Name is the replica's name ("rep-0", "shard-1/rep-0").
	Name string
	// Address is shown in error messages.
	Address string
	Conn    replica.Conn
	// Ready reports whether the replica may receive requests.
	Ready func() bool
	// Leader, when set, reports whether the replica is (as far as the
	// engine last saw) the RAFT leader of its shard. Writes go to the
	// leader first: any replica would forward them there, at the cost of
	// another hop. A stale answer is harmless, the replica forwards.
	Leader func() bool

	outstanding atomic.Int64
	// penalty is the unix-nano time until which the replica is avoided
	// after it timed out (a paused or overloaded process), unless no
	// other replica is ready.
	penalty atomic.Int64
}

// Outstanding returns the number of requests in flight to the target.
func (t *Target) Outstanding() int64 { return t.outstanding.Load() }

// Pool holds the replicas of one shard and picks one per request.
type Pool struct {
	mu      sync.RWMutex
	targets []*Target
	next    atomic.Uint64 // rotates the starting point among equals
}

// NewPool returns a pool of targets.
func NewPool(targets ...*Target) *Pool {
	return &Pool{targets: targets}
}

// Set replaces the pool's targets (scaling, rolling reloads). Requests in
// flight to removed targets finish normally.
func (p *Pool) Set(targets []*Target) {
	p.mu.Lock()
	p.targets = append([]*Target(nil), targets...)
	p.mu.Unlock()
}

// Targets returns the current targets.
func (p *Pool) Targets() []*Target {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return append([]*Target(nil), p.targets...)
}

// Ready returns how many targets are ready.
func (p *Pool) Ready() int {
	n := 0
	for _, t := range p.Targets() {
		if t.Ready() {
			n++
		}
	}
	return n
}

// pick returns the ready target with the fewest requests in flight,
// skipping those in tried and, when possible, penalised ones. Among equals
// it rotates, so an idle pool still spreads requests.
func (p *Pool) pick(tried map[*Target]bool) *Target {
	p.mu.RLock()
	defer p.mu.RUnlock()
	n := len(p.targets)
	if n == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	start := int(p.next.Add(1) % uint64(n))
	var best, fallback *Target
	for i := 0; i < n; i++ {
		t := p.targets[(start+i)%n]
		if tried[t] || !t.Ready() {
			continue
		}
		if t.penalty.Load() > now {
			if fallback == nil || t.outstanding.Load() < fallback.outstanding.Load() {
				fallback = t
			}
			continue
		}
		if best == nil || t.outstanding.Load() < best.outstanding.Load() {
			best = t
		}
	}
	if best == nil {
		best = fallback
	}
	return best
}

// pickLeader returns the untried ready target that reports itself
// leader, unless it is penalised; nil when there is none.
func (p *Pool) pickLeader(tried map[*Target]bool) *Target {
	p.mu.RLock()
	defer p.mu.RUnlock()
	now := time.Now().UnixNano()
	for _, t := range p.targets {
		if t.Leader != nil && !tried[t] && t.penalty.Load() <= now && t.Ready() && t.Leader() {
			return t
		}
	}
	return nil
}

// waitReady waits until some untried target is ready or ctx ends, for
// requests that arrive while every replica is restarting.
func (p *Pool) waitReady(ctx context.Context, tried map[*Target]bool, bound time.Duration) *Target {
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if t := p.pick(tried); t != nil {
			return t
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			return nil
		case <-tick.C:
		}
	}
}
