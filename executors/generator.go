package executors

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime/debug"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
)

// Generator endpoints are the Go shape of Jina's generator endpoints
// (`@requests` on a function that yields documents): they take one
// document and produce documents one by one, which reach the client as
// they are produced through jina.JinaSingleDocumentRequestRPC/stream_doc —
// how token streaming from language models is served.
//
//	func (e *Tokens) Stream(ctx context.Context, doc *docarray.Document, p executors.Params) iter.Seq2[*docarray.Document, error] {
//		return func(yield func(*docarray.Document, error) bool) {
//			for _, w := range strings.Fields(doc.Text) {
//				if !yield(docarray.New(w), nil) {
//					return // the client went away
//				}
//			}
//		}
//	}
//	executors.On(r, "/stream", executors.Generator(e.Stream))
//
// A generator stops at the first error it yields (the client receives it as
// an ERROR status) or when yield returns false (the client cancelled).
// Endpoint discovery reports is_generator true for its endpoints. Sent as
// an ordinary batch request (process_single_data, POST), a generator runs
// once per document and the response holds everything it yielded, in order.

// GenFunc is a generator handler on untyped documents.
type GenFunc = func(ctx context.Context, doc *docarray.Document, p Params) iter.Seq2[*docarray.Document, error]

// Generator wraps a handler that yields documents one by one for one input
// document (see GenFunc); bind it with executors.On or executors.Default.
func Generator(fn GenFunc) Handler {
	return generatorHandler(funcName(fn), fn)
}

// TypedGenerator is Generator on typed documents (docarray's BaseDoc in,
// a stream of BaseDoc out): the input document is decoded into an In, each
// yielded Out becomes a new document. Discovery publishes both schemas.
func TypedGenerator[In, Out any](fn func(ctx context.Context, doc In, p Params) iter.Seq2[Out, error]) Handler {
	name := funcName(fn)
	inC, err := docarray.CodecOf[In]()
	if err != nil {
		return Handler{Name: name, err: fmt.Errorf("handler %s: input: %w", name, err)}
	}
	outC, err := docarray.CodecOf[Out]()
	if err != nil {
		return Handler{Name: name, err: fmt.Errorf("handler %s: output: %w", name, err)}
	}
	gen := func(ctx context.Context, doc *docarray.Document, p Params) iter.Seq2[*docarray.Document, error] {
		return func(yield func(*docarray.Document, error) bool) {
			var in In
			if err := inC.Decode(doc, &in); err != nil {
				yield(nil, &Error{Name: "BadRequest", Args: []string{err.Error()}, Err: err})
				return
			}
			for out, err := range fn(ctx, in, p) {
				if err != nil {
					yield(nil, err)
					return
				}
				d, err := outC.Encode(out, nil)
				if err != nil {
					yield(nil, &Error{Name: "BadResult", Args: []string{fmt.Sprintf("handler %s: %v", name, err)}, Err: err})
					return
				}
				if !yield(d, nil) {
					return
				}
			}
		}
	}
	h := generatorHandler(name, gen)
	h.Input = &Schema{Name: inC.Name(), Model: inC.Schema()}
	h.Output = &Schema{Name: outC.Name(), Model: outC.Schema()}
	return h
}

// generatorHandler builds the Handler of a generator: its stream, and a
// batch form that collects everything each document yields.
func generatorHandler(name string, gen GenFunc) Handler {
	h := Handler{Name: name, stream: gen}
	if gen == nil {
		h.err = errors.New("generator is nil")
		return h
	}
	h.call = func(ctx context.Context, c *Call) error {
		var out docarray.DocList
		for i, d := range c.Docs {
			for o, err := range gen(ctx, d, c.Params) {
				if err != nil {
					return docError(i, idOf(d), err)
				}
				if o != nil {
					out = append(out, withID(o))
				}
			}
		}
		if out == nil {
			out = docarray.DocList{}
		}
		c.Docs = out
		return nil
	}
	return h
}

// withID gives a yielded document an id when it has none, as docarray does
// for every BaseDoc.
func withID(d *docarray.Document) *docarray.Document {
	if d.ID == "" {
		d.ID = docarray.NewID()
	}
	return d
}

// IsGenerator reports whether the handler yields documents one by one.
func (h *Handler) IsGenerator() bool { return h != nil && h.stream != nil }

// IsGenerator reports whether endpoint is served by a generator handler
// (its own or the default one), i.e. whether discovery must publish
// is_generator true for it and stream_doc may be used on it.
func (in *Instance) IsGenerator(endpoint string) bool {
	h, _ := in.routes.lookup(endpoint)
	return h.IsGenerator()
}

// ErrNotGenerator is the error stream_doc reports for an endpoint whose
// handler is not a generator (Jina: ValueError('endpoint must be generator')).
var ErrNotGenerator = &Error{Name: "ValueError", Args: []string{"endpoint must be generator"}}

// StreamDoc serves jina.JinaSingleDocumentRequestRPC/stream_doc: it runs
// the generator of the request's endpoint on its document and calls send
// with each yielded document as it is produced, the way Jina's worker does:
//
//   - an endpoint no handler serves: the request itself is sent back once;
//   - a handler that is not a generator: the request comes back once with
//     an ERROR status (ValueError: endpoint must be generator);
//   - a generator that yields an error or panics: one last item with an
//     ERROR status naming the executor, then the stream ends.
//
// Each item carries the request's request_id. StreamDoc returns only the
// error of send (the caller went away); the generator is then stopped.
func (in *Instance) StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error {
	endpoint := req.GetHeader().GetExecEndpoint()
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	h, write := in.routes.lookup(endpoint)
	if h == nil || endpoint == DryRunEndpoint {
		return send(req)
	}
	if !h.IsGenerator() {
		return send(in.streamFail(req, ErrNotGenerator, ""))
	}
	doc, err := docarray.DocFromProto(req.GetDocument())
	if err != nil {
		return send(in.streamFail(req, &Error{Name: "BadRequest", Args: []string{err.Error()}, Err: err}, ""))
	}
	var raw map[string]any
	if req.GetParameters() != nil {
		raw = req.GetParameters().AsMap()
	}
	params := Scope(raw, in.Name(), in.aliases...)
	if write {
		in.mu.Lock()
		defer in.mu.Unlock()
	} else {
		in.mu.RLock()
		defer in.mu.RUnlock()
	}
	var sendErr error
	stack, genErr := in.runGenerator(ctx, h, doc, params, func(d *docarray.Document) bool {
		if err := withID(d).Validate(); err != nil {
			sendErr = send(in.streamFail(req, &Error{Name: "BadResult", Args: []string{err.Error()}, Err: err}, ""))
			return false
		}
		item := &jinapb.SingleDocumentRequestProto{
			Header:   &jinapb.HeaderProto{RequestId: req.GetHeader().GetRequestId()},
			Document: d.ToProto(),
		}
		if sendErr = send(item); sendErr != nil {
			return false
		}
		return true
	})
	if sendErr != nil {
		return sendErr
	}
	if genErr != nil {
		return send(in.streamFail(req, genErr, stack))
	}
	return nil
}

// runGenerator ranges over the generator, handing each document to emit
// until emit returns false; a panic becomes an error with its stack.
func (in *Instance) runGenerator(ctx context.Context, h *Handler, doc *docarray.Document, p Params, emit func(*docarray.Document) bool) (stack string, err error) {
	defer func() {
		if r := recover(); r != nil {
			stack = string(debug.Stack())
			err = &Error{Name: "Panic", Args: []string{fmt.Sprint(r)}}
			in.logger.Error("generator panicked", "panic", r)
		}
	}()
	for d, gerr := range h.stream(ctx, doc, p) {
		if gerr != nil {
			return "", gerr
		}
		if d == nil {
			continue
		}
		if !emit(d) {
			return "", nil
		}
	}
	return "", nil
}

// streamFail returns the request with an ERROR status describing err.
func (in *Instance) streamFail(req *jinapb.SingleDocumentRequestProto, err error, stack string) *jinapb.SingleDocumentRequestProto {
	h := wire.HeaderWithStatus(req.GetHeader(), ErrorStatus(err, in.Name(), stack))
	in.logger.Warn("stream_doc failed", "endpoint", h.GetExecEndpoint(), "err", err)
	return &jinapb.SingleDocumentRequestProto{Header: h, Parameters: req.GetParameters(), Routes: req.GetRoutes(), Document: req.GetDocument()}
}
