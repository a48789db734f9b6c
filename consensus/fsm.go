package consensus

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
)

// Log entries are raft LogCommand entries. A write is the marshalled
// jina.DataRequestProto in Data with no Extensions, so its payload is
// exactly the request bytes (the bare-raft benchmark applies the same
// bytes). Membership metadata uses Extensions to say what Data holds.
const extPeer = "jig/peer/v1"

// peerEntry announces a member's addresses to every replica (AddVoter), so
// followers can forward to a leader that was not in their static Peers.
type peerEntry struct {
	Peer Peer `json:"peer"`
}

// StateMachine is what a Node needs of the executor whose writes it
// replicates: *executors.Instance implements it. Apply runs a committed
// write nobody waits for; Process runs one whose response goes back to
// the caller (and, in Node.Read, a local read).
type StateMachine interface {
	Name() string
	JType() string
	IsWrite(endpoint string) bool
	Process(ctx context.Context, req *jinapb.DataRequestProto) *jinapb.DataRequestProto
	Apply(ctx context.Context, req *jinapb.DataRequestProto) error
	// CanSnapshot says whether Snapshot and Restore are implemented;
	// without them the log is never compacted.
	CanSnapshot() bool
	Snapshot(dir string) error
	Restore(dir string) error
}

var _ StateMachine = (*executors.Instance)(nil)

// fsm is the RAFT state machine: it applies committed writes to the
// executor instance and snapshots / restores the instance's state. raft
// calls Apply, Snapshot and Restore from one goroutine.
type fsm struct {
	inst   StateMachine
	logger *slog.Logger
	// tmpDir is where snapshot folders are captured and unpacked: under
	// the node's Dir, so a wipe removes leftovers and renames stay on one
	// filesystem.
	tmpDir      string
	canSnapshot bool

	mu    sync.RWMutex
	peers map[string]Peer // announced through the log

	// local maps the entryKey of each entry submitted on this node to its
	// handoff: the leader's fast path (see entryKey).
	local sync.Map // entryKey -> *handoff
	// handedOff and decoded count the writes applied by each path: a
	// request its submitter lent (the leader's fast path), or one decoded
	// from the entry (followers, replays, revoked loans).
	handedOff, decoded atomic.Uint64

	applies   atomic.Uint64 // writes applied to the executor
	lastIndex atomic.Uint64 // log index of the last write applied
	// seen is the index of the last entry Apply finished, of any kind;
	// Node.CaughtUp compares it with the leader's commit index.
	seen         atomic.Uint64
	restores     atomic.Uint64
	lastRestored atomic.Int64 // unix nanos of the last restore
	// onPersist reports a stored snapshot to the node (stats).
	onPersist func(id string)
}

var _ raft.FSM = (*fsm)(nil)

func newFSM(inst StateMachine, logger *slog.Logger, tmpDir string) *fsm {
	return &fsm{inst: inst, logger: logger, tmpDir: tmpDir, canSnapshot: inst.CanSnapshot(), peers: map[string]Peer{}}
}

// Apply applies one committed entry. For a write it returns the executor's
// response (*jinapb.DataRequestProto), which raft hands to the ApplyFuture
// on the leader; a malformed entry returns an error. The handler's context
// is never cancelled: a write must apply identically on every replica,
// whatever happened to the client that sent it.
func (f *fsm) Apply(l *raft.Log) any {
	defer f.seen.Store(l.Index)
	switch string(l.Extensions) {
	case "":
		if h := f.claim(l.Data); h != nil {
			defer close(h.done)
			if req := h.take(0); req != nil {
				return f.applyWrite(l.Index, req)
			}
		}
		if err := f.applyBytes(l.Index, l.Data); err != nil {
			return err
		}
		return nil
	case extBatch:
		h := f.claim(l.Data)
		if h != nil {
			defer close(h.done)
		}
		parts, err := decodeBatch(l.Data)
		if err != nil {
			f.logger.Error("cannot decode batch entry; skipped on every replica", "index", l.Index, "err", err)
			return fmt.Errorf("%w: index %d: %w", ErrBadEntry, l.Index, err)
		}
		var out batchResponse
		if h != nil {
			out = make(batchResponse, len(parts))
		}
		for i, b := range parts {
			if req := h.take(i); req != nil {
				out[i] = f.applyWrite(l.Index, req)
				continue
			}
			// A malformed request is skipped alone (logged), on every
			// replica alike; the others of the entry still apply.
			_ = f.applyBytes(l.Index, b)
		}
		if h == nil {
			return nil
		}
		return out
	case extPeer:
		var e peerEntry
		if err := json.Unmarshal(l.Data, &e); err != nil || e.Peer.ID == "" {
			f.logger.Error("cannot decode peer entry; skipped", "index", l.Index, "err", err)
			return fmt.Errorf("%w: index %d: peer entry", ErrBadEntry, l.Index)
		}
		f.mu.Lock()
		f.peers[e.Peer.ID] = e.Peer
		f.mu.Unlock()
		f.logger.Info("member announced", "id", e.Peer.ID, "raft", e.Peer.RaftAddr, "worker", e.Peer.WorkerAddr)
		return nil
	}
	// A newer jig wrote an entry this one does not know; applying nothing
	// keeps this replica's executor consistent with the others.
	f.logger.Error("unknown entry kind; skipped", "index", l.Index, "kind", string(l.Extensions))
	return fmt.Errorf("%w: index %d: unknown kind %q", ErrBadEntry, l.Index, l.Extensions)
}

// applyBytes decodes one write request and applies it, building no
// response: it was submitted on another member (or by an earlier
// leadership of this one, or its submitter revoked it), and nobody here
// waits for it.
func (f *fsm) applyBytes(index uint64, data []byte) error {
	req := &jinapb.DataRequestProto{}
	if err := proto.Unmarshal(data, req); err != nil {
		f.logger.Error("cannot decode write entry; skipped on every replica", "index", index, "err", err)
		return fmt.Errorf("%w: index %d: %w", ErrBadEntry, index, err)
	}
	f.decoded.Add(1)
	f.inst.Apply(context.Background(), req)
	f.applies.Add(1)
	f.lastIndex.Store(index)
	return nil
}

// applyWrite applies a request its submitter lent (the fast path) and
// returns the executor's response for it.
func (f *fsm) applyWrite(index uint64, req *jinapb.DataRequestProto) *jinapb.DataRequestProto {
	f.handedOff.Add(1)
	resp := f.inst.Process(context.Background(), req)
	f.applies.Add(1)
	f.lastIndex.Store(index)
	return resp
}

// entryKey names the bytes of an entry submitted on this node by the
// memory they live in: the address of the first byte and the length.
// hashicorp/raft hands the leader's FSM the very Data slice ApplyLog was
// given (it copies the raft.Log struct, not the bytes), so the FSM finds
// the requests the submitter already holds by the key of the slice it
// submitted, and applies them without decoding its own bytes. Keys are
// only compared on the node that made them: followers, replays and
// restarted processes build new slices and never match; were raft to copy
// the bytes, nothing would match either and every write would be decoded,
// which is slower, never wrong. The length guards against a later slice
// reusing the first byte of a freed one with other contents.
type entryKey struct {
	first *byte
	n     int
}

// keyOf is the entryKey of data; empty data has none (ok false).
func keyOf(data []byte) (k entryKey, ok bool) {
	if len(data) == 0 {
		return entryKey{}, false
	}
	return entryKey{first: &data[0], n: len(data)}, true
}

// handoff lends the requests of an entry submitted on this node to its
// FSM. For each request exactly one side wins its slot: the FSM claims it
// (and closes done after applying the entry), or the submitter revokes it
// when it stops waiting, so the FSM never uses a request its owner may
// already be reusing; a revoked request is decoded from the entry like on
// any other replica.
type handoff struct {
	reqs  []*jinapb.DataRequestProto
	state []atomic.Int32 // per request: 0 lent, 1 claimed by the FSM, 2 revoked
	done  chan struct{}  // closed by the FSM after applying a claimed entry
	key   entryKey       // the entry's key, once lent
	lent  bool
}

func newHandoff(reqs []*jinapb.DataRequestProto) *handoff {
	return &handoff{reqs: reqs, state: make([]atomic.Int32, len(reqs)), done: make(chan struct{})}
}

// revoke takes request i back, waiting for the FSM if it claimed it.
func (h *handoff) revoke(i int) {
	if h.state[i].CompareAndSwap(0, 2) || h.state[i].Load() == 2 {
		return
	}
	<-h.done
}

// lend registers h as the decoded form of the entry whose Data is data.
// unlend must follow when the submitter stops waiting for the entry.
func (f *fsm) lend(data []byte, h *handoff) {
	if h.key, h.lent = keyOf(data); h.lent {
		f.local.Store(h.key, h)
	}
}

// unlend ends a loan: every request not claimed is revoked, and a claimed
// entry is waited for, so the submitter owns its requests again.
func (f *fsm) unlend(h *handoff) {
	if h.lent {
		f.local.CompareAndDelete(h.key, h)
	}
	for i := range h.reqs {
		h.revoke(i)
	}
}

// claim returns the loan of the entry whose Data is data, if it was
// submitted on this node; the caller claims its slots with take and must
// close done when the entry is applied.
func (f *fsm) claim(data []byte) *handoff {
	key, ok := keyOf(data)
	if !ok {
		return nil
	}
	v, ok := f.local.LoadAndDelete(key)
	if !ok {
		return nil
	}
	return v.(*handoff)
}

// take claims request i for the FSM; nil when its submitter revoked it.
func (h *handoff) take(i int) *jinapb.DataRequestProto {
	if h == nil || i >= len(h.reqs) || !h.state[i].CompareAndSwap(0, 1) {
		return nil
	}
	return h.reqs[i]
}

// peer returns a member announced through the log.
func (f *fsm) peer(id string) (Peer, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	p, ok := f.peers[id]
	return p, ok
}

func (f *fsm) peerList() []Peer {
	f.mu.RLock()
	defer f.mu.RUnlock()
	ps := slices.Collect(maps.Values(f.peers))
	slices.SortFunc(ps, func(a, b Peer) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return ps
}

// Snapshot captures the executor's state. It runs on raft's FSM goroutine,
// so no write is applied while the executor writes its state: the executor
// API has no copy-on-write, and this is what makes the captured state match
// the applied index. The expensive part, packing and storing, happens in
// Persist, concurrently with later writes.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	if !f.canSnapshot {
		return nil, fmt.Errorf("%w: %w", ErrSnapshotUnsupported, executors.ErrNoSnapshot)
	}
	dir, err := os.MkdirTemp(f.tmpDir, "snapshot-")
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	start := time.Now()
	if err := f.inst.Snapshot(dir); err != nil {
		os.RemoveAll(dir)
		if errors.Is(err, executors.ErrNoSnapshot) {
			return nil, fmt.Errorf("%w: %w", ErrSnapshotUnsupported, err)
		}
		return nil, fmt.Errorf("executor %s snapshot: %w", f.inst.Name(), err)
	}
	f.logger.Debug("executor state captured", "executor", f.inst.Name(), "took", time.Since(start))
	return &fsmSnapshot{
		dir:       dir,
		manifest:  manifest{Format: snapshotFormat, Executor: f.inst.JType(), Created: time.Now().UTC(), Peers: f.peerList()},
		logger:    f.logger,
		persisted: f.onPersist,
	}, nil
}

// Restore replaces the executor's state with a snapshot (at start, or
// when the leader sends one to a lagging or new member).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	dir, err := os.MkdirTemp(f.tmpDir, "restore-")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(dir)
	m, err := unpackSnapshot(bufio.NewReaderSize(rc, 1<<20), dir)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if m.Executor != "" && m.Executor != f.inst.JType() {
		f.logger.Warn("snapshot was taken by another executor type", "snapshot", m.Executor, "executor", f.inst.JType())
	}
	if err := f.inst.Restore(dir); err != nil {
		if errors.Is(err, executors.ErrNoSnapshot) {
			return fmt.Errorf("restore: %w: %w", ErrSnapshotUnsupported, err)
		}
		return fmt.Errorf("executor %s restore: %w", f.inst.Name(), err)
	}
	f.mu.Lock()
	f.peers = map[string]Peer{}
	for _, p := range m.Peers {
		f.peers[p.ID] = p
	}
	f.mu.Unlock()
	f.restores.Add(1)
	f.lastRestored.Store(time.Now().UnixNano())
	f.logger.Info("executor state restored from snapshot", "executor", f.inst.Name(), "created", m.Created)
	return nil
}
