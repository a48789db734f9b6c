package worker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// upper upper-cases texts, fails on "/fail", blocks on "/block" until its
// context ends or release is closed.
type upper struct {
	executors.Base
	release chan struct{}
}

func (u *upper) Endpoints(r *executors.Router) {
	r.Default(u.Upper)
	r.On("/fail", u.Fail)
	r.On("/block", u.Block)
	r.Write("/index", u.Index)
}

func (u *upper) Index(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	return nil, nil
}

func (u *upper) Upper(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	for _, d := range docs {
		d.Text = strings.ToUpper(d.Text)
	}
	return nil, nil
}

func (u *upper) Fail(context.Context, docarray.DocList, executors.Params) (docarray.DocList, error) {
	return nil, executors.Errorf("ValueError", "no")
}

func (u *upper) Block(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-u.release:
		return docs, nil
	}
}

var release = make(chan struct{})

func init() {
	executors.Register("WorkerTestUpper", func() executors.Executor { return &upper{release: release} })
}

type fixture struct {
	srv  *worker.Server
	conn *grpc.ClientConn
	inst *executors.Instance
	done chan error
}

func start(t *testing.T, opts worker.Options) *fixture {
	t.Helper()
	spec, _ := executors.NewSpec("WorkerTestUpper", nil)
	spec.Runtime.Name = "up"
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	opts.Instance = inst
	srv, err := worker.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, inst: inst, done: make(chan error, 1)}
	go func() { f.done <- srv.Serve(lis) }()
	f.conn, err = grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Stop(ctx)
		if err := <-f.done; err != nil {
			t.Error(err)
		}
		inst.Close()
	})
	return f
}

func req(endpoint string, texts ...string) *jinapb.DataRequestProto {
	docs := docarray.DocList{}
	for i, t := range texts {
		docs = append(docs, &docarray.Document{ID: fmt.Sprint(i), Text: t})
	}
	return &jinapb.DataRequestProto{
		Header: &jinapb.HeaderProto{RequestId: "rid", ExecEndpoint: proto.String(endpoint)},
		Data:   &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: docs.ToProto()}},
	}
}

func texts(t *testing.T, r *jinapb.DataRequestProto) []string {
	t.Helper()
	docs, err := executors.RequestDocs(r)
	if err != nil {
		t.Fatal(err)
	}
	return docs.Texts()
}

func TestProcessSingleData(t *testing.T) {
	f := start(t, worker.Options{})
	c := jinapb.NewJinaSingleDataRequestRPCClient(f.conn)
	resp, err := c.ProcessSingleData(context.Background(), req("/foo", "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(t, resp); !slices.Equal(got, []string{"A", "B"}) || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("got %v %v", got, resp.GetHeader().GetStatus())
	}
	resp, err = c.ProcessSingleData(context.Background(), req("/fail", "a"))
	if err != nil {
		t.Fatal(err)
	}
	ex := resp.GetHeader().GetStatus().GetException()
	if resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_ERROR || ex.GetName() != "ValueError" || ex.GetExecutor() != "up" {
		t.Fatalf("error status: %v", resp.GetHeader().GetStatus())
	}
}

func TestProcessDataMergesParts(t *testing.T) {
	f := start(t, worker.Options{})
	c := jinapb.NewJinaDataRequestRPCClient(f.conn)
	a, b := req("/x", "one"), req("/x", "one-again", "two")
	resp, err := c.ProcessData(context.Background(), &jinapb.DataRequestListProto{Requests: []*jinapb.DataRequestProto{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	// Doc "0" is in both parts: merged, first wins; doc "1" comes from b.
	if got := texts(t, resp); !slices.Equal(got, []string{"ONE", "TWO"}) {
		t.Fatalf("got %v", got)
	}
	_, err = c.ProcessData(context.Background(), &jinapb.DataRequestListProto{})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty list: %v", err)
	}
}

func TestDiscoveryStatusHealthReflection(t *testing.T) {
	f := start(t, worker.Options{})
	ctx := context.Background()
	eps, err := jinapb.NewJinaDiscoverEndpointsRPCClient(f.conn).EndpointDiscovery(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(eps.Endpoints, []string{"/block", "/default", "/fail", "/index", executors.DryRunEndpoint}) || !slices.Equal(eps.WriteEndpoints, []string{"/index"}) {
		t.Fatalf("discovery: %v", eps)
	}
	info, err := jinapb.NewJinaInfoRPCClient(f.conn).XStatus(ctx, &emptypb.Empty{})
	if err != nil || info.Jina["jig"] != executors.Version || info.Jina["role"] != "WorkerTestUpper" {
		t.Fatalf("_status: %v %v", info, err)
	}
	h, err := healthpb.NewHealthClient(f.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	stream, err := rpb.NewServerReflectionClient(f.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
	r, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	stream.CloseSend()
	var names []string
	for _, s := range r.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"jina.JinaSingleDataRequestRPC", "jina.JinaDataRequestRPC", "jina.JinaDiscoverEndpointsRPC", "jina.JinaInfoRPC", "jina.JinaRPC", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lacks %s: %v", want, names)
		}
	}
}

func TestCallStream(t *testing.T) {
	f := start(t, worker.Options{})
	stream, err := jinapb.NewJinaRPCClient(f.conn).Call(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		r := req("/x", fmt.Sprint("t", i))
		r.Header.RequestId = fmt.Sprint(i)
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
	}
	stream.CloseSend()
	seen := map[string]bool{}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		id := resp.GetHeader().GetRequestId()
		if got := texts(t, resp); got[0] != "T"+id {
			t.Fatalf("response %s: %v", id, got)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Fatalf("got %d responses, want %d", len(seen), n)
	}
}

// fakeApplier records writes routed to it.
type fakeApplier struct {
	mu   sync.Mutex
	got  []string
	fail error
}

func (a *fakeApplier) ApplyWrite(ctx context.Context, r *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, executors.Endpoint(r))
	if a.fail != nil {
		return nil, a.fail
	}
	return r, nil
}

func TestWritesGoToApplier(t *testing.T) {
	app := &fakeApplier{}
	f := start(t, worker.Options{Writes: app})
	c := jinapb.NewJinaSingleDataRequestRPCClient(f.conn)
	if _, err := c.ProcessSingleData(context.Background(), req("/index", "a")); err != nil {
		t.Fatal(err)
	}
	resp, err := c.ProcessSingleData(context.Background(), req("/read", "a"))
	if err != nil || texts(t, resp)[0] != "A" {
		t.Fatalf("reads stay local: %v %v", resp, err)
	}
	if !slices.Equal(app.got, []string{"/index"}) {
		t.Fatalf("applier saw %v", app.got)
	}
	app.fail = status.Error(codes.Unavailable, "no leader")
	if _, err := c.ProcessSingleData(context.Background(), req("/index", "a")); status.Code(err) != codes.Unavailable {
		t.Fatalf("applier errors must reach the caller as gRPC errors, got %v", err)
	}
}

func TestDeadlineIsAGRPCError(t *testing.T) {
	f := start(t, worker.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := jinapb.NewJinaSingleDataRequestRPCClient(f.conn).ProcessSingleData(ctx, req("/block", "a"))
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("want DEADLINE_EXCEEDED, got %v", err)
	}
}

func TestLargeMessages(t *testing.T) {
	f := start(t, worker.Options{})
	big := strings.Repeat("x", 8<<20) // 8 MiB: over grpc-go's 4 MiB default
	resp, err := jinapb.NewJinaSingleDataRequestRPCClient(f.conn).ProcessSingleData(context.Background(), req("/x", big),
		grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(t, resp); len(got[0]) != len(big) {
		t.Fatal("large message truncated")
	}
}

func TestOversizedIsResourceExhausted(t *testing.T) {
	f := start(t, worker.Options{MaxMessageSize: 1 << 20})
	_, err := jinapb.NewJinaSingleDataRequestRPCClient(f.conn).ProcessSingleData(context.Background(), req("/x", strings.Repeat("x", 2<<20)),
		grpc.MaxCallSendMsgSize(64<<20))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("want RESOURCE_EXHAUSTED, got %v", err)
	}
	// And the server still answers.
	if _, err := jinapb.NewJinaSingleDataRequestRPCClient(f.conn).ProcessSingleData(context.Background(), req("/x", "ok")); err != nil {
		t.Fatal(err)
	}
}

// catchingUp is a WriteApplier whose replica is caught up once up closes.
type catchingUp struct{ up chan struct{} }

func (c catchingUp) ApplyWrite(context.Context, *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return nil, errors.New("not used")
}
func (c catchingUp) CaughtUp() <-chan struct{} { return c.up }

// A replica that is still catching up with its cluster reports NOT_SERVING,
// so gateways route around it, and SERVING once it has caught up.
func TestHealthWaitsForCatchUp(t *testing.T) {
	w := catchingUp{up: make(chan struct{})}
	f := start(t, worker.Options{Writes: w})
	health := healthpb.NewHealthClient(f.conn)
	check := func() healthpb.HealthCheckResponse_ServingStatus {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return h.Status
	}
	if s := check(); s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("catching up: %v, want NOT_SERVING", s)
	}
	close(w.up)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	watch, err := health.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		h, err := watch.Recv()
		if err != nil {
			t.Fatalf("no SERVING after catching up: %v", err)
		}
		if h.Status == healthpb.HealthCheckResponse_SERVING {
			return
		}
	}
}
