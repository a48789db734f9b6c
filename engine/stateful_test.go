package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	_ "github.com/jig-dev/jig/executors/builtin"
)

func randomDoc(rng *rand.Rand, id string) *docarray.Document {
	v := make([]float32, 16)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return &docarray.Document{ID: id, Text: id, Embedding: docarray.NewFloat32(v)}
}

func docsReq(endpoint string, docs docarray.DocList) *jinapb.DataRequestProto {
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: docarray.NewID(), ExecEndpoint: proto.String(endpoint)}}
	executors.SetRequestDocs(req, docs)
	return req
}

func leaderOf(eng *engine.Engine, dep string) (engine.ReplicaStatus, bool) {
	for _, d := range eng.Status().Deployments {
		if d.Name != dep {
			continue
		}
		for _, r := range d.ReplicaStatus {
			if r.Raft != nil && r.Raft.State == "Leader" && r.State == events.Ready {
				return r, true
			}
		}
	}
	return engine.ReplicaStatus{}, false
}

// TestStatefulIndexerSurvivesLeaderKill is issue #5's acceptance scenario:
// a 3-replica stateful SimpleIndexer; documents are indexed through the
// gateway while the leader is killed; a new leader is elected; every
// acknowledged document is then found on every replica.
func TestStatefulIndexerSurvivesLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("RAFT cluster")
	}
	ws := t.TempDir()
	eng := startFlow(t, fmt.Sprintf(`
jtype: Flow
executors:
  - name: index
    uses: builtin:SimpleIndexer
    uses_with: {persist: false}
    replicas: 3
    stateful: true
    workspace: %s
`, ws))
	waitForLong(t, "a leader", 10*time.Second, func() bool { _, ok := leaderOf(eng, "index"); return ok })
	cc := dial(t, eng.Addresses().GRPC)
	client := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	sub := eng.Bus().Subscribe(4096)
	defer sub.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	acked := map[string]*docarray.Document{}
	index := func(i int) {
		d := randomDoc(rng, fmt.Sprint("doc-", i))
		for attempt := 0; ; attempt++ {
			resp, err := client.ProcessSingleData(context.Background(), docsReq("/index", docarray.DocList{d}))
			if err == nil && resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_SUCCESS {
				mu.Lock()
				acked[d.ID] = d
				mu.Unlock()
				return
			}
			if status.Code(err) != codes.Unavailable || attempt > 50 {
				t.Fatalf("index %s: %v %v", d.ID, err, resp.GetHeader().GetStatus())
			}
			time.Sleep(20 * time.Millisecond) // retry an unavailable cluster (election)
		}
	}
	for i := 0; i < 50; i++ {
		index(i)
	}
	old, _ := leaderOf(eng, "index")
	killed := time.Now()
	if err := eng.KillReplica(context.Background(), "index", 0, old.Replica); err != nil {
		t.Fatal(err)
	}
	for i := 50; i < 150; i++ {
		index(i)
	}
	// Time to a new leader, from the events.
	var elected time.Time
	for elected.IsZero() {
		select {
		case e := <-sub.C:
			// Any leader of a later term counts: the killed replica restarts
			// quickly and may win the election itself.
			if l, ok := e.(events.Leader); ok && l.Replica != "" && l.Term > old.Raft.Term && l.Time.After(killed) {
				elected = l.Time
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no new leader event")
		}
	}
	t.Logf("new leader after %s from killing the leader %s (observed by a 300ms stats poller)", elected.Sub(killed).Round(time.Millisecond), old.Name)

	// The killed replica restarts and catches up; then every replica has
	// every acknowledged document.
	waitForLong(t, "all replicas ready and caught up", 30*time.Second, func() bool {
		st := eng.Status().Deployments[0]
		if st.Ready != 3 {
			return false
		}
		var applied []uint64
		for _, r := range st.ReplicaStatus {
			if r.Raft == nil || r.Raft.State == "Unknown" {
				return false
			}
			applied = append(applied, r.Raft.AppliedIndex)
		}
		return applied[0] == applied[1] && applied[1] == applied[2] && applied[0] > 0
	})
	queries := docarray.DocList{}
	for _, d := range acked {
		queries = append(queries, &docarray.Document{ID: "q-" + d.ID, Embedding: d.Embedding})
	}
	// Local reads may trail the leader by a commit round (a follower learns
	// that the last entry is committed with the next append), so each
	// replica gets a moment; what must never happen is a document that
	// does not arrive at all.
	for _, r := range eng.Status().Deployments[0].ReplicaStatus {
		rc := jinapb.NewJinaSingleDataRequestRPCClient(dial(t, r.Address, eng.ReplicaDialOptions()...))
		waitForLong(t, "replica "+r.Name+" to hold every acknowledged document", 10*time.Second, func() bool {
			req := docsReq("/search", queries)
			req.Parameters = mustStruct(map[string]any{"limit": 1})
			resp, err := rc.ProcessSingleData(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			docs, _ := executors.RequestDocs(resp)
			missing := 0
			for _, q := range docs {
				if len(q.Matches) == 0 || "q-"+q.Matches[0].ID != q.ID {
					missing++
				}
			}
			return missing == 0
		})
		t.Logf("replica %s (%s) has all %d acknowledged documents", r.Name, r.Raft.State, len(acked))
	}

	// Actions the TUI uses.
	if err := eng.RaftSnapshot(context.Background(), "index", 0, 0); err != nil {
		t.Fatal(err)
	}
	cur, _ := leaderOf(eng, "index")
	if err := eng.TransferLeadership(context.Background(), "index", 0); err != nil {
		t.Fatal(err)
	}
	waitForLong(t, "leadership moved", 10*time.Second, func() bool {
		l, ok := leaderOf(eng, "index")
		return ok && l.Name != cur.Name
	})
	if err := eng.RaftSnapshot(context.Background(), "index", 0, 9); err == nil {
		t.Fatal("unknown replica must fail")
	}
}

// TestStatefulScaleAndRestart rescales a stateful deployment through a
// reconcile (new voters join, removed ones leave) and restarts it in
// place, keeping the data.
func TestStatefulScaleAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("RAFT cluster")
	}
	ws := t.TempDir()
	yml := func(n int) string {
		return fmt.Sprintf("jtype: Flow\nexecutors:\n  - {name: index, uses: builtin:SimpleIndexer, uses_with: {persist: false}, replicas: %d, stateful: true, workspace: %s}\n", n, ws)
	}
	eng := startFlow(t, yml(3))
	waitForLong(t, "a leader", 10*time.Second, func() bool { _, ok := leaderOf(eng, "index"); return ok })
	cc := dial(t, eng.Addresses().GRPC)
	client := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	rng := rand.New(rand.NewPCG(3, 4))
	var docs docarray.DocList
	for i := 0; i < 20; i++ {
		docs = append(docs, randomDoc(rng, fmt.Sprint("d", i)))
	}
	if resp, err := client.ProcessSingleData(context.Background(), docsReq("/index", docs)); err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("index: %v %v", err, resp.GetHeader().GetStatus())
	}
	count := func(addr string) float64 {
		rc := jinapb.NewJinaSingleDataRequestRPCClient(dial(t, addr, eng.ReplicaDialOptions()...))
		resp, err := rc.ProcessSingleData(context.Background(), docsReq("/count", nil))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range resp.GetParameters().AsMap()["__results__"].(map[string]any) {
			return v.(map[string]any)["count"].(float64)
		}
		return -1
	}
	// Restart in place (rolling): data survives through the RAFT log.
	if err := eng.RestartDeployment(context.Background(), "index"); err != nil {
		t.Fatal(err)
	}
	waitForLong(t, "restarted replicas caught up", 20*time.Second, func() bool {
		for _, r := range eng.Status().Deployments[0].ReplicaStatus {
			if r.State != events.Ready || count(r.Address) != 20 {
				return false
			}
		}
		return true
	})
	// Scale to 5: the new voters catch up.
	f5 := mustParse(t, yml(5))
	if err := eng.Reconcile(context.Background(), f5, nil); err != nil {
		t.Fatal(err)
	}
	waitForLong(t, "5 replicas with the data", 20*time.Second, func() bool {
		rs := eng.Status().Deployments[0].ReplicaStatus
		if len(rs) != 5 {
			return false
		}
		for _, r := range rs {
			if r.State != events.Ready || count(r.Address) != 20 || r.Raft == nil || r.Raft.Peers != 4 {
				return false
			}
		}
		return true
	})
	// Back to 3.
	if err := eng.Reconcile(context.Background(), mustParse(t, yml(3)), nil); err != nil {
		t.Fatal(err)
	}
	waitForLong(t, "3 voters", 20*time.Second, func() bool {
		rs := eng.Status().Deployments[0].ReplicaStatus
		return len(rs) == 3 && rs[0].Raft != nil && rs[0].Raft.Peers == 2
	})
	if resp, err := client.ProcessSingleData(context.Background(), docsReq("/index", docarray.DocList{randomDoc(rng, "after")})); err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("write after scale-down: %v %v", err, resp.GetHeader().GetStatus())
	}
}
