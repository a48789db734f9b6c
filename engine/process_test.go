package engine_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/proto/jinapb"
)

// TestProcessReplicas builds a Go executor from source, runs it as child
// processes, kills one under load and checks that no request fails and
// the replica comes back.
func TestProcessReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an executor")
	}
	eng := startFlowIn(t, "testdata", `
jtype: Flow
executors:
  - {name: up, uses: upper, replicas: 2, uses_with: {prefix: ">"}, env: {UPPER_ENV: hello}}
`)
	st := eng.Status().Deployments[0]
	if st.InProcess || st.Ready != 2 || st.ReplicaStatus[0].PID == 0 || st.ReplicaStatus[0].PID == st.ReplicaStatus[1].PID {
		t.Fatalf("status %+v", st)
	}
	cc := dial(t, eng.Addresses().GRPC)
	resp, docs := send(t, cc, newReq("/x", nil, "abc"))
	if docs[0].Text != ">ABC" {
		t.Fatalf("got %q (routes %v)", docs[0].Text, routeNames(resp))
	}
	resp, _ = send(t, cc, newReq("/pid", nil))
	if env := resp.GetParameters().AsMap()["__results__"].(map[string]any)["up"].(map[string]any)["env"]; env != "hello" {
		t.Fatalf("env not passed: %v", env)
	}

	sub := eng.Bus().Subscribe(1024)
	defer sub.Close()
	client := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	var failures, total atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := client.ProcessSingleData(context.Background(), newReq("/x", nil, "x"))
				total.Add(1)
				if err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
					failures.Add(1)
					t.Logf("failure: %v %v", err, resp.GetHeader().GetStatus())
				}
			}
		}()
	}
	waitFor(t, func() bool { return total.Load() > 100 })
	oldPID := eng.Status().Deployments[0].ReplicaStatus[0].PID
	if err := eng.KillReplica(context.Background(), "up", 0, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		r := eng.Status().Deployments[0].ReplicaStatus[0]
		return r.Restarts == 1 && r.State == events.Ready && r.PID != oldPID
	})
	before := total.Load()
	waitFor(t, func() bool { return total.Load() > before+100 })
	cancel()
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed while a child replica was killed", failures.Load(), total.Load())
	}
	// The crash and the restart were reported, and the child's logs reached
	// the bus tagged with the replica.
	var sawFailed, sawReady, sawLog bool
	for _, e := range eng.Bus().Recent() {
		switch ev := e.(type) {
		case events.ReplicaState:
			if ev.Deployment == "up" && ev.Replica == "rep-0" {
				sawFailed = sawFailed || ev.State == events.Failed
				sawReady = sawReady || (sawFailed && ev.State == events.Ready)
			}
		case events.Log:
			sawLog = sawLog || (ev.Source == "up/rep-1" && ev.Message == "executor serving")
		}
	}
	if !sawFailed || !sawReady || !sawLog {
		t.Fatalf("events: failed=%v ready-again=%v child log=%v", sawFailed, sawReady, sawLog)
	}
}
