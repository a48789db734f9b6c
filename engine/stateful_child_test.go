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
	timeout := time.After(30 * time.Second)
	for elected := false; !elected; {
		select {
		case e := <-sub.C:
			if l, ok := e.(events.Leader); ok && l.Deployment == "up" && l.Replica != "" && l.Replica != old.Name {
				elected = true
			}
		case <-timeout:
			t.Fatalf("no new leader announced after killing %s", old.Name)
		}
	}
	// Status agrees with the announcement: one leader, not the killed one.
	if got := leaders(); len(got) != 1 || got[0] == old.Name {
		t.Fatalf("leaders after the kill: %v (killed %s)", got, old.Name)
	}
}
