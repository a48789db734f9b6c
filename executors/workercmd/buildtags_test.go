package workercmd

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/build"
)

// TestEngineBuildTagsLinkLess: the engine builds a user's executor with
// build.DefaultTags, and with them a worker does not link grpc-go's
// x/net/trace (nor html/template, which only it brings) and, with cgo on,
// not runtime/cgo either (the netgo resolver): what keeps the first build
// of an executor within the 45 s quality bar (docs/ARCHITECTURE.md). The untagged build is listed
// too, so the check would notice a tag doing nothing.
func TestEngineBuildTagsLinkLess(t *testing.T) {
	const pkg = "github.com/jig-dev/jig/executors/workercmd"
	deps := func(args ...string) []string {
		out, err := exec.Command("go", append(append([]string{"list", "-deps"}, args...), pkg)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		d := strings.Fields(string(out))
		if !slices.Contains(d, "google.golang.org/grpc") {
			t.Fatalf("go list -deps %s does not list gRPC: %q", pkg, d)
		}
		return d
	}
	cut := []string{"golang.org/x/net/trace", "html/template"}
	if out, err := exec.Command("go", "env", "CGO_ENABLED").Output(); err == nil && strings.TrimSpace(string(out)) == "1" {
		cut = append(cut, "runtime/cgo")
	}
	args := build.GoArgs(nil)
	if len(args) != 3 || args[1] != "-tags" {
		t.Fatalf("build.GoArgs(nil) = %q, want build -tags LIST", args)
	}
	tagged := deps("-tags", args[2])
	plain := deps()
	for _, c := range cut {
		if slices.Contains(tagged, c) {
			t.Errorf("a worker built with -tags %s links %s", args[2], c)
		}
		if !slices.Contains(plain, c) {
			t.Errorf("a plain build of the worker does not link %s: the check of it proves nothing", c)
		}
	}
}
