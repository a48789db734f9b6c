package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
)

// TestGatewaySendsWritesToTheLeader: once the engine has seen which
// replica leads, the gateway sends write requests there instead of to any
// replica (which would forward two in three of them to the leader: a
// second gRPC hop per write). The replicas' own counters of forwarded
// writes tell.
func TestGatewaySendsWritesToTheLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("RAFT cluster")
	}
	eng := startFlow(t, fmt.Sprintf(`
jtype: Flow
executors:
  - name: index
    uses: builtin:SimpleIndexer
    uses_with: {persist: false}
    replicas: 3
    stateful: true
    workspace: %s
`, t.TempDir()))
	waitForLong(t, "a leader", 10*time.Second, func() bool { _, ok := leaderOf(eng, "index"); return ok })
	client := jinapb.NewJinaSingleDataRequestRPCClient(dial(t, eng.Addresses().GRPC))
	const writes = 30
	for i := range writes {
		req := docsReq("/index", docarray.DocList{{ID: fmt.Sprint("doc-", i), Text: "x"}})
		resp, err := client.ProcessSingleData(context.Background(), req)
		if err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
			t.Fatalf("write %d: %v %v", i, err, resp.GetHeader().GetStatus())
		}
	}
	var forwarded uint64
	for _, d := range eng.Status().Deployments {
		for _, r := range d.ReplicaStatus {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := consensus.NewAdminClient(dial(t, r.Address, eng.ReplicaDialOptions()...)).Stats(ctx)
			cancel()
			if err != nil {
				t.Fatalf("stats of %s: %v", r.Name, err)
			}
			forwarded += st.ForwardedWrites
		}
	}
	// Without leader routing about 20 of 30 are forwarded; a leader change
	// on a loaded machine may forward a few.
	if forwarded > writes/3 {
		t.Fatalf("%d of %d writes were forwarded between replicas, want them sent to the leader", forwarded, writes)
	}
}
