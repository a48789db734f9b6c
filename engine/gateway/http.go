package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/auth"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// The HTTP API (Jina's; docs/ARCHITECTURE.md "Wire compatibility"), JSON in
// and out:
//
//	POST /{endpoint}   {"data": [docs], "parameters": {...}, "header": {"targetExecutor": "...", "requestId": "..."}}
//	POST /post         {"execEndpoint": "/x", "data": [...], "parameters": {...}, "targetExecutor": "..."}
//	GET  /status       {"jina": {...}, "envs": {...}}
//	GET  /dry_run      200 {"code": 0, "description": "", "exception": null}
//	                   503 {"code": 1, "description": "...", "exception": {"name", "args", "stacks", "executor"}}
//	GET  /endpoints    {"endpoints": [...], "writeEndpoints": [...], "schemas": {...}}
//	GET  /docs         the OpenAPI 3 document (also /openapi.json)
//	GET  /metrics      Prometheus metrics
//
// Request bodies are also accepted exactly as Jina 3's Python Client sends
// them (jina/clients/base/helper.py: Request.to_dict() with proto field
// names, plus the endpoint and target copied to the top level):
//
//	{"header": {"request_id", "exec_endpoint", "target_executor", "timeout"},
//	 "parameters": {...}, "data": [docs], "exec_endpoint": "/x", "target_executor": "..."}
//
// Every key may be spelled camelCase or snake_case; any other key is
// refused (400), so a typo does not silently drop a field. On POST
// /{endpoint} the path names the endpoint, as in Jina's gateway. "data"
// may also be one document instead of a list, as Jina's gateway allows.
// A request spelled the Jina way (snake_case names) is answered with
// every numeric array as a nested list (JinaArrays), the only form
// pydantic loads; jig's spelling keeps jig's dtype-preserving form.
//
// /dry_run answers with StatusProto as a dict with integer codes, as Jina's
// gateway does (Client.is_flow_ready() compares code with 0). Jina answers
// an unhealthy flow with 200 and code 1; jig answers 503 with the same body
// so that plain HTTP probes see it too (the Jina client returns False
// either way).
//
// A request's answer is {"header": {"requestId", "execEndpoint",
// "targetExecutor", "status": {"code", "description", "exception": {"name",
// "args", "stacks", "executor"}}}, "parameters": {...}, "routes":
// [{"executor", "startTime", "endTime", "status"}], "data": [docs]} with 200,
// or 500 when an executor failed; Jina's Client parses it (json_format
// reads camelCase names and enum names). A failed request's body also
// carries "detail": the status description, the key Jina's gateway answers
// with (499 {"detail": "ValueError('boom')"}), so code catching the Jina
// client's ValueError finds it. Delivery failures answer 503
// (UNAVAILABLE) or 504 (DEADLINE_EXCEEDED) with {"error": {"code",
// "message"}}; bad JSON 400 (INVALID_ARGUMENT); a body over the size limit
// 413 (RESOURCE_EXHAUSTED); a missing token 401 (UNAUTHENTICATED).
//
// A body is read into one buffer (its bytes, within the limits below)
// and decoded in one pass without a JSON tree of it: plain documents go
// straight from the JSON to their wire form (fastDecode, jsonfast.go),
// anything else one document at a time (decodeRequestBody, which also
// defines what a body means and how its errors read). Answers are written
// the same way round (writeResponse, jsonout.go). All requests share a
// BodyBudget (BodyCost bytes per body byte): a request that does not fit answers
// 503 {"error": {"code": "RESOURCE_EXHAUSTED"}} with Retry-After before
// its body is read. A body must arrive within BodyTimeout plus the time
// its size needs at BodyMinRate, else 408 and the connection is closed,
// so slowly dripped bodies cannot hold connections.

// HTTPOptions configure the HTTP gateway.
type HTTPOptions struct {
	// MaxBodyBytes bounds request bodies (0: wire.MaxMessageSize). It is lowered to
	// Budget / BodyCost when larger, since a bigger body could never fit.
	MaxBodyBytes int64
	// Budget bounds the bytes of request bodies in flight across the
	// gateway (nil: a budget of DefaultBodyBudget).
	Budget *BodyBudget
	// BodyTimeout is the grace a request body has to arrive on top of its
	// size at BodyMinRate (0: DefaultBodyTimeout; < 0: no deadline).
	BodyTimeout time.Duration
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every route but the probes /dry_run and /metrics.
	Token string
	// Metrics serves /metrics (nil: not served).
	Metrics http.Handler
	// Title names the flow in the OpenAPI document.
	Title  string
	Logger *slog.Logger
}

// NewHTTP returns the HTTP gateway handler.
func NewHTTP(b Backend, opts HTTPOptions) http.Handler {
	return newHTTP(b, opts, false)
}

// newHTTP is NewHTTP; slow turns off the fast JSON paths (fastDecode, the
// direct answer writer), for tests that compare them with the full ones.
func newHTTP(b Backend, opts HTTPOptions, slow bool) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = wire.MaxMessageSize
	}
	if opts.Budget == nil {
		opts.Budget = NewBodyBudget(0)
	}
	if opts.MaxBodyBytes > opts.Budget.Limit()/BodyCost {
		opts.MaxBodyBytes = max(opts.Budget.Limit()/BodyCost, 1)
	}
	if opts.BodyTimeout == 0 {
		opts.BodyTimeout = DefaultBodyTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &httpGateway{b: b, opts: opts, slow: slow}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", h.status)
	mux.HandleFunc("GET /dry_run", h.dryRun)
	mux.HandleFunc("GET /endpoints", h.endpoints)
	mux.HandleFunc("GET /docs", h.openAPI)
	mux.HandleFunc("GET /openapi.json", h.openAPI)
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	mux.Handle("POST /post", requireJSON(http.HandlerFunc(h.post)))
	mux.Handle("POST /{endpoint...}", requireJSON(http.HandlerFunc(h.endpoint)))
	mux.HandleFunc("GET /{endpoint...}", h.streamDoc) // generator endpoints, server-sent events (streamdoc.go)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no route %s %s: send documents with POST /<endpoint>; see GET /docs", r.Method, r.URL.Path))
	})
	if opts.Token == "" {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" && r.URL.Path != "/dry_run" {
			if !auth.BearerMatches(r.Header.Values("Authorization"), opts.Token) {
				writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "missing or wrong bearer token (send header \"Authorization: Bearer <token>\")")
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

type httpGateway struct {
	b    Backend
	opts HTTPOptions
	slow bool // see newHTTP
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
	w.Write([]byte("\n"))
}

func writeError(w http.ResponseWriter, code int, name, msg string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": name, "message": msg}})
	writeJSON(w, code, b)
}

func (h *httpGateway) status(w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(h.b.Info())
	writeJSON(w, http.StatusOK, b)
}

func (h *httpGateway) dryRun(w http.ResponseWriter, r *http.Request) {
	if err := h.b.Ready(); err != nil {
		body := map[string]any{"code": int(jinapb.StatusProto_ERROR), "description": err.Error(), "exception": map[string]any{
			"name": "FlowNotReady", "args": []string{err.Error()}, "stacks": []string{}, "executor": "gateway"}}
		b, _ := json.Marshal(body)
		writeJSON(w, http.StatusServiceUnavailable, b)
		return
	}
	writeJSON(w, http.StatusOK, []byte(`{"code":0,"description":"","exception":null}`))
}

func (h *httpGateway) endpoints(w http.ResponseWriter, r *http.Request) {
	b, err := protojson.Marshal(h.b.Endpoints())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// requestHeader is the "header" of a request body, in both spellings.
type requestHeader struct {
	TargetExecutor      string  `json:"targetExecutor"`
	TargetExecutorSnake string  `json:"target_executor"`
	RequestID           string  `json:"requestId"`
	RequestIDSnake      string  `json:"request_id"`
	ExecEndpoint        string  `json:"execEndpoint"`
	ExecEndpointSnake   string  `json:"exec_endpoint"`
	Timeout             *uint32 `json:"timeout"`
	// Status may come back from a client that resends a response; it is
	// ignored, as Jina's gateway does.
	Status json.RawMessage `json:"status"`
}

// requestBody is the body of POST /{endpoint} and POST /post.
type requestBody struct {
	Parameters json.RawMessage `json:"parameters"`
	Header     *requestHeader  `json:"header"`
	// Routes may be present in Jina's Request.to_dict(); the gateway
	// starts its own.
	Routes json.RawMessage `json:"routes"`
	// /post form (Jina's client sends these on every endpoint).
	ExecEndpoint        string `json:"execEndpoint"`
	ExecEndpointSnake   string `json:"exec_endpoint"`
	TargetExecutor      string `json:"targetExecutor"`
	TargetExecutorSnake string `json:"target_executor"`
	RequestID           string `json:"requestId"`
	RequestIDSnake      string `json:"request_id"`
}

// first returns the first non-empty string.
func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (h *httpGateway) endpoint(w http.ResponseWriter, r *http.Request) {
	h.handle(w, r, "/"+r.PathValue("endpoint"), false)
}

func (h *httpGateway) post(w http.ResponseWriter, r *http.Request) {
	h.handle(w, r, "", true)
}

func (h *httpGateway) handle(w http.ResponseWriter, r *http.Request, endpoint string, postForm bool) {
	if r.ContentLength > h.opts.MaxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "RESOURCE_EXHAUSTED", fmt.Sprintf("request body is over the limit of %d bytes", h.opts.MaxBodyBytes))
		return
	}
	lb := newLimitedBody(w, r, http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes), h.opts.Budget, h.opts.BodyTimeout)
	defer lb.close()
	if r.ContentLength > 0 && !lb.reserve(r.ContentLength) {
		lb.drain()
		h.overBudget(w, r.ContentLength)
		return
	}
	var jinaDialect bool
	req, code, err := h.parse(lb, endpoint, postForm, &jinaDialect)
	if err != nil {
		name := "INVALID_ARGUMENT"
		switch code {
		case http.StatusRequestEntityTooLarge:
			name = "RESOURCE_EXHAUSTED"
		case http.StatusServiceUnavailable:
			lb.drain()
			h.overBudget(w, -1)
			return
		case http.StatusRequestTimeout:
			name = "DEADLINE_EXCEEDED"
			w.Header().Set("Connection", "close")
		}
		writeError(w, code, name, err.Error())
		return
	}
	resp, err := h.b.Route(tracing.FromHTTP(r.Context(), r.Header, w.Header()), req)
	req = nil // the documents' only copy now is the backend's
	if err != nil {
		st := status.Convert(err)
		writeError(w, wire.HTTPStatus(st.Code()), wire.CodeName(st.Code()), st.Message())
		return
	}
	if err := writeResponse(w, resp, jinaDialect, h.slow); err != nil {
		// The status line may be out already; all that is left is to
		// cut the answer short so the client sees it is incomplete.
		h.opts.Logger.Warn("HTTP gateway: encode answer", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// overBudget answers a request whose body does not fit in the gateway's
// budget of body bytes in flight (n < 0: length unknown).
func (h *httpGateway) overBudget(w http.ResponseWriter, n int64) {
	size := "its body"
	if n >= 0 {
		size = fmt.Sprintf("its %d-byte body", n)
	}
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "RESOURCE_EXHAUSTED",
		fmt.Sprintf("the gateway is busy: %s does not fit in its budget of %d bytes for requests in flight (http_body_budget; each body byte counts %d); retry later", size, h.opts.Budget.Limit(), BodyCost))
}

// withDetail adds "detail" (Jina's gateway's error key) to a JSON object.
func withDetail(body []byte, detail string) []byte {
	d, _ := json.Marshal(detail)
	out := make([]byte, 0, len(body)+len(d)+12)
	out = append(out, `{"detail":`...)
	out = append(out, d...)
	out = append(out, ',')
	return append(out, body[1:]...) // body is a JSON object: "{..."
}

// parse reads a request body; jinaDialect is set when it is spelled the
// way Jina's Python client spells it (snake_case names).
//
// The body is read whole into a pooled buffer (its bytes, never a JSON
// tree: the budget counts BodyCost per byte for it) and decoded by
// fastDecode; what fastDecode is not sure of, and any body whose reading
// failed, is decoded by decodeRequestBody over the same bytes (then the
// read error), which is what defines the meaning of a body and the words
// of its errors.
func (h *httpGateway) parse(body *limitedBody, endpoint string, postForm bool, jinaDialect *bool) (*jinapb.DataRequestProto, int, error) {
	bp, readErr := readBody(body)
	defer putBody(bp)
	if readErr == nil && !h.slow {
		var fr fastResult
		if fastDecode(*bp, &fr) {
			docs := fr.docs
			if docs == nil {
				docs = []byte{}
			}
			return h.build(&fr.rb, nil, docs, endpoint, postForm, jinaDialect)
		}
	}
	var r io.Reader = bytes.NewReader(*bp)
	if readErr != nil {
		r = io.MultiReader(r, errReader{readErr})
	}
	rb, docs, err := decodeRequestBody(r)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is over the limit of %d bytes", mbe.Limit)
		case errors.Is(err, errBudget):
			return nil, http.StatusServiceUnavailable, err
		case errors.Is(err, errBodyTimeout):
			return nil, http.StatusRequestTimeout, fmt.Errorf("request body arrived too slowly: %d bytes in %s (allowed: %s plus 1 s per %d KiB)",
				body.read, time.Since(body.start).Round(time.Millisecond), body.grace, BodyMinRate>>10)
		}
		if errors.Is(err, errTrailing) {
			return nil, http.StatusBadRequest, fmt.Errorf("invalid request body: %w", err)
		}
		if strings.HasPrefix(err.Error(), "\"data\"") {
			return nil, http.StatusBadRequest, err
		}
		return nil, http.StatusBadRequest, fmt.Errorf("invalid request body: %v (want {\"data\": [documents], \"parameters\": {...}})", jsonMessage(err))
	}
	return h.build(rb, docs, nil, endpoint, postForm, jinaDialect)
}

// build makes the request of a decoded body: its documents are docs, or
// encoded (an encoded DocListProto) when not nil.
func (h *httpGateway) build(rb *requestBody, docs docarray.DocList, encoded []byte, endpoint string, postForm bool, jinaDialect *bool) (*jinapb.DataRequestProto, int, error) {
	*jinaDialect = rb.ExecEndpointSnake != "" || rb.TargetExecutorSnake != "" || rb.RequestIDSnake != "" ||
		(rb.Header != nil && (rb.Header.RequestIDSnake != "" || rb.Header.ExecEndpointSnake != "" || rb.Header.TargetExecutorSnake != ""))
	hdr := &jinapb.HeaderProto{RequestId: first(rb.RequestID, rb.RequestIDSnake)}
	target := first(rb.TargetExecutor, rb.TargetExecutorSnake)
	execEndpoint := first(rb.ExecEndpoint, rb.ExecEndpointSnake)
	if h := rb.Header; h != nil {
		hdr.RequestId = first(h.RequestID, h.RequestIDSnake, hdr.RequestId)
		target = first(h.TargetExecutor, h.TargetExecutorSnake, target)
		execEndpoint = first(execEndpoint, h.ExecEndpoint, h.ExecEndpointSnake)
		if h.Timeout != nil && *h.Timeout > 0 {
			hdr.Timeout = proto.Uint32(*h.Timeout)
		}
	}
	rb.ExecEndpoint = execEndpoint
	if postForm {
		endpoint = rb.ExecEndpoint
		if endpoint == "" {
			return nil, http.StatusBadRequest, errors.New(`"execEndpoint" is required for POST /post`)
		}
		if !strings.HasPrefix(endpoint, "/") {
			endpoint = "/" + endpoint
		}
	}
	if hdr.RequestId == "" {
		hdr.RequestId = docarray.NewID()
	}
	hdr.ExecEndpoint = proto.String(endpoint)
	if target != "" {
		hdr.TargetExecutor = proto.String(target)
	}
	req := &jinapb.DataRequestProto{Header: hdr}
	if encoded != nil {
		// As the gRPC gateway's codec holds documents: encoded, sent as
		// docs (wire.Codec) without being decoded again.
		req.Data = wire.EncodedDocs(encoded)
	} else {
		if docs == nil {
			docs = docarray.DocList{}
		}
		if err := executors.SetRequestDocs(req, docs); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf(`"data": %v`, err)
		}
	}
	if isEmptyObject(rb.Parameters) {
		// What the branch below makes of {}, the parameters Jina's
		// client sends, without reflection.
		req.Parameters = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	} else if len(rb.Parameters) > 0 && string(bytes.TrimSpace(rb.Parameters)) != "null" {
		var p map[string]any
		if err := json.Unmarshal(rb.Parameters, &p); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field == "" {
				return nil, http.StatusBadRequest, fmt.Errorf(`"parameters" must be a JSON object, got a JSON %s`, te.Value)
			}
			return nil, http.StatusBadRequest, fmt.Errorf(`"parameters" must be a JSON object: %v`, jsonMessage(err))
		}
		s, err := structpb.NewStruct(p)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf(`"parameters": %v`, err)
		}
		req.Parameters = s
	}
	return req, 0, nil
}

// isEmptyObject reports whether raw is {} (with any white space).
func isEmptyObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) >= 2 && raw[0] == '{' && raw[len(raw)-1] == '}' && len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0
}

func jsonMessage(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Sprintf("want a JSON %s, got a JSON %s", jsonKind(te.Type), te.Value)
		}
		return fmt.Sprintf("field %q: want a JSON %s, got a JSON %s", te.Field, jsonKind(te.Type), te.Value)
	}
	return err.Error()
}

// jsonKind names the JSON form of a Go type ("object", not
// "gateway.requestBody"), for messages to API users.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Interface:
		return "value"
	}
	return "number"
}

// ResponseJSON encodes a response in the HTTP gateway's JSON form.
func ResponseJSON(resp *jinapb.DataRequestProto) ([]byte, error) {
	docs, err := executors.RequestDocs(resp)
	if err != nil {
		return nil, err
	}
	type exception struct {
		Name     string   `json:"name"`
		Args     []string `json:"args"`
		Stacks   []string `json:"stacks,omitempty"`
		Executor string   `json:"executor"`
	}
	type statusJSON struct {
		Code        string     `json:"code"`
		Description string     `json:"description,omitempty"`
		Exception   *exception `json:"exception,omitempty"`
	}
	conv := func(st *jinapb.StatusProto) *statusJSON {
		if st == nil {
			return nil
		}
		out := &statusJSON{Code: st.GetCode().String(), Description: st.GetDescription()}
		if ex := st.GetException(); ex != nil {
			out.Exception = &exception{Name: ex.GetName(), Args: ex.GetArgs(), Stacks: ex.GetStacks(), Executor: ex.GetExecutor()}
		}
		return out
	}
	type route struct {
		Executor  string      `json:"executor"`
		StartTime string      `json:"startTime,omitempty"`
		EndTime   string      `json:"endTime,omitempty"`
		Status    *statusJSON `json:"status,omitempty"`
	}
	h := resp.GetHeader()
	st := conv(h.GetStatus())
	if st == nil {
		st = &statusJSON{Code: "SUCCESS"}
	}
	out := struct {
		Header struct {
			RequestID      string      `json:"requestId"`
			ExecEndpoint   string      `json:"execEndpoint,omitempty"`
			TargetExecutor string      `json:"targetExecutor,omitempty"`
			Status         *statusJSON `json:"status"`
		} `json:"header"`
		Parameters map[string]any   `json:"parameters"`
		Routes     []route          `json:"routes"`
		Data       docarray.DocList `json:"data"`
	}{Parameters: resp.GetParameters().AsMap(), Data: docs}
	out.Header.RequestID, out.Header.ExecEndpoint, out.Header.TargetExecutor, out.Header.Status = h.GetRequestId(), h.GetExecEndpoint(), h.GetTargetExecutor(), st
	for _, r := range resp.GetRoutes() {
		rt := route{Executor: r.GetExecutor(), Status: conv(r.GetStatus())}
		if r.GetStartTime() != nil {
			rt.StartTime = r.GetStartTime().AsTime().Format(time.RFC3339Nano)
		}
		if r.GetEndTime() != nil {
			rt.EndTime = r.GetEndTime().AsTime().Format(time.RFC3339Nano)
		}
		out.Routes = append(out.Routes, rt)
	}
	if out.Parameters == nil {
		out.Parameters = map[string]any{}
	}
	if out.Routes == nil {
		out.Routes = []route{}
	}
	return json.Marshal(out)
}
