package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/build"
)

// linkedPackages lists what a plain `go build` of pkg compiles (go list
// -deps), failing the test when the go command does.
func linkedPackages(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/jig-dev/jig/engine") || !slices.Contains(deps, "google.golang.org/grpc") || !slices.Contains(deps, "github.com/jig-dev/jig/internal/tracing/tracingsdk") {
		t.Fatalf("go list -deps %s printed %d packages without the engine, gRPC or the tracing SDK: %q", pkg, len(deps), deps)
	}
	return deps
}

// TestJigDoesNotLinkHeavyLibraries keeps the cold build of jig (quality bar,
// <= 90 s on 2 cores with an empty build cache) from regrowing: each
// library below was cut because it cost the build much more than the
// feature needing it (make bench-build measures the time; this test
// names the cause). Export writes Kubernetes manifests with its own
// structs (engine/export/kubetypes.go, decoded strictly with the real API
// types in its tests): k8s.io/api/core/v1 alone was the longest compile of
// the whole build, and apimachinery brings klog, structured-merge-diff,
// json-iterator and cbor. Tracing exports OTLP with its own encoder
// (internal/tracing/tracingsdk/otlp.go, checked against OpenTelemetry's
// exporter in its tests): the OpenTelemetry exporter links the generated
// OTLP protos, whose collector package brings gRPC-Gateway and the
// googleapis HTTP annotations. The metrics use the prometheus package's
// Go and process collectors directly: package collectors also compiles
// database/sql. Export writes Compose files with its own structs too
// (engine/export/composetypes.go, loaded with compose-go's loader in its
// tests): compose-go's types bring a second YAML library (go.yaml.in/yaml/v4),
// logrus, mapstructure and docker's reference, units and nat packages,
// 18 packages in all. The Kubernetes manifests are written with
// gopkg.in/yaml.v3 (engine/export/kubernetes.go marshalKube, held to the
// files sigs.k8s.io/yaml wrote by its golden test): sigs.k8s.io/yaml
// brought its own fork of go-yaml v2 (go.yaml.in/yaml/v2) besides.
func TestJigDoesNotLinkHeavyLibraries(t *testing.T) {
	banned := []string{
		"k8s.io/",
		"sigs.k8s.io/structured-merge-diff",
		"github.com/json-iterator/",
		"github.com/fxamacker/cbor",
		"go.opentelemetry.io/otel/exporters/",
		"go.opentelemetry.io/proto/otlp",
		"github.com/grpc-ecosystem/",
		"google.golang.org/genproto/googleapis/api",
		"github.com/prometheus/client_golang/prometheus/collectors",
		"github.com/compose-spec/",
		"go.yaml.in/yaml/v4",
		"github.com/sirupsen/logrus",
		"sigs.k8s.io/yaml",
		"go.yaml.in/yaml/v2",
	}
	// Single packages (database/sql/driver stays: uuid and go-colorful
	// use it, and it is small).
	bannedPkgs := []string{"database/sql"}
	for _, dep := range linkedPackages(t, "github.com/jig-dev/jig/cmd/jig") {
		if slices.Contains(bannedPkgs, dep) || slices.ContainsFunc(banned, func(b string) bool { return strings.HasPrefix(dep, b) }) {
			t.Errorf("jig links %s (cut for the cold build time: see the test's comment)", dep)
		}
	}
}

// TestMakefileTagsAreTheEngines: `make build` builds jig with the engine's
// build.DefaultTags, so that the first build of an executor after it
// reuses the compiled gRPC, protobuf and standard library (with other
// tags, every package from net up is compiled again: about 16 s instead
// of 4 on 2 cores).
func TestMakefileTagsAreTheEngines(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "JIG_BUILD_TAGS := "); ok {
			got = strings.TrimSpace(v)
		}
	}
	want := strings.Join(slices.Sorted(slices.Values(build.DefaultTags)), ",")
	if got != want {
		t.Fatalf("Makefile JIG_BUILD_TAGS = %q, engine/build.DefaultTags = %q", got, want)
	}
	if !strings.Contains(string(data), "build -v -tags $(JIG_BUILD_TAGS) -o $(JIG) ./cmd/jig") {
		t.Fatal("make build does not use JIG_BUILD_TAGS")
	}
}
