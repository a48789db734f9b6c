// Package tracing is jig's OpenTelemetry tracing, the counterpart of Jina's
// `tracing: true`: one process-wide tracer provider built from a Config
// (OTLP over gRPC to a collector, an in-process Recorder for the
// workbench, or both), the W3C traceparent propagation in gRPC metadata,
// and the few span helpers the gateway, router, worker and RAFT code call.
//
// This package links only the light OpenTelemetry API packages. The SDK
// that builds the provider (and jig's OTLP/gRPC exporter) is
// internal/tracing/tracingsdk, which installs itself
// here with EnableSDK when it is linked: jig always links it; a user's
// executor binary only when built with -tags jig_tracing
// (workerflags.TracingBuildTag), so a binary that never traces does not
// compile the SDK.
//
// Off is the default and costs nothing measurable: every helper first
// loads one atomic pointer and, when no provider is installed, returns its
// arguments untouched without allocating. The helpers take scalars, not
// attribute slices, for the same reason.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// DefaultExporterHost and DefaultExporterPort are where spans go when
// tracing is on and the flow names no collector: an OTLP/gRPC collector
// on this machine at the port OTLP assigns to gRPC. (Jina's own fallback,
// 0.0.0.0:6831, is the old Jaeger agent's UDP port, which OTLP does not
// speak.)
const (
	DefaultExporterHost = "127.0.0.1"
	DefaultExporterPort = 4317
)

// Config says whether and where to trace. Its zero value is off.
type Config struct {
	// Tracing turns tracing on (Jina's `tracing`).
	Tracing bool
	// ExporterHost and ExporterPort name the OTLP/gRPC collector (Jina's
	// traces_exporter_host / traces_exporter_port); defaults
	// DefaultExporterHost and DefaultExporterPort.
	ExporterHost string
	ExporterPort int
	// Service is the service.name resource of the spans (the flow's name,
	// or the deployment's in an executor process).
	Service string
	// SampleRatio is the fraction of new traces sampled (0: 1.0, every
	// request). A request whose caller sent a sampled traceparent is
	// always traced.
	SampleRatio float64
	// Exporter, when set, replaces the OTLP exporter (tests, benchmarks).
	// It must be an sdktrace.SpanExporter (go.opentelemetry.io/otel/sdk/trace);
	// it is typed any so that this package does not link the SDK, and
	// the SDK's provider constructor rejects anything else.
	Exporter any
	// Recorder, when set, also receives every finished span in process
	// (the workbench's waterfall), with or without an exporter.
	Recorder *Recorder
	// NoExport keeps spans in process (Recorder only): the workbench
	// records spans when the flow does not turn tracing on.
	NoExport bool
}

// Endpoint returns the collector's host:port.
func (c Config) Endpoint() string {
	host, port := c.ExporterHost, c.ExporterPort
	if host == "" {
		host = DefaultExporterHost
	}
	if port == 0 {
		port = DefaultExporterPort
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Exporting reports whether spans leave the process.
func (c Config) Exporting() bool {
	return c.Tracing && !c.NoExport
}

// Active reports whether this config installs a provider at all.
func (c Config) Active() bool {
	return c.Exporting() || c.Recorder != nil || c.Exporter != nil
}

// Provider is an installed tracer provider: what the SDK's constructor
// returns (*sdktrace.TracerProvider satisfies it).
type Provider interface {
	trace.TracerProvider
	// ForceFlush exports the spans finished so far.
	ForceFlush(ctx context.Context) error
	// Shutdown flushes the spans and stops the provider.
	Shutdown(ctx context.Context) error
}

// NewProvider builds the provider an active cfg describes (defaults
// applied: Service and SampleRatio set). tracingsdk.NewProvider is the
// implementation; this package only names its shape.
type NewProvider = func(ctx context.Context, cfg Config) (Provider, error)

var (
	sdkMu       sync.Mutex
	newProvider NewProvider
)

// EnableSDK makes Setup build providers with fn. Linking
// internal/tracing/tracingsdk does it on its own (its init), which jig
// always does and an executor binary does with the jig_tracing build tag.
func EnableSDK(fn NewProvider) {
	sdkMu.Lock()
	defer sdkMu.Unlock()
	newProvider = fn
}

// ErrNoSDK is returned by Setup for an active config in a binary that
// does not link internal/tracing/tracingsdk (executors/workercmd turns it
// into a bad-input error saying how to build one that does).
var ErrNoSDK = errors.New("tracing: this binary does not link the OpenTelemetry SDK (internal/tracing/tracingsdk)")

type state struct {
	tp     Provider
	tracer trace.Tracer
	cfg    Config
}

var active atomic.Pointer[state]

// Enabled reports whether a provider is installed (spans are made).
func Enabled() bool { return active.Load() != nil }

// Current returns the installed config (zero when off).
func Current() Config {
	if s := active.Load(); s != nil {
		return s.cfg
	}
	return Config{}
}

// Setup installs the process-wide provider cfg describes and returns the
// function that flushes and removes it. An inactive cfg installs nothing
// and returns a no-op, with or without the SDK linked; an active one in a
// binary without the SDK returns ErrNoSDK. A second Setup replaces the
// first; the first one's shutdown then leaves the second in place.
func Setup(ctx context.Context, cfg Config) (shutdown func(context.Context) error, err error) {
	if !cfg.Active() {
		return func(context.Context) error { return nil }, nil
	}
	sdkMu.Lock()
	build := newProvider
	sdkMu.Unlock()
	if build == nil {
		return nil, ErrNoSDK
	}
	if cfg.Service == "" {
		cfg.Service = "jig"
	}
	if cfg.SampleRatio <= 0 || cfg.SampleRatio > 1 {
		cfg.SampleRatio = 1
	}
	tp, err := build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &state{tp: tp, cfg: cfg}
	s.tracer = tp.Tracer("github.com/jig-dev/jig")
	active.Store(s)
	return func(ctx context.Context) error {
		active.CompareAndSwap(s, nil)
		if err := s.tp.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("tracing: flush spans: %w", err)
		}
		return nil
	}, nil
}

// Flush exports the spans finished so far (tests read them back).
func Flush(ctx context.Context) error {
	if s := active.Load(); s != nil {
		return s.tp.ForceFlush(ctx)
	}
	return nil
}

// Span is one span of a request, or nothing when tracing is off: its
// methods are no-ops on the zero value, so callers need no checks.
type Span struct{ s trace.Span }

// End ends the span, marking it failed when err is not nil.
func (s Span) End(err error) {
	if s.s == nil {
		return
	}
	if err != nil {
		s.s.RecordError(err)
		s.s.SetStatus(otelcodes.Error, err.Error())
	}
	s.s.End()
}

// Fail marks the span failed with msg (an executor's ERROR status) without
// ending it.
func (s Span) Fail(msg string) {
	if s.s != nil {
		s.s.SetStatus(otelcodes.Error, msg)
	}
}

// Int sets an integer attribute.
func (s Span) Int(key string, v int64) {
	if s.s != nil {
		s.s.SetAttributes(attribute.Int64(key, v))
	}
}

// String sets a string attribute.
func (s Span) String(key, v string) {
	if s.s != nil {
		s.s.SetAttributes(attribute.String(key, v))
	}
}

// TraceID returns the span's trace id in hex ("" when not traced).
func (s Span) TraceID() string {
	if s.s == nil || !s.s.SpanContext().HasTraceID() {
		return ""
	}
	return s.s.SpanContext().TraceID().String()
}

// start begins a span named name under ctx's span.
func start(ctx context.Context, st *state, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, Span) {
	ctx, sp := st.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	return ctx, Span{sp}
}

// TraceIDFrom returns the trace id of ctx's span ("" when none).
func TraceIDFrom(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}
