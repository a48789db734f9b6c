package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// StreamBackend is implemented by backends that serve generator endpoints
// (engine.Engine): jina.JinaSingleDocumentRequestRPC/stream_doc on the gRPC
// gateway and its HTTP form, GET /{endpoint} answered with server-sent
// events. Backends without it answer both with UNIMPLEMENTED / 404.
type StreamBackend interface {
	// StreamDoc sends one document to the generator of its endpoint and
	// calls send with each item as it is yielded, never buffering.
	StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error
	// IsGenerator reports whether endpoint is served by a generator.
	IsGenerator(endpoint string) bool
}

// streamService serves stream_doc on the gRPC gateway.
type streamService struct {
	jinapb.UnimplementedJinaSingleDocumentRequestRPCServer
	b StreamBackend
}

// registerStreamDoc adds stream_doc to the gRPC gateway when the backend
// can stream.
func registerStreamDoc(g *GRPC) {
	if sb, ok := g.backend.(StreamBackend); ok {
		jinapb.RegisterJinaSingleDocumentRequestRPCServer(g.server, &streamService{b: sb})
	}
}

// StreamDoc implements jina.JinaSingleDocumentRequestRPC/stream_doc on the
// gateway: each item the generator yields is sent on as it arrives.
func (s *streamService) StreamDoc(req *jinapb.SingleDocumentRequestProto, stream grpc.ServerStreamingServer[jinapb.SingleDocumentRequestProto]) error {
	if req.GetHeader() == nil {
		req.Header = &jinapb.HeaderProto{}
	}
	if req.Header.RequestId == "" {
		req.Header.RequestId = docarray.NewID()
	}
	return s.b.StreamDoc(stream.Context(), req, stream.Send)
}

// The HTTP form, as Jina's gateway serves it for generator endpoints and
// Jina's HTTP client consumes it (Client.stream_doc):
//
//	GET /{endpoint}?<field>=<value>&...   Accept: text/event-stream
//
// The query parameters are the input document's fields (values coerced to
// the types of the endpoint's input schema, when it has one). The answer is
// a text/event-stream of
//
//	event: update\r\ndata: {document JSON}\r\n\r\n
//
// one per yielded document, written and flushed as it arrives, closed by
// "event: end\r\n\r\n". Jina's client cuts 14 bytes ("update\r\ndata: ")
// after each "event: ", so the separators must be exactly these. An
// executor error mid-stream is an "event: error" whose data is the status
// ({"code", "description", "exception"}), which Jina's client skips; a
// delivery failure before the first item is an ordinary JSON error answer
// (503, 504, ...).
func (h *httpGateway) streamDoc(w http.ResponseWriter, r *http.Request) {
	endpoint := "/" + r.PathValue("endpoint")
	sb, ok := h.b.(StreamBackend)
	if endpoint == "/" || !ok || !sb.IsGenerator(endpoint) {
		// The catch-all's answer: GET serves generator endpoints only.
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("no route %s %s: send documents with POST /<endpoint>; see GET /docs", r.Method, r.URL.Path))
		return
	}
	doc, err := queryDoc(r, h.inputProperties(endpoint))
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	req := &jinapb.SingleDocumentRequestProto{
		Header:   &jinapb.HeaderProto{RequestId: docarray.NewID(), ExecEndpoint: proto.String(endpoint)},
		Document: doc.ToProto(),
	}
	flusher, _ := w.(http.Flusher)
	started := false
	start := func() {
		if started {
			return
		}
		started = true
		hd := w.Header()
		hd.Set("Content-Type", "text/event-stream; charset=utf-8")
		hd.Set("Cache-Control", "no-cache")
		hd.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
	}
	event := func(name string, data []byte) error {
		start()
		var b strings.Builder
		b.WriteString("event: ")
		b.WriteString(name)
		b.WriteString("\r\n")
		if data != nil {
			b.WriteString("data: ")
			b.Write(data)
			b.WriteString("\r\n")
		}
		b.WriteString("\r\n")
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	err = sb.StreamDoc(r.Context(), req, func(item *jinapb.SingleDocumentRequestProto) error {
		if st := item.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
			return event("error", statusJSON(st))
		}
		d, err := docarray.DocFromProto(item.GetDocument())
		if err != nil {
			return event("error", statusJSON(&jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: "decode streamed document: " + err.Error()}))
		}
		b, err := json.Marshal(d)
		if err != nil {
			return event("error", statusJSON(&jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: "encode streamed document: " + err.Error()}))
		}
		return event("update", b)
	})
	if err != nil && r.Context().Err() != nil {
		return // the client went away
	}
	if err != nil {
		st := status.Convert(err)
		if !started {
			writeError(w, wire.HTTPStatus(st.Code()), wire.CodeName(st.Code()), st.Message())
			return
		}
		event("error", statusJSON(&jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: st.Message(),
			Exception: &jinapb.StatusProto_ExceptionProto{Name: wire.CodeName(st.Code()), Args: []string{st.Message()}, Executor: "gateway"}}))
	}
	event("end", nil)
}

// statusJSON is a status in the JSON form of the HTTP gateway's answers.
func statusJSON(st *jinapb.StatusProto) []byte {
	out := map[string]any{"code": st.GetCode().String(), "description": st.GetDescription()}
	if ex := st.GetException(); ex != nil {
		out["exception"] = map[string]any{"name": ex.GetName(), "args": ex.GetArgs(), "stacks": ex.GetStacks(), "executor": ex.GetExecutor()}
	}
	b, _ := json.Marshal(out)
	return b
}

// inputProperties returns the JSON Schema properties of endpoint's input
// documents (nil when untyped), to coerce query values.
func (h *httpGateway) inputProperties(endpoint string) map[string]any {
	entry := h.b.Endpoints().GetSchemas().GetFields()[endpoint].GetStructValue().AsMap()
	in, _ := entry["input"].(map[string]any)
	model, _ := in["model"].(map[string]any)
	props, _ := model["properties"].(map[string]any)
	return props
}

// queryDoc builds the input document from the query parameters, as
// pydantic does for Jina (input_doc_model(**query_params)): strings, or the
// type the input schema declares for the field.
func queryDoc(r *http.Request, props map[string]any) (*docarray.Document, error) {
	m := map[string]any{}
	for k, vs := range r.URL.Query() {
		v := vs[len(vs)-1]
		prop, _ := props[k].(map[string]any)
		typ, _ := prop["type"].(string)
		if typ == "" {
			if anyOf, ok := prop["anyOf"].([]any); ok && len(anyOf) > 0 {
				first, _ := anyOf[0].(map[string]any)
				typ, _ = first["type"].(string)
			}
		}
		switch typ {
		case "integer":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("query parameter %q: want an integer, got %q", k, v)
			}
			m[k] = n
		case "number":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("query parameter %q: want a number, got %q", k, v)
			}
			m[k] = f
		case "boolean":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("query parameter %q: want a boolean, got %q", k, v)
			}
			m[k] = b
		case "array", "object":
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				return nil, fmt.Errorf("query parameter %q: want JSON (%s), got %q", k, typ, v)
			}
			m[k] = x
		default:
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("query parameters: %w", err)
	}
	d := &docarray.Document{}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("query parameters do not make a document: %w", err)
	}
	if d.ID == "" {
		d.ID = docarray.NewID()
	}
	return d, nil
}
