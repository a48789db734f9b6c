package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jig-dev/jig/internal/rawcodec"
	"github.com/jig-dev/jig/internal/tracing"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

// tracingFlowSize is the length of the traced flow: three in-process Echo executors, so a
// request makes 1 gateway + 3 × (deployment, call, executor) = 10 spans.
const tracingFlowSize = 3

// collector is an in-process OTLP/gRPC trace collector that counts and
// drops what it receives: the exporter does all a real one's work
// (batching, protobuf encoding, a gRPC call per batch), the collector's
// storage is left out. It reads the requests as bytes (rawcodec) and
// counts their spans with protowire, so that jig does not link the
// generated OTLP protos for it.
type collector struct {
	spans atomic.Int64
}

// export counts the spans of one ExportTraceServiceRequest:
// resource_spans (1) > scope_spans (2) > spans (2).
func (c *collector) export(stream grpc.ServerStream) error {
	req := rawcodec.Msg{Keep: true}
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	n := 0
	for _, rs := range protoFields(req.B, 1) {
		for _, ss := range protoFields(rs, 2) {
			n += len(protoFields(ss, 2))
		}
	}
	c.spans.Add(int64(n))
	return stream.SendMsg(&rawcodec.Msg{})
}

// protoFields returns the length-delimited fields numbered num of the
// message b (nil when b does not parse).
func protoFields(b []byte, num protowire.Number) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil
			}
			out = append(out, v)
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return nil
		}
		b = b[l:]
	}
	return out
}

func startCollector() (*collector, string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	c := &collector{}
	g := grpc.NewServer(grpc.ForceServerCodecV2(rawcodec.Codec{}), grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		return c.export(stream)
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Serve(lis)
	}()
	return c, lis.Addr().String(), func() { g.Stop(); <-done }, nil
}

// discard is a span exporter that drops every batch: the SDK's span
// making and batching without any export.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// tracedSystem runs s with tracing on (sampling 1.0, every span exported
// over OTLP/gRPC to addr, or dropped by a no-op exporter when addr is "")
// for the length of each run; tracing is off again between runs, so the
// untraced system measured next runs on the same engine without it.
func tracedSystem(s system, addr string) system {
	return system{name: s.name, run: func(ctx context.Context, d time.Duration) (sample, error) {
		cfg := tracing.Config{Tracing: true, SampleRatio: 1, Service: "bench"}
		if addr == "" {
			cfg.Exporter = discard{}
		} else {
			// jig's own OTLP exporter (tracingsdk), as a flow with
			// `tracing: true` uses it.
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return sample{}, err
			}
			if cfg.ExporterPort, err = strconv.Atoi(port); err != nil {
				return sample{}, err
			}
			cfg.ExporterHost = host
		}
		stop, err := tracing.Setup(ctx, cfg)
		if err != nil {
			return sample{}, err
		}
		out, err := s.run(ctx, d)
		if serr := stop(context.Background()); err == nil && serr != nil {
			err = serr
		}
		return out, err
	}}
}

const tracingNote = "process_single_data, 1 doc of 1 KiB text, c1 and c8, through a flow of 3 in-process builtin:Echo (10 spans per request); tracing on: sampling 1.0, the OTel SDK's batch span processor exporting OTLP/gRPC to an in-process collector that counts and drops the spans; \"no-op exporter\": the same spans made and batched, then dropped (no encoding, no collector); off: no provider (the default); the three alternate on the same engine"

func tracingScenario() scenario {
	cases := []string{"tracing/1doc/c1", "tracing/1doc/c8"}
	return scenario{name: "tracing", cases: cases, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		var st stack
		defer st.run()
		eng, err := startFlow(ctx, "traced", r.dir, echoChain(tracingFlowSize))
		if err != nil {
			return nil, err
		}
		st.push(func() { stopEngine(eng) })
		col, addr, stopCol, err := startCollector()
		if err != nil {
			return nil, err
		}
		st.push(stopCol)
		cc, err := dial(eng.Addresses().GRPC)
		if err != nil {
			return nil, err
		}
		st.push(func() { cc.Close() })
		req := request(endpoint, textDocs(1, 1024))
		if err := checkUnary(ctx, cc, req, 1); err != nil {
			return nil, err
		}
		payload := marshal(req)
		var rows []Row
		for i, conc := range []int{1, 8} {
			name := cases[i]
			if !want(name) {
				continue
			}
			before := col.spans.Load()
			ss, err := r.interleave(ctx, name, r.o.Duration,
				tracedSystem(unarySystem("tracing on", cc, payload, conc), addr),
				unarySystem("tracing off", cc, payload, conc),
				tracedSystem(unarySystem("tracing on, no-op exporter", cc, payload, conc), ""))
			if err != nil {
				return rows, fmt.Errorf("%s: %w", name, err)
			}
			if col.spans.Load() == before {
				return rows, fmt.Errorf("%s: the collector received no spans with tracing on", name)
			}
			on, off, noop := ss[0], ss[1], ss[2]
			p50 := func(s sample) float64 { return micros(s.pct(0.50)) }
			got := []Row{
				ratioRow(name, "throughput", "req/s", "tracing off", figures(on, sample.rate), figures(off, sample.rate), nil),
				diffRow(name, "p50", "µs", "tracing off", figures(on, p50), figures(off, p50), nil),
				ratioRow(name, "throughput (no-op exporter)", "req/s", "tracing off", figures(noop, sample.rate), figures(off, sample.rate), nil),
				diffRow(name, "p50 (no-op exporter)", "µs", "tracing off", figures(noop, p50), figures(off, p50), nil),
			}
			for j := range got {
				got[j].Note = tracingNote
			}
			rows = append(rows, got...)
		}
		return rows, nil
	}}
}
