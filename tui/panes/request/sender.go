package request

import (
	"context"
	"iter"
	"strconv"
	"time"

	"github.com/jig-dev/jig/executors/docarray"
)

// Sender is what the Request pane needs from a jig client: endpoint
// discovery and sending one request (split into batches of RequestSize).
// tui adapts the client package to it; tests use a fake or a real worker.
type Sender interface {
	// Endpoints discovers the endpoints served at addr, with the fields of
	// their input documents when the executor publishes a schema.
	Endpoints(ctx context.Context, addr string) ([]Endpoint, error)
	// Send posts the request to addr. A transport failure (unreachable,
	// deadline) is an error; an executor failure is reported in
	// Response.Error with the documents and routes that came back.
	Send(ctx context.Context, addr string, req Request) (*Response, error)
}

// Endpoint is a discovered endpoint.
type Endpoint struct {
	Name string
	// Write is true for endpoints replicated through RAFT.
	Write bool
	// Fields are the top-level fields of the input document schema (nil
	// for legacy documents).
	Fields []Field
	// Generator is true for endpoints that stream documents one by one
	// (discovery's is_generator); see StreamSender.
	Generator bool
}

// Field is one field of an input schema (see FieldsOf).
type Field struct {
	Name string
	// Type is the JSON Schema type ("string", "number", "array", ...).
	Type string
	// Items is the type of an array's elements ("number" for vectors).
	Items string
	// Required fields must be set in every document sent.
	Required bool
	// Description is the field's documentation, if the executor has one.
	Description string
}

// Limits that keep any composer input from hurting the workbench: the
// documents of a request are streamed in batches and made as they are
// sent, and only the first returned documents are kept for display.
const (
	// MaxGenerate is the largest number of generated documents a request
	// may ask for.
	MaxGenerate = 10_000_000
	// MaxKeptDocs is how many returned documents a response keeps (the
	// rest are counted, not kept).
	MaxKeptDocs = 1000
	// AutoRequestSize is the batch size used when the request size is 0
	// but the request has more than AutoRequestSize documents: one
	// request of a million documents would be held whole in memory by
	// the client, the gateway and every executor.
	AutoRequestSize = 100
)

// Request is what the pane sends.
type Request struct {
	Endpoint string
	// Docs are explicit documents (typed lines, a JSONL file).
	Docs docarray.DocList
	// Generate is a number of generated documents "doc 0" … "doc N-1",
	// sent after Docs and made one by one as the client sends them, so
	// their number does not bound memory.
	Generate int
	// Progress, when set, is called after each answered request with the
	// number of documents sent and returned so far. It is called from the
	// sending goroutine.
	Progress   func(sent, returned int)
	Parameters map[string]any
	// Target is a regular expression of executor names (Jina's
	// target_executor); "" sends through the whole flow.
	Target string
	// RequestSize splits Docs into requests of at most this many documents
	// (0: one request).
	RequestSize int
}

// Count is the number of documents the request sends.
func (r Request) Count() int { return len(r.Docs) + r.Generate }

// All yields the request's documents, making generated ones as they are
// asked for.
func (r Request) All() iter.Seq[*docarray.Document] {
	return func(yield func(*docarray.Document) bool) {
		for _, d := range r.Docs {
			if !yield(d) {
				return
			}
		}
		for i := range r.Generate {
			if !yield(docarray.New("doc " + strconv.Itoa(i))) {
				return
			}
		}
	}
}

// Response is the merged answer to a Request.
type Response struct {
	// Docs are the returned documents, at most MaxKeptDocs of them (the
	// first, in input order).
	Docs docarray.DocList
	// Returned is the number of documents returned in all.
	Returned int
	// Parameters are the returned parameters, with handler results under
	// "__results__".
	Parameters map[string]any
	// Routes are the per-executor timings of the (last) request, in order.
	Routes []Route
	// Error is the first executor failure, if any.
	Error *Exception
	// Requests is the number of requests the docs were split into.
	Requests int
	// TraceID is the OpenTelemetry trace of the request(s) ("" when the
	// sender does not trace).
	TraceID string
	// TraceURL opens the trace in Jaeger's UI ("" when spans are not
	// exported).
	TraceURL string
	// Spans are the recorded spans of the (last) request, parents before
	// children: the timing waterfall, shown instead of Routes when set.
	Spans []Span
}

// Span is one span of a request's trace (gateway, deployment hop, call to
// a replica, executor, RAFT step).
type Span struct {
	Name string
	// Depth is the span's depth in the tree (0: the gateway).
	Depth      int
	Start, End time.Time
	// Failed is true when the span recorded an error.
	Failed bool
}

// Route is one hop of a request through the flow.
type Route struct {
	Executor   string
	Start, End time.Time
	// Failed is true when this executor reported an error.
	Failed bool
}

// Exception is an executor's error, as Jina reports it.
type Exception struct {
	Name     string
	Args     []string
	Executor string
	Stacks   []string
}
