package router_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRouterDoesNotLinkRaft keeps the layering of docs/ARCHITECTURE.md:
// the router reaches stateful replicas through the worker's interfaces
// only, so neither jig's consensus package nor hashicorp/raft is among
// its dependencies.
func TestRouterDoesNotLinkRaft(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/jig-dev/jig/engine/router").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %d packages: %q", len(deps), deps)
	}
	for _, dep := range deps {
		if dep == "github.com/jig-dev/jig/consensus" || strings.HasPrefix(dep, "github.com/hashicorp/raft") {
			t.Errorf("engine/router links %s", dep)
		}
	}
}
