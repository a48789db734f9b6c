package consensus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
)

func batchOf(t *testing.T, reqs ...*jinapb.DataRequestProto) []byte {
	t.Helper()
	var ws []*groupWrite
	for _, r := range reqs {
		ws = append(ws, &groupWrite{data: marshal(t, r)})
	}
	return encodeBatch(ws)
}

func TestBatchEncoding(t *testing.T) {
	reqs := []*jinapb.DataRequestProto{PutReq("a", "1"), PutReq("b", "2", "c", "3"), {}}
	parts, err := decodeBatch(batchOf(t, reqs...))
	if err != nil || len(parts) != len(reqs) {
		t.Fatalf("decode: %d parts, %v", len(parts), err)
	}
	for i, r := range reqs {
		got := &jinapb.DataRequestProto{}
		if err := proto.Unmarshal(parts[i], got); err != nil || !proto.Equal(got, r) {
			t.Fatalf("part %d: %v, want %v (%v)", i, got, r, err)
		}
	}
	for _, bad := range [][]byte{{0x0a}, {0x0a, 0x05, 0x01}, {0x10, 0x01}, {0xff}} {
		if _, err := decodeBatch(bad); err == nil {
			t.Fatalf("decodeBatch(%x) accepted a malformed entry", bad)
		}
	}
}

// TestFSMBatchEntries applies the same log — entries of the format every
// jig wrote before batching (one request's bytes, no Extensions) and batch
// entries — as a replica replaying it, and as the leader that submitted
// the batch, and checks both reach the same state.
func TestFSMBatchEntries(t *testing.T) {
	log := []raft.Log{
		{Index: 1, Data: marshal(t, PutReq("a", "1"))},
		{Index: 2, Data: batchOf(t, PutReq("b", "2"), PutReq("a", "3", "c", "4")), Extensions: []byte(extBatch)},
		{Index: 3, Data: marshal(t, PutReq("d", "5"))},
		// A request that does not decode is skipped alone, on every
		// replica alike.
		{Index: 4, Data: append(batchOf(t, PutReq("e", "6")), 0x0a, 0x02, 0xff, 0xff), Extensions: []byte(extBatch)},
	}
	want := KVSnapshot{Data: map[string]string{"a": "3", "b": "2", "c": "4", "d": "5", "e": "6"}, Seq: []string{"a", "b", "a", "c", "d", "e"}}

	replay := NewKV(t, "ConsensusTestKV")
	defer replay.Close()
	f := newFSM(replay, discard, t.TempDir())
	for _, l := range log {
		if resp := f.Apply(&l); resp != nil {
			t.Fatalf("entry %d: response %v for an entry nobody waits for", l.Index, resp)
		}
	}
	if got := StateOf(replay); !got.Equal(want) {
		t.Fatalf("replayed state %+v, want %+v", got, want)
	}
	if f.applies.Load() != 5 || f.lastIndex.Load() != 4 {
		t.Fatalf("counters: applies %d last %d", f.applies.Load(), f.lastIndex.Load())
	}
	if err, ok := f.Apply(&raft.Log{Index: 5, Data: []byte{0x0a, 0x09}, Extensions: []byte(extBatch)}).(error); !ok || !errors.Is(err, ErrBadEntry) {
		t.Fatalf("garbled batch entry: %v", err)
	}

	// The leader: its batch entry is lent; a revoked request is decoded
	// from the entry's bytes, the others answered from the lent objects.
	// The lent objects differ from the bytes so the test can tell which
	// was applied (in the node, the bytes are always Marshal(req)).
	leader := NewKV(t, "ConsensusTestKV")
	defer leader.Close()
	g := newFSM(leader, discard, t.TempDir())
	g.Apply(&log[0])
	h := newHandoff([]*jinapb.DataRequestProto{PutReq("b", "2"), PutReq("revoked", "x")})
	h.revoke(1)
	g.lend(log[1].Data, h)
	resp := g.Apply(&log[1])
	g.unlend(h)
	outs, ok := resp.(batchResponse)
	if !ok || len(outs) != 2 || outs[1] != nil {
		t.Fatalf("leader's batch response: %#v", resp)
	}
	if got := Texts(t, outs[0]); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("response to the first request: %v", got)
	}
	for _, l := range log[2:] {
		g.Apply(&l)
	}
	if got := StateOf(leader); !got.Equal(want) {
		t.Fatalf("leader state %+v, want %+v", got, want)
	}
	leaked := 0
	g.local.Range(func(any, any) bool { leaked++; return true })
	if leaked != 0 {
		t.Fatalf("%d loans leaked", leaked)
	}
}

// soloNode starts a one-member cluster on disk under dir and waits until
// it leads.
func soloNode(t *testing.T, dir string) (*Node, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inst := NewKV(t, "ConsensusTestKV")
	cfg := DefaultConfig()
	fastKnobs(&cfg)
	cfg.ID, cfg.Dir, cfg.Listener, cfg.Instance, cfg.Logger = "0", dir, l, inst, discard
	cfg.Peers = []Peer{{ID: "0", RaftAddr: l.Addr().String(), WorkerAddr: "unused:1"}}
	n, err := NewNode(cfg)
	if err != nil {
		inst.Close()
		t.Fatal(err)
	}
	waitfor.True(t, "the single node to lead", 10*time.Second, n.IsLeader)
	return n, func() {
		if err := n.Shutdown(); err != nil {
			t.Error(err)
		}
		inst.Close()
	}
}

// TestGroupCommitSharesAnEntryAndReplays holds writes in the queue while
// an entry is in flight, checks they go out as one batch entry whose
// callers each get their own response, and that a restarted member
// replays a log of both entry formats: the single-request entries every
// earlier jig wrote, and batches.
func TestGroupCommitSharesAnEntryAndReplays(t *testing.T) {
	dir := t.TempDir()
	n, stop := soloNode(t, dir)
	// A write as jig wrote every write before batching.
	if err := n.raft.Apply(marshal(t, PutReq("old", "0")), 5*time.Second).Error(); err != nil {
		t.Fatal(err)
	}

	// Every flush slot taken: the writes below queue.
	g := &n.group
	g.mu.Lock()
	g.inflight = maxGroupInflight
	g.mu.Unlock()
	const writers = 5
	type result struct {
		i    int
		resp *jinapb.DataRequestProto
		err  error
	}
	results := make(chan result, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := n.ApplyWrite(context.Background(), PutReq(fmt.Sprint("k", i), fmt.Sprint("v", i)))
			results <- result{i, resp, err}
		}()
	}
	waitQueued(t, g, writers)
	// A slot frees up: what queued goes out together.
	g.mu.Lock()
	batch := g.take()
	g.inflight = 1
	g.mu.Unlock()
	go n.flushGroups(batch)
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil {
			t.Fatalf("write %d: %v", r.i, r.err)
		}
		if got := Texts(t, r.resp); !slices.Equal(got, []string{fmt.Sprint("v", r.i)}) {
			t.Fatalf("write %d got the response %v", r.i, got)
		}
	}
	last := n.raft.LastIndex()
	var l raft.Log
	if err := n.logs.GetLog(last, &l); err != nil {
		t.Fatal(err)
	}
	if string(l.Extensions) != extBatch {
		t.Fatalf("last entry is of kind %q, want one %s entry", l.Extensions, extBatch)
	}
	if parts, err := decodeBatch(l.Data); err != nil || len(parts) != writers {
		t.Fatalf("batch entry holds %d requests (%v), want %d", len(parts), err, writers)
	}
	// A lone write goes out in the format of old.
	if _, err := n.ApplyWrite(context.Background(), PutReq("after", "1")); err != nil {
		t.Fatal(err)
	}
	if err := n.logs.GetLog(n.raft.LastIndex(), &l); err != nil || len(l.Extensions) != 0 {
		t.Fatalf("a lone write was logged as kind %q (%v)", l.Extensions, err)
	}
	want := StateOf(n.inst.(*executors.Instance))
	if len(want.Seq) != writers+2 {
		t.Fatalf("state before restart: %+v", want)
	}
	stop()

	n, stop = soloNode(t, dir)
	defer stop()
	waitfor.Value(t, fmt.Sprintf("the replayed state to be %+v", want), 10*time.Second, func() (KVSnapshot, bool) {
		got := StateOf(n.inst.(*executors.Instance))
		return got, got.Equal(want)
	})
}

// TestGroupCommitCallerLeaves: a caller whose context ends while its write
// is queued gets its error and the write is never appended; the others
// of the group are unaffected.
func TestGroupCommitCallerLeaves(t *testing.T) {
	n, stop := soloNode(t, t.TempDir())
	defer stop()
	g := &n.group
	g.mu.Lock()
	g.inflight = maxGroupInflight
	g.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := n.ApplyWrite(ctx, PutReq("gone", "1"))
		left <- err
	}()
	stayed := make(chan error, 1)
	go func() {
		_, err := n.ApplyWrite(context.Background(), PutReq("kept", "1"))
		stayed <- err
	}()
	waitQueued(t, g, 2)
	cancel()
	// Never appended: cancelled, not of unknown outcome.
	if err := <-left; !errors.Is(err, context.Canceled) || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("caller that left: %v", err)
	}
	g.mu.Lock()
	batch := g.take()
	g.inflight = 1
	g.mu.Unlock()
	if len(batch) != 1 {
		t.Fatalf("%d writes still queued, want 1", len(batch))
	}
	go n.flushGroups(batch)
	if err := <-stayed; err != nil {
		t.Fatal(err)
	}
	if s := StateOf(n.inst.(*executors.Instance)); s.Data["kept"] != "1" || s.Data["gone"] != "" {
		t.Fatalf("state %+v", s)
	}
}

// waitQueued waits until n writes wait in g's queue (none of them in an
// entry yet).
func waitQueued(t *testing.T, g *groupCommit, n int) {
	t.Helper()
	waitfor.Value(t, fmt.Sprintf("%d writes to be queued", n), 10*time.Second, func() (int, bool) {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.pending), len(g.pending) == n
	})
}
