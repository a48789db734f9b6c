package consensus

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/encoding/protowire"
)

// extBatch marks a log entry carrying several write requests (group
// commit). Its Data has the wire form of jina.DataRequestListProto: each
// request's bytes as field 1, length-delimited, in the order they are
// applied. A write entry with no Extensions stays what it always was, one
// request's bytes, so logs written before batching replay unchanged, and a
// lone write is still logged that way. The version suffix names the
// format: a later format gets a new name, which an older jig skips as an
// unknown kind (see fsm.Apply) instead of misreading it.
const extBatch = "jig/batch/v1"

// Group commit bounds. maxGroupInflight entries may wait in RAFT at once;
// writes arriving meanwhile queue and go together in the next entry. One
// entry at a time is the fastest: every entry costs each replica a WAL
// fsync, and the replicas of a machine share its disk, so while an entry
// is in flight the next one is better grown than started. Measured on
// 2 cores, 3 replicas, 32 writers: one in flight gave 10-25% more writes/s
// than two in every paired run, and no less at 4 or 64 writers. One entry
// holds at most maxGroupWrites requests and maxGroupBytes bytes (a larger
// request goes alone), so an entry stays small next to the transport's and
// the WAL's limits.
const (
	maxGroupInflight = 1
	maxGroupWrites   = 128
	maxGroupBytes    = 1 << 20
)

// groupCommit gathers the writes submitted on the leader into RAFT
// entries. Callers of commit wait for their own result; the entries are
// applied by flush goroutines, each started by commit when fewer than
// maxGroupInflight are running and ending when the queue is empty.
type groupCommit struct {
	mu       sync.Mutex
	pending  []*groupWrite
	inflight int

	// life bounds the flushes' waits: cancelled at shutdown, so a flush
	// never outlives the node waiting for a future raft did not answer.
	lifeOnce sync.Once
	life     context.Context
	end      context.CancelFunc
}

func (g *groupCommit) lifetime() context.Context {
	g.lifeOnce.Do(func() { g.life, g.end = context.WithCancel(context.Background()) })
	return g.life
}

// close ends the flushes' waits (Shutdown): writes still waiting get an
// unknown outcome.
func (g *groupCommit) close() {
	g.lifetime()
	g.end()
}

// groupWrite is one caller's write waiting in, or flushed with, a group.
type groupWrite struct {
	req  *jinapb.DataRequestProto
	data []byte // req's bytes

	// Set by the flush before done is closed.
	resp *jinapb.DataRequestProto
	err  error
	done chan struct{}

	// Set, under groupCommit.mu, when the write is taken from the queue:
	// the loan of req to the FSM and the write's slot in it (see handoff).
	h    *handoff
	slot int

	// index is the log index of the write's entry, set by the flush
	// before done is closed (0 when never appended).
	index uint64
}

// commit applies one write through the RAFT log, in an entry of its own or
// shared with writes submitted at the same time, and returns the leader
// executor's response. data is req's bytes. It returns when the write is
// applied, failed, or ctx ends; a write still queued when ctx ends is
// dropped (never appended), one already in an entry has an unknown
// outcome.
func (n *Node) commit(ctx context.Context, req *jinapb.DataRequestProto, data []byte) (*jinapb.DataRequestProto, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The caller's span of the entry: the entry itself may be shared with
	// other callers' writes, each of which gets a span in its own trace.
	_, span := tracing.Raft(ctx, "raft.apply")
	resp, index, err := n.commitGroup(ctx, req, data)
	span.Int(tracing.AttrRaftIndex, int64(index))
	span.End(err)
	return resp, err
}

// commitGroup is commit without its span; it also returns the write's
// log index (0 when it is not known to be appended).
func (n *Node) commitGroup(ctx context.Context, req *jinapb.DataRequestProto, data []byte) (*jinapb.DataRequestProto, uint64, error) {
	g := &n.group
	w := &groupWrite{req: req, data: data, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, w)
	var batch []*groupWrite
	if g.inflight < maxGroupInflight {
		g.inflight++
		batch = g.take()
	}
	g.mu.Unlock()
	if batch != nil {
		// Ends when the queue is empty; each entry it waits for is
		// bounded by ApplyTimeout and by the node's shutdown (lifetime).
		go n.flushGroups(batch)
	}
	select {
	case <-w.done:
		return w.resp, w.index, w.err
	case <-ctx.Done():
	}
	g.mu.Lock()
	if i := indexOf(g.pending, w); i >= 0 {
		g.pending = append(g.pending[:i], g.pending[i+1:]...)
		g.mu.Unlock()
		return nil, 0, fmt.Errorf("apply: %w", ctx.Err()) // never appended
	}
	h, slot := w.h, w.slot
	g.mu.Unlock()
	if h != nil {
		// Already in an entry: take req back from the FSM (waiting if it
		// is being applied), so the caller may reuse it.
		h.revoke(slot)
	}
	select {
	case <-w.done:
		return w.resp, w.index, w.err
	default:
	}
	return nil, 0, fmt.Errorf("apply: %w: %w", ErrOutcomeUnknown, ctx.Err())
}

func indexOf(ws []*groupWrite, w *groupWrite) int {
	for i, x := range ws {
		if x == w {
			return i
		}
	}
	return -1
}

// take removes the writes of the next entry from the queue: the oldest
// ones, up to the bounds. Called with g.mu held.
func (g *groupCommit) take() []*groupWrite {
	size := 0
	k := 0
	for k < len(g.pending) && k < maxGroupWrites {
		size += len(g.pending[k].data)
		if k > 0 && size > maxGroupBytes {
			break
		}
		k++
	}
	batch := append([]*groupWrite(nil), g.pending[:k]...)
	g.pending = append(g.pending[:0], g.pending[k:]...)
	// The loan exists from here on, before the entry does: a caller that
	// leaves from now on revokes its slot rather than finding itself in
	// neither the queue nor an entry.
	reqs := make([]*jinapb.DataRequestProto, len(batch))
	for i, w := range batch {
		reqs[i] = w.req
	}
	h := newHandoff(reqs)
	for i, w := range batch {
		w.h, w.slot = h, i
	}
	return batch
}

// flushGroups applies batch, then whatever queued meanwhile, until the
// queue is empty.
func (n *Node) flushGroups(batch []*groupWrite) {
	g := &n.group
	for {
		n.flush(batch)
		g.mu.Lock()
		if len(g.pending) == 0 {
			g.inflight--
			g.mu.Unlock()
			return
		}
		batch = g.take()
		g.mu.Unlock()
	}
}

// flush appends one entry holding batch and hands each write its result.
func (n *Node) flush(batch []*groupWrite) {
	l := raft.Log{Data: batch[0].data}
	if len(batch) > 1 {
		l.Data, l.Extensions = encodeBatch(batch), []byte(extBatch)
	}
	h := batch[0].h
	n.fsm.lend(l.Data, h)
	// Not a caller's context: the entry is shared, and one caller leaving
	// must not decide the outcome of the others.
	resp, index, err := n.applyLocal(n.group.lifetime(), l)
	n.fsm.unlend(h)
	for i, w := range batch {
		w.index = index
		switch {
		case err != nil:
			w.err = err
		case len(batch) == 1:
			out, ok := resp.(*jinapb.DataRequestProto)
			if !ok {
				w.err = fmt.Errorf("apply: unexpected FSM response %T", resp)
			}
			w.resp = out
		default:
			outs, ok := resp.(batchResponse)
			if !ok || len(outs) != len(batch) {
				w.err = fmt.Errorf("apply: unexpected FSM response %T for a batch of %d", resp, len(batch))
			} else if w.resp = outs[i]; w.resp == nil {
				// Revoked by its caller, who is gone; nobody reads this.
				w.err = fmt.Errorf("apply: %w: request revoked", ErrOutcomeUnknown)
			}
		}
		close(w.done)
	}
}

// encodeBatch lays the requests' bytes out as an extBatch entry.
func encodeBatch(batch []*groupWrite) []byte {
	size := 0
	for _, w := range batch {
		size += protowire.SizeTag(1) + protowire.SizeBytes(len(w.data))
	}
	b := make([]byte, 0, size)
	for _, w := range batch {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, w.data)
	}
	return b
}

// decodeBatch splits an extBatch entry into the requests' bytes (slices
// of data).
func decodeBatch(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		if num != 1 || typ != protowire.BytesType {
			return nil, fmt.Errorf("batch entry: unexpected field %d of type %d", num, typ)
		}
		data = data[n:]
		v, m := protowire.ConsumeBytes(data)
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		out = append(out, v)
		data = data[m:]
	}
	return out, nil
}

// batchResponse is the FSM's response to an extBatch entry on the leader
// that submitted it: the executor's response to each request, in order;
// nil for a request whose submitter had revoked it.
type batchResponse []*jinapb.DataRequestProto
