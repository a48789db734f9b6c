package router

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type nop struct{ executors.Base }

func (n *nop) Endpoints(r *executors.Router) {
	r.Default(func(ctx context.Context, d docarray.DocList, p executors.Params) (docarray.DocList, error) {
		return nil, nil
	})
}

func init() {
	executors.Register("RouterNop", func() executors.Executor { return &nop{} })
}

// handler is what a fake replica does with a request.
type handler func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error)

// fakeConn is a scripted replica.Conn: it records every request and
// answers with its handler (echo by default).
type fakeConn struct {
	name string

	mu      sync.Mutex
	handle  handler
	got     []*jinapb.DataRequestProto
	calls   atomic.Int64
	entered chan string // when set, receives name on every call
}

func newConn(name string) *fakeConn {
	c := &fakeConn{name: name}
	c.handle = echo(name)
	return c
}

func (c *fakeConn) with(h handler) *fakeConn {
	c.mu.Lock()
	c.handle = h
	c.mu.Unlock()
	return c
}

func (c *fakeConn) Process(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	c.calls.Add(1)
	c.mu.Lock()
	c.got = append(c.got, req)
	h := c.handle
	c.mu.Unlock()
	if c.entered != nil {
		c.entered <- c.name
	}
	return h(ctx, req)
}

func (c *fakeConn) Endpoints(context.Context) (*jinapb.EndpointsProto, error) {
	return &jinapb.EndpointsProto{Endpoints: []string{executors.DefaultEndpoint}}, nil
}

// requests returns what the replica received.
func (c *fakeConn) requests() []*jinapb.DataRequestProto {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*jinapb.DataRequestProto(nil), c.got...)
}

// lastDocs decodes the documents of the last request the replica got.
func (c *fakeConn) lastDocs(t *testing.T) docarray.DocList {
	t.Helper()
	got := c.requests()
	if len(got) == 0 {
		t.Fatalf("%s was never called", c.name)
	}
	return docsOf(t, got[len(got)-1])
}

// modify returns a handler that changes the documents with f (which may
// return results) the way an executor does: a new response sharing the
// header, results merged into the parameters under name.
func modify(name string, f func(docs docarray.DocList) (docarray.DocList, executors.Results)) handler {
	return func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		docs, err := executors.RequestDocs(req)
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		docs, res := f(docs)
		resp := &jinapb.DataRequestProto{Header: req.GetHeader(), Parameters: req.GetParameters(), Routes: req.GetRoutes()}
		if err := executors.SetRequestDocs(resp, docs); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		if res != nil {
			p, err := executors.MergeResults(req.GetParameters(), name, res)
			if err != nil {
				return nil, status.Error(codes.Internal, err.Error())
			}
			resp.Parameters = p
		}
		return resp, nil
	}
}

// echo appends ">name" to every text and reports how many docs it saw.
func echo(name string) handler {
	return modify(name, func(docs docarray.DocList) (docarray.DocList, executors.Results) {
		for _, d := range docs {
			d.Text += ">" + name
		}
		return docs, executors.Results{"n": len(docs)}
	})
}

// fail answers with an executor ERROR status.
func fail(name string) handler {
	return func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		h := proto.CloneOf(req.GetHeader())
		if h == nil {
			h = &jinapb.HeaderProto{}
		}
		h.Status = executors.ErrorStatus(executors.Errorf("ValueError", "%s refuses", name), name, "")
		return &jinapb.DataRequestProto{Header: h, Parameters: req.GetParameters(), Routes: req.GetRoutes(), Data: req.GetData()}, nil
	}
}

// errorWith fails the call with a gRPC status.
func errorWith(code codes.Code, msg string) handler {
	return func(context.Context, *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		return nil, status.Error(code, msg)
	}
}

// block waits until ctx ends (a paused replica).
func block(ctx context.Context, _ *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

// target wraps a conn in a ready Target named after it.
func target(c *fakeConn) *Target {
	return &Target{Name: c.name, Address: "127.0.0.1:" + c.name, Conn: c, Ready: func() bool { return true }}
}

// switchable returns a target whose readiness the test controls.
func switchable(c *fakeConn, ready bool) (*Target, *atomic.Bool) {
	var r atomic.Bool
	r.Store(ready)
	t := target(c)
	t.Ready = r.Load
	return t, &r
}

// deployment returns a one-shard deployment over conns.
func deployment(name string, conns ...*fakeConn) *Deployment {
	var ts []*Target
	for _, c := range conns {
		ts = append(ts, target(c))
	}
	return &Deployment{Name: name, Shards: []*Pool{NewPool(ts...)}, Retries: len(conns)}
}

// newReq builds a request with one document per text (ids d0, d1, ...).
func newReq(endpoint string, params map[string]any, texts ...string) *jinapb.DataRequestProto {
	docs := docarray.DocList{}
	for i, t := range texts {
		docs = append(docs, &docarray.Document{ID: fmt.Sprint("d", i), Text: t})
	}
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "req-1", ExecEndpoint: proto.String(endpoint)}}
	if err := executors.SetRequestDocs(req, docs); err != nil {
		panic(err)
	}
	if params != nil {
		s, err := structpb.NewStruct(params)
		if err != nil {
			panic(err)
		}
		req.Parameters = s
	}
	return req
}

func docsOf(t *testing.T, r *jinapb.DataRequestProto) docarray.DocList {
	t.Helper()
	docs, err := executors.RequestDocs(r)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func texts(t *testing.T, r *jinapb.DataRequestProto) string {
	t.Helper()
	return strings.Join(docsOf(t, r).Texts(), ",")
}

func routeNames(r *jinapb.DataRequestProto) []string {
	var out []string
	for _, rt := range r.GetRoutes() {
		out = append(out, rt.GetExecutor())
	}
	return out
}

func results(r *jinapb.DataRequestProto) map[string]any {
	m, _ := r.GetParameters().AsMap()[executors.ResultsKey].(map[string]any)
	return m
}

// testFlow parses a flow YAML (executors use RouterNop) and returns a
// router whose deployments are echo fakes, one replica each.
func testFlow(t *testing.T, yml string) (*Router, map[string]*fakeConn) {
	t.Helper()
	f, err := flow.Parse("flow.yml", t.TempDir(), []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	conns := map[string]*fakeConn{}
	deps := map[string]*Deployment{}
	for _, d := range f.Deployments {
		c := newConn(d.Name)
		conns[d.Name] = c
		rd := deployment(d.Name, c)
		rd.Polling, rd.When = d.Polling, d.When
		deps[d.Name] = rd
	}
	r := New(f.Graph, deps, nil, nil)
	t.Cleanup(func() { r.Close(context.Background()) })
	return r, conns
}
