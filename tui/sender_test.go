package tui

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/panes/request"
	"github.com/jig-dev/jig/tui/tuitest"
)

// shout is the executor behind the Request pane's end-to-end tests.
type shout struct{ executors.Base }

func (s *shout) Endpoints(r *executors.Router) {
	r.On("/shout", s.Shout)
	r.On("/fail", s.Fail)
}

func (s *shout) Shout(_ context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	suffix := p.String("suffix", "")
	for _, d := range docs {
		d.Text = strings.ToUpper(d.Text) + suffix
	}
	return nil, nil
}

func (s *shout) Fail(context.Context, docarray.DocList, executors.Params) (docarray.DocList, error) {
	return nil, executors.Errorf("ValueError", "cannot shout %s", "this")
}

func init() { executors.Register("TUITestShout", func() executors.Executor { return &shout{} }) }

// startWorker serves a shout executor on 127.0.0.1:0 with the real worker
// runtime and returns its address.
func startWorker(t *testing.T) string {
	t.Helper()
	spec, err := executors.NewSpec("TUITestShout", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = "shouter"
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := worker.NewServer(worker.Options{Instance: inst})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Stop(ctx)
		<-done
		inst.Close()
	})
	return lis.Addr().String()
}

func TestSenderAgainstRealWorker(t *testing.T) {
	addr := startWorker(t)
	s := NewSender().(*clientSender)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	eps, err := s.Endpoints(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range eps {
		names = append(names, e.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "/shout") {
		t.Fatalf("endpoints %v", names)
	}

	resp, err := s.Send(ctx, addr, request.Request{Endpoint: "/shout", Docs: docarray.FromTexts("a", "b", "c", "d", "e"),
		Parameters: map[string]any{"suffix": "!"}, RequestSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Requests != 3 || strings.Join(resp.Docs.Texts(), ",") != "A!,B!,C!,D!,E!" || resp.Error != nil {
		t.Fatalf("response: %d requests, %v, %+v", resp.Requests, resp.Docs.Texts(), resp.Error)
	}

	resp, err = s.Send(ctx, addr, request.Request{Endpoint: "/fail", Docs: docarray.FromTexts("x")})
	if err != nil {
		t.Fatal(err)
	}
	if e := resp.Error; e == nil || e.Name != "ValueError" || e.Executor != "shouter" || !strings.Contains(strings.Join(e.Args, " "), "cannot shout this") {
		t.Fatalf("executor error = %+v", resp.Error)
	}

	if _, err := s.Send(ctx, "127.0.0.1:1", request.Request{Endpoint: "/x"}); err == nil {
		t.Error("an unreachable address is an error")
	}
}

// TestRequestPaneAgainstRealWorker drives the Request pane with the real
// sender and worker: discovery, compose, send, response.
func TestRequestPaneAgainstRealWorker(t *testing.T) {
	addr := startWorker(t)
	s := NewSender().(*clientSender)
	defer s.Close()
	ctx := tuitest.Context()
	ctx.Status.Addresses.GRPC = addr
	m := request.New(ctx, s, nil)
	m.SetSize(100, 24)
	tuitest.Feed(m, 3, common.StatusMsg{Status: ctx.Status})
	if eps := m.Endpoints(); len(eps) == 0 {
		t.Fatal("no endpoints discovered")
	}
	m.SetDraft(request.Draft{Addr: addr, Endpoint: "/shout", Mode: request.ModeLines, Lines: "hello\nworld", Params: `{"suffix": "?"}`})
	tuitest.Feed(m, 2, tuitest.Key("ctrl+s"))
	last := waitfor.Value(t, "the response to the send", 5*time.Second, func() (*request.Result, bool) { return m.Last(), m.Last() != nil })
	if !last.OK() {
		t.Fatalf("last = %+v", last)
	}
	if got := strings.Join(last.Resp.Docs.Texts(), ","); got != "HELLO?,WORLD?" {
		t.Errorf("docs %s", got)
	}
	if v := m.View(); !strings.Contains(v, "✓ OK") || !strings.Contains(v, "#1 HELLO?") {
		t.Errorf("results view:\n%s", v)
	}
	tuitest.Feed(m, 1, tuitest.Key("v"))
	if v := m.View(); !strings.Contains(v, `"text": "HELLO?"`) {
		t.Errorf("raw view:\n%s", v)
	}
}

func TestSchemaFields(t *testing.T) {
	eps := endpointList(&client.Endpoints{
		Endpoints: []string{"/index", "/search"}, WriteEndpoints: []string{"/index"},
		Schemas: map[string]any{"/index": map[string]any{"input": map[string]any{"name": "Product", "model": map[string]any{
			"properties": map[string]any{"title": map[string]any{"type": "string"}, "price": map[string]any{"type": "number"}},
		}}}},
	})
	if len(eps) != 2 || !eps[0].Write || len(eps[0].Fields) != 2 || eps[0].Fields[0] != (request.Field{Name: "price", Type: "number"}) || eps[1].Fields != nil {
		t.Errorf("endpoints = %+v", eps)
	}
}
