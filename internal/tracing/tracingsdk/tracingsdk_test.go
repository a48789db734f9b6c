package tracingsdk_test

import (
	"context"
	"testing"

	"github.com/jig-dev/jig/internal/tracing"
	_ "github.com/jig-dev/jig/internal/tracing/tracingsdk"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc/metadata"
)

// TestTreeAndRecorder: spans nest through contexts and through gRPC
// metadata (Outgoing on one side, Executor on the other), and the
// recorder keeps them by trace.
func TestTreeAndRecorder(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	rec := tracing.NewRecorder(2)
	stop, err := tracing.Setup(context.Background(), tracing.Config{Tracing: true, Exporter: exp, Recorder: rec, Service: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r1"}}
	ctx, gw := tracing.Gateway(context.Background(), req)
	cctx, call := tracing.Call(ctx, "enc", 0, "rep-0", "a", 1)
	out := tracing.Outgoing(cctx)
	md, _ := metadata.FromOutgoingContext(out)
	// The worker side: a fresh context with the metadata as it arrives.
	_, ex := tracing.Executor(metadata.NewIncomingContext(context.Background(), md), "enc", req)
	ex.EndResponse(&jinapb.DataRequestProto{Header: &jinapb.HeaderProto{Status: &jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: "boom"}}}, nil)
	call.End(nil)
	gw.End(nil)
	spans := rec.Trace(gw.TraceID())
	if len(spans) != 3 {
		t.Fatalf("recorded %d spans, want 3", len(spans))
	}
	byName := map[string]tracing.SpanRecord{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	g, c, e := byName["gateway /default"], byName["call enc/rep-0"], byName["executor enc /default"]
	if c.ParentID != g.SpanID || e.ParentID != c.SpanID || g.ParentID != "" {
		t.Errorf("tree: %+v", spans)
	}
	if e.Error != "boom" || c.Attrs[tracing.AttrAttempt] != "1" || g.Attrs[tracing.AttrRequestID] != "r1" {
		t.Errorf("attributes/status: %+v", spans)
	}
	if d := tracing.Depth(spans); d[e.SpanID] != 2 || d[g.SpanID] != 0 {
		t.Errorf("depth %v", d)
	}
	if rec.TraceOf(tracing.AttrRequestID, "r1") != gw.TraceID() {
		t.Error("TraceOf does not find the request")
	}
	// Bounded: two more traces push the first out.
	for range 2 {
		_, s := tracing.Gateway(context.Background(), req)
		s.End(nil)
	}
	if rec.Trace(gw.TraceID()) != nil {
		t.Error("recorder keeps more traces than asked")
	}
	if err := tracing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 5 {
		t.Errorf("exported %d spans, want 5", n)
	}
}
