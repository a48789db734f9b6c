package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/enginetest"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestReplicaPortsRequireFlowSecret: the gRPC port of every replica a
// flow runs (here in-process, stateful) refuses calls without the flow's
// secret, so the gateway's token cannot be bypassed: a write sent to a
// replica (`jig post grpc://127.0.0.1:<replica port> --on /index`) and a
// /clear sent to a follower are UNAUTHENTICATED and change nothing, while
// health checks stay open and the flow itself (writes forwarded between
// replicas included) works.
func TestReplicaPortsRequireFlowSecret(t *testing.T) {
	f, err := flow.Parse("test.yml", t.TempDir(), []byte(fmt.Sprintf(`
jtype: Flow
with: {workspace: %s}
executors:
  - {name: idx, uses: builtin:SimpleIndexer, replicas: 3, stateful: true, consistency: leader}
`, t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Start(context.Background(), f, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(context.Background())
	enginetest.WaitForLeader(t, eng, "idx")
	enginetest.Route(t, eng, "/index", docarray.DocList{{ID: "a", Text: "kept"}}, nil)

	var ports []int
	for _, d := range eng.Status().Deployments {
		ports = append(ports, d.Ports()...)
	}
	if len(ports) != 3 {
		t.Fatalf("ports %v", ports)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, port := range ports {
		conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, ep := range []string{"/index", "/clear"} {
			req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: docarray.NewID(), ExecEndpoint: proto.String(ep)}}
			if err := executors.SetRequestDocs(req, docarray.DocList{{ID: "x", Text: "injected"}}); err != nil {
				t.Fatal(err)
			}
			_, err := jinapb.NewJinaSingleDataRequestRPCClient(conn).ProcessSingleData(ctx, req)
			if status.Code(err) != codes.Unauthenticated {
				t.Errorf("%s to port %d without the secret: %v, want UNAUTHENTICATED", ep, port, err)
			}
		}
		if _, err := jinapb.NewJinaDiscoverEndpointsRPCClient(conn).EndpointDiscovery(ctx, nil); status.Code(err) != codes.Unauthenticated {
			t.Errorf("endpoint_discovery on port %d: %v", port, err)
		}
		if r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health check on port %d: %v %v", port, r, err)
		}
	}
	// Nothing was written or cleared; the flow still works.
	resp, _ := enginetest.Route(t, eng, "/count", nil, nil)
	if got := resp.GetParameters().GetFields()["__results__"].GetStructValue().GetFields()["idx"].GetStructValue().GetFields()["count"].GetNumberValue(); got != 1 {
		t.Fatalf("count after the refused calls = %v, want 1\n%v", got, resp.GetParameters())
	}
	enginetest.Route(t, eng, "/index", docarray.DocList{{ID: "b", Text: "second"}}, nil)
}
