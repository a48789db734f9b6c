package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeBackend is a scripted Backend: Route answers with route (an echo
// through one executor "enc" by default) and records every request.
type fakeBackend struct {
	mu        sync.Mutex
	route     func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error)
	got       []*jinapb.DataRequestProto
	ready     error
	endpoints *jinapb.EndpointsProto
	info      *jinapb.JinaInfoProto
}

func newBackend() *fakeBackend {
	return &fakeBackend{
		route:     echoRoute,
		endpoints: &jinapb.EndpointsProto{Endpoints: []string{"/search", "/index", executors.DryRunEndpoint}, WriteEndpoints: []string{"/index"}},
		info:      &jinapb.JinaInfoProto{Jina: map[string]string{"jina": "3.x", "jig": "test"}, Envs: map[string]string{"JINA_LOG_LEVEL": "info"}},
	}
}

func (b *fakeBackend) Route(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	b.mu.Lock()
	b.got = append(b.got, req)
	f := b.route
	b.mu.Unlock()
	return f(ctx, req)
}

func (b *fakeBackend) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ready
}

func (b *fakeBackend) Endpoints() *jinapb.EndpointsProto {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.endpoints
}

func (b *fakeBackend) Info() *jinapb.JinaInfoProto { return b.info }

func (b *fakeBackend) setRoute(f func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error)) {
	b.mu.Lock()
	b.route = f
	b.mu.Unlock()
}

func (b *fakeBackend) requests() []*jinapb.DataRequestProto {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*jinapb.DataRequestProto(nil), b.got...)
}

func (b *fakeBackend) last(t *testing.T) *jinapb.DataRequestProto {
	t.Helper()
	got := b.requests()
	if len(got) == 0 {
		t.Fatal("the backend got no request")
	}
	return got[len(got)-1]
}

var routeStart = time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)

// echoRoute answers like a one-executor flow: it appends ">enc" to every text, stores
// results for "enc", and adds gateway and enc routes.
func echoRoute(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	docs, err := executors.RequestDocs(req)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		d.Text += ">enc"
	}
	params, err := executors.MergeResults(req.GetParameters(), "enc", executors.Results{"n": len(docs)})
	if err != nil {
		return nil, err
	}
	resp := &jinapb.DataRequestProto{Header: req.GetHeader(), Parameters: params, Routes: []*jinapb.RouteProto{
		{Executor: "gateway", StartTime: timestamppb.New(routeStart), EndTime: timestamppb.New(routeStart.Add(3 * time.Millisecond))},
		{Executor: "enc", StartTime: timestamppb.New(routeStart.Add(time.Millisecond)), EndTime: timestamppb.New(routeStart.Add(2 * time.Millisecond))},
	}}
	if err := executors.SetRequestDocs(resp, docs); err != nil {
		return nil, err
	}
	return resp, nil
}

// failRoute answers like a flow whose executor "enc" raised ValueError.
func failRoute(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	h := proto.CloneOf(req.GetHeader())
	st := executors.ErrorStatus(executors.Errorf("ValueError", "bad value"), "enc", "line 1\nline 2")
	h.Status = st
	return &jinapb.DataRequestProto{Header: h, Data: req.GetData(), Routes: []*jinapb.RouteProto{
		{Executor: "gateway", StartTime: timestamppb.New(routeStart), EndTime: timestamppb.New(routeStart)},
		{Executor: "enc", StartTime: timestamppb.New(routeStart), EndTime: timestamppb.New(routeStart), Status: st},
	}}, nil
}

func errRoute(err error) func(context.Context, *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return func(context.Context, *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) { return nil, err }
}

func reqDocs(t *testing.T, r *jinapb.DataRequestProto) docarray.DocList {
	t.Helper()
	docs, err := executors.RequestDocs(r)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func newStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var errPlain = errors.New("plain failure")
