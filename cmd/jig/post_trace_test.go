package main

import (
	"context"
	"regexp"
	"testing"

	"github.com/jig-dev/jig/internal/tracing"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestPostVerboseTraceID: `jig post --verbose` sends a W3C traceparent
// and prints its trace id; the worker continues that trace.
func TestPostVerboseTraceID(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	stop, err := tracing.Setup(context.Background(), tracing.Config{Tracing: true, Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	s := startPostServer(t)
	code, _, errOut := runPostCLI(t, "", "post", s.grpcAddr, "--on", "/up", "--text", "hi", "--verbose")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`trace id: ([0-9a-f]{32})\n`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no trace id on stderr: %q", errOut)
	}
	if err := tracing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sp := range exp.GetSpans() {
		if sp.Name == "executor exec /up" && sp.SpanContext.TraceID().String() == m[1] && sp.Parent.IsRemote() {
			found = true
		}
	}
	if !found {
		t.Errorf("the worker made no span in trace %s: %v", m[1], exp.GetSpans())
	}
}
