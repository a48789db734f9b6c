package workercmd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors/workerflags"
)

// TestRaftNotLinked: a binary without RAFT support (no jig_raft tag, no
// EnableRaft) refuses a stateful replica with exit code 2 and says how to
// build one, instead of serving unreplicated writes.
func TestRaftNotLinked(t *testing.T) {
	raftMu.Lock()
	saved := raftStarter
	raftStarter = nil
	raftMu.Unlock()
	t.Cleanup(func() { EnableRaft(saved) })
	var out, errb bytes.Buffer
	code := MainArgs([]string{"--uses", "WorkerTestCounter", "--raft-id", "0", "--raft-dir", t.TempDir()}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "-tags "+workerflags.RaftBuildTag) || out.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
