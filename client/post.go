package client

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jig-dev/jig/executors/docarray"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Defaults of the PostOptions.
const (
	// DefaultRequestSize is the number of documents per request.
	DefaultRequestSize = 100
	// DefaultPrefetch is the number of requests a Post keeps in flight.
	DefaultPrefetch = 64
	// DefaultRetryBackoff and DefaultMaxRetryBackoff bound the exponential
	// backoff between retries.
	DefaultRetryBackoff    = 200 * time.Millisecond
	DefaultMaxRetryBackoff = 5 * time.Second
)

// PostOption configures one Post, Stream or PostStream.
type PostOption func(*postOptions)

type postOptions struct {
	requestSize     int
	params          map[string]any
	target          string
	timeout         time.Duration
	retries         int
	backoffBase     time.Duration
	backoffMax      time.Duration
	ordered         bool
	prefetch        int
	continueOnError bool
	onDone          func(*Response)
	onError         func(*Response, error)
	onAlways        func(*Response, error)
	onRetry         func(Retry)
}

// RequestSize sets the number of documents per request (default 100);
// n <= 0 sends all documents in one request.
func RequestSize(n int) PostOption { return func(o *postOptions) { o.requestSize = n } }

// Parameters sets the request parameters, sent with every request as a
// google.protobuf.Struct (JSON object over HTTP). Values must be JSON-like:
// nil, bool, numbers, strings, []any, map[string]any. Executor-specific
// parameters go under the executor's name or as "name__key".
func Parameters(p map[string]any) PostOption { return func(o *postOptions) { o.params = p } }

// TargetExecutor restricts the request to executors whose name matches the
// regular expression (header.target_executor); others pass it on untouched.
func TargetExecutor(regex string) PostOption { return func(o *postOptions) { o.target = regex } }

// Timeout bounds each request, from its first send to its answer
// (including retries); an expired request fails with DEADLINE_EXCEEDED
// and is not retried. 0 (the default) waits as long as ctx allows.
func Timeout(d time.Duration) PostOption { return func(o *postOptions) { o.timeout = d } }

// Retries sets how many times a request is sent again after a transport
// failure (gRPC UNAVAILABLE, HTTP 502/503, a broken connection), with
// exponential backoff. Requests an executor answered with ERROR are never
// retried. Default 0.
func Retries(n int) PostOption { return func(o *postOptions) { o.retries = n } }

// RetryBackoff sets the first delay between retries and its bound; each
// retry doubles the delay (±20% jitter). Defaults: 200 ms, 5 s.
func RetryBackoff(first, max time.Duration) PostOption {
	return func(o *postOptions) { o.backoffBase, o.backoffMax = first, max }
}

// Ordered returns results in input order (Jina's results_in_order=True).
// Responses that overtake an earlier one are held back; they count
// against Prefetch, so memory stays bounded. Default false: results come
// as they arrive.
func Ordered(on bool) PostOption { return func(o *postOptions) { o.ordered = on } }

// Prefetch bounds the requests in flight (sent and not yet handed to the
// caller), and so the memory a Post uses. Default 64.
func Prefetch(n int) PostOption { return func(o *postOptions) { o.prefetch = n } }

// ContinueOnError keeps a Post going after a request fails: the failure
// goes to OnError/OnAlways and the iterator, and the other requests
// continue. Default false: the first failure ends the Post with its error
// (an *ExecutorError when an executor failed). Connection failures end a
// Post either way.
func ContinueOnError(on bool) PostOption { return func(o *postOptions) { o.continueOnError = on } }

// OnDone is called with every successful response (Jina's on_done).
func OnDone(f func(*Response)) PostOption { return func(o *postOptions) { o.onDone = f } }

// OnError is called with every failed request (Jina's on_error): the
// response when there is one (else a Response with Index and RequestID
// only) and the error.
func OnError(f func(*Response, error)) PostOption { return func(o *postOptions) { o.onError = f } }

// OnAlways is called after OnDone or OnError for every request (Jina's
// on_always); err is nil on success.
func OnAlways(f func(*Response, error)) PostOption { return func(o *postOptions) { o.onAlways = f } }

// OnRetry is called before each retry, e.g. to log it.
func OnRetry(f func(Retry)) PostOption { return func(o *postOptions) { o.onRetry = f } }

// Retry describes a retry (see OnRetry).
type Retry struct {
	// Index is the request sent again, or -1 when the connection (a gRPC
	// stream carrying several requests) is being re-established.
	Index int
	// Attempt counts retries from 1.
	Attempt int
	// Delay is the backoff before this attempt (for a connection: how long
	// it waits at most for the gateway to come back).
	Delay time.Duration
	// Err is the failure being retried.
	Err error
}

// Callbacks (OnDone, OnError, OnAlways, OnRetry) run on the goroutine that
// called Post or PostStream, or that ranges over Stream, one at a time, in
// delivery order, never concurrently. While one runs, the Post sends no
// new requests (answers queue up, bounded by Prefetch).

func (c *Client) postOptions(opts []PostOption) (*postOptions, error) {
	o := &postOptions{requestSize: DefaultRequestSize, prefetch: DefaultPrefetch, backoffBase: DefaultRetryBackoff, backoffMax: DefaultMaxRetryBackoff}
	for _, f := range opts {
		f(o)
	}
	if o.prefetch <= 0 {
		o.prefetch = DefaultPrefetch
	}
	if o.retries < 0 {
		return nil, badInput("retries must not be negative, got %d", o.retries)
	}
	if o.timeout < 0 {
		return nil, badInput("timeout must not be negative, got %s", o.timeout)
	}
	if o.backoffBase <= 0 {
		o.backoffBase = DefaultRetryBackoff
	}
	if o.backoffMax < o.backoffBase {
		o.backoffMax = max(o.backoffBase, DefaultMaxRetryBackoff)
	}
	if o.target != "" {
		if _, err := regexp.Compile(o.target); err != nil {
			return nil, badInput("target executor %q is not a valid regular expression: %v", o.target, err)
		}
	}
	return o, nil
}

// backoff returns the delay before retry attempt (1, 2, ...).
func (o *postOptions) backoff(attempt int) time.Duration {
	d := o.backoffBase
	for i := 1; i < attempt && d < o.backoffMax; i++ {
		d *= 2
	}
	d = min(d, o.backoffMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Post sends docs to endpoint in requests of RequestSize documents and
// returns the documents of all responses (in arrival order unless
// Ordered) and the results executors returned beside them
// (parameters["__results__"], see Results). No documents send one request
// without documents (parameters only). An empty endpoint means "/default".
//
// The first failed request ends the Post with its error (an
// *ExecutorError for an executor's ERROR status) and the documents and
// results received so far. With ContinueOnError, failed requests are
// skipped and the error summarises them (errors.As finds the first).
func (c *Client) Post(ctx context.Context, endpoint string, docs docarray.DocList, opts ...PostOption) (docarray.DocList, Results, error) {
	var (
		out     docarray.DocList
		results Results
	)
	err := c.collect(ctx, endpoint, slices.Values(docs), opts, func(r *Response) {
		out = append(out, r.Docs...)
		results = results.add(r)
	})
	return out, results, err
}

// Results are the results executors returned beside documents
// (parameters["__results__"][<executor name>], Jina's return_results), by
// executor name: one entry for each response that carried results from
// that executor, in the order the responses were collected (input order
// with Ordered). A Post of one request has at most one entry per executor:
// results["index"][0].
type Results map[string][]any

// add appends the results of one response; a nil Results stays nil until
// a response carries some.
func (rs Results) add(r *Response) Results {
	for name, v := range r.Results() {
		if rs == nil {
			rs = Results{}
		}
		rs[name] = append(rs[name], v)
	}
	return rs
}

// PostStream is Post for an iterator of documents, with results going to
// the OnDone/OnError/OnAlways callbacks only: nothing is collected, so
// memory stays bounded by Prefetch whatever the number of documents. As
// with Stream, docs runs on a goroutine of its own.
func (c *Client) PostStream(ctx context.Context, endpoint string, docs iter.Seq[*docarray.Document], opts ...PostOption) error {
	return c.collect(ctx, endpoint, docs, opts, nil)
}

func (c *Client) collect(ctx context.Context, endpoint string, docs iter.Seq[*docarray.Document], opts []PostOption, keep func(*Response)) error {
	o, err := c.postOptions(opts)
	if err != nil {
		return err
	}
	var (
		failed, total int
		first         error
	)
	_, err = c.run(ctx, endpoint, docs, o, func(r *Response, err error) bool {
		total++
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		} else if keep != nil {
			keep(r)
		}
		return true
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d requests failed; first: %w", failed, total, first)
	}
	return nil
}

// Stream sends the documents docs yields to endpoint and yields each
// response as it arrives (in input order with Ordered). docs is consumed
// lazily, at most Prefetch requests ahead of the loop body, so it may
// generate any number of documents. It runs on a goroutine of its own
// (synchronise any state it shares with the loop body) and should stop
// soon after ctx is done: the Stream waits for it before it ends.
//
// A failed request yields its response (possibly with Index and RequestID
// only) and its error; without ContinueOnError the iteration then ends.
// Connection failures and ctx ending yield (nil, err) and end it.
// Breaking out of the loop cancels the requests still in flight.
func (c *Client) Stream(ctx context.Context, endpoint string, docs iter.Seq[*docarray.Document], opts ...PostOption) iter.Seq2[*Response, error] {
	return func(yield func(*Response, error) bool) {
		o, err := c.postOptions(opts)
		if err != nil {
			yield(nil, err)
			return
		}
		if yielded, err := c.run(ctx, endpoint, docs, o, yield); err != nil && !yielded {
			yield(nil, err)
		}
	}
}

// pending is one request of a Post, from its creation by the producer to
// its delivery to the caller.
type pending struct {
	index    int
	id       string
	firstDoc int // index of its first document in the input
	ndocs    int
	// wire form, built once by the transport's prepare and dropped when
	// the request is settled (a pending timeout event may keep p itself
	// alive for a while). Only the engine goroutine touches these after
	// prepare; transports get them by value in send.
	grpcReq  any // *jinapb.DataRequestProto
	httpBody []byte
	deadline time.Time // zero without Timeout; set before the first send
	// settled is set when the engine is done with the request, so that
	// transports skip queued sends and drop late answers.
	settled atomic.Bool

	attempt int // retries so far (engine only)
}

// result is what a transport reports to the engine.
type result struct {
	p       *pending
	attempt int
	resp    *Response // the answer; may accompany err
	err     error     // delivery failure of this request (gRPC status error)
	conn    bool      // err means the address is unreachable: fatal once retries are spent
	fatal   error     // the transport gave up; ends the Post
	retry   *Retry    // a connection-level retry notice, for OnRetry
}

// transport carries requests over one protocol.
type transport interface {
	// prepare builds p's wire form from docs (called by the producer).
	prepare(p *pending, docs docarray.DocList) error
	// send sends p (again); the outcome arrives on results. It must not
	// block for long.
	send(p *pending, attempt int)
	// forget drops a request given up on (timeout).
	forget(p *pending)
	results() <-chan result
	// close stops the transport and waits for its goroutines; graceful
	// lets a finished gRPC stream end cleanly first.
	close(graceful bool)
}

var errStopped = errors.New("stopped by the caller")

// run is the engine behind Post, PostStream and Stream: a producer
// goroutine turns docs into requests, the transport carries them, and this
// goroutine matches answers to requests, retries, applies timeouts,
// restores order and hands results to yield. yielded reports whether err
// was already given to yield.
func (c *Client) run(ctx context.Context, endpoint string, docs iter.Seq[*docarray.Document], o *postOptions, yield func(*Response, error) bool) (yielded bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if endpoint == "" {
		endpoint = "/default"
	} else if !strings.HasPrefix(endpoint, "/") {
		endpoint = "/" + endpoint
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr, err := c.newTransport(ctx, endpoint, o)
	if err != nil {
		return false, err
	}
	batches := make(chan *pending)
	var (
		wg         sync.WaitGroup
		produceErr error // written before batches is closed
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		produceErr = produce(ctx, docs, o.requestSize, tr, batches)
	}()
	e := &engine{o: o, tr: tr, yield: yield, held: map[int]held{}}
	err = e.loop(ctx, batches, &produceErr)
	graceful := err == nil
	if !graceful {
		cancel()
	}
	tr.close(graceful)
	cancel()
	// The producer stops at its next document once ctx is done.
	wg.Wait()
	if errors.Is(err, errStopped) {
		return true, nil
	}
	return e.yieldedErr, err
}

// produce cuts docs into requests and hands them to the engine, which
// takes one only when a Prefetch slot is free: this is what keeps a
// generator of a million documents from running ahead.
func produce(ctx context.Context, docs iter.Seq[*docarray.Document], size int, tr transport, out chan<- *pending) error {
	var (
		batch       docarray.DocList
		index, n    int
		prepareErr  error
		capPerBatch = size
	)
	if size <= 0 || size > 1024 {
		capPerBatch = 1024
	}
	flush := func() bool {
		p := &pending{index: index, id: docarray.NewID(), firstDoc: n - len(batch), ndocs: len(batch)}
		if prepareErr = tr.prepare(p, batch); prepareErr != nil {
			return false
		}
		// The wire form holds what it needs; a new slice lets the old
		// documents go once the request is answered.
		batch = make(docarray.DocList, 0, capPerBatch)
		index++
		select {
		case out <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if docs != nil {
		for d := range docs {
			if ctx.Err() != nil {
				return nil
			}
			if d == nil {
				return badInput("document %d is nil", n)
			}
			batch = append(batch, d)
			n++
			if size > 0 && len(batch) >= size && !flush() {
				return prepareErr
			}
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if len(batch) > 0 || index == 0 {
		flush()
	}
	return prepareErr
}

type held struct {
	resp *Response
	err  error
}

type engine struct {
	o          *postOptions
	tr         transport
	yield      func(*Response, error) bool
	inflight   int // taken from the producer, not yet handed to yield
	next       int // Ordered: index to hand over next
	held       map[int]held
	events     eventHeap
	yieldedErr bool
}

func (e *engine) loop(ctx context.Context, batches <-chan *pending, produceErr *error) error {
	open := true
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for open || e.inflight > 0 {
		var in <-chan *pending
		if open && e.inflight < e.o.prefetch {
			in = batches
		}
		var wake <-chan time.Time
		if len(e.events) > 0 {
			timer.Reset(time.Until(e.events[0].at))
			wake = timer.C
		}
		select {
		case p, ok := <-in:
			if !ok {
				open = false
				if *produceErr != nil {
					return *produceErr
				}
				continue
			}
			e.inflight++
			if e.o.timeout > 0 {
				p.deadline = time.Now().Add(e.o.timeout)
				heap.Push(&e.events, event{at: p.deadline, p: p, timeout: true})
			}
			e.tr.send(p, 0)
		case r := <-e.tr.results():
			if err := e.handle(r); err != nil {
				return err
			}
		case <-wake:
			now := time.Now()
			for len(e.events) > 0 && !e.events[0].at.After(now) {
				ev := heap.Pop(&e.events).(event)
				if ev.p.settled.Load() {
					continue
				}
				if !ev.timeout {
					e.tr.send(ev.p, ev.p.attempt)
					continue
				}
				e.tr.forget(ev.p)
				err := status.Errorf(codes.DeadlineExceeded, "no answer within %s", e.o.timeout)
				if err := e.deliver(ev.p, nil, &requestError{index: ev.p.index, err: err}); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// handle processes one transport report.
func (e *engine) handle(r result) error {
	switch {
	case r.fatal != nil:
		return r.fatal
	case r.retry != nil:
		if e.o.onRetry != nil {
			e.o.onRetry(*r.retry)
		}
		return nil
	}
	p := r.p
	if p.settled.Load() || r.attempt != p.attempt {
		return nil // a late answer to a request already given up on
	}
	if r.err != nil {
		if status.Code(r.err) == codes.Unavailable && p.attempt < e.o.retries {
			p.attempt++
			d := e.o.backoff(p.attempt)
			if e.o.onRetry != nil {
				e.o.onRetry(Retry{Index: p.index, Attempt: p.attempt, Delay: d, Err: r.err})
			}
			heap.Push(&e.events, event{at: time.Now().Add(d), p: p})
			return nil
		}
		if r.conn {
			return r.err
		}
		return e.deliver(p, r.resp, &requestError{index: p.index, err: r.err})
	}
	if r.resp.Status.Code != StatusSuccess {
		return e.deliver(p, r.resp, &ExecutorError{Index: p.index, RequestID: p.id, Status: r.resp.Status})
	}
	return e.deliver(p, r.resp, nil)
}

// deliver settles p and hands its outcome over, in order when Ordered.
func (e *engine) deliver(p *pending, resp *Response, err error) error {
	p.settled.Store(true)
	p.grpcReq, p.httpBody = nil, nil
	if resp == nil {
		resp = &Response{RequestID: p.id, Status: Status{Code: StatusError, Description: err.Error()}}
	}
	resp.Index = p.index
	if resp.RequestID == "" {
		resp.RequestID = p.id
	}
	if err != nil && !e.o.continueOnError {
		// The Post ends here; order no longer matters.
		return e.emit(resp, err, true)
	}
	if !e.o.ordered {
		return e.emit(resp, err, false)
	}
	e.held[p.index] = held{resp, err}
	for {
		h, ok := e.held[e.next]
		if !ok {
			return nil
		}
		delete(e.held, e.next)
		e.next++
		if err := e.emit(h.resp, h.err, false); err != nil {
			return err
		}
	}
}

// emit runs the callbacks and yields; last ends the Post with err.
func (e *engine) emit(resp *Response, err error, last bool) error {
	e.inflight--
	if err == nil {
		if e.o.onDone != nil {
			e.o.onDone(resp)
		}
	} else if e.o.onError != nil {
		e.o.onError(resp, err)
	}
	if e.o.onAlways != nil {
		e.o.onAlways(resp, err)
	}
	more := e.yield(resp, err)
	if last {
		e.yieldedErr = true
		return err
	}
	if !more {
		return errStopped
	}
	return nil
}

// event is a scheduled retry or timeout.
type event struct {
	at      time.Time
	p       *pending
	timeout bool
}

type eventHeap []event

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h eventHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)        { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (c *Client) newTransport(ctx context.Context, endpoint string, o *postOptions) (transport, error) {
	if c.addr.IsHTTP() {
		return c.newHTTPTransport(ctx, endpoint, o)
	}
	return c.newGRPCTransport(ctx, endpoint, o)
}
