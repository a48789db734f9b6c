package consensus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// memForwarder routes forwarded requests to in-memory nodes, converting
// errors to bare gRPC statuses as the wire would. route may redirect a
// forward to another member or fail it.
type memForwarder struct {
	mu    sync.Mutex
	nodes map[string]*Node
	route func(leader Peer, hops int) (target string, err error)
	calls atomic.Int64
}

func (f *memForwarder) Forward(ctx context.Context, leader Peer, req *jinapb.DataRequestProto, hops int) (*jinapb.DataRequestProto, error) {
	f.calls.Add(1)
	target := leader.ID
	f.mu.Lock()
	route := f.route
	f.mu.Unlock()
	if route != nil {
		var err error
		if target, err = route(leader, hops); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	n := f.nodes[target]
	f.mu.Unlock()
	if n == nil || n.closed.Load() {
		return nil, status.Error(codes.Unavailable, "connection error: transport: Error while dialing: connection refused")
	}
	ctx = ContextWithHops(ctx, hops)
	var resp *jinapb.DataRequestProto
	var err error
	if n.inst.IsWrite(executors.Endpoint(req)) {
		resp, err = n.ApplyWrite(ctx, req)
	} else {
		resp, err = n.Read(ctx, req, ConsistencyLocal) // hops > 0: a leader read
	}
	if err != nil {
		return nil, status.Convert(err).Err()
	}
	return resp, nil
}

func (f *memForwarder) setRoute(r func(Peer, int) (string, error)) {
	f.mu.Lock()
	f.route = r
	f.mu.Unlock()
}

type memCluster struct {
	t     *testing.T
	ids   []string
	nodes map[string]*Node
	insts map[string]*executors.Instance
	fwd   *memForwarder
}

// fastKnobs suit in-memory transports: elections in a few hundred ms.
func fastKnobs(c *Config) {
	c.HeartbeatTimeout = 100 * time.Millisecond
	c.ElectionTimeout = 100 * time.Millisecond
	c.LeaderLeaseTimeout = 50 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.LeaderWaitTimeout = 2 * time.Second
}

// newMemCluster starts the members in run (all of ids when nil) of a
// cluster whose membership is ids, on raft's in-memory transport and
// stores.
func newMemCluster(t *testing.T, jtype string, ids, run []string, knobs func(*Config)) *memCluster {
	t.Helper()
	if run == nil {
		run = ids
	}
	c := &memCluster{t: t, ids: ids, nodes: map[string]*Node{}, insts: map[string]*executors.Instance{}, fwd: &memForwarder{nodes: map[string]*Node{}}}
	addrs := map[string]raft.ServerAddress{}
	trans := map[string]*raft.InmemTransport{}
	var peers []Peer
	for _, id := range ids {
		addrs[id], trans[id] = raft.NewInmemTransport("")
		peers = append(peers, Peer{ID: id, RaftAddr: string(addrs[id]), WorkerAddr: "mem://" + id})
	}
	for _, a := range ids {
		for _, b := range ids {
			if a != b {
				trans[a].Connect(addrs[b], trans[b])
			}
		}
	}
	for _, id := range run {
		inst := NewKV(t, jtype)
		store := raft.NewInmemStore()
		cfg := Config{
			ID: id, Peers: peers, Instance: inst, Forwarder: c.fwd, Logger: discard,
			Transport: trans[id], LogStore: store, StableStore: store, SnapshotStore: raft.NewInmemSnapshotStore(),
		}
		fastKnobs(&cfg)
		if knobs != nil {
			knobs(&cfg)
		}
		n, err := NewNode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.nodes[id], c.insts[id] = n, inst
		c.fwd.nodes[id] = n
	}
	t.Cleanup(func() {
		for _, id := range run {
			if err := c.nodes[id].Shutdown(); err != nil {
				t.Error(err)
			}
			c.insts[id].Close()
		}
	})
	return c
}

// leader waits for a leader among the running nodes.
func (c *memCluster) leader() *Node {
	c.t.Helper()
	return waitfor.Value(c.t, "a leader among the running nodes", 10*time.Second, func() (*Node, bool) {
		for _, n := range c.nodes {
			if n.IsLeader() {
				return n, true
			}
		}
		return nil, false
	})
}

func (c *memCluster) followers() []*Node {
	var out []*Node
	for _, id := range c.ids {
		if n := c.nodes[id]; n != nil && !n.IsLeader() {
			out = append(out, n)
		}
	}
	return out
}

// converged waits until every running replica's state equals want.
func (c *memCluster) converged(want KVSnapshot) {
	c.t.Helper()
	// The observed value is every replica's state, for the failure message.
	waitfor.Value(c.t, fmt.Sprintf("replicas to converge to %+v", want), 10*time.Second, func() (string, bool) {
		ok := true
		var b strings.Builder
		for id, inst := range c.insts {
			s := StateOf(inst)
			ok = ok && s.Equal(want)
			fmt.Fprintf(&b, "\nreplica %s: %+v", id, s)
		}
		return b.String(), ok
	})
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestMemWriteThroughFollowerIsForwarded(t *testing.T) {
	c := newMemCluster(t, "ConsensusTestKV", []string{"0", "1", "2"}, nil, nil)
	leader := c.leader()
	f := c.followers()[0]
	resp, err := f.ApplyWrite(ctxT(t, 5*time.Second), PutReq("k", "v"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("status %v", resp.GetHeader().GetStatus())
	}
	c.converged(KVSnapshot{Data: map[string]string{"k": "v"}, Seq: []string{"k"}})
	if s := f.Stats(); s.ForwardedWrites != 1 || s.FailedWrites != 0 || s.Applies != 1 || s.LeaderID != leader.ID() || s.LeaderWorker != "mem://"+leader.ID() {
		t.Fatalf("follower stats %+v", s)
	}
	if s := leader.Stats(); s.State != "Leader" || s.Applies != 1 || s.LastContact != 0 || s.Peers != 2 || s.Voters != 3 || s.CommitIndex < 2 {
		t.Fatalf("leader stats %+v", s)
	}
}

func TestMemLeaderReadThroughFollower(t *testing.T) {
	c := newMemCluster(t, "ConsensusTestKV", []string{"0", "1", "2"}, nil, nil)
	leader := c.leader()
	if _, err := leader.ApplyWrite(ctxT(t, 5*time.Second), PutReq("a", "1")); err != nil {
		t.Fatal(err)
	}
	f := c.followers()[0]
	// A leader read sees the acknowledged write whatever the follower has
	// applied.
	resp, err := f.Read(ctxT(t, 5*time.Second), GetReq("a"), ConsistencyLeader)
	if err != nil {
		t.Fatal(err)
	}
	if got := Texts(t, resp); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("leader read %v", got)
	}
	if f.Stats().ForwardedReads != 1 || leader.Stats().LeaderReads != 1 {
		t.Fatalf("read counters: follower %+v leader %+v", f.Stats(), leader.Stats())
	}
	// Reads on the Reads adapter and writes through Read go the right way.
	c.converged(KVSnapshot{Data: map[string]string{"a": "1"}, Seq: []string{"a"}})
	resp, err = Reads{Node: f}.Read(ctxT(t, time.Second), GetReq("a"))
	if err != nil || Texts(t, resp)[0] != "1" {
		t.Fatalf("local read: %v %v", resp, err)
	}
	if _, err := f.Read(ctxT(t, 5*time.Second), PutReq("b", "2"), ConsistencyLocal); err != nil {
		t.Fatal(err)
	}
	c.converged(KVSnapshot{Data: map[string]string{"a": "1", "b": "2"}, Seq: []string{"a", "b"}})
}

func TestMemRetriesWhenLeaderSaysNotLeader(t *testing.T) {
	c := newMemCluster(t, "ConsensusTestKV", []string{"0", "1", "2"}, nil, nil)
	c.leader()
	f := c.followers()[0]
	var failed atomic.Bool
	c.fwd.setRoute(func(leader Peer, hops int) (string, error) {
		if failed.CompareAndSwap(false, true) {
			// What a member that just lost leadership answers.
			return "", status.Convert(withStatus(ErrNotLeader)).Err()
		}
		return leader.ID, nil
	})
	if _, err := f.ApplyWrite(ctxT(t, 5*time.Second), PutReq("k", "v")); err != nil {
		t.Fatal(err)
	}
	if n := f.Stats().ForwardedWrites; n != 2 {
		t.Fatalf("forwarded %d times, want 2 (one retry)", n)
	}
	c.converged(KVSnapshot{Data: map[string]string{"k": "v"}, Seq: []string{"k"}})
}

func TestMemHopLimit(t *testing.T) {
	c := newMemCluster(t, "ConsensusTestKV", []string{"0", "1", "2"}, nil, func(cfg *Config) { cfg.MaxForwardHops = 1 })
	leader := c.leader()
	fs := c.followers()
	a, b := fs[0], fs[1]
	// Every forward lands on the other follower, as if views were stale.
	c.fwd.setRoute(func(Peer, int) (string, error) { return b.ID(), nil })
	_, err := a.ApplyWrite(ctxT(t, 5*time.Second), PutReq("k", "v"))
	if !errors.Is(err, ErrTooManyHops) || status.Code(err) != codes.Unavailable || Reason(err) != ReasonTooManyHops || !NotApplied(err) {
		t.Fatalf("want TOO_MANY_HOPS, got %v (%s)", err, Reason(err))
	}
	if a.Stats().FailedWrites != 1 || StateOf(c.insts[leader.ID()]).Data["k"] != "" {
		t.Fatal("the write must not be applied")
	}
}

func TestMemForwardChain(t *testing.T) {
	// A request misrouted once reaches the leader through a second hop.
	c := newMemCluster(t, "ConsensusTestKV", []string{"0", "1", "2"}, nil, nil)
	c.leader()
	fs := c.followers()
	a, b := fs[0], fs[1]
	var hopsSeen []int
	var mu sync.Mutex
	c.fwd.setRoute(func(leader Peer, hops int) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		hopsSeen = append(hopsSeen, hops)
		if hops == 1 {
			return b.ID(), nil
		}
		return leader.ID, nil
	})
	if _, err := a.ApplyWrite(ctxT(t, 5*time.Second), PutReq("k", "v")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hopsSeen, []int{1, 2}) {
		t.Fatalf("hops %v", hopsSeen)
	}
}

func TestMemNoLeader(t *testing.T) {
	// Only one member of three runs: no quorum, no leader.
	c := newMemCluster(t, "ConsensusTestKV", []string{"0", "1", "2"}, []string{"0"}, func(cfg *Config) { cfg.LeaderWaitTimeout = 300 * time.Millisecond })
	n := c.nodes["0"]
	start := time.Now()
	_, err := n.ApplyWrite(context.Background(), PutReq("k", "v"))
	if !errors.Is(err, ErrNoLeader) || status.Code(err) != codes.Unavailable || Reason(err) != ReasonNoLeader {
		t.Fatalf("want NO_LEADER, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("waited %s", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := n.ApplyWrite(ctx, PutReq("k", "v")); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("caller deadline: %v", err)
	}
	// Local reads stay available without a leader; leader reads do not.
	if _, err := n.Read(context.Background(), GetReq("k"), ConsistencyLocal); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Read(context.Background(), GetReq("k"), ConsistencyLeader); status.Code(err) != codes.Unavailable {
		t.Fatalf("leader read without a leader: %v", err)
	}
	if s := n.Stats(); s.LeaderID != "" || s.LastContact != -1 || s.FailedWrites != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMemActionsNeedTheLeader(t *testing.T) {
	c := newMemCluster(t, "ConsensusTestKV", []string{"0", "1", "2"}, nil, nil)
	c.leader()
	f := c.followers()[0]
	ctx := ctxT(t, 5*time.Second)
	for name, err := range map[string]error{
		"AddVoter":           f.AddVoter(ctx, Peer{ID: "9", RaftAddr: "x"}),
		"RemoveServer":       f.RemoveServer(ctx, "0"),
		"TransferLeadership": f.TransferLeadership(ctx, ""),
		"Barrier":            f.Barrier(ctx),
	} {
		if !errors.Is(err, ErrNotLeader) {
			t.Errorf("%s on a follower: %v", name, err)
		}
	}
	l := c.leader()
	if err := l.RemoveServer(ctx, "nope"); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("remove unknown: %v", err)
	}
	if err := l.TransferLeadership(ctx, "nope"); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("transfer to unknown: %v", err)
	}
	if _, err := f.Snapshot(ctx); !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		t.Errorf("snapshot with nothing applied: %v", err)
	}
}

func TestMemTransferLeadershipAndEvents(t *testing.T) {
	c := newMemCluster(t, "ConsensusTestKV", []string{"0", "1", "2"}, nil, nil)
	leader := c.leader()
	target := c.followers()[0]
	events, cancel := target.Subscribe(16)
	defer cancel()
	if err := leader.TransferLeadership(ctxT(t, 5*time.Second), target.ID()); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("events closed")
			}
			if ev.Leader.ID == target.ID() && ev.State == "Leader" && ev.Node == target.ID() && ev.Term > 0 {
				goto done
			}
		case <-timeout:
			t.Fatal("no leader event for the transfer target")
		}
	}
done:
	members, err := target.Configuration()
	if err != nil || len(members) != 3 {
		t.Fatalf("configuration %v %v", members, err)
	}
	for _, m := range members {
		if !m.Voter || m.WorkerAddr != "mem://"+m.ID || m.RaftAddr == "" {
			t.Fatalf("member %+v", m)
		}
	}
	if l, ok := leader.Leader(); !ok || l.ID != target.ID() {
		// The old leader learns of its successor at the next heartbeat.
		waitfor.Value(t, "the old leader to see its successor "+target.ID(), 5*time.Second, func() (string, bool) {
			l, ok := leader.Leader()
			return fmt.Sprintf("%+v (known: %v)", l, ok), ok && l.ID == target.ID()
		})
	}
}

func TestMemShutdown(t *testing.T) {
	c := newMemCluster(t, "ConsensusTestKV", []string{"0", "1", "2"}, nil, nil)
	c.leader()
	n := c.followers()[0]
	events, _ := n.Subscribe(1)
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(); err != nil {
		t.Fatal("second shutdown:", err)
	}
	for range events { // buffered events first, then the close
	}
	_, err := n.ApplyWrite(context.Background(), PutReq("k", "v"))
	if !errors.Is(err, ErrShutdown) || status.Code(err) != codes.Unavailable {
		t.Fatalf("after shutdown: %v", err)
	}
	if n.Stats().State != "Shutdown" {
		t.Fatal(n.Stats().State)
	}
	// The other two still form a majority.
	if _, err := c.leader().ApplyWrite(ctxT(t, 5*time.Second), PutReq("k", "v")); err != nil {
		t.Fatal(err)
	}
}

func TestMemExecutorWithoutSnapshots(t *testing.T) {
	c := newMemCluster(t, "ConsensusTestKVNoSnap", []string{"0"}, nil, nil)
	n := c.leader()
	if _, err := n.ApplyWrite(ctxT(t, 5*time.Second), PutReq("k", "v")); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Snapshot(ctxT(t, 5*time.Second)); !errors.Is(err, ErrSnapshotUnsupported) {
		t.Fatalf("snapshot: %v", err)
	}
	if n.Stats().SnapshotsSupported {
		t.Fatal("stats claim snapshot support")
	}
}
