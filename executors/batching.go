package executors

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/docarraypb"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
)

// ProcessFunc processes one request; the Batcher calls it with merged
// requests. Errors are transport-level (gRPC statuses), as for
// worker.Server.Process.
type ProcessFunc func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error)

// Batcher implements dynamic batching (`dynamic_batching:` in the executor
// YAML, `uses_dynamic_batching` in a flow): concurrent requests for the same
// endpoint with the same parameters are queued and merged into one request
// of at most PreferredBatchSize documents, or whatever has arrived Timeout
// milliseconds after the first of them; the handler sees the merged batch
// and every caller gets exactly its own documents back, in order.
//
// Details:
//   - One batch per endpoint and parameters runs at a time; requests that
//     arrive meanwhile form the next batch, so batches grow under load.
//   - A request is never split: one bigger than PreferredBatchSize is a
//     batch by itself. PreferredBatchSize 0 means no size limit (flush on
//     the timeout); Timeout 0 means no waiting (batch what is queued).
//   - The handler must return one document per input document (as Jina's
//     dynamic batching requires), else every request of the batch fails.
//   - A handler error, or a transport error of process, fails only the
//     requests of that batch. A results map reaches every caller.
//   - A caller whose context ends while queued is removed from its batch
//     and gets its context's error; the others are not affected. A batch
//     runs until the latest deadline of its callers (none if one has none).
//
// Batching sits where the concurrent requests of one replica meet: in
// worker.Server, in front of RAFT for write endpoints (one log entry per
// batch), so it serves in-process replicas and `jig executor` alike.
type Batcher struct {
	name    string
	config  func(endpoint string) (BatchConfig, bool)
	process ProcessFunc

	// base is the parent of every batch's context; Close cancels it when
	// its own context ends before the batches do.
	base   context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	queues map[string]*batchQueue // by endpoint + parameters
	closed bool
	stop   chan struct{} // closed by Close: flush everything now
	wg     sync.WaitGroup

	// onQueued, when set (tests), runs after a request joined a queue.
	onQueued func()
}

// NewBatcher returns a Batcher for the executor named name (used in error
// statuses); config gives the batching of an endpoint (false: process
// requests for it directly) and process handles merged requests.
func NewBatcher(name string, config func(endpoint string) (BatchConfig, bool), process ProcessFunc) *Batcher {
	base, cancel := context.WithCancel(context.Background())
	return &Batcher{name: name, config: config, process: process, base: base, cancel: cancel, queues: map[string]*batchQueue{}, stop: make(chan struct{})}
}

// batchQueue holds the queued requests of one endpoint and parameters. Its
// runner goroutine exists while the queue is not empty.
type batchQueue struct {
	key     string
	cfg     BatchConfig
	pending []*batchEntry
	ndocs   int
	kick    chan struct{} // wakes the runner: queue full or shrunk
}

type batchEntry struct {
	ctx     context.Context
	req     *jinapb.DataRequestProto
	docs    []*docarraypb.DocProto
	arrived time.Time
	done    chan batchResult // buffered: the runner never blocks on it
}

type batchResult struct {
	resp *jinapb.DataRequestProto
	err  error
}

// Process handles req, batched with others when its endpoint has dynamic
// batching. It returns ctx's error when ctx ends first.
func (b *Batcher) Process(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	ep := Endpoint(req)
	cfg, ok := b.config(ep)
	if !ok || ep == DryRunEndpoint {
		return b.process(ctx, req)
	}
	docs, _, err := protoDocs(req)
	if err != nil {
		return b.process(ctx, req) // the instance reports the bad request
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := batchKey(ep, req)
	if err != nil {
		return b.process(ctx, req)
	}
	e := &batchEntry{ctx: ctx, req: req, docs: docs, arrived: time.Now(), done: make(chan batchResult, 1)}

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return b.process(ctx, req)
	}
	q := b.queues[key]
	if q == nil {
		q = &batchQueue{key: key, cfg: cfg, kick: make(chan struct{}, 1)}
		b.queues[key] = q
		b.wg.Add(1)
		go b.run(q)
	}
	q.pending = append(q.pending, e)
	q.ndocs += len(docs)
	if full(q) {
		q.wake()
	}
	hook := b.onQueued
	b.mu.Unlock()
	if hook != nil {
		hook()
	}

	select {
	case r := <-e.done:
		return r.resp, r.err
	case <-ctx.Done():
		b.mu.Lock()
		if i := slices.Index(q.pending, e); i >= 0 {
			q.pending = slices.Delete(q.pending, i, i+1)
			q.ndocs -= len(e.docs)
			q.wake()
		}
		b.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Close processes the queued requests at once and waits until every batch
// has finished; when ctx ends first, it cancels the batches' contexts and
// waits for their handlers to return. Requests after Close are processed
// one by one.
func (b *Batcher) Close(ctx context.Context) {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		b.cancel()
		<-done
	}
	b.cancel()
}

func (q *batchQueue) wake() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

func full(q *batchQueue) bool {
	return q.cfg.PreferredBatchSize > 0 && q.ndocs >= q.cfg.PreferredBatchSize
}

// run is the runner of q: it waits until a batch is due (full, timed out
// or closing), processes it, and repeats until the queue is empty.
func (b *Batcher) run(q *batchQueue) {
	defer b.wg.Done()
	timeout := time.Duration(q.cfg.Timeout) * time.Millisecond
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		b.mu.Lock()
		if len(q.pending) == 0 {
			delete(b.queues, q.key)
			b.mu.Unlock()
			return
		}
		wait := time.Until(q.pending[0].arrived.Add(timeout))
		if !full(q) && !b.closed && wait > 0 {
			b.mu.Unlock()
			timer.Reset(wait)
			select {
			case <-q.kick:
			case <-timer.C:
			case <-b.stop:
			}
			continue
		}
		batch := q.take()
		b.mu.Unlock()
		if len(batch) > 0 {
			b.runBatch(batch)
		}
	}
}

// take removes the next batch from the queue: requests in arrival order
// up to PreferredBatchSize documents (at least one request). Requests
// whose caller has gone are dropped.
func (q *batchQueue) take() []*batchEntry {
	size := q.cfg.PreferredBatchSize
	var batch []*batchEntry
	n, i := 0, 0
	for ; i < len(q.pending); i++ {
		e := q.pending[i]
		if size > 0 && len(batch) > 0 && n+len(e.docs) > size {
			break
		}
		q.ndocs -= len(e.docs)
		if e.ctx.Err() != nil {
			continue // its caller returns on its own
		}
		batch = append(batch, e)
		n += len(e.docs)
	}
	q.pending = slices.Clone(q.pending[i:])
	return batch
}

// runBatch merges the batch into one request, processes it and hands each
// caller its share of the response.
func (b *Batcher) runBatch(batch []*batchEntry) {
	total := 0
	for _, e := range batch {
		total += len(e.docs)
	}
	all := make([]*docarraypb.DocProto, 0, total)
	for _, e := range batch {
		all = append(all, e.docs...)
	}
	first := batch[0].req
	merged := &jinapb.DataRequestProto{
		Header:     proto.CloneOf(first.GetHeader()),
		Parameters: first.GetParameters(),
		Data: &jinapb.DataRequestProto_DataContentProto{
			Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: &docarraypb.DocListProto{Docs: all}},
		},
	}
	ctx, cancel := batchContext(b.base, batch)
	resp, err := b.process(ctx, merged)
	cancel()
	if err != nil {
		for _, e := range batch {
			e.done <- batchResult{err: err}
		}
		return
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
		for _, e := range batch {
			e.done <- batchResult{resp: failed(e.req, st)}
		}
		return
	}
	out, _, derr := protoDocs(resp)
	if derr == nil && len(out) != total {
		derr = Errorf("BadResult", "dynamic batching: the handler returned %d documents for a batch of %d; a batched endpoint must return one document per input document", len(out), total)
	}
	if derr != nil {
		st := ErrorStatus(derr, b.name, "")
		for _, e := range batch {
			e.done <- batchResult{resp: failed(e.req, st)}
		}
		return
	}
	changed := resp.GetParameters() != merged.GetParameters()
	at := 0
	for _, e := range batch {
		mine := out[at : at+len(e.docs) : at+len(e.docs)]
		at += len(e.docs)
		r := wire.Shallow(e.req) // documents in the form the caller sent
		if changed {
			r.Parameters = proto.CloneOf(resp.GetParameters()) // results; one copy per caller
		}
		if err := wire.SetDocList(r, &docarraypb.DocListProto{Docs: mine}); err != nil {
			r = failed(e.req, ErrorStatus(err, b.name, ""))
		}
		e.done <- batchResult{resp: r}
	}
}

// batchContext is the context a batch runs with: not any one caller's (a
// caller leaving must not cancel the others' work), bounded by the latest
// deadline among them when they all have one, and cancelled by a Close
// that runs out of time.
func batchContext(base context.Context, batch []*batchEntry) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, e := range batch {
		d, ok := e.ctx.Deadline()
		if !ok {
			return context.WithCancel(base)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(base, latest)
}

// failed returns req with an ERROR status (each caller its own copy of
// st).
func failed(req *jinapb.DataRequestProto, st *jinapb.StatusProto) *jinapb.DataRequestProto {
	return wire.Failed(req, proto.CloneOf(st))
}

// batchKey identifies the requests that may share a batch: the endpoint and
// the exact parameters (deterministically serialised).
func batchKey(endpoint string, req *jinapb.DataRequestProto) (string, error) {
	if req.GetParameters() == nil {
		return endpoint + "\x00", nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(req.GetParameters())
	if err != nil {
		return "", fmt.Errorf("batch key: %w", err)
	}
	return endpoint + "\x00" + string(b), nil
}

// protoDocs returns the wire documents of a request without decoding them
// into Documents, and whether they came as docs_bytes.
func protoDocs(req *jinapb.DataRequestProto) ([]*docarraypb.DocProto, bool, error) {
	switch d := req.GetData().GetDocuments().(type) {
	case *jinapb.DataRequestProto_DataContentProto_Docs:
		return d.Docs.GetDocs(), false, nil
	case *jinapb.DataRequestProto_DataContentProto_DocsBytes:
		var l docarraypb.DocListProto
		if err := proto.Unmarshal(d.DocsBytes, &l); err != nil {
			return nil, true, fmt.Errorf("decode DocListProto: %w", err)
		}
		return l.GetDocs(), true, nil
	}
	return nil, false, nil
}
