package tui

import (
	"context"
	"errors"
	"sync"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/tui/panes/request"
	"google.golang.org/grpc/metadata"
)

// NewSender returns the Request pane's default Sender: the jig client
// (package client), one per address, over gRPC (host:port, grpc://) or
// HTTP (http://). Close closes them; the workbench does when it quits.
func NewSender() Sender { return &clientSender{clients: map[string]*client.Client{}} }

// NewTracingSender is NewSender whose requests carry a W3C traceparent:
// the responses get its trace id, and the spans rec recorded of the last
// request become their timing waterfall. traceURL, when set, is the
// Jaeger UI's address of a trace with the id appended.
func NewTracingSender(rec *tracing.Recorder, traceURL string) Sender {
	return &clientSender{clients: map[string]*client.Client{}, traces: rec, traceURL: traceURL}
}

type clientSender struct {
	mu       sync.Mutex
	clients  map[string]*client.Client
	traces   *tracing.Recorder
	traceURL string
}

var _ request.Sender = (*clientSender)(nil)

// client returns the client for addr, creating it on first use (New does
// not connect, so this never blocks).
func (s *clientSender) client(addr string) (*client.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[addr]; ok {
		return c, nil
	}
	c, err := client.New(addr)
	if err != nil {
		return nil, err
	}
	s.clients[addr] = c
	return c, nil
}

// Close closes every client.
func (s *clientSender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for a, c := range s.clients {
		errs = append(errs, c.Close())
		delete(s.clients, a)
	}
	return errors.Join(errs...)
}

// Endpoints implements request.Sender.
func (s *clientSender) Endpoints(ctx context.Context, addr string) ([]request.Endpoint, error) {
	c, err := s.client(addr)
	if err != nil {
		return nil, err
	}
	eps, err := c.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	return endpointList(eps), nil
}

// endpointList converts discovered endpoints, with the top-level fields of
// each input schema (schemas[ep].input.model.properties).
func endpointList(eps *client.Endpoints) []request.Endpoint {
	writes := map[string]bool{}
	for _, w := range eps.WriteEndpoints {
		writes[w] = true
	}
	var out []request.Endpoint
	for _, name := range eps.Endpoints {
		ep := request.Endpoint{Name: name, Write: writes[name], Generator: eps.IsGenerator(name)}
		if s, ok := eps.Schemas[name].(map[string]any); ok {
			ep.Fields = schemaFields(s)
		}
		out = append(out, ep)
	}
	return out
}

func schemaFields(s map[string]any) []request.Field {
	in, _ := s["input"].(map[string]any)
	model, _ := in["model"].(map[string]any)
	return request.FieldsOf(model)
}

// Send implements request.Sender with client.PostStream: documents go in
// requests of RequestSize (0: one request), generated ones are made as
// they are sent, at most request.MaxKeptDocs returned documents are kept
// (in input order) and the rest counted, the routes and parameters shown
// are the last request's, and an executor's failure becomes
// Response.Error. Memory therefore stays bounded by the client's prefetch
// whatever the number of documents, and cancelling ctx stops the
// generation as well as the sending.
func (s *clientSender) Send(ctx context.Context, addr string, req request.Request) (*request.Response, error) {
	c, err := s.client(addr)
	if err != nil {
		return nil, err
	}
	out := &request.Response{}
	count := req.Count()
	size := req.RequestSize
	if size <= 0 {
		size = max(1, count)
	}
	opts := []client.PostOption{
		client.RequestSize(req.RequestSize),
		client.Ordered(true),
		// Callbacks run on this goroutine, one at a time (client docs).
		client.OnAlways(func(r *client.Response, _ error) {
			out.Requests++
			if r == nil {
				return
			}
			out.Returned += len(r.Docs)
			if room := request.MaxKeptDocs - len(out.Docs); room > 0 {
				out.Docs = append(out.Docs, r.Docs[:min(room, len(r.Docs))]...)
			}
			out.Parameters = r.Parameters
			out.Routes = out.Routes[:0]
			for _, rt := range r.Routes {
				out.Routes = append(out.Routes, request.Route{Executor: rt.Executor, Start: rt.Start, End: rt.End,
					Failed: rt.Status != nil && rt.Status.Code == client.StatusError})
			}
			if req.Progress != nil {
				req.Progress(min(count, out.Requests*size), out.Returned)
			}
		}),
	}
	if len(req.Parameters) > 0 {
		opts = append(opts, client.Parameters(req.Parameters))
	}
	if req.Target != "" {
		opts = append(opts, client.TargetExecutor(req.Target))
	}
	var traceID string
	if s.traces != nil {
		var tp string
		traceID, tp = tracing.NewTraceparent()
		ctx = metadata.AppendToOutgoingContext(ctx, tracing.TraceparentKey, tp)
	}
	err = c.PostStream(ctx, req.Endpoint, req.All(), opts...)
	if traceID != "" {
		out.TraceID, out.Spans = traceID, lastRequestSpans(s.traces.Trace(traceID))
		if s.traceURL != "" {
			out.TraceURL = s.traceURL + traceID
		}
	}
	var ee *client.ExecutorError
	if errors.As(err, &ee) {
		out.Error = &request.Exception{Name: ee.Name(), Args: ee.Args(), Executor: ee.Executor()}
		if ex := ee.Status.Exception; ex != nil {
			out.Error.Stacks = ex.Stacks
		}
		if out.Error.Name == "" {
			out.Error.Name = ee.Status.Description
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lastRequestSpans returns the spans of the last gateway request of a
// trace (a send of many batches has one gateway span per request), each
// parent before its children, children by start time.
func lastRequestSpans(spans []tracing.SpanRecord) []request.Span {
	var root *tracing.SpanRecord
	ids := make(map[string]bool, len(spans))
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	for i := range spans {
		s := &spans[i]
		if (s.ParentID == "" || !ids[s.ParentID]) && (root == nil || s.Start.After(root.Start)) {
			root = s
		}
	}
	if root == nil {
		return nil
	}
	children := map[string][]tracing.SpanRecord{}
	for _, s := range spans { // by start time already (Recorder.Trace)
		children[s.ParentID] = append(children[s.ParentID], s)
	}
	var out []request.Span
	var walk func(s tracing.SpanRecord, depth int)
	walk = func(s tracing.SpanRecord, depth int) {
		out = append(out, request.Span{Name: s.Name, Depth: depth, Start: s.Start, End: s.End, Failed: s.Error != ""})
		for _, c := range children[s.SpanID] {
			walk(c, depth+1)
		}
	}
	walk(*root, 0)
	return out
}
