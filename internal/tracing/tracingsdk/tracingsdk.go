// Package tracingsdk is the OpenTelemetry SDK side of internal/tracing:
// it builds the tracer provider a tracing.Config describes (the OTLP/gRPC
// exporter, the service resource, the sampler, the span processor that
// fills a tracing.Recorder) and installs that constructor into
// internal/tracing when linked.
//
// The OTLP/gRPC exporter is jig's own (otlp.go): OpenTelemetry's links
// the generated OTLP protos with gRPC-Gateway, a long stretch of a cold
// build for one RPC.
//
// It is its own package because the SDK is some 40 packages that an
// executor binary which never traces should not compile: jig always links this
// package; executors/workercmd links it only under the jig_tracing build
// tag (workerflags.TracingBuildTag).
package tracingsdk

import (
	"context"
	"fmt"
	"time"

	"github.com/jig-dev/jig/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Linking this package is what gives tracing.Setup a provider.
func init() { tracing.EnableSDK(NewProvider) }

// NewProvider builds the SDK tracer provider of an active cfg (Setup has
// applied its defaults): spans go to cfg.Exporter, or over OTLP/gRPC to
// cfg.Endpoint() when cfg exports, and to cfg.Recorder when set.
func NewProvider(ctx context.Context, cfg tracing.Config) (tracing.Provider, error) {
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", cfg.Service)))
	if err != nil {
		res = resource.NewSchemaless(attribute.String("service.name", cfg.Service))
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	}
	var exp sdktrace.SpanExporter
	if cfg.Exporter != nil {
		var ok bool
		if exp, ok = cfg.Exporter.(sdktrace.SpanExporter); !ok {
			return nil, fmt.Errorf("tracing: Config.Exporter is a %T, not an sdktrace.SpanExporter", cfg.Exporter)
		}
	}
	if exp == nil && cfg.Exporting() {
		// Insecure: collectors (Jaeger, otel-collector) listen in
		// plaintext on the OTLP port by default, as Jina's exporter
		// expects.
		exp, err = newOTLPExporter(cfg.Endpoint())
		if err != nil {
			return nil, fmt.Errorf("tracing: exporter to %s: %w", cfg.Endpoint(), err)
		}
	}
	if exp != nil {
		opts = append(opts, sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)))
	}
	if cfg.Recorder != nil {
		opts = append(opts, sdktrace.WithSpanProcessor(recording{cfg.Recorder}))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

// recording is the span processor that keeps every finished span in a
// tracing.Recorder (the workbench's waterfall).
type recording struct{ r *tracing.Recorder }

var _ sdktrace.SpanProcessor = recording{}

// OnStart implements sdktrace.SpanProcessor.
func (recording) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd implements sdktrace.SpanProcessor: it records the span.
func (p recording) OnEnd(s sdktrace.ReadOnlySpan) {
	p.r.Record(record(s))
}

// Shutdown implements sdktrace.SpanProcessor.
func (recording) Shutdown(context.Context) error { return nil }

// ForceFlush implements sdktrace.SpanProcessor.
func (recording) ForceFlush(context.Context) error { return nil }

// record converts a finished SDK span into the workbench's record.
func record(s sdktrace.ReadOnlySpan) tracing.SpanRecord {
	rec := tracing.SpanRecord{
		TraceID: s.SpanContext().TraceID().String(),
		SpanID:  s.SpanContext().SpanID().String(),
		Name:    s.Name(),
		Start:   s.StartTime(),
		End:     s.EndTime(),
	}
	if p := s.Parent(); p.IsValid() {
		rec.ParentID = p.SpanID().String()
	}
	if st := s.Status(); st.Code == otelcodes.Error {
		rec.Error = st.Description
		if rec.Error == "" {
			rec.Error = "error"
		}
	}
	if attrs := s.Attributes(); len(attrs) > 0 {
		rec.Attrs = make(map[string]string, len(attrs))
		for _, a := range attrs {
			rec.Attrs[string(a.Key)] = a.Value.String()
		}
	}
	return rec
}
