package workercmd

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors/workerflags"
)

// TestTracingNotLinked: this test binary, like a worker built without the
// jig_tracing tag, does not link the tracing SDK, so --tracing is refused
// with exit code 2 and a message saying how to build a binary that
// traces, instead of silently dropping the spans.
func TestTracingNotLinked(t *testing.T) {
	var out, errb bytes.Buffer
	code := MainArgs([]string{"--uses", "WorkerTestCounter", "--host", "127.0.0.1", "--port", "0", "--tracing"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "built without tracing support") || !strings.Contains(errb.String(), "-tags "+workerflags.TracingBuildTag) || out.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// TestTracingSDKOnlyWithTag: a worker binary links the OpenTelemetry SDK
// and the OTLP exporter only when built with the jig_tracing tag (what
// keeps a plain `go build` of a user's executor light); the tagged build
// is listed too, so the check would notice the tag doing nothing.
func TestTracingSDKOnlyWithTag(t *testing.T) {
	const pkg = "github.com/jig-dev/jig/executors/workercmd"
	sdk := func(dep string) bool {
		return strings.HasPrefix(dep, "go.opentelemetry.io/otel/sdk") || strings.HasPrefix(dep, "go.opentelemetry.io/otel/exporters/") || strings.HasPrefix(dep, "go.opentelemetry.io/proto/otlp")
	}
	deps := func(args ...string) []string {
		out, err := exec.Command("go", append(append([]string{"list", "-deps"}, args...), pkg)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		d := strings.Fields(string(out))
		if len(d) < 10 {
			t.Fatalf("go list -deps printed %d packages: %q", len(d), d)
		}
		return d
	}
	for _, dep := range deps() {
		if sdk(dep) {
			t.Errorf("a plain build of workercmd links %s", dep)
		}
	}
	tagged := deps("-tags", workerflags.TracingBuildTag)
	if !slices.Contains(tagged, "github.com/jig-dev/jig/internal/tracing/tracingsdk") || !slices.ContainsFunc(tagged, sdk) {
		t.Errorf("a build of workercmd with -tags %s does not link the tracing SDK", workerflags.TracingBuildTag)
	}
}
