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
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// The HTTP API (DESIGN.md §3), JSON in and out:
//
//	POST /{endpoint}   {"data": [docs], "parameters": {...}, "header": {"targetExecutor": "...", "requestId": "..."}}
//	POST /post         {"execEndpoint": "/x", "data": [...], "parameters": {...}, "targetExecutor": "..."}
//	GET  /status       {"jina": {...}, "envs": {...}}
//	GET  /dry_run      200 {"code": "SUCCESS"} | 503 {"code": "ERROR", "description": "..."}
//	GET  /endpoints    {"endpoints": [...], "writeEndpoints": [...], "schemas": {...}}
//	GET  /docs         the OpenAPI 3 document (also /openapi.json)
//	GET  /metrics      Prometheus metrics
//
// A request's answer is {"header": {"requestId", "execEndpoint",
// "targetExecutor", "status": {"code", "description", "exception": {"name",
// "args", "stacks", "executor"}}}, "parameters": {...}, "routes":
// [{"executor", "startTime", "endTime", "status"}], "data": [docs]} with 200,
// or 500 when an executor failed. Delivery failures answer 503
// (UNAVAILABLE) or 504 (DEADLINE_EXCEEDED) with {"error": {"code",
// "message"}}; bad JSON 400 (INVALID_ARGUMENT); a body over the size limit
// 413 (RESOURCE_EXHAUSTED); a missing token 401 (UNAUTHENTICATED).

// HTTPOptions configure the HTTP gateway.
type HTTPOptions struct {
	// MaxBodyBytes bounds request bodies (0: 256 MiB).
	MaxBodyBytes int64
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
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 256 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &httpGateway{b: b, opts: opts}
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
		b, _ := json.Marshal(map[string]string{"code": "ERROR", "description": err.Error()})
		writeJSON(w, http.StatusServiceUnavailable, b)
		return
	}
	writeJSON(w, http.StatusOK, []byte(`{"code":"SUCCESS"}`))
}

func (h *httpGateway) endpoints(w http.ResponseWriter, r *http.Request) {
	b, err := protojson.Marshal(h.b.Endpoints())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// requestBody is the body of POST /{endpoint} and POST /post.
type requestBody struct {
	Data       json.RawMessage `json:"data"`
	Parameters json.RawMessage `json:"parameters"`
	Header     *struct {
		TargetExecutor string `json:"targetExecutor"`
		RequestID      string `json:"requestId"`
		ExecEndpoint   string `json:"execEndpoint"`
	} `json:"header"`
	// /post form.
	ExecEndpoint   string `json:"execEndpoint"`
	TargetExecutor string `json:"targetExecutor"`
	RequestID      string `json:"requestId"`
}

func (h *httpGateway) endpoint(w http.ResponseWriter, r *http.Request) {
	h.handle(w, r, "/"+r.PathValue("endpoint"), false)
}

func (h *httpGateway) post(w http.ResponseWriter, r *http.Request) {
	h.handle(w, r, "", true)
}

func (h *httpGateway) handle(w http.ResponseWriter, r *http.Request, endpoint string, postForm bool) {
	req, code, err := h.parse(w, r, endpoint, postForm)
	if err != nil {
		name := "INVALID_ARGUMENT"
		if code == http.StatusRequestEntityTooLarge {
			name = "RESOURCE_EXHAUSTED"
		}
		writeError(w, code, name, err.Error())
		return
	}
	resp, err := h.b.Route(r.Context(), req)
	if err != nil {
		st := status.Convert(err)
		writeError(w, httpCode(st.Code()), CodeName(st.Code()), st.Message())
		return
	}
	body, err := ResponseJSON(resp)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL", "encode response: "+err.Error())
		return
	}
	code = http.StatusOK
	if resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
		code = http.StatusInternalServerError
	}
	writeJSON(w, code, body)
}

// httpCode maps gRPC codes to HTTP statuses, as Jina's gateway does.
func httpCode(c codes.Code) int {
	switch c {
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.ResourceExhausted:
		return http.StatusRequestEntityTooLarge
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.Canceled:
		return 499 // client closed request
	case codes.NotFound:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

func (h *httpGateway) parse(w http.ResponseWriter, r *http.Request, endpoint string, postForm bool) (*jinapb.DataRequestProto, int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is over the limit of %d bytes", mbe.Limit)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	var rb requestBody
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rb); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("invalid request body: %v (want {\"data\": [documents], \"parameters\": {...}})", jsonMessage(err))
		}
		if dec.More() {
			return nil, http.StatusBadRequest, errors.New("invalid request body: trailing data after the JSON object")
		}
	}
	hdr := &jinapb.HeaderProto{RequestId: rb.RequestID}
	target := rb.TargetExecutor
	if rb.Header != nil {
		if rb.Header.RequestID != "" {
			hdr.RequestId = rb.Header.RequestID
		}
		if rb.Header.TargetExecutor != "" {
			target = rb.Header.TargetExecutor
		}
		if postForm && rb.Header.ExecEndpoint != "" && rb.ExecEndpoint == "" {
			rb.ExecEndpoint = rb.Header.ExecEndpoint
		}
	}
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
	docs := docarray.DocList{}
	if len(rb.Data) > 0 && string(bytes.TrimSpace(rb.Data)) != "null" {
		if err := json.Unmarshal(rb.Data, &docs); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf(`"data": %v`, err)
		}
	}
	if err := executors.SetRequestDocs(req, docs); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf(`"data": %v`, err)
	}
	if len(rb.Parameters) > 0 && string(bytes.TrimSpace(rb.Parameters)) != "null" {
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
