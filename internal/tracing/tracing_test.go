package tracing

import (
	"context"
	"errors"
	"testing"

	"github.com/jig-dev/jig/proto/jinapb"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// TestOffAllocatesNothing: with no provider installed, the helpers on
// the request path make no span and allocate nothing.
func TestOffAllocatesNothing(t *testing.T) {
	if Enabled() {
		t.Fatal("a provider is installed")
	}
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String("/x")}}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(TraceparentKey, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
	allocs := testing.AllocsPerRun(100, func() {
		c, gw := Gateway(ctx, req)
		c, d := Deployment(c, "index")
		c, call := Call(c, "index", 0, "rep-0", "127.0.0.1:1", 0)
		c = Outgoing(c)
		c, ex := Executor(c, "index", req)
		_, r := Raft(c, "raft.apply")
		r.Int(AttrRaftIndex, 3)
		r.End(nil)
		ex.EndResponse(req, nil)
		call.End(nil)
		d.End(nil)
		gw.End(errors.ErrUnsupported)
		if gw.TraceID() != "" {
			t.Fatal("span made while off")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request with tracing off, want 0", allocs)
	}
}

// TestTreeAndRecorder: spans nest through contexts and through gRPC
// metadata (Outgoing on one side, Executor on the other), and the
// recorder keeps them by trace.
func TestTreeAndRecorder(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	rec := NewRecorder(2)
	stop, err := Setup(context.Background(), Config{Tracing: true, Exporter: exp, Recorder: rec, Service: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r1"}}
	ctx, gw := Gateway(context.Background(), req)
	cctx, call := Call(ctx, "enc", 0, "rep-0", "a", 1)
	out := Outgoing(cctx)
	md, _ := metadata.FromOutgoingContext(out)
	// The worker side: a fresh context with the metadata as it arrives.
	_, ex := Executor(metadata.NewIncomingContext(context.Background(), md), "enc", req)
	ex.EndResponse(&jinapb.DataRequestProto{Header: &jinapb.HeaderProto{Status: &jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: "boom"}}}, nil)
	call.End(nil)
	gw.End(nil)
	spans := rec.Trace(gw.TraceID())
	if len(spans) != 3 {
		t.Fatalf("recorded %d spans, want 3", len(spans))
	}
	byName := map[string]SpanRecord{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	g, c, e := byName["gateway /default"], byName["call enc/rep-0"], byName["executor enc /default"]
	if c.ParentID != g.SpanID || e.ParentID != c.SpanID || g.ParentID != "" {
		t.Errorf("tree: %+v", spans)
	}
	if e.Error != "boom" || c.Attrs[AttrAttempt] != "1" || g.Attrs[AttrRequestID] != "r1" {
		t.Errorf("attributes/status: %+v", spans)
	}
	if d := Depth(spans); d[e.SpanID] != 2 || d[g.SpanID] != 0 {
		t.Errorf("depth %v", d)
	}
	if rec.TraceOf(AttrRequestID, "r1") != gw.TraceID() {
		t.Error("TraceOf does not find the request")
	}
	// Bounded: two more traces push the first out.
	for range 2 {
		_, s := Gateway(context.Background(), req)
		s.End(nil)
	}
	if rec.Trace(gw.TraceID()) != nil {
		t.Error("recorder keeps more traces than asked")
	}
	if err := Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 5 {
		t.Errorf("exported %d spans, want 5", n)
	}
}
