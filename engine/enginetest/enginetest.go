// Package enginetest has helpers for tests that run a flow with the engine:
// waiting on what the engine reports, with a bound, instead of sleeping.
package enginetest

import (
	"context"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/status"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
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
				if d.Name == dep && r.Raft != nil && r.Raft.State == status.Leader && r.State == events.Ready {
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

// Route sends docs to endpoint through the flow, as its gateway does (with
// params, when not nil), fails the test unless the request succeeds, and
// returns the response and its documents.
func Route(t testing.TB, eng *engine.Engine, endpoint string, docs docarray.DocList, params map[string]any) (*jinapb.DataRequestProto, docarray.DocList) {
	t.Helper()
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: docarray.NewID(), ExecEndpoint: proto.String(endpoint)}}
	if params != nil {
		s, err := structpb.NewStruct(params)
		if err != nil {
			t.Fatal(err)
		}
		req.Parameters = s
	}
	if err := executors.SetRequestDocs(req, docs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := eng.Route(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", endpoint, err)
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("%s: %s", endpoint, st.GetDescription())
	}
	out, err := executors.RequestDocs(resp)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}
