package status_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPanesDoNotLinkEngine keeps the layering this package exists for: a
// TUI pane shows status values and never links the engine, its gRPC
// servers or RAFT.
func TestPanesDoNotLinkEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/jig-dev/jig/tui/panes/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/jig-dev/jig/engine" || strings.HasPrefix(dep, "github.com/hashicorp/raft") {
			t.Errorf("a pane links %s", dep)
		}
	}
}
