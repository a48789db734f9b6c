package client

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ResultsKey is the parameter under which executors return results:
// Parameters["__results__"][<executor name>].
const ResultsKey = "__results__"

// Response is the answer to one request (one batch of a Post).
type Response struct {
	// Index is the position of the request's batch in the input, from 0:
	// batch i held documents [i*RequestSize, (i+1)*RequestSize).
	Index int
	// RequestID is the request's header.request_id.
	RequestID string
	// Docs are the returned documents.
	Docs docarray.DocList
	// Parameters are the returned parameters, with executors' results
	// under ResultsKey. Numbers are float64 (they travel as a
	// google.protobuf.Struct or JSON).
	Parameters map[string]any
	// Routes lists the executors the request went through, with timings.
	Routes []Route
	// Status is the outcome; Code is StatusError when an executor failed.
	Status Status
}

// Results returns the results executors returned, by executor name
// (Parameters["__results__"]), or nil.
func (r *Response) Results() map[string]any {
	if r == nil {
		return nil
	}
	m, _ := r.Parameters[ResultsKey].(map[string]any)
	return m
}

// StatusCode is the code of a Status.
type StatusCode int32

// Status codes, as in jina.StatusProto.
const (
	StatusSuccess StatusCode = 0
	StatusError   StatusCode = 1
)

// String returns "SUCCESS" or "ERROR".
func (c StatusCode) String() string {
	switch c {
	case StatusSuccess:
		return "SUCCESS"
	case StatusError:
		return "ERROR"
	}
	return fmt.Sprintf("StatusCode(%d)", int32(c))
}

// Status is the outcome of a request or of one executor on its route.
type Status struct {
	Code        StatusCode
	Description string
	// Exception describes the error an executor raised (nil on success).
	Exception *Exception
}

// Exception is the error an executor raised.
type Exception struct {
	// Name is the error's type, e.g. "ValueError".
	Name string
	// Args are the error's arguments (usually its message).
	Args []string
	// Stacks are the lines of the stack trace, if the executor sent one.
	Stacks []string
	// Executor names the executor that failed ("gateway" for delivery
	// failures the gateway reports).
	Executor string
}

// Route is one executor a request went through.
type Route struct {
	Executor   string
	Start, End time.Time
	// Status is the executor's outcome (nil when not reported).
	Status *Status
}

// Endpoints describes what a gateway or worker serves.
type Endpoints struct {
	Endpoints      []string
	WriteEndpoints []string
	// Schemas maps an endpoint to {"input": {...}, "output": {...}} JSON
	// Schemas of its documents (typed endpoints only).
	Schemas map[string]any
}

// Info is what _status reports: versions and the JIG_/JINA_ environment.
type Info struct {
	Jina map[string]string `json:"jina"`
	Envs map[string]string `json:"envs"`
}

// --- errors ---

// ErrUnreachable is matched (errors.Is) by errors saying the address
// cannot be reached or the connection to it was lost.
var ErrUnreachable = errors.New("gateway unreachable")

// ErrNotReady is matched by DryRun errors when the gateway answers but
// some executor is not ready.
var ErrNotReady = errors.New("not ready")

// ExecutorError is a request an executor answered with an ERROR status.
// Use errors.As to get it from Post's error.
type ExecutorError struct {
	// Index and RequestID identify the request (see Response).
	Index     int
	RequestID string
	// Status is the ERROR status, with the executor's exception.
	Status Status
}

// Error describes the failure as `request 3: executor "index" raised
// ValueError: bad dim`.
func (e *ExecutorError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "request %d: ", e.Index)
	ex := e.Status.Exception
	if ex == nil || ex.Name == "" {
		if ex != nil && ex.Executor != "" {
			fmt.Fprintf(&b, "executor %q failed", ex.Executor)
		} else {
			b.WriteString("executor failed")
		}
		if e.Status.Description != "" {
			b.WriteString(": " + e.Status.Description)
		}
		return b.String()
	}
	if ex.Executor != "" {
		fmt.Fprintf(&b, "executor %q raised ", ex.Executor)
	} else {
		b.WriteString("executor raised ")
	}
	b.WriteString(ex.Name)
	if len(ex.Args) > 0 {
		b.WriteString(": " + strings.Join(ex.Args, ", "))
	} else if e.Status.Description != "" {
		b.WriteString(": " + e.Status.Description)
	}
	return b.String()
}

// Executor returns the name of the failing executor.
func (e *ExecutorError) Executor() string {
	if e.Status.Exception == nil {
		return ""
	}
	return e.Status.Exception.Executor
}

// Name returns the exception name, e.g. "ValueError".
func (e *ExecutorError) Name() string {
	if e.Status.Exception == nil {
		return ""
	}
	return e.Status.Exception.Name
}

// Args returns the exception arguments.
func (e *ExecutorError) Args() []string {
	if e.Status.Exception == nil {
		return nil
	}
	return e.Status.Exception.Args
}

// ConnError says an address cannot be reached, or that the connection to
// it broke. It matches ErrUnreachable, and status.Code(err) is UNAVAILABLE.
type ConnError struct {
	// Addr is the canonical address.
	Addr string
	// Lost is true when the connection broke mid-way, false when it could
	// not be established.
	Lost bool
	// Reason is the short cause, e.g. "connection refused".
	Reason string
	// Err is the underlying error (a gRPC status error).
	Err error
}

// Error says "cannot reach ADDR: REASON" or "lost connection to ADDR:
// REASON".
func (e *ConnError) Error() string {
	verb := "cannot reach"
	if e.Lost {
		verb = "lost connection to"
	}
	return verb + " " + e.Addr + ": " + e.Reason
}

// Unwrap returns the underlying error.
func (e *ConnError) Unwrap() error { return e.Err }

// Is matches ErrUnreachable.
func (e *ConnError) Is(target error) bool { return target == ErrUnreachable }

// GRPCStatus makes status.Code(err) report UNAVAILABLE.
func (e *ConnError) GRPCStatus() *status.Status { return status.New(codes.Unavailable, e.Error()) }

// requestError puts a delivery failure of one request in context while
// keeping its gRPC code visible to status.Code.
type requestError struct {
	index int
	err   error
}

func (e *requestError) Error() string { return fmt.Sprintf("request %d: %v", e.index, e.err) }
func (e *requestError) Unwrap() error { return e.err }

// --- conversions ---

func statusFromProto(p *jinapb.StatusProto) Status {
	if p == nil {
		return Status{}
	}
	s := Status{Code: StatusCode(p.GetCode()), Description: p.GetDescription()}
	if ex := p.GetException(); ex != nil {
		s.Exception = &Exception{Name: ex.GetName(), Args: ex.GetArgs(), Stacks: ex.GetStacks(), Executor: ex.GetExecutor()}
	}
	return s
}

// responseFromProto converts a gRPC answer.
func responseFromProto(p *jinapb.DataRequestProto) (*Response, error) {
	r := &Response{
		RequestID: p.GetHeader().GetRequestId(),
		Status:    statusFromProto(p.GetHeader().GetStatus()),
	}
	if p.GetParameters() != nil {
		r.Parameters = p.GetParameters().AsMap()
	}
	for _, rt := range p.GetRoutes() {
		route := Route{Executor: rt.GetExecutor()}
		if rt.GetStartTime() != nil {
			route.Start = rt.GetStartTime().AsTime()
		}
		if rt.GetEndTime() != nil {
			route.End = rt.GetEndTime().AsTime()
		}
		if rt.GetStatus() != nil {
			st := statusFromProto(rt.GetStatus())
			route.Status = &st
		}
		r.Routes = append(r.Routes, route)
	}
	var err error
	switch d := p.GetData().GetDocuments().(type) {
	case *jinapb.DataRequestProto_DataContentProto_Docs:
		r.Docs, err = docarray.FromProto(d.Docs)
	case *jinapb.DataRequestProto_DataContentProto_DocsBytes:
		r.Docs, err = docarray.Unmarshal(d.DocsBytes)
	}
	if err != nil {
		return r, fmt.Errorf("decode returned documents: %w", err)
	}
	return r, nil
}

// gatewayDeliveryError recognises a per-request delivery failure that a
// gateway reports inside a Call stream: an ERROR status whose exception is
// raised by "gateway" and named after a gRPC code (UNAVAILABLE,
// DEADLINE_EXCEEDED). It returns that failure as a gRPC status error, so
// it is retried like any transport failure, or nil.
func gatewayDeliveryError(st Status) error {
	ex := st.Exception
	if st.Code != StatusError || ex == nil || ex.Executor != "gateway" {
		return nil
	}
	code, ok := wire.CodeFromName(ex.Name)
	if !ok || code == codes.OK || code == codes.Unknown {
		return nil
	}
	msg := st.Description
	if msg == "" && len(ex.Args) > 0 {
		msg = ex.Args[0]
	}
	return status.Error(code, msg)
}
