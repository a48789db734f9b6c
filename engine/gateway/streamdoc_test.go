package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// streamBackend is a fakeBackend that streams: /gen yields one document
// per word of the input text; the word "fail" becomes an executor error
// item; /down fails before any item (UNAVAILABLE).
type streamBackend struct {
	*fakeBackend
	got []*jinapb.SingleDocumentRequestProto
}

func newStreamBackend() *streamBackend {
	b := &streamBackend{fakeBackend: newBackend()}
	schemas, _ := structpb.NewStruct(map[string]any{
		"/gen": map[string]any{"is_generator": true, "input": map[string]any{"name": "In", "model": map[string]any{
			"properties": map[string]any{"text": map[string]any{"type": "string"}, "n": map[string]any{"type": "integer"}, "on": map[string]any{"type": "boolean"}}}}},
	})
	b.endpoints = &jinapb.EndpointsProto{Endpoints: []string{"/gen", "/down", "/search"}, Schemas: schemas}
	return b
}

func (b *streamBackend) IsGenerator(ep string) bool { return ep == "/gen" || ep == "/down" }

func (b *streamBackend) StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error {
	b.mu.Lock()
	b.got = append(b.got, req)
	b.mu.Unlock()
	if req.GetHeader().GetExecEndpoint() == "/down" {
		return status.Error(codes.Unavailable, "deployment gen is down")
	}
	in, err := docarray.DocFromProto(req.GetDocument())
	if err != nil {
		return err
	}
	for _, w := range strings.Fields(in.Text) {
		item := &jinapb.SingleDocumentRequestProto{Header: &jinapb.HeaderProto{RequestId: req.GetHeader().GetRequestId()}}
		if w == "fail" {
			item.Header.Status = &jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: "Boom", Exception: &jinapb.StatusProto_ExceptionProto{Name: "Boom", Args: []string{"no"}, Executor: "gen"}}
		} else {
			item.Document = docarray.New(w).ToProto()
		}
		if err := send(item); err != nil {
			return err
		}
		if w == "fail" {
			return nil
		}
	}
	return nil
}

func TestStreamDocGRPCGateway(t *testing.T) {
	b := newStreamBackend()
	_, cc := serveGRPC(t, b, GRPCOptions{})
	c := jinapb.NewJinaSingleDocumentRequestRPCClient(cc)
	req := &jinapb.SingleDocumentRequestProto{Header: &jinapb.HeaderProto{ExecEndpoint: proto.String("/gen")}, Document: docarray.New("a b fail c").ToProto()}
	st, err := c.StreamDoc(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	var last *jinapb.SingleDocumentRequestProto
	for {
		it, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = it
		if it.GetDocument() != nil {
			d, _ := docarray.DocFromProto(it.GetDocument())
			texts = append(texts, d.Text)
		}
	}
	if strings.Join(texts, ",") != "a,b" || last.GetHeader().GetStatus().GetException().GetName() != "Boom" {
		t.Fatalf("items %v, last %v", texts, last)
	}
	if id := b.got[0].GetHeader().GetRequestId(); id == "" || last.GetHeader().GetRequestId() != id {
		t.Errorf("the gateway gives a request without one an id (%q) that items carry (%q)", id, last.GetHeader().GetRequestId())
	}
	// A delivery failure is the stream's gRPC status.
	st, err = c.StreamDoc(context.Background(), &jinapb.SingleDocumentRequestProto{Header: &jinapb.HeaderProto{ExecEndpoint: proto.String("/down")}})
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("/down: %v, want UNAVAILABLE", err)
	}
}

func TestStreamDocHTTPGateway(t *testing.T) {
	b := newStreamBackend()
	srv := httptest.NewServer(NewHTTP(b, HTTPOptions{}))
	defer srv.Close()
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	code, ct, body := get("/gen?text=a+b+fail&n=3&on=true&extra=x")
	want := "event: update\r\ndata: {\"id\":"
	if code != 200 || !strings.HasPrefix(ct, "text/event-stream") || !strings.HasPrefix(body, want) {
		t.Fatalf("%d %s %q", code, ct, body)
	}
	events := strings.Split(body, "event: ")[1:]
	if len(events) != 4 || !strings.HasPrefix(events[2], "error\r\ndata: {") || !strings.Contains(events[2], `"name":"Boom"`) || events[3] != "end\r\n\r\n" {
		t.Fatalf("events %q", events)
	}
	// Query values take the input schema's types; others stay strings.
	in, _ := docarray.DocFromProto(b.got[0].GetDocument())
	if v, _ := in.Field("n"); v != int64(3) {
		t.Errorf("n = %#v, want int64 3", v)
	}
	if v, _ := in.Field("on"); v != true {
		t.Errorf("on = %#v, want true", v)
	}
	if v, _ := in.Field("extra"); v != "x" || in.Text != "a b fail" || in.ID == "" {
		t.Errorf("doc %+v extra %#v", in, v)
	}
	for path, wantCode := range map[string]int{
		"/gen?n=notanumber": http.StatusBadRequest,
		"/down?text=a":      http.StatusServiceUnavailable,
		"/search?text=a":    http.StatusNotFound, // not a generator: POST only
		"/":                 http.StatusNotFound,
	} {
		if code, _, body := get(path); code != wantCode || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s: %d %s, want %d with an error body", path, code, body, wantCode)
		}
	}
}

// TestStreamDocWithoutStreamBackend: a backend that cannot stream serves
// neither form.
func TestStreamDocWithoutStreamBackend(t *testing.T) {
	_, cc := serveGRPC(t, newBackend(), GRPCOptions{})
	st, err := jinapb.NewJinaSingleDocumentRequestRPCClient(cc).StreamDoc(context.Background(), &jinapb.SingleDocumentRequestProto{})
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("%v, want UNIMPLEMENTED", err)
	}
	srv := httptest.NewServer(NewHTTP(newBackend(), HTTPOptions{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/search?text=a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET: %d, want 404", resp.StatusCode)
	}
}
