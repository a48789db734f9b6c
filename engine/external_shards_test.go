package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine"
)

// TestExternalShards routes to a sharded external deployment (shard_hosts):
// the workers of an in-process sharded deployment are reached from a
// second flow as external shards, and polling ALL still reaches every
// shard once and reduces the results. This is how an exported flow's
// gateway reaches its shards' Services.
func TestExternalShards(t *testing.T) {
	// The backend's replicas are called by another flow: they must be
	// open (a flow's replicas otherwise require its own secret).
	backend := startFlowIn(t, t.TempDir(), `
jtype: Flow
executors:
  - {name: idx, uses: EngSharder, shards: 2, replicas: 2}
`, engine.Options{OpenReplicas: true})
	shards := make([][]string, 2)
	for _, d := range backend.Status().Deployments {
		for _, r := range d.ReplicaStatus {
			if r.Address == "" {
				t.Fatalf("replica %s has no address", r.Name)
			}
			shards[r.Shard] = append(shards[r.Shard], r.Address)
		}
	}
	var entries []string
	for _, s := range shards {
		if len(s) != 2 {
			t.Fatalf("shards %v", shards)
		}
		entries = append(entries, "["+strings.Join(s, ", ")+"]")
	}
	front := startFlow(t, fmt.Sprintf(`
jtype: Flow
executors:
  - name: idx
    external: true
    polling: {/search: ALL}
    shard_hosts: [%s]
`, strings.Join(entries, ", ")))
	st := front.Status().Deployments[0]
	if st.Shards != 2 || st.Replicas != 2 || len(st.ReplicaStatus) != 4 {
		t.Fatalf("front status %+v", st)
	}
	for _, r := range st.ReplicaStatus {
		if r.Address != shards[r.Shard][r.Replica] {
			t.Fatalf("replica %s of shard %d dials %s, want %s", r.Name, r.Shard, r.Address, shards[r.Shard][r.Replica])
		}
	}
	cc := dial(t, front.Addresses().GRPC)
	for range 4 { // every replica of each shard gets a turn
		_, docs := send(t, cc, newReq("/search", nil, "q"))
		if len(docs) != 1 || len(docs[0].Matches) != 2 || docs[0].Text != "from shard 0" {
			t.Fatalf("want one match per shard and shard 0's text, got %d docs %v", len(docs), docs)
		}
	}
}
