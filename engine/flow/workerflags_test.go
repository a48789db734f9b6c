package flow_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/jig-dev/jig/consensus/clusterconf"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors/workerflags"
)

// TestWorkerFlags: a deployment's worker flags carry its place, its
// overrides and its RAFT settings, and survive the command line.
func TestWorkerFlags(t *testing.T) {
	yml := `jtype: Flow
executors:
  - name: idx
    uses: builtin:FlowNop
    uses_with: {persist: false}
    uses_requests: {/a: foo}
    replicas: 3
    shards: 2
    stateful: true
    consistency: leader
    raft_configuration: {heartbeat_timeout: 400, snapshot_threshold: 100}
  - name: plain
    uses: builtin:FlowNop
`
	f, err := flow.Parse("flow.yml", t.TempDir(), []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := f.Deployments[0].WorkerFlags(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := workerflags.Default()
	want.Uses, want.Name, want.Replicas, want.Shards, want.ShardID, want.ReplicaID = "builtin:FlowNop", "idx", 3, 2, 1, 2
	want.UsesWith, want.UsesRequests = `{"persist":false}`, `{"/a":"foo"}`
	want.Raft.ID, want.Raft.Consistency = "2", clusterconf.ConsistencyLeader
	want.Raft.Knobs = clusterconf.Knobs{HeartbeatTimeout: 400 * time.Millisecond, SnapshotThreshold: 100}
	if !reflect.DeepEqual(wf, want) {
		t.Fatalf("flags\n got %+v\nwant %+v", wf, want)
	}
	back, err := workerflags.Parse(wf.Args())
	if err != nil || !reflect.DeepEqual(back, wf) {
		t.Fatalf("through %q: %+v %v", wf.Args(), back, err)
	}
	// Not stateful: no RAFT flags at all.
	plain, err := f.Deployments[1].WorkerFlags(0, 0)
	if err != nil || !reflect.DeepEqual(plain.Raft, workerflags.Default().Raft) {
		t.Fatalf("plain deployment RAFT flags %+v %v", plain.Raft, err)
	}
}
