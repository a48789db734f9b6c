package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/enginetest"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/status"
)

// TestStatefulChildReplicasPushLeadership runs a stateful deployment as
// child processes: they tell the engine who leads (jig.RaftAdmin/Watch),
// so when the leader's process is killed the new leader is announced and
// shown.
func TestStatefulChildReplicasPushLeadership(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an executor")
	}
	eng := startFlowIn(t, "testdata", fmt.Sprintf(`
jtype: Flow
executors:
  - {name: up, uses: upper, replicas: 3, stateful: true, workspace: %s}
`, t.TempDir()))
	enginetest.WaitForLeader(t, eng, "up")
	leaders := func() (names []string) {
		for _, r := range eng.Status().Deployments[0].ReplicaStatus {
			if r.Raft != nil && r.Raft.State == status.Leader {
				names = append(names, r.Name)
			}
		}
		return names
	}
	var old engine.ReplicaStatus
	for _, r := range eng.Status().Deployments[0].ReplicaStatus {
		if r.Raft != nil && r.Raft.State == status.Leader {
			old = r
		}
	}
	if old.PID == 0 {
		t.Fatalf("leader %+v is not a child process", old)
	}
	sub := eng.Bus().Subscribe(1024)
	defer sub.Close()
	if err := eng.KillReplica(context.Background(), "up", 0, old.Replica); err != nil {
		t.Fatal(err)
	}
	// The leader of a newer term must be announced. It may be the killed
	// replica itself: its process restarts at once and can win the next
	// election (it has every committed entry), so what matters is the term,
	// not the name.
	timeout := time.After(30 * time.Second)
	var elected events.Leader
	for elected.Replica == "" {
		select {
		case e := <-sub.C:
			if l, ok := e.(events.Leader); ok && l.Deployment == "up" && l.Replica != "" && l.Term > old.Raft.Term {
				elected = l
			}
		case <-timeout:
			t.Fatalf("no leader of a term after %d announced after killing %s", old.Raft.Term, old.Name)
		}
	}
	// Status agrees with the announcement: one leader, the announced one,
	// and if that is the killed replica it runs in a new process.
	waitForLong(t, "Status to show "+elected.Replica+" leading", 10*time.Second, func() bool {
		got := leaders()
		return len(got) == 1 && got[0] == elected.Replica
	})
	if elected.Replica == old.Name {
		for _, r := range eng.Status().Deployments[0].ReplicaStatus {
			if r.Name == old.Name && (r.PID == old.PID || r.Restarts == 0) {
				t.Fatalf("%s leads again but was not restarted: %+v (before: pid %d)", old.Name, r, old.PID)
			}
		}
	}
}
