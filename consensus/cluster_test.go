package consensus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// These tests run real clusters on loopback: the RAFT TCP transport bound
// to 127.0.0.1:0, raft-wal stores in t.TempDir(), and a worker.Server per
// replica, so forwarding goes over gRPC exactly as between processes.
// JIG_TEST_RAFT_LOG=1 prints the nodes' logs.

func testLogger() *slog.Logger {
	if os.Getenv("JIG_TEST_RAFT_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type replica struct {
	peer consensus.Peer
	dir  string
	inst *executors.Instance
	node *consensus.Node
	srv  *worker.Server
	done chan error
	conn *grpc.ClientConn
}

func (r *replica) client() jinapb.JinaSingleDataRequestRPCClient {
	return jinapb.NewJinaSingleDataRequestRPCClient(r.conn)
}

type cluster struct {
	t           *testing.T
	jtype       string
	base        string
	peers       []consensus.Peer
	consistency consensus.Consistency
	knobs       func(*consensus.Config)

	mu   sync.Mutex
	reps map[string]*replica
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

// newCluster starts n replicas ("0".."n-1"). Every port is reserved first,
// so each node gets the full, identical Peers.
func newCluster(t *testing.T, n int, jtype string, consistency consensus.Consistency, knobs func(*consensus.Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, jtype: jtype, base: t.TempDir(), consistency: consistency, knobs: knobs, reps: map[string]*replica{}}
	var raftLis, workerLis []net.Listener
	for i := range n {
		rl, wl := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
		raftLis, workerLis = append(raftLis, rl), append(workerLis, wl)
		c.peers = append(c.peers, consensus.Peer{ID: fmt.Sprint(i), RaftAddr: rl.Addr().String(), WorkerAddr: wl.Addr().String()})
	}
	for i, p := range c.peers {
		c.start(p, raftLis[i], workerLis[i], c.peers, false)
	}
	t.Cleanup(c.stopAll)
	return c
}

// start runs one replica on pre-bound listeners.
func (c *cluster) start(p consensus.Peer, raftLis, workerLis net.Listener, peers []consensus.Peer, join bool) *replica {
	t := c.t
	t.Helper()
	r := &replica{peer: p, dir: filepath.Join(c.base, "raft", "0", p.ID), done: make(chan error, 1)}
	r.inst = consensus.NewKV(t, c.jtype)
	cfg := consensus.DefaultConfig()
	cfg.ID, cfg.Dir, cfg.Listener, cfg.Peers, cfg.Join = p.ID, r.dir, raftLis, peers, join
	cfg.Instance, cfg.Logger = r.inst, testLogger().With("replica", p.ID)
	cfg.WALSegmentSize = 1 << 20 // preallocated: keep test disks small
	if c.knobs != nil {
		c.knobs(&cfg)
	}
	var err error
	if r.node, err = consensus.NewNode(cfg); err != nil {
		workerLis.Close()
		r.inst.Close()
		t.Fatalf("replica %s: %v", p.ID, err)
	}
	if r.node.RaftAddr() != p.RaftAddr {
		t.Fatalf("replica %s bound %s, want %s", p.ID, r.node.RaftAddr(), p.RaftAddr)
	}
	node := r.node
	r.srv, err = worker.NewServer(worker.Options{Instance: r.inst, Writes: node, Reads: consensus.Reads{Node: node, Consistency: c.consistency},
		Register: func(g *grpc.Server) { consensus.RegisterAdmin(g, node) }})
	if err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.srv.Serve(workerLis) }()
	if r.conn, err = grpc.NewClient(p.WorkerAddr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.reps[p.ID] = r
	c.mu.Unlock()
	return r
}

// stop kills a replica: RAFT first (as a crash would), then its worker.
func (c *cluster) stop(id string) {
	c.mu.Lock()
	r := c.reps[id]
	delete(c.reps, id)
	c.mu.Unlock()
	if r == nil {
		return
	}
	if err := r.node.Shutdown(); err != nil {
		c.t.Errorf("replica %s shutdown: %v", id, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.srv.Stop(ctx)
	if err := <-r.done; err != nil {
		c.t.Errorf("replica %s serve: %v", id, err)
	}
	r.conn.Close()
	r.inst.Close()
}

func (c *cluster) stopAll() {
	for _, id := range c.ids() {
		c.stop(id)
	}
}

// restart starts a stopped replica again on the same addresses and folder.
func (c *cluster) restart(id string) *replica {
	for _, p := range c.peers {
		if p.ID == id {
			return c.start(p, listen(c.t, p.RaftAddr), listen(c.t, p.WorkerAddr), c.peers, false)
		}
	}
	c.t.Fatalf("no replica %s", id)
	return nil
}

func (c *cluster) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.reps))
}

func (c *cluster) get(id string) *replica {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reps[id]
}

// leader waits (polling, bounded) until a running replica leads.
func (c *cluster) leader() *replica {
	c.t.Helper()
	return waitfor.Value(c.t, "a running replica to lead", 15*time.Second, func() (*replica, bool) {
		for _, id := range c.ids() {
			if r := c.get(id); r != nil && r.node.IsLeader() {
				return r, true
			}
		}
		return nil, false
	})
}

func (c *cluster) follower() *replica {
	l := c.leader()
	for _, id := range c.ids() {
		if id != l.peer.ID {
			return c.get(id)
		}
	}
	c.t.Fatal("no follower")
	return nil
}

// converge waits until every running replica has the leader's state
// (after a barrier, so the leader has applied everything committed) and
// returns it.
func (c *cluster) converge() consensus.KVSnapshot {
	c.t.Helper()
	var want consensus.KVSnapshot
	// The observed value is every replica's state, for the failure message.
	waitfor.Value(c.t, "replicas to converge", 20*time.Second, func() (string, bool) {
		l := c.leader()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := l.node.Barrier(ctx)
		cancel()
		want = consensus.StateOf(l.inst)
		ok := err == nil
		var b strings.Builder
		fmt.Fprintf(&b, "barrier: %v", err)
		for _, id := range c.ids() {
			s := consensus.StateOf(c.get(id).inst)
			ok = ok && s.Equal(want)
			fmt.Fprintf(&b, "\nreplica %s: %d keys, %d applied, stats %+v", id, len(s.Data), len(s.Seq), c.get(id).node.Stats())
		}
		return b.String(), ok
	})
	return want
}

func put(ctx context.Context, r *replica, kv ...string) (*jinapb.DataRequestProto, error) {
	return r.client().ProcessSingleData(ctx, consensus.PutReq(kv...))
}

func mustPut(t *testing.T, r *replica, kv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := put(ctx, r, kv...)
	if err != nil {
		t.Fatalf("put via %s: %v", r.peer.ID, err)
	}
	if resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("put via %s: %v", r.peer.ID, resp.GetHeader().GetStatus())
	}
}

func putMany(t *testing.T, r *replica, prefix string, n int) {
	t.Helper()
	for i := range n {
		mustPut(t, r, fmt.Sprintf("%s%03d", prefix, i), fmt.Sprintf("v%d", i))
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// (a) A write sent to a follower's worker is forwarded over gRPC to the
// leader and reaches every replica; a leader read on a follower is
// forwarded too.
func TestClusterWriteThroughFollower(t *testing.T) {
	c := newCluster(t, 3, "ConsensusTestKV", consensus.ConsistencyLeader, nil)
	f := c.follower()
	mustPut(t, f, "k", "v")
	state := c.converge()
	if state.Data["k"] != "v" {
		t.Fatalf("state %+v", state)
	}
	if s := f.node.Stats(); s.ForwardedWrites < 1 || s.FailedWrites != 0 {
		t.Fatalf("follower stats %+v", s)
	}
	resp, err := f.client().ProcessSingleData(ctxFor(t, 10*time.Second), consensus.GetReq("k"))
	if err != nil {
		t.Fatal(err)
	}
	if got := consensus.Texts(t, resp); !slices.Equal(got, []string{"v"}) {
		t.Fatalf("leader read via follower: %v", got)
	}
	if f.node.Stats().ForwardedReads < 1 || c.leader().node.Stats().LeaderReads < 1 {
		t.Fatalf("the read was not forwarded: follower %+v", f.node.Stats())
	}
}

// (b) Killing the leader under a stream of writes: a new leader is
// elected, and every acknowledged write is on every surviving replica.
func TestClusterLeaderKillKeepsAcknowledgedWrites(t *testing.T) {
	c := newCluster(t, 3, "ConsensusTestKV", consensus.ConsistencyLocal, nil)
	old := c.leader()

	const total, killAt = 150, 40
	var (
		mu      sync.Mutex
		acked   = map[string]string{}
		alive   = c.ids()
		retries int
		killed  = make(chan struct{})
	)
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; i < total; i++ {
			key, val := fmt.Sprintf("w%04d", i), fmt.Sprintf("v%d", i)
			deadline := time.Now().Add(20 * time.Second)
			for attempt := 0; ; attempt++ {
				mu.Lock()
				r := c.get(alive[(i+attempt)%len(alive)])
				mu.Unlock()
				if r == nil { // stopped between the read of alive and now
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				resp, err := put(ctx, r, key, val)
				cancel()
				if err == nil && resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_SUCCESS {
					mu.Lock()
					acked[key] = val
					mu.Unlock()
					break
				}
				code := status.Code(err)
				if err != nil && code != codes.Unavailable && code != codes.DeadlineExceeded && code != codes.Canceled {
					writerDone <- fmt.Errorf("write %s via %s: %w", key, r.peer.ID, err)
					return
				}
				if time.Now().After(deadline) {
					writerDone <- fmt.Errorf("write %s: still failing after 20s: %v", key, err)
					return
				}
				mu.Lock()
				retries++
				mu.Unlock()
			}
			if i == killAt {
				close(killed)
			}
		}
		writerDone <- nil
	}()

	select {
	case <-killed:
	case err := <-writerDone:
		t.Fatalf("writer ended before the kill: %v", err)
	}
	mu.Lock()
	alive = slices.DeleteFunc(slices.Clone(alive), func(id string) bool { return id == old.peer.ID })
	mu.Unlock()
	start := time.Now()
	c.stop(old.peer.ID)
	newLeader := c.leader()
	elected := time.Since(start)
	t.Logf("leader %s killed; replica %s elected after %v (heartbeat/election timeout %v/%v; quality bar (docs/ARCHITECTURE.md): 3x election timeout = %v)",
		old.peer.ID, newLeader.peer.ID, elected.Round(time.Millisecond), consensus.DefaultHeartbeatTimeout, consensus.DefaultElectionTimeout, 3*consensus.DefaultElectionTimeout)

	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	state := c.converge()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d writes acknowledged, %d client retries", len(acked), retries)
	if len(acked) != total {
		t.Fatalf("acked %d of %d", len(acked), total)
	}
	for k, v := range acked {
		if state.Data[k] != v {
			t.Fatalf("acknowledged write %s=%s lost (have %q)", k, v, state.Data[k])
		}
	}
}

// A client that writes through one follower needs no retries of its own
// when the leader dies: the follower waits out the election and forwards
// to the new leader.
func TestClusterFollowerRidesOutLeaderKill(t *testing.T) {
	c := newCluster(t, 3, "ConsensusTestKV", consensus.ConsistencyLocal, nil)
	old := c.leader()
	via := c.follower()
	const total, killAt = 60, 20
	for i := range total {
		if i == killAt {
			c.stop(old.peer.ID)
		}
		key, val := fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i)
		resp, err := put(ctxFor(t, 10*time.Second), via, key, val)
		if err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
			t.Fatalf("write %d (%d after killing leader %s) through follower %s: %v %v", i, i-killAt, old.peer.ID, via.peer.ID, err, resp.GetHeader().GetStatus())
		}
	}
	state := c.converge()
	for i := range total {
		if key := fmt.Sprintf("k%03d", i); state.Data[key] != fmt.Sprintf("v%d", i) {
			t.Fatalf("acknowledged %s lost: %q", key, state.Data[key])
		}
	}
}

// (c) A replica whose folder was wiped while it was stopped catches up from
// the leader's snapshot plus the log.
func TestClusterWipedReplicaRestoresFromSnapshot(t *testing.T) {
	c := newCluster(t, 3, "ConsensusTestKV", consensus.ConsistencyLocal, func(cfg *consensus.Config) {
		// Compact hard, so the wiped replica cannot catch up from the log.
		// raft-wal only drops whole sealed segments (entries of the active
		// segment stay readable after compaction), hence tiny segments.
		cfg.TrailingLogs = 4
		cfg.WALSegmentSize = 4 << 10
		cfg.SnapshotThreshold = 1 << 20
	})
	l := c.leader()
	putMany(t, l, "a", 20)
	f := c.follower()
	id := f.peer.ID
	c.stop(id)
	putMany(t, l, "b", 20)
	info, err := l.node.Snapshot(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if info.Index == 0 || info.Size == 0 || info.Time.IsZero() || l.node.Stats().LastSnapshot.Index != info.Index {
		t.Fatalf("snapshot info %+v, stats %+v", info, l.node.Stats().LastSnapshot)
	}
	putMany(t, l, "c", 5) // log entries after the snapshot
	if err := os.RemoveAll(f.dir); err != nil {
		t.Fatal(err)
	}
	r := c.restart(id)
	state := c.converge()
	if len(state.Data) != 45 {
		t.Fatalf("%d keys, want 45", len(state.Data))
	}
	s := r.node.Stats()
	if s.Restores < 1 || s.LastSnapshot.Index < info.Index {
		t.Fatalf("the wiped replica did not install a snapshot: %+v", s)
	}
	// And it serves: a write through it is forwarded to the leader.
	mustPut(t, r, "d", "1")
	if c.converge().Data["d"] != "1" {
		t.Fatal("write through the restored replica lost")
	}
}

// (d) Stopping and restarting every replica keeps the data, restored from
// snapshot + log, or from the log alone for executors without snapshots.
func TestClusterFullRestartKeepsData(t *testing.T) {
	for _, jtype := range []string{"ConsensusTestKV", "ConsensusTestKVNoSnap"} {
		t.Run(jtype, func(t *testing.T) {
			c := newCluster(t, 3, jtype, consensus.ConsistencyLocal, nil)
			l := c.leader()
			putMany(t, l, "a", 15)
			if jtype == "ConsensusTestKV" {
				if _, err := l.node.Snapshot(ctxFor(t, 10*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			putMany(t, c.follower(), "b", 10)
			before := c.converge()
			c.stopAll()
			for _, p := range c.peers {
				c.restart(p.ID)
			}
			after := c.converge()
			if !after.Equal(before) {
				t.Fatalf("state changed across the restart:\nbefore %+v\nafter  %+v", before, after)
			}
			mustPut(t, c.follower(), "c", "1")
			if c.converge().Data["c"] != "1" {
				t.Fatal("write after restart lost")
			}
		})
	}
}

// (e) AddVoter brings a fourth replica in (it catches up and can lead;
// members that never had it in Peers forward to it), RemoveServer takes it
// out again.
func TestClusterAddVoterAndRemoveServer(t *testing.T) {
	c := newCluster(t, 3, "ConsensusTestKV", consensus.ConsistencyLocal, nil)
	l := c.leader()
	putMany(t, l, "a", 10)

	rl, wl := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	p3 := consensus.Peer{ID: "3", RaftAddr: rl.Addr().String(), WorkerAddr: wl.Addr().String()}
	n3 := c.start(p3, rl, wl, append(slices.Clone(c.peers), p3), true)
	if err := n3.node.AddVoter(ctxFor(t, time.Second), p3); !errors.Is(err, consensus.ErrNotLeader) {
		t.Fatalf("AddVoter on a follower: %v", err)
	}
	if err := l.node.AddVoter(ctxFor(t, 10*time.Second), p3); err != nil {
		t.Fatal(err)
	}
	c.converge()
	members, err := l.node.Configuration()
	if err != nil || len(members) != 4 {
		t.Fatalf("configuration %+v %v", members, err)
	}

	// Replica 1 has no "3" in its Peers; it learned the worker address
	// through the log.
	if err := l.node.TransferLeadership(ctxFor(t, 10*time.Second), "3"); err != nil {
		t.Fatal(err)
	}
	if c.leader() != n3 {
		t.Fatalf("leader is %s, want 3", c.leader().peer.ID)
	}
	via := c.get("1")
	if via == n3 {
		t.Fatal("unexpected")
	}
	before := via.node.Stats().ForwardedWrites
	mustPut(t, via, "b", "1")
	if via.node.Stats().ForwardedWrites == before {
		t.Fatal("write was not forwarded")
	}
	if got := c.converge().Data["b"]; got != "1" {
		t.Fatal("write through replica 1 to leader 3 lost")
	}

	if err := n3.node.TransferLeadership(ctxFor(t, 10*time.Second), "0"); err != nil {
		t.Fatal(err)
	}
	l = c.get("0")
	waitfor.True(t, "leadership to move to 0", 10*time.Second, l.node.IsLeader)
	if err := l.node.RemoveServer(ctxFor(t, 10*time.Second), "3"); err != nil {
		t.Fatal(err)
	}
	members, _ = l.node.Configuration()
	if len(members) != 3 || l.node.Stats().Peers != 2 {
		t.Fatalf("after remove: %+v", members)
	}
	// The removed member cannot lead any more; its owner stops it.
	if n3.node.IsLeader() {
		t.Fatal("removed member leads")
	}
	c.stop("3")
	mustPut(t, c.get("2"), "c", "1")
	if c.converge().Data["c"] != "1" {
		t.Fatal("write after shrink lost")
	}
}

// A replica restarted after missing writes reports CaughtUp only once its
// executor holds every write the leader had committed: until then local
// reads would answer from the snapshot alone. A member of a new cluster is
// caught up at once.
func TestClusterRestartedReplicaCatchesUpBeforeServing(t *testing.T) {
	c := newCluster(t, 3, "ConsensusTestKV", consensus.ConsistencyLocal, nil)
	for _, id := range c.ids() {
		select {
		case <-c.get(id).node.CaughtUp():
		default:
			t.Fatalf("replica %s of a new cluster is not caught up", id)
		}
	}
	l := c.leader()
	putMany(t, l, "before", 10)
	f := c.follower()
	c.stop(f.peer.ID)
	putMany(t, l, "missed", 40)
	want := consensus.StateOf(l.inst)

	r := c.restart(f.peer.ID)
	select {
	case <-r.node.CaughtUp():
	case <-time.After(40 * time.Second):
		t.Fatal("the restarted replica never caught up")
	}
	got := consensus.StateOf(r.inst)
	for k, v := range want.Data {
		if got.Data[k] != v {
			t.Fatalf("caught up but %s=%q, want %q (%d of %d keys)", k, got.Data[k], v, len(got.Data), len(want.Data))
		}
	}
}
