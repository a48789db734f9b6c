package consensus

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
)

// memSink is a raft.SnapshotSink into memory.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "1-2-1700000000000" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func marshal(t *testing.T, r *jinapb.DataRequestProto) []byte {
	t.Helper()
	b, err := proto.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lendAll lends reqs as the decoded form of the entry data, as a flush
// does; the returned function ends the loan.
func lendAll(f *fsm, data []byte, reqs ...*jinapb.DataRequestProto) func() {
	h := newHandoff(reqs)
	f.lend(data, h)
	return func() { f.unlend(h) }
}

func TestFSMApplyInLogOrder(t *testing.T) {
	inst := NewKV(t, "ConsensusTestKV")
	defer inst.Close()
	f := newFSM(inst, discard, t.TempDir())
	for i, kv := range [][]string{{"a", "1"}, {"b", "2"}} {
		// Entries submitted elsewhere (followers, replays): applied, and
		// no response is built, since nobody waits for one.
		if resp := f.Apply(&raft.Log{Index: uint64(i + 1), Data: marshal(t, PutReq(kv...))}); resp != nil {
			t.Fatalf("apply %d: response %v for an entry nobody waits for", i, resp)
		}
	}
	// An entry submitted on this node (the leader) answers its submitter.
	req := PutReq("a", "3")
	data := marshal(t, req)
	end := lendAll(f, data, req)
	resp := f.Apply(&raft.Log{Index: 3, Data: data})
	end()
	if r, ok := resp.(*jinapb.DataRequestProto); !ok || r.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("apply of a local write: %v", resp)
	}
	got := StateOf(inst)
	if want := (KVSnapshot{Data: map[string]string{"a": "3", "b": "2"}, Seq: []string{"a", "b", "a"}}); !got.Equal(want) {
		t.Fatalf("state %+v, want %+v", got, want)
	}
	if f.applies.Load() != 3 || f.lastIndex.Load() != 3 {
		t.Fatalf("counters: applies %d last %d", f.applies.Load(), f.lastIndex.Load())
	}
	// A garbled entry is skipped with an error, on every replica alike.
	if err, ok := f.Apply(&raft.Log{Index: 4, Data: []byte{0xff, 0xff}}).(error); !ok || !errors.Is(err, ErrBadEntry) {
		t.Fatalf("bad entry: %v", err)
	}
	if err, ok := f.Apply(&raft.Log{Index: 5, Data: []byte("x"), Extensions: []byte("jig/future/v9")}).(error); !ok || !errors.Is(err, ErrBadEntry) {
		t.Fatalf("unknown kind: %v", err)
	}
	// Peer announcements feed the address book.
	pe, _ := json.Marshal(peerEntry{Peer: Peer{ID: "9", RaftAddr: "127.0.0.1:1", WorkerAddr: "127.0.0.1:2"}})
	if resp := f.Apply(&raft.Log{Index: 6, Data: pe, Extensions: []byte(extPeer)}); resp != nil {
		t.Fatalf("peer entry: %v", resp)
	}
	if p, ok := f.peer("9"); !ok || p.WorkerAddr != "127.0.0.1:2" {
		t.Fatalf("peer: %+v %v", p, ok)
	}
}

func TestFSMSnapshotRestore(t *testing.T) {
	src := NewKV(t, "ConsensusTestKV")
	defer src.Close()
	f := newFSM(src, discard, t.TempDir())
	f.Apply(&raft.Log{Index: 1, Data: marshal(t, PutReq("x", "1", "y", "2"))})
	pe, _ := json.Marshal(peerEntry{Peer: Peer{ID: "7", RaftAddr: "r", WorkerAddr: "w"}})
	f.Apply(&raft.Log{Index: 2, Data: pe, Extensions: []byte(extPeer)})

	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Writes after the capture do not leak into the snapshot.
	f.Apply(&raft.Log{Index: 3, Data: marshal(t, PutReq("z", "3"))})
	var persistedID string
	snap.(*fsmSnapshot).persisted = func(id string) { persistedID = id }
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	if !sink.closed || sink.cancelled || persistedID != sink.ID() {
		t.Fatalf("sink closed %v cancelled %v persisted %q", sink.closed, sink.cancelled, persistedID)
	}

	dst := NewKV(t, "ConsensusTestKV")
	defer dst.Close()
	g := newFSM(dst, discard, t.TempDir())
	g.Apply(&raft.Log{Index: 1, Data: marshal(t, PutReq("stale", "!"))})
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	want := KVSnapshot{Data: map[string]string{"x": "1", "y": "2"}, Seq: []string{"x", "y"}}
	if got := StateOf(dst); !got.Equal(want) {
		t.Fatalf("restored %+v, want %+v", got, want)
	}
	if p, ok := g.peer("7"); !ok || p.WorkerAddr != "w" {
		t.Fatalf("restored peers: %+v", g.peerList())
	}
	if g.restores.Load() != 1 || g.lastRestored.Load() == 0 {
		t.Fatal("restore not counted")
	}
	// A corrupt stream fails cleanly and leaves the state alone.
	if err := g.Restore(io.NopCloser(bytes.NewReader([]byte("not a tar")))); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("corrupt snapshot: %v", err)
	}
	if got := StateOf(dst); !got.Equal(want) {
		t.Fatalf("state changed by failed restore: %+v", got)
	}
}

func TestFSMWithoutSnapshotHooks(t *testing.T) {
	inst := NewKV(t, "ConsensusTestKVNoSnap")
	defer inst.Close()
	f := newFSM(inst, discard, t.TempDir())
	if f.canSnapshot {
		t.Fatal("KVNoSnap must not be snapshot-capable")
	}
	_, err := f.Snapshot()
	if !errors.Is(err, ErrSnapshotUnsupported) || !errors.Is(err, executors.ErrNoSnapshot) {
		t.Fatalf("want ErrSnapshotUnsupported wrapping executors.ErrNoSnapshot, got %v", err)
	}
	var buf bytes.Buffer
	if err := packSnapshot(&buf, t.TempDir(), manifest{Format: snapshotFormat}); err != nil {
		t.Fatal(err)
	}
	if err := f.Restore(io.NopCloser(&buf)); !errors.Is(err, ErrSnapshotUnsupported) {
		t.Fatalf("restore: %v", err)
	}
}

func TestFSMPersistFailureCancelsSink(t *testing.T) {
	s := &fsmSnapshot{dir: "/nonexistent/jig-consensus-test", manifest: manifest{Format: snapshotFormat}, logger: discard}
	sink := &memSink{}
	if err := s.Persist(sink); err == nil || !sink.cancelled || sink.closed {
		t.Fatalf("err %v cancelled %v closed %v", err, sink.cancelled, sink.closed)
	}
}

func TestPeerListSorted(t *testing.T) {
	f := &fsm{peers: map[string]Peer{"b": {ID: "b"}, "a": {ID: "a"}, "c": {ID: "c"}}}
	var ids []string
	for _, p := range f.peerList() {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatal(ids)
	}
}

func TestFSMLeaderHandoff(t *testing.T) {
	inst := NewKV(t, "ConsensusTestKV")
	defer inst.Close()
	f := newFSM(inst, discard, t.TempDir())
	// The lent object wins over the bytes: that is how the test can tell
	// the fast path was taken (in the node, data is always Marshal(req)).
	data := marshal(t, PutReq("from-bytes", "1"))
	end := lendAll(f, data, PutReq("from-object", "1"))
	f.Apply(&raft.Log{Index: 1, Data: data})
	end() // claimed and applied: returns at once
	if s := StateOf(inst); s.Data["from-object"] != "1" || s.Data["from-bytes"] != "" {
		t.Fatalf("leader did not use its request: %+v", s)
	}
	if f.handedOff.Load() != 1 || f.decoded.Load() != 0 {
		t.Fatalf("paths: handed off %d, decoded %d; want the fast path once", f.handedOff.Load(), f.decoded.Load())
	}
	// The same bytes in another slice (a follower, a replay) are decoded.
	copied := append([]byte(nil), data...)
	end = lendAll(f, data, PutReq("from-object-again", "1"))
	f.Apply(&raft.Log{Index: 2, Data: copied})
	end()
	if s := StateOf(inst); s.Data["from-object-again"] != "" || f.decoded.Load() != 1 || f.handedOff.Load() != 1 {
		t.Fatalf("a copy took the fast path: %+v, handed off %d, decoded %d", s, f.handedOff.Load(), f.decoded.Load())
	}
	// A shorter slice starting at the same byte is other data.
	end = lendAll(f, data, PutReq("from-object-again", "1"))
	if f.claim(data[:len(data)-1]) != nil {
		t.Fatal("a prefix of the lent bytes was claimed")
	}
	end()
	// A revoked loan (the submitter gave up) makes the FSM decode.
	data2 := marshal(t, PutReq("late", "2"))
	end = lendAll(f, data2, PutReq("revoked", "2"))
	end()
	f.Apply(&raft.Log{Index: 3, Data: data2})
	if s := StateOf(inst); s.Data["late"] != "2" || s.Data["revoked"] != "" || f.decoded.Load() != 2 {
		t.Fatalf("revoked request used: %+v (decoded %d)", s, f.decoded.Load())
	}
	// A claimed loan makes the submitter wait until the FSM is done.
	data3 := marshal(t, PutReq("x", "3"))
	end = lendAll(f, data3, PutReq("x", "3"))
	h := f.claim(data3)
	if h == nil || h.take(0) == nil {
		t.Fatal("claim failed")
	}
	ended := make(chan struct{})
	go func() { end(); close(ended) }()
	select {
	case <-ended:
		t.Fatal("submitter returned while the FSM still used its request")
	case <-time.After(20 * time.Millisecond):
	}
	close(h.done)
	<-ended
	leaked := 0
	f.local.Range(func(any, any) bool { leaked++; return true })
	if leaked != 0 {
		t.Fatalf("%d loans leaked", leaked)
	}
	lendAll(f, nil)()
	if f.claim(nil) != nil {
		t.Fatal("empty data")
	}
}
