package client

// HTTP contract between this client and the jig gateway (Jina's HTTP API,
// docs/ARCHITECTURE.md).
// The gateway implements exactly this; client/clienttest is a reference
// server for it. {base} is the address without a trailing slash, e.g.
// http://127.0.0.1:8080 or https://host/prefix. All bodies are UTF-8 JSON
// ("Content-Type: application/json"); a trailing newline is allowed.
//
// Authentication. With a token, every request carries
// "Authorization: Bearer <token>". A gateway configured with a token
// answers a missing or wrong one with 401 and an error body (below) with
// code "UNAUTHENTICATED"; /dry_run stays open for probes.
//
// Sending documents:
//
//	POST {base}/{endpoint}
//
// {endpoint} is the executor endpoint without its leading slash, each
// segment path-escaped: "/index" → POST {base}/index, "/a/b" → POST
// {base}/a/b. The request body is
//
//	{"data": [<doc>, ...],
//	 "parameters": {...},                       // omitted when unset
//	 "header": {"requestId": "<32 hex>",        // always sent by this client
//	            "targetExecutor": "<regex>"}}   // omitted when unset
//
// <doc> is the JSON form of executors/docarray (json.go): {"id", "text",
// "blob" (base64), "url", "tensor", "embedding", "tags", "chunks",
// "matches", "scores", <other fields>}. "data" may be [] (a
// parameters-only request). The gateway must echo header.requestId (and
// generate one when it is missing). No other keys are sent.
//
// Answers:
//
//	200 request processed; status SUCCESS
//	500 request processed; an executor failed (status ERROR)
//
// both with the body
//
//	{"header": {"requestId": "...", "execEndpoint": "/index", "targetExecutor": "...",
//	            "status": {"code": "SUCCESS" | "ERROR",
//	                       "description": "...",
//	                       "exception": {"name": "ValueError", "args": ["..."],
//	                                     "stacks": ["..."], "executor": "index"}}},
//	 "parameters": {..., "__results__": {"<executor>": {...}}},
//	 "routes": [{"executor": "index",
//	             "startTime": "2024-05-01T12:00:00.123456Z",   // RFC 3339
//	             "endTime": "2024-05-01T12:00:00.234567Z",
//	             "status": {<status as above>}}],              // optional
//	 "data": [<doc>, ...]}
//
// Optional members may be omitted: execEndpoint, targetExecutor,
// description, exception, stacks, routes[].status, routes[].startTime/
// endTime; "status" absent means SUCCESS. A status code may also be the
// number 0 (SUCCESS) or 1 (ERROR). Delivery failures and bad requests
// answer with
//
//	{"error": {"code": "<gRPC code name>", "message": "..."}}
//
// and the status:
//
//	400 INVALID_ARGUMENT    bad JSON or documents; message names the problem
//	401 UNAUTHENTICATED     missing or wrong token
//	413 RESOURCE_EXHAUSTED  body over the gateway's size limit
//	503 UNAVAILABLE         an executor cannot be reached
//	504 DEADLINE_EXCEEDED   the request timed out inside the flow
//
// The client retries (when Retries > 0) 502 and 503 answers and
// connection failures, never 500 (an executor ran and failed) nor 504.
// Any other status, or a body that is not JSON, becomes an error naming
// the status and the start of the body. The client keeps up to Prefetch
// of these POSTs in flight at once (over keep-alive connections, HTTP/2
// with https), so the gateway must handle concurrent requests.
//
// Probes and discovery:
//
//	GET {base}/dry_run    200 {"code": "SUCCESS"}
//	                      503 {"code": "ERROR", "description": "executor index is not ready"}
//	GET {base}/status     200 {"jina": {"jig": "0.1.0", ...}, "envs": {"JIG_X": "..."}}   (JinaInfoProto)
//	GET {base}/endpoints  200 {"endpoints": ["/index", ...], "writeEndpoints": ["/index"],
//	                           "schemas": {"/index": {"input": {...}, "output": {...}}}}
//
// (protojson of EndpointsProto: empty lists may be omitted; the client
// also accepts "write_endpoints".)

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/wire"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// httpTransport carries a Post as concurrent HTTP POSTs, one per request.
type httpTransport struct {
	c       *Client
	ctx     context.Context
	cancel  context.CancelFunc
	url     string
	params  []byte // JSON object, nil when unset
	target  string
	timeout time.Duration
	out     chan result
	wg      sync.WaitGroup
}

func (c *Client) newHTTPTransport(ctx context.Context, endpoint string, o *postOptions) (*httpTransport, error) {
	t := &httpTransport{c: c, url: c.endpointURL(endpoint), target: o.target, timeout: o.timeout, out: make(chan result, o.prefetch+1)}
	if o.params != nil {
		b, err := json.Marshal(o.params)
		if err != nil {
			return nil, badInput("parameters: %v", err)
		}
		t.params = b
	}
	t.ctx, t.cancel = context.WithCancel(ctx)
	return t, nil
}

// endpointURL is {base}/{endpoint without its leading slash}, escaped.
func (c *Client) endpointURL(endpoint string) string {
	segs := strings.Split(strings.TrimPrefix(endpoint, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.base + "/" + strings.Join(segs, "/")
}

func (t *httpTransport) prepare(p *pending, docs docarray.DocList) error {
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	for i, d := range docs {
		if i > 0 {
			b.WriteByte(',')
		}
		j, err := d.MarshalJSON()
		if err != nil {
			return badInput("document %d (id %q): %v", p.firstDoc+i, d.ID, err)
		}
		b.Write(j)
	}
	b.WriteString(`]`)
	if t.params != nil {
		b.WriteString(`,"parameters":`)
		b.Write(t.params)
	}
	hdr := map[string]string{"requestId": p.id}
	if t.target != "" {
		hdr["targetExecutor"] = t.target
	}
	h, _ := json.Marshal(hdr) // strings always encode
	b.WriteString(`,"header":`)
	b.Write(h)
	b.WriteByte('}')
	if b.Len() > t.c.opts.maxMessageSize {
		return tooLarge(p, b.Len(), t.c.opts.maxMessageSize)
	}
	p.httpBody = b.Bytes()
	return nil
}

func (t *httpTransport) results() <-chan result { return t.out }

// forget is a no-op: a request's HTTP call ends at its own deadline.
func (t *httpTransport) forget(*pending) {}

func (t *httpTransport) close(bool) {
	t.cancel()
	t.wg.Wait()
}

func (t *httpTransport) send(p *pending, attempt int) {
	body, deadline := p.httpBody, p.deadline
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		ctx, cancel := t.ctx, context.CancelFunc(func() {})
		if !deadline.IsZero() {
			ctx, cancel = context.WithDeadline(ctx, deadline)
		}
		defer cancel()
		r := t.do(ctx, body)
		r.p, r.attempt = p, attempt
		select {
		case t.out <- r:
		case <-t.ctx.Done():
		}
	}()
}

func (t *httpTransport) do(ctx context.Context, body []byte) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return result{err: status.Error(codes.InvalidArgument, err.Error())}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	t.c.authorize(req)
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get("traceparent")) > 0 {
		req.Header.Set("traceparent", md.Get("traceparent")[0]) // as gRPC sends it
	}
	resp, err := t.c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && t.ctx.Err() == nil {
			return result{err: status.Errorf(codes.DeadlineExceeded, "no answer within %s", t.timeout)}
		}
		return result{err: t.c.connError(status.Error(codes.Unavailable, err.Error()), false), conn: true}
	}
	answer, err := t.c.readBody(resp)
	if err != nil {
		return result{err: err, conn: status.Code(err) == codes.Unavailable}
	}
	out, err := decodeReply(resp.StatusCode, answer)
	return result{resp: out, err: err}
}

func (c *Client) authorize(req *http.Request) {
	if c.opts.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.token)
	}
}

// readBody reads and closes a response body, bounded by the message size
// limit.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.opts.maxMessageSize)+1))
	if err != nil {
		return nil, c.connError(status.Errorf(codes.Unavailable, "reading the answer: %v", err), true)
	}
	if len(body) > c.opts.maxMessageSize {
		return nil, status.Errorf(codes.ResourceExhausted, "answer is over the %d-byte limit", c.opts.maxMessageSize)
	}
	return body, nil
}

// httpReply is the body of a 200 or 500 answer.
type httpReply struct {
	Header *struct {
		RequestID string      `json:"requestId"`
		Status    *httpStatus `json:"status"`
	} `json:"header"`
	Parameters map[string]any `json:"parameters"`
	Routes     []struct {
		Executor  string      `json:"executor"`
		StartTime string      `json:"startTime"`
		EndTime   string      `json:"endTime"`
		Status    *httpStatus `json:"status"`
	} `json:"routes"`
	Data docarray.DocList `json:"data"`
}

type httpStatus struct {
	Code        json.RawMessage `json:"code"`
	Description string          `json:"description"`
	Exception   *struct {
		Name     string   `json:"name"`
		Args     []string `json:"args"`
		Stacks   []string `json:"stacks"`
		Executor string   `json:"executor"`
	} `json:"exception"`
}

func (s *httpStatus) status() (Status, error) {
	if s == nil {
		return Status{}, nil
	}
	out := Status{Description: s.Description}
	switch strings.Trim(string(s.Code), `" `) {
	case "", "null", "SUCCESS", "0":
	case "ERROR", "1":
		out.Code = StatusError
	default:
		return out, fmt.Errorf("unknown status code %s", s.Code)
	}
	if ex := s.Exception; ex != nil {
		out.Exception = &Exception{Name: ex.Name, Args: ex.Args, Stacks: ex.Stacks, Executor: ex.Executor}
	}
	return out, nil
}

// decodeReply turns an answer to POST {base}/{endpoint} into a Response
// or a gRPC status error.
func decodeReply(code int, body []byte) (*Response, error) {
	if code == http.StatusOK || code == http.StatusInternalServerError {
		var rep httpReply
		err := json.Unmarshal(body, &rep)
		if err == nil && rep.Header != nil {
			return rep.response()
		}
		if code == http.StatusOK {
			if err == nil {
				err = errors.New(`no "header"`)
			}
			return nil, status.Errorf(codes.Internal, "invalid answer (HTTP 200): %v: %s", err, snippet(body))
		}
	}
	return nil, httpError(code, body)
}

func (rep *httpReply) response() (*Response, error) {
	r := &Response{RequestID: rep.Header.RequestID, Parameters: rep.Parameters, Docs: rep.Data}
	st, err := rep.Header.Status.status()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "invalid answer: header.status: %v", err)
	}
	r.Status = st
	for i, rt := range rep.Routes {
		route := Route{Executor: rt.Executor}
		for _, f := range []struct {
			s   string
			dst *time.Time
		}{{rt.StartTime, &route.Start}, {rt.EndTime, &route.End}} {
			if f.s == "" {
				continue
			}
			tm, err := time.Parse(time.RFC3339Nano, f.s)
			if err != nil {
				return nil, status.Errorf(codes.Internal, "invalid answer: routes[%d]: %v", i, err)
			}
			*f.dst = tm
		}
		if rt.Status != nil {
			st, err := rt.Status.status()
			if err != nil {
				return nil, status.Errorf(codes.Internal, "invalid answer: routes[%d].status: %v", i, err)
			}
			route.Status = &st
		}
		r.Routes = append(r.Routes, route)
	}
	return r, nil
}

// httpError turns an error answer into a gRPC status error: the code from
// the {"error": {"code", "message"}} body, else from the HTTP status.
// 502 and 503 are always UNAVAILABLE (retryable).
func httpError(code int, body []byte) error {
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	c := wire.CodeForHTTP(code)
	msg := fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))
	if json.Unmarshal(body, &e) == nil && e.Error != nil {
		if bc, ok := wire.CodeFromName(e.Error.Code); ok && code != http.StatusBadGateway && code != http.StatusServiceUnavailable {
			c = bc
		}
		if e.Error.Message != "" {
			msg += ": " + e.Error.Message
		}
	} else if s := snippet(body); s != "" {
		msg += ": " + s
	}
	return status.Error(c, msg)
}

// snippet returns the start of a body for error messages.
func snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return s
}

// --- GET calls ---

// httpGet fetches {base}/path and returns the body of a 2xx answer, or of
// one of okCodes.
func (c *Client) httpGet(ctx context.Context, path string, okCodes ...int) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, fmt.Errorf("GET %s%s: %w", c.base, path, ctx.Err())
		}
		return 0, nil, c.connError(status.Error(codes.Unavailable, err.Error()), false)
	}
	body, err := c.readBody(resp)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, body, nil
	}
	for _, ok := range okCodes {
		if resp.StatusCode == ok {
			return resp.StatusCode, body, nil
		}
	}
	return 0, nil, fmt.Errorf("GET %s%s: %w", c.base, path, httpError(resp.StatusCode, body))
}

func (c *Client) httpDryRun(ctx context.Context) error {
	code, body, err := c.httpGet(ctx, "/dry_run", http.StatusServiceUnavailable)
	if err != nil {
		return err
	}
	var st httpStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("GET %s/dry_run: invalid answer: %v: %s", c.base, err, snippet(body))
	}
	s, err := st.status()
	if err != nil {
		return fmt.Errorf("GET %s/dry_run: invalid answer: %v", c.base, err)
	}
	if code != http.StatusOK || s.Code != StatusSuccess {
		if s.Code == StatusSuccess {
			s = Status{Code: StatusError, Description: fmt.Sprintf("HTTP %d", code)}
		}
		return fmt.Errorf("%s: %w: %s", c.addr, ErrNotReady, describeStatus(s))
	}
	return nil
}

func (c *Client) httpEndpoints(ctx context.Context) (*Endpoints, error) {
	_, body, err := c.httpGet(ctx, "/endpoints")
	if err != nil {
		return nil, err
	}
	var e struct {
		Endpoints      []string       `json:"endpoints"`
		WriteEndpoints []string       `json:"writeEndpoints"`
		WriteSnake     []string       `json:"write_endpoints"`
		Schemas        map[string]any `json:"schemas"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("GET %s/endpoints: invalid answer: %v", c.base, err)
	}
	if e.WriteEndpoints == nil {
		e.WriteEndpoints = e.WriteSnake
	}
	return &Endpoints{Endpoints: e.Endpoints, WriteEndpoints: e.WriteEndpoints, Schemas: e.Schemas}, nil
}

func (c *Client) httpStatus(ctx context.Context) (*Info, error) {
	_, body, err := c.httpGet(ctx, "/status")
	if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("GET %s/status: invalid answer: %v", c.base, err)
	}
	return &info, nil
}
