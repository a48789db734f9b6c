// Package enginetest has helpers for tests that run a flow with the engine:
// waiting on what the engine reports, with a bound, instead of sleeping.
package enginetest

import (
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
)

// WaitForLeader waits, at most 30s, until a ready replica of deployment
// dep reports itself the RAFT leader of its shard in the engine's status.
// It wakes on every engine event rather than polling.
func WaitForLeader(t testing.TB, eng *engine.Engine, dep string) {
	t.Helper()
	sub := eng.Bus().Subscribe(1024)
	defer sub.Close()
	leader := func() bool {
		for _, d := range eng.Status().Deployments {
			for _, r := range d.ReplicaStatus {
				if d.Name == dep && r.Raft != nil && r.Raft.State == "Leader" && r.State == events.Ready {
					return true
				}
			}
		}
		return false
	}
	timeout := time.After(30 * time.Second)
	for !leader() {
		select {
		case <-sub.C:
		case <-timeout:
			t.Fatalf("%s has no leader", dep)
		}
	}
}
