package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// codecEchoBackend answers every request with its own documents after a
// round trip through jig's gRPC codec (what a gateway sees from a remote
// pass-through executor such as builtin:Echo: the answer's documents
// arrive encoded), plus one route.
type codecEchoBackend struct{ fakeBackend }

func (b *codecEchoBackend) Route(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	c := wire.Codec()
	bs, err := c.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp := &jinapb.DataRequestProto{}
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(bs.Materialize())}, resp); err != nil {
		return nil, err
	}
	now := timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	resp.Routes = append(resp.Routes, &jinapb.RouteProto{Executor: "echo", StartTime: now, EndTime: now})
	return resp, nil
}

// jinaBody is a request body as Jina's Python Client sends it for n
// documents of size bytes of text.
func jinaBody(n, size int) string {
	var b strings.Builder
	b.WriteString(`{"data": [`)
	text := strings.Repeat("lorem ipsum ", size/12+1)[:size]
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"id": "%032x", "text": "%s"}`, i+1, text)
	}
	b.WriteString(`], "parameters": {}, "header": {"exec_endpoint": "/foo", "request_id": "3c113fe1fabf4cc29d34f33a335d439b"}, "exec_endpoint": "/foo"}`)
	return b.String()
}

// BenchmarkHTTPHandler measures the HTTP gateway's request and answer
// path alone (no network): decode a Jina-client body, route it through a
// codec round trip, write the JSON answer.
func BenchmarkHTTPHandler(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) {
			h := NewHTTP(&codecEchoBackend{*newBackend()}, HTTPOptions{})
			body := jinaBody(n, 1024)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", "/foo", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkFastDecode measures fastDecode alone on a Jina-client body of
// 100 documents of 1 KiB.
func BenchmarkFastDecode(b *testing.B) {
	body := []byte(jinaBody(100, 1024))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var fr fastResult
		if !fastDecode(body, &fr) {
			b.Fatal("full path")
		}
	}
}
