package tracingsdk

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/internal/rawcodec"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/gRPC trace collector that keeps each Export
// request's bytes.
type collector struct {
	addr string
	mu   sync.Mutex
	reqs [][]byte
	mds  []metadata.MD
	got  chan struct{}
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{addr: lis.Addr().String(), got: make(chan struct{}, 16)}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(rawcodec.Codec{}), grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		if m, _ := grpc.MethodFromServerStream(stream); m != exportMethod {
			t.Errorf("collector called with %s", m)
		}
		req := rawcodec.Msg{Keep: true}
		if err := stream.RecvMsg(&req); err != nil {
			return err
		}
		c.mu.Lock()
		c.reqs = append(c.reqs, req.B)
		md, _ := metadata.FromIncomingContext(stream.Context())
		c.mds = append(c.mds, md)
		c.mu.Unlock()
		c.got <- struct{}{}
		return stream.SendMsg(&rawcodec.Msg{})
	}))
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return c
}

func (c *collector) last(t *testing.T) (*coltracepb.ExportTraceServiceRequest, metadata.MD) {
	t.Helper()
	select {
	case <-c.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the collector got no request")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(c.reqs[len(c.reqs)-1], &req); err != nil {
		t.Fatalf("the request does not decode as an ExportTraceServiceRequest: %v", err)
	}
	return &req, c.mds[len(c.mds)-1]
}

// testSpans are finished spans using every field the encoder writes.
func testSpans() []sdktrace.ReadOnlySpan {
	ts, _ := trace.ParseTraceState("k1=v1,k2=v2")
	tid := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{9, 9, 9, 9, 9, 9, 9, 9}, TraceFlags: trace.FlagsSampled, Remote: true})
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", attribute.String("service.name", "svc"), attribute.Int64("pid", 42))
	scope := instrumentation.Scope{Name: "github.com/jig-dev/jig", Version: "v1", SchemaURL: "https://example.com/s", Attributes: attribute.NewSet(attribute.Bool("b", true))}
	start := time.Unix(1700000000, 123456789)
	stubs := tracetest.SpanStubs{
		{
			Name: "gateway /default", SpanKind: trace.SpanKindServer,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1, 1, 1, 1, 1, 1, 1, 1}, TraceFlags: trace.FlagsSampled, TraceState: ts}),
			Parent:      parent,
			StartTime:   start, EndTime: start.Add(1500 * time.Microsecond),
			Attributes: []attribute.KeyValue{
				attribute.String("s", "x"), attribute.String("empty", ""), attribute.Int64("i", -7), attribute.Int64("zero", 0),
				attribute.Float64("f", 2.5), attribute.Bool("t", true), attribute.Bool("no", false),
				attribute.StringSlice("ss", []string{"a", ""}), attribute.Int64Slice("is", []int64{1, 0}),
				attribute.Float64Slice("fs", []float64{0, 1.5}), attribute.BoolSlice("bs", []bool{true, false}),
			},
			Events: []sdktrace.Event{
				{Name: "exception", Time: start.Add(time.Millisecond), Attributes: []attribute.KeyValue{attribute.String("exception.message", "boom")}, DroppedAttributeCount: 2},
				{Name: "bare", Time: start.Add(2 * time.Millisecond)},
			},
			Links: []sdktrace.Link{
				{SpanContext: parent, Attributes: []attribute.KeyValue{attribute.String("why", "batch")}, DroppedAttributeCount: 1},
				{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{7, 7, 7, 7, 7, 7, 7, 7}})},
			},
			Status:               sdktrace.Status{Code: otelcodes.Error, Description: "executor failed"},
			DroppedAttributes:    3,
			DroppedEvents:        4,
			DroppedLinks:         5,
			ChildSpanCount:       1,
			Resource:             res,
			InstrumentationScope: scope,
		},
		{
			Name: "call enc/rep-0", SpanKind: trace.SpanKindClient,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{2, 2, 2, 2, 2, 2, 2, 2}, TraceFlags: trace.FlagsSampled}),
			Parent:      trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1, 1, 1, 1, 1, 1, 1, 1}, TraceFlags: trace.FlagsSampled}),
			StartTime:   start, EndTime: start.Add(time.Millisecond),
			Status:   sdktrace.Status{Code: otelcodes.Ok},
			Resource: res, InstrumentationScope: scope,
		},
		{
			Name: "root", SpanKind: trace.SpanKindInternal,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{3, 3, 3, 3, 3, 3, 3, 3}}),
			StartTime:   start, EndTime: start,
			Resource: res, InstrumentationScope: scope,
		},
	}
	return stubs.Snapshots()
}

// TestOTLPEncodingMatchesOpenTelemetry: the request jig's exporter sends
// for a set of spans decodes (with the generated OTLP protos) to exactly
// what OpenTelemetry's own OTLP/gRPC exporter sends for them, so
// collectors (Jaeger, otel-collector) see the same spans as before; the
// headers of OTEL_EXPORTER_OTLP_HEADERS go along the same way.
func TestOTLPEncodingMatchesOpenTelemetry(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Api-Key=s%20ecret, x-tenant=a,broken")
	ctx := context.Background()
	c := startCollector(t)
	spans := testSpans()

	ref, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(c.addr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Shutdown(ctx)
	if err := ref.ExportSpans(ctx, spans); err != nil {
		t.Fatalf("OpenTelemetry's exporter: %v", err)
	}
	want, wantMD := c.last(t)

	ours, err := newOTLPExporter(c.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Shutdown(ctx)
	if err := ours.ExportSpans(ctx, spans); err != nil {
		t.Fatalf("jig's exporter: %v", err)
	}
	got, gotMD := c.last(t)
	for _, k := range []string{"api-key", "x-tenant"} {
		if g, w := gotMD.Get(k), wantMD.Get(k); len(w) != 1 || !slices.Equal(g, w) {
			t.Errorf("header %s: jig sent %q, OpenTelemetry %q", k, g, w)
		}
	}
	if len(want.GetResourceSpans()) != 1 || len(want.GetResourceSpans()[0].GetScopeSpans()) != 1 || len(want.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()) != len(spans) {
		t.Fatalf("OpenTelemetry's request is not one resource, one scope, %d spans:\n%s", len(spans), prototext.Format(want))
	}
	if !proto.Equal(got, want) {
		t.Fatalf("jig's request differs from OpenTelemetry's.\njig:\n%s\nOpenTelemetry:\n%s", prototext.Format(got), prototext.Format(want))
	}
}

// TestOTLPGroupsByResourceAndScope: spans of two scopes and two resources
// go out as two ResourceSpans, the first with two ScopeSpans.
func TestOTLPGroupsByResourceAndScope(t *testing.T) {
	spans := testSpans()
	other := tracetest.SpanStubFromReadOnlySpan(spans[1])
	other.InstrumentationScope = instrumentation.Scope{Name: "other"}
	third := tracetest.SpanStubFromReadOnlySpan(spans[2])
	third.Resource = resource.NewSchemaless(attribute.String("service.name", "b"))
	in := []sdktrace.ReadOnlySpan{spans[0], other.Snapshot(), third.Snapshot()}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(encodeExport(in), &req); err != nil {
		t.Fatal(err)
	}
	rs := req.GetResourceSpans()
	if len(rs) != 2 || len(rs[0].GetScopeSpans()) != 2 || len(rs[1].GetScopeSpans()) != 1 ||
		rs[0].GetScopeSpans()[1].GetScope().GetName() != "other" || rs[1].GetResource().GetAttributes()[0].GetValue().GetStringValue() != "b" {
		t.Fatalf("grouping:\n%s", prototext.Format(&req))
	}
}
