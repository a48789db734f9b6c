// Package clienttest provides a reference implementation of the HTTP
// gateway contract written down in client/http.go, for tests of the client
// and of code built on it (jig post, the workbench). It is deliberately
// small and strict: it accepts exactly the request body the contract
// allows and answers exactly the documented forms, so a client that works
// against it works against the real gateway.
//
// The gateway is backed by a function that processes one
// jina.DataRequestProto, e.g. executors/worker.Server.Process:
//
//	gw := &clienttest.Gateway{Process: srv.Process}
//	ts := httptest.NewServer(gw)
package clienttest

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// Gateway serves the HTTP API of client/http.go.
type Gateway struct {
	// Process handles one request (required). A gRPC status error is a
	// delivery failure: UNAVAILABLE answers 503, DEADLINE_EXCEEDED 504.
	Process func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error)
	// Ready backs GET /dry_run; nil means always ready.
	Ready func() error
	// Endpoints backs GET /endpoints; nil serves an empty list.
	Endpoints func() *jinapb.EndpointsProto
	// Info backs GET /status; nil serves empty maps.
	Info func() *jinapb.JinaInfoProto
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every route but /dry_run.
	Token string
	// MaxBodyBytes bounds request bodies (0: wire.MaxMessageSize).
	MaxBodyBytes int64
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/dry_run" && g.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(g.Token)) != 1 {
			writeError(w, http.StatusUnauthorized, codes.Unauthenticated, "missing or wrong bearer token")
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/dry_run":
		g.dryRun(w)
	case r.Method == http.MethodGet && r.URL.Path == "/status":
		info := &jinapb.JinaInfoProto{}
		if g.Info != nil {
			info = g.Info()
		}
		writeJSON(w, http.StatusOK, map[string]any{"jina": nonNil(info.GetJina()), "envs": nonNil(info.GetEnvs())})
	case r.Method == http.MethodGet && r.URL.Path == "/endpoints":
		ep := &jinapb.EndpointsProto{}
		if g.Endpoints != nil {
			ep = g.Endpoints()
		}
		b, err := protojson.Marshal(ep)
		if err != nil {
			writeError(w, http.StatusInternalServerError, codes.Internal, err.Error())
			return
		}
		writeRaw(w, http.StatusOK, b)
	case r.Method == http.MethodPost && len(r.URL.Path) > 1:
		g.post(w, r)
	default:
		writeError(w, http.StatusNotFound, codes.NotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	}
}

func (g *Gateway) dryRun(w http.ResponseWriter) {
	if g.Ready != nil {
		if err := g.Ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"code": "ERROR", "description": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"code": "SUCCESS"})
}

// requestBody is everything a POST body may hold; other keys are 400.
type requestBody struct {
	Data       json.RawMessage `json:"data"`
	Parameters json.RawMessage `json:"parameters"`
	Header     *struct {
		RequestID      string `json:"requestId"`
		TargetExecutor string `json:"targetExecutor"`
	} `json:"header"`
}

func (g *Gateway) post(w http.ResponseWriter, r *http.Request) {
	limit := g.MaxBodyBytes
	if limit <= 0 {
		limit = wire.MaxMessageSize
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, codes.ResourceExhausted, fmt.Sprintf("request body is over the limit of %d bytes", limit))
			return
		}
		writeError(w, http.StatusBadRequest, codes.InvalidArgument, "read body: "+err.Error())
		return
	}
	var rb requestBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rb); err != nil {
		writeError(w, http.StatusBadRequest, codes.InvalidArgument, "invalid request body: "+err.Error())
		return
	}
	hdr := &jinapb.HeaderProto{ExecEndpoint: proto.String(r.URL.Path)}
	if rb.Header != nil {
		hdr.RequestId = rb.Header.RequestID
		if rb.Header.TargetExecutor != "" {
			hdr.TargetExecutor = proto.String(rb.Header.TargetExecutor)
		}
	}
	if hdr.RequestId == "" {
		hdr.RequestId = docarray.NewID()
	}
	docs := docarray.DocList{}
	if len(rb.Data) > 0 && string(rb.Data) != "null" {
		if err := json.Unmarshal(rb.Data, &docs); err != nil {
			writeError(w, http.StatusBadRequest, codes.InvalidArgument, `"data": `+err.Error())
			return
		}
	}
	req := &jinapb.DataRequestProto{Header: hdr, Data: &jinapb.DataRequestProto_DataContentProto{
		Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: docs.ToProto()}}}
	if len(rb.Parameters) > 0 && string(rb.Parameters) != "null" {
		var p map[string]any
		if err := json.Unmarshal(rb.Parameters, &p); err != nil {
			writeError(w, http.StatusBadRequest, codes.InvalidArgument, `"parameters" must be a JSON object: `+err.Error())
			return
		}
		s, err := structpb.NewStruct(p)
		if err != nil {
			writeError(w, http.StatusBadRequest, codes.InvalidArgument, `"parameters": `+err.Error())
			return
		}
		req.Parameters = s
	}
	resp, err := g.Process(r.Context(), req)
	if err != nil {
		st := status.Convert(err)
		writeError(w, wire.HTTPStatus(st.Code()), st.Code(), st.Message())
		return
	}
	out, err := ReplyJSON(resp)
	if err != nil {
		writeError(w, http.StatusInternalServerError, codes.Internal, "encode answer: "+err.Error())
		return
	}
	code := http.StatusOK
	if resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
		code = http.StatusInternalServerError
	}
	writeRaw(w, code, out)
}

type statusJSON struct {
	Code        string         `json:"code"`
	Description string         `json:"description,omitempty"`
	Exception   *exceptionJSON `json:"exception,omitempty"`
}

type exceptionJSON struct {
	Name     string   `json:"name"`
	Args     []string `json:"args"`
	Stacks   []string `json:"stacks,omitempty"`
	Executor string   `json:"executor"`
}

func statusOf(st *jinapb.StatusProto) *statusJSON {
	if st == nil {
		return nil
	}
	out := &statusJSON{Code: st.GetCode().String(), Description: st.GetDescription()}
	if ex := st.GetException(); ex != nil {
		out.Exception = &exceptionJSON{Name: ex.GetName(), Args: ex.GetArgs(), Stacks: ex.GetStacks(), Executor: ex.GetExecutor()}
	}
	return out
}

// ReplyJSON encodes a processed request as the body of a 200/500 answer.
func ReplyJSON(resp *jinapb.DataRequestProto) ([]byte, error) {
	var docs docarray.DocList
	var err error
	switch d := resp.GetData().GetDocuments().(type) {
	case *jinapb.DataRequestProto_DataContentProto_Docs:
		docs, err = docarray.FromProto(d.Docs)
	case *jinapb.DataRequestProto_DataContentProto_DocsBytes:
		docs, err = docarray.Unmarshal(d.DocsBytes)
	}
	if err != nil {
		return nil, err
	}
	if docs == nil {
		docs = docarray.DocList{}
	}
	type route struct {
		Executor  string      `json:"executor"`
		StartTime string      `json:"startTime,omitempty"`
		EndTime   string      `json:"endTime,omitempty"`
		Status    *statusJSON `json:"status,omitempty"`
	}
	type header struct {
		RequestID      string      `json:"requestId"`
		ExecEndpoint   string      `json:"execEndpoint,omitempty"`
		TargetExecutor string      `json:"targetExecutor,omitempty"`
		Status         *statusJSON `json:"status"`
	}
	h := resp.GetHeader()
	out := struct {
		Header     header           `json:"header"`
		Parameters map[string]any   `json:"parameters"`
		Routes     []route          `json:"routes"`
		Data       docarray.DocList `json:"data"`
	}{
		Header:     header{RequestID: h.GetRequestId(), ExecEndpoint: h.GetExecEndpoint(), TargetExecutor: h.GetTargetExecutor(), Status: statusOf(h.GetStatus())},
		Parameters: resp.GetParameters().AsMap(),
		Routes:     []route{},
		Data:       docs,
	}
	if out.Header.Status == nil {
		out.Header.Status = &statusJSON{Code: "SUCCESS"}
	}
	for _, r := range resp.GetRoutes() {
		rt := route{Executor: r.GetExecutor(), Status: statusOf(r.GetStatus())}
		if r.GetStartTime() != nil {
			rt.StartTime = r.GetStartTime().AsTime().Format(time.RFC3339Nano)
		}
		if r.GetEndTime() != nil {
			rt.EndTime = r.GetEndTime().AsTime().Format(time.RFC3339Nano)
		}
		out.Routes = append(out.Routes, rt)
	}
	return json.Marshal(out)
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	writeRaw(w, code, b)
}

func writeRaw(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte("\n"))
}

func writeError(w http.ResponseWriter, code int, c codes.Code, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]string{"code": wire.CodeName(c), "message": msg}})
}
