package client_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/client/clienttest"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testExec is the executor behind every test server (named "exec").
//
//	/default  upper-cases texts; results {"n": len(docs), "params": params}
//	/fail     fails with ValueError when a document's text is "bad"
//	/block    signals started, then blocks until its request is cancelled
//	/order    answers the batches of a run in reverse order (see Order)
//	/gate     holds requests until `prefetch` are in flight at once, to
//	          measure how many a client keeps in flight (see Gate)
type testExec struct {
	executors.Base

	started chan string // /block: the first doc id of each blocked request
	blocked atomic.Int32

	mu     sync.Mutex
	orders map[string]*orderRun
	gate   *gateState
}

func (e *testExec) Endpoints(r *executors.Router) {
	r.Default(e.Echo)
	r.On("/fail", e.Fail)
	r.On("/block", e.Block)
	r.On("/order", e.Order)
	r.On("/gate", e.Gate)
}

func (e *testExec) Echo(_ context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, executors.Results, error) {
	for _, d := range docs {
		d.Text = strings.ToUpper(d.Text)
	}
	return nil, executors.Results{"n": len(docs), "params": map[string]any(p)}, nil
}

func (e *testExec) Fail(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	for _, d := range docs {
		if d.Text == "bad" {
			return nil, executors.Errorf("ValueError", "bad doc %s", d.ID)
		}
	}
	out, _, err := e.Echo(ctx, docs, p)
	return out, err
}

func (e *testExec) Block(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	e.blocked.Add(1)
	defer e.blocked.Add(-1)
	id := ""
	if len(docs) > 0 {
		id = docs[0].ID
	}
	select {
	case e.started <- id:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// orderRun makes the batches of one run finish last-first: every batch
// waits until all `batches` have arrived (so all are in flight at once),
// then batch k returns only after batch k+1 has returned.
type orderRun struct {
	arrived int
	all     chan struct{}
	done    []chan struct{}
}

func (e *testExec) Order(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	n, size := p.Int("batches", 1), p.Int("size", 1)
	k := mustAtoi(docs[0].ID) / size
	e.mu.Lock()
	if e.orders == nil {
		e.orders = map[string]*orderRun{}
	}
	run := e.orders[p.String("run", "")]
	if run == nil {
		run = &orderRun{all: make(chan struct{}), done: make([]chan struct{}, n)}
		for i := range run.done {
			run.done[i] = make(chan struct{})
		}
		e.orders[p.String("run", "")] = run
	}
	run.arrived++
	if run.arrived == n {
		close(run.all)
	}
	e.mu.Unlock()
	defer close(run.done[k])
	select {
	case <-run.all:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if k+1 < n {
		select {
		case <-run.done[k+1]:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return docs, nil
}

// gateState holds requests until `prefetch` of them are in the handler at
// once (or all `batches` have arrived), recording the most seen at once.
type gateState struct {
	cur, max, arrived int
	open              chan struct{}
}

func (e *testExec) Gate(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	limit, batches := p.Int("prefetch", 1), p.Int("batches", 1)
	e.mu.Lock()
	g := e.gate
	if g == nil {
		g = &gateState{open: make(chan struct{})}
		e.gate = g
	}
	g.cur++
	g.arrived++
	g.max = max(g.max, g.cur)
	wait := g.open
	if g.cur >= limit || g.arrived == batches {
		close(g.open)
		g.open = make(chan struct{})
	}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		g.cur--
		e.mu.Unlock()
	}()
	select {
	case <-wait:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return docs, nil
}

func (e *testExec) gateMax() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gate == nil {
		return 0
	}
	return e.gate.max
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

func init() {
	executors.Register("ClientTestExec", func() executors.Executor {
		return &testExec{started: make(chan string, 64)}
	})
}

// seen is a request as it reached the server.
type seen struct {
	id, endpoint, target string
	params               map[string]any
	firstID              string
	ndocs                int
}

// recorder records the requests that reach a test server.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (r *recorder) add(req *jinapb.DataRequestProto) {
	s := seen{id: req.GetHeader().GetRequestId(), endpoint: req.GetHeader().GetExecEndpoint(), target: req.GetHeader().GetTargetExecutor()}
	if req.GetParameters() != nil {
		s.params = req.GetParameters().AsMap()
	}
	docs, _ := executors.RequestDocs(req) // servers may hold them encoded (wire.Codec)
	s.ndocs = len(docs)
	if len(docs) > 0 {
		s.firstID = docs[0].ID
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, s)
	r.mu.Unlock()
}

func (r *recorder) all() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.reqs = nil
	r.mu.Unlock()
}

// count returns how many recorded requests were for endpoint and, when
// run is set, had parameter "run" = run (requests of earlier tests may
// still be arriving after their Post gave up on them).
func (r *recorder) count(endpoint string, run ...string) int {
	n := 0
	for _, s := range r.all() {
		if s.endpoint == endpoint && (len(run) == 0 || s.params["run"] == run[0]) {
			n++
		}
	}
	return n
}

// fixture is a worker serving testExec over gRPC, and the reference HTTP
// gateway in front of the same executor.
type fixture struct {
	exec     *testExec
	srv      *worker.Server
	grpcAddr string
	httpAddr string
	rec      *recorder
	// httpFault, when set, runs before each HTTP request is processed; an
	// error is answered as a delivery failure.
	httpFault atomic.Pointer[func(*jinapb.DataRequestProto) error]
	// httpHook, when set, edits each HTTP answer (e.g. to add routes).
	httpHook func(*jinapb.DataRequestProto)
}

type fixtureOptions struct {
	worker  worker.Options
	gateway clienttest.Gateway
	// lis and httpLis, when set, are where the servers listen.
	lis, httpLis net.Listener
	// httpTLS, when set, serves HTTPS.
	httpTLS *tls.Config
}

func newFixture(t *testing.T, opts ...func(*fixtureOptions)) *fixture {
	t.Helper()
	var fo fixtureOptions
	for _, o := range opts {
		o(&fo)
	}
	spec, err := executors.NewSpec("ClientTestExec", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = "exec"
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{exec: inst.Executor().(*testExec), rec: &recorder{}}
	wo := fo.worker
	wo.Instance = inst
	wo.ServerOptions = append(wo.ServerOptions, grpc.ChainStreamInterceptor(f.recordStream))
	srv, err := worker.NewServer(wo)
	if err != nil {
		t.Fatal(err)
	}
	lis := fo.lis
	if lis == nil {
		if lis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	f.srv = srv
	f.grpcAddr = "grpc://" + lis.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	gw := fo.gateway
	gw.Process = func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		f.rec.add(req)
		if fault := f.httpFault.Load(); fault != nil {
			if err := (*fault)(req); err != nil {
				return nil, err
			}
		}
		resp, err := srv.Process(ctx, req)
		if err == nil && f.httpHook != nil {
			f.httpHook(resp)
		}
		return resp, err
	}
	if gw.Endpoints == nil {
		gw.Endpoints = inst.Endpoints
	}
	if gw.Info == nil {
		gw.Info = func() *jinapb.JinaInfoProto { return worker.Info("ClientTestExec") }
	}
	hs := httptest.NewUnstartedServer(&gw)
	hs.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS tests fail handshakes on purpose
	if fo.httpLis != nil {
		hs.Listener.Close()
		hs.Listener = fo.httpLis
	}
	if fo.httpTLS != nil {
		hs.TLS = fo.httpTLS
		hs.StartTLS()
	} else {
		hs.Start()
	}
	f.httpAddr = hs.URL
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Stop(ctx)
		if err := <-served; err != nil {
			t.Errorf("worker: %v", err)
		}
		inst.Close()
	})
	return f
}

// recordStream records the requests of Call streams as they arrive.
func (f *fixture) recordStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, &recordingStream{ServerStream: ss, rec: f.rec})
}

type recordingStream struct {
	grpc.ServerStream
	rec *recorder
}

func (s *recordingStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if req, ok := m.(*jinapb.DataRequestProto); ok && err == nil {
		s.rec.add(req)
	}
	return err
}

// addr returns the fixture's address for protocol "grpc" or "http".
func (f *fixture) addr(protocol string) string {
	if protocol == "http" {
		return f.httpAddr
	}
	return f.grpcAddr
}

func (f *fixture) client(t *testing.T, protocol string, opts ...client.Option) *client.Client {
	t.Helper()
	return newClient(t, f.addr(protocol), opts...)
}

func newClient(t *testing.T, addr string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var protocols = []string{"grpc", "http"}

// forEach runs fn as a subtest per protocol.
func forEach(t *testing.T, fn func(t *testing.T, protocol string)) {
	for _, p := range protocols {
		t.Run(p, func(t *testing.T) { fn(t, p) })
	}
}

// gen returns n documents with ids "0".."n-1" and texts "doc <i>".
func gen(n int) docarray.DocList {
	out := make(docarray.DocList, n)
	for i := range out {
		out[i] = &docarray.Document{ID: strconv.Itoa(i), Text: fmt.Sprintf("doc %d", i)}
	}
	return out
}

func ids(docs docarray.DocList) []string { return docs.IDs() }

func seqIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
