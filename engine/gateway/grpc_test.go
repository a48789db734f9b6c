package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// serveGRPC starts the gRPC gateway on 127.0.0.1:0 and returns it with a
// client connection; both are closed when the test ends.
func serveGRPC(t *testing.T, b Backend, opts GRPCOptions) (*GRPC, *grpc.ClientConn) {
	t.Helper()
	g := NewGRPC(b, opts)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		g.Server().Serve(lis)
	}()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		g.Server().Stop()
		<-served
	})
	return g, cc
}

func grpcReq(id string, texts ...string) *jinapb.DataRequestProto {
	docs := docarray.DocList{}
	for i, t := range texts {
		docs = append(docs, &docarray.Document{ID: fmt.Sprint(id, "-", i), Text: t})
	}
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: id, ExecEndpoint: proto.String("/x")}}
	executors.SetRequestDocs(req, docs)
	return req
}

// gated is a backend whose Route waits for the test to release each
// request (by request id, or any with release), tracking concurrency.
type gated struct {
	*fakeBackend
	entered     chan string
	mu          sync.Mutex
	gates       map[string]chan struct{}
	release     chan struct{}
	cur, maxCur atomic.Int64
}

func newGated(ids ...string) *gated {
	g := &gated{fakeBackend: newBackend(), entered: make(chan string, 100), gates: map[string]chan struct{}{}, release: make(chan struct{})}
	for _, id := range ids {
		g.gates[id] = make(chan struct{})
	}
	g.setRoute(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		n := g.cur.Add(1)
		defer g.cur.Add(-1)
		for {
			m := g.maxCur.Load()
			if n <= m || g.maxCur.CompareAndSwap(m, n) {
				break
			}
		}
		g.entered <- req.GetHeader().GetRequestId()
		g.mu.Lock()
		gate := g.gates[req.GetHeader().GetRequestId()]
		g.mu.Unlock()
		select {
		case <-gate: // nil when the request has no gate of its own
		case <-g.release:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return echoRoute(ctx, req)
	})
	return g
}

func TestCallAnswersOutOfOrder(t *testing.T) {
	b := newGated("r1", "r2", "r3")
	_, cc := serveGRPC(t, b, GRPCOptions{})
	stream, err := jinapb.NewJinaRPCClient(cc).Call(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r1", "r2", "r3"} {
		if err := stream.Send(grpcReq(id, id)); err != nil {
			t.Fatal(err)
		}
	}
	// All three are routed at once (concurrently)...
	seen := map[string]bool{}
	for range 3 {
		seen[<-b.entered] = true
	}
	if len(seen) != 3 {
		t.Fatalf("in flight: %v", seen)
	}
	// ...and answered as they finish.
	for _, id := range []string{"r2", "r3", "r1"} {
		close(b.gates[id])
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetHeader().GetRequestId() != id {
			t.Fatalf("got %s, want %s first", resp.GetHeader().GetRequestId(), id)
		}
		docs, _ := executors.RequestDocs(resp)
		if len(docs) != 1 || docs[0].Text != id+">enc" {
			t.Fatalf("docs %v", docs.Texts())
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend: %v", err)
	}
}

func TestCallBoundedByPrefetch(t *testing.T) {
	const prefetch, total = 3, 12
	b := newGated()
	_, cc := serveGRPC(t, b, GRPCOptions{Prefetch: prefetch})
	stream, err := jinapb.NewJinaRPCClient(cc).Call(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sendErr := make(chan error, 1)
	go func() {
		for i := range total {
			if err := stream.Send(grpcReq(fmt.Sprint("r", i), "x")); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	for range prefetch {
		<-b.entered
	}
	// Give a broken bound the chance to let more in (a negative check).
	time.Sleep(50 * time.Millisecond)
	if n := b.cur.Load(); n != prefetch {
		t.Fatalf("%d requests in flight, want %d (Prefetch)", n, prefetch)
	}
	got := map[string]bool{}
	for range total {
		b.release <- struct{}{}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		got[resp.GetHeader().GetRequestId()] = true
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("end of stream: %v", err)
	}
	if len(got) != total {
		t.Fatalf("answered %d distinct requests", len(got))
	}
	if m := b.maxCur.Load(); m != prefetch {
		t.Fatalf("max in flight %d, want %d", m, prefetch)
	}
}

func TestCallRouteErrorBecomesErrorResponse(t *testing.T) {
	b := newBackend()
	b.setRoute(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		switch req.GetHeader().GetRequestId() {
		case "down":
			return nil, status.Error(codes.Unavailable, "deployment enc is down")
		case "slow":
			return nil, status.Error(codes.DeadlineExceeded, "timed out")
		}
		return echoRoute(ctx, req)
	})
	_, cc := serveGRPC(t, b, GRPCOptions{})
	stream, err := jinapb.NewJinaRPCClient(cc).Call(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"down": "UNAVAILABLE", "slow": "DEADLINE_EXCEEDED", "ok": ""}
	for _, id := range []string{"down", "slow", "ok"} {
		req := grpcReq(id, "t")
		req.Header.TargetExecutor = proto.String("enc")
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	stream.CloseSend()
	for range 3 {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("the stream must go on after a failed request: %v", err)
		}
		id := resp.GetHeader().GetRequestId()
		st := resp.GetHeader().GetStatus()
		if want[id] == "" {
			if st.GetCode() != jinapb.StatusProto_SUCCESS {
				t.Fatalf("%s: %v", id, st)
			}
			continue
		}
		ex := st.GetException()
		if st.GetCode() != jinapb.StatusProto_ERROR || ex.GetName() != want[id] || ex.GetExecutor() != "gateway" || len(ex.GetArgs()) != 1 || st.GetDescription() != ex.GetArgs()[0] {
			t.Fatalf("%s: status %v", id, st)
		}
		if resp.GetHeader().GetExecEndpoint() != "/x" || resp.GetHeader().GetTargetExecutor() != "enc" {
			t.Fatalf("%s: header %v", id, resp.GetHeader())
		}
		if docs, _ := executors.RequestDocs(resp); len(docs) != 1 || docs[0].Text != "t" {
			t.Fatalf("%s: the request's docs come back: %v", id, docs.Texts())
		}
	}
}

func TestCallClientCancelEndsRoutes(t *testing.T) {
	b := newGated("never")
	_, cc := serveGRPC(t, b, GRPCOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := jinapb.NewJinaRPCClient(cc).Call(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(grpcReq("never", "x")); err != nil {
		t.Fatal(err)
	}
	<-b.entered
	cancel()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("recv after cancel: %v", err)
	}
	// The Route in flight sees the cancellation (else goleak complains).
	waitfor.Value(t, "the route in flight to see the cancellation (routes in flight: 0)", 10*time.Second, func() (int64, bool) {
		n := int64(b.cur.Load())
		return n, n == 0
	})
}

func TestUnaryServices(t *testing.T) {
	b := newBackend()
	_, cc := serveGRPC(t, b, GRPCOptions{})
	ctx := context.Background()

	single := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	resp, err := single.ProcessSingleData(ctx, grpcReq("one", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if docs, _ := executors.RequestDocs(resp); docs[0].Text != "a>enc" || resp.GetHeader().GetRequestId() != "one" {
		t.Fatalf("process_single_data: %v", resp)
	}
	b.setRoute(errRoute(status.Error(codes.Unavailable, "down")))
	if _, err := single.ProcessSingleData(ctx, grpcReq("two", "a")); status.Code(err) != codes.Unavailable || status.Convert(err).Message() != "down" {
		t.Fatalf("delivery failures stay gRPC errors: %v", err)
	}

	dry := jinapb.NewJinaGatewayDryRunRPCClient(cc)
	st, err := dry.DryRun(ctx, &emptypb.Empty{})
	if err != nil || st.GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("dry run: %v %v", st, err)
	}
	b.mu.Lock()
	b.ready = fmt.Errorf("enc: no ready replica")
	b.mu.Unlock()
	st, err = dry.DryRun(ctx, &emptypb.Empty{})
	if err != nil || st.GetCode() != jinapb.StatusProto_ERROR || st.GetDescription() != "enc: no ready replica" || st.GetException().GetName() == "" {
		t.Fatalf("dry run not ready: %v %v", st, err)
	}

	info, err := jinapb.NewJinaInfoRPCClient(cc).XStatus(ctx, &emptypb.Empty{})
	if err != nil || info.GetJina()["jig"] != "test" {
		t.Fatalf("_status: %v %v", info, err)
	}
	eps, err := jinapb.NewJinaDiscoverEndpointsRPCClient(cc).EndpointDiscovery(ctx, &emptypb.Empty{})
	if err != nil || len(eps.GetEndpoints()) != 3 || eps.GetWriteEndpoints()[0] != "/index" {
		t.Fatalf("endpoint_discovery: %v %v", eps, err)
	}
}

func TestHealth(t *testing.T) {
	g, cc := serveGRPC(t, newBackend(), GRPCOptions{})
	h := healthpb.NewHealthClient(cc)
	check := func() healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		r, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetStatus()
	}
	if s := check(); s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("before SetServing: %v", s)
	}
	g.SetServing(true)
	if s := check(); s != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("serving: %v", s)
	}
	g.SetServing(false)
	if s := check(); s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("not serving: %v", s)
	}
	g.SetServing(true)
	g.Shutdown()
	if s := check(); s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("after Shutdown: %v", s)
	}
}

func TestToken(t *testing.T) {
	b := newBackend()
	_, cc := serveGRPC(t, b, GRPCOptions{Token: "s3cret"})
	bearer := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", tok)
	}
	single := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	dry := jinapb.NewJinaGatewayDryRunRPCClient(cc)
	for name, ctx := range map[string]context.Context{
		"none":      context.Background(),
		"wrong":     bearer("Bearer nope"),
		"no scheme": bearer("s3cret"),
		"prefix":    bearer("Bearer s3cret-and-more"),
	} {
		if _, err := single.ProcessSingleData(ctx, grpcReq("x", "a")); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: process_single_data %v", name, err)
		}
		if _, err := dry.DryRun(ctx, &emptypb.Empty{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: dry_run %v", name, err)
		}
		stream, err := jinapb.NewJinaRPCClient(cc).Call(ctx)
		if err == nil {
			stream.Send(grpcReq("x", "a"))
			_, err = stream.Recv()
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: Call %v", name, err)
		}
	}
	if len(b.requests()) != 0 {
		t.Fatal("an unauthenticated request reached the backend")
	}
	ctx := bearer("Bearer s3cret")
	if _, err := single.ProcessSingleData(ctx, grpcReq("x", "a")); err != nil {
		t.Fatalf("with the token: %v", err)
	}
	stream, err := jinapb.NewJinaRPCClient(cc).Call(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(grpcReq("y", "a"))
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("stream with the token: %v", err)
	}
	stream.CloseSend()
	// Health checks stay open for orchestrators.
	if _, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health without a token: %v", err)
	}
}
