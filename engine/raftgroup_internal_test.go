package engine

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/engine/metrics"
	"github.com/jig-dev/jig/engine/status"
)

// newTestGroup is a raftGroup of one shard of n replicas planned by hand
// (no sockets, no nodes): what the leadership bookkeeping needs.
func newTestGroup(t *testing.T, n int) (*raftGroup, *events.Bus) {
	t.Helper()
	bus := events.NewBus(64)
	e := &Engine{bus: bus, prom: metrics.NewProm(), logger: slog.New(slog.DiscardHandler)}
	cfg := &flow.Deployment{Name: "idx", Replicas: n, Shards: 1, Stateful: true}
	ctx, cancel := context.WithCancel(context.Background())
	g := &raftGroup{e: e, config: func() *flow.Deployment { return cfg }, conns: nil, changed: make(chan struct{}), ctx: ctx, cancel: cancel}
	g.addShard()
	for r := range n {
		g.members[0] = append(g.members[0], &member{peer: consensus.Peer{ID: string(rune('0' + r))}, kick: make(chan struct{}, 1)})
	}
	t.Cleanup(g.close)
	return g, bus
}

// TestRaftGroupLeaderIsTheNewestTerm: the shard's leader is the replica
// that says Leader in the newest term, so a deposed leader that has not
// heard of its successor yet gets no writes and Status does not show it
// as leader, not even once its successor goes away (which leaves the
// shard without a leader); each change is announced once and waiters
// wake.
func TestRaftGroupLeaderIsTheNewestTerm(t *testing.T) {
	g, bus := newTestGroup(t, 3)
	sub := bus.Subscribe(16)
	defer sub.Close()
	announced := func() []string {
		var out []string
		for {
			select {
			case e := <-sub.C:
				if l, ok := e.(events.Leader); ok {
					out = append(out, l.Replica)
				}
			default:
				return out
			}
		}
	}
	if g.leaderOf(0) != -1 {
		t.Fatalf("leader %d before any news", g.leaderOf(0))
	}
	g.observe(0, 0, nil, replicaRole{role: status.Leader, term: 2})
	g.observe(0, 1, nil, replicaRole{role: status.Follower, term: 2})
	if !g.isLeader(0, 0) || g.isLeader(0, 1) {
		t.Fatal("replica 0 should lead term 2")
	}
	// Replica 2 wins term 3 while 0 still believes it leads.
	waited := make(chan int, 1)
	go func() { l, _ := g.waitLeader(context.Background(), 0, 0, time.Minute); waited <- l }()
	g.observe(0, 2, nil, replicaRole{role: status.Leader, term: 3})
	if l := <-waited; l != 2 {
		t.Fatalf("waitLeader woke with %d, want 2", l)
	}
	if g.isLeader(0, 0) || !g.isLeader(0, 2) {
		t.Fatal("the leader of the newer term should win")
	}
	g.members[0][0].stats = &consensus.Stats{State: "Leader", Term: 2}
	if st := g.status(0, 0); st.State != status.Unknown {
		t.Fatalf("deposed leader shown as %s", st.State)
	}
	g.observe(0, 2, nil, replicaRole{role: status.Unknown})
	g.observe(0, 0, nil, replicaRole{role: status.Follower, term: 3})
	if g.leaderOf(0) != -1 {
		t.Fatalf("leader %d after the leader went away", g.leaderOf(0))
	}
	if got := announced(); len(got) != 3 || got[0] != "rep-0" || got[1] != "rep-2" || got[2] != "" {
		t.Fatalf("announced %q, want rep-0, rep-2, then none", got)
	}
	// News from a member that left is dropped, even once its slot is
	// reused (a watcher ending after a scale-down and up).
	gone := g.members[0][2]
	g.dropPeer(0, 2)
	g.mu.Lock()
	g.members[0] = append(g.members[0], &member{kick: make(chan struct{}, 1)})
	g.mu.Unlock()
	g.observe(0, 2, gone, replicaRole{role: status.Leader, term: 9})
	if g.leaderOf(0) != -1 || g.members[0][2].role.role != "" {
		t.Fatalf("a departed member's news was taken: leader %d, role %q", g.leaderOf(0), g.members[0][2].role.role)
	}
}
