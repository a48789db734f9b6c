package router

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/metrics"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

const linear = `
executors:
  - {name: a, uses: RouterNop}
  - {name: b, uses: RouterNop}
  - {name: c, uses: RouterNop}
`

func TestRouteLinear(t *testing.T) {
	r, conns := testFlow(t, linear)
	if !r.linear {
		t.Fatal("a chain is linear")
	}
	before := time.Now()
	resp, err := r.Route(context.Background(), newReq("/x", nil, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(t, resp); got != "hi>a>b>c" {
		t.Fatalf("docs %q", got)
	}
	if got := strings.Join(routeNames(resp), ","); got != "gateway,a,b,c" {
		t.Fatalf("routes %s", got)
	}
	var prevEnd time.Time
	for i, rt := range resp.GetRoutes() {
		start, end := rt.GetStartTime().AsTime(), rt.GetEndTime().AsTime()
		if start.Before(before.Add(-time.Millisecond)) || end.Before(start) {
			t.Fatalf("route %s: %v..%v", rt.GetExecutor(), start, end)
		}
		if rt.GetStatus() != nil {
			t.Fatalf("route %s has a status on success", rt.GetExecutor())
		}
		if i == 0 {
			continue // the gateway spans the others
		}
		if start.Before(prevEnd) {
			t.Fatalf("route %s started before the previous one ended", rt.GetExecutor())
		}
		prevEnd = end
	}
	gw := resp.GetRoutes()[0]
	if gw.GetEndTime().AsTime().Before(prevEnd) || gw.GetStartTime().AsTime().After(resp.GetRoutes()[1].GetStartTime().AsTime()) {
		t.Fatal("the gateway route must span the executors")
	}
	// Each executor saw the previous one's output.
	if got := conns["c"].lastDocs(t).Texts()[0]; got != "hi>a>b" {
		t.Fatalf("c got %q", got)
	}
	if res := results(resp); len(res) != 3 {
		t.Fatalf("__results__ %v", res)
	}
}

func TestRouteKeepsRequestID(t *testing.T) {
	r, conns := testFlow(t, linear)
	// The last executor answers with another header (and one without).
	for _, h := range []*jinapb.HeaderProto{{RequestId: "other", ExecEndpoint: strp("/x")}, nil} {
		conns["c"].with(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
			return &jinapb.DataRequestProto{Header: h, Data: req.GetData()}, nil
		})
		resp, err := r.Route(context.Background(), newReq("/x", nil, "hi"))
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.GetHeader().GetRequestId(); got != "req-1" {
			t.Fatalf("request id %q, want the client's", got)
		}
		if h != nil && resp.GetHeader().GetExecEndpoint() != "/x" {
			t.Fatalf("header %v", resp.GetHeader())
		}
	}
}

func strp(s string) *string { return &s }

func TestRouteResetsParameters(t *testing.T) {
	r, conns := testFlow(t, linear)
	// a tampers with the parameters and adds results; b and c must see the
	// client's parameters, and no results (Jina's gateway sends each
	// deployment request_input_parameters; results are collected for the
	// response).
	conns["a"].with(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		resp, err := echo("a")(ctx, req)
		if err != nil {
			return nil, err
		}
		p := resp.GetParameters().AsMap()
		p["k"] = "tampered"
		p["injected"] = true
		resp.Parameters, _ = structpb.NewStruct(p)
		return resp, nil
	})
	resp, err := r.Route(context.Background(), newReq("/x", map[string]any{"k": 1.0}, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b", "c"} {
		got := conns[name].requests()[0].GetParameters().AsMap()
		if got["k"] != 1.0 || got["injected"] != nil {
			t.Fatalf("%s saw parameters %v", name, got)
		}
		if res, ok := got[executors.ResultsKey]; ok {
			t.Fatalf("%s was sent results %v", name, res)
		}
	}
	p := resp.GetParameters().AsMap()
	if p["k"] != 1.0 || p["injected"] != nil || len(results(resp)) != 3 {
		t.Fatalf("response parameters %v", p)
	}
	// A node without results passes the client's parameters on.
	conns["a"].with(modify("a", func(d docarray.DocList) (docarray.DocList, executors.Results) { return d, nil }))
	conns["b"].with(modify("b", func(d docarray.DocList) (docarray.DocList, executors.Results) { return d, nil }))
	conns["c"].with(modify("c", func(d docarray.DocList) (docarray.DocList, executors.Results) { return d, nil }))
	resp, err = r.Route(context.Background(), newReq("/x", map[string]any{"k": 2.0}, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if p := resp.GetParameters().AsMap(); p["k"] != 2.0 || p[executors.ResultsKey] != nil {
		t.Fatalf("parameters without results %v", p)
	}
}

func TestRouteLinearFailureStops(t *testing.T) {
	r, conns := testFlow(t, linear)
	conns["b"].with(fail("b"))
	resp, err := r.Route(context.Background(), newReq("/x", nil, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetExecutor() != "b" {
		t.Fatalf("status %v", st)
	}
	if conns["c"].calls.Load() != 0 {
		t.Fatal("c ran after b failed")
	}
	if got := strings.Join(routeNames(resp), ","); got != "gateway,a,b" {
		t.Fatalf("routes %s", got)
	}
	if rt := resp.GetRoutes()[2]; rt.GetStatus().GetCode() != jinapb.StatusProto_ERROR {
		t.Fatalf("the failing route carries the status: %v", rt)
	}

	conns["b"].with(errorWith(codes.Unavailable, "refused"))
	_, err = r.Route(context.Background(), newReq("/x", nil, "hi"))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "deployment b") {
		t.Fatalf("transport failure: %v", err)
	}
}

func TestRouteStats(t *testing.T) {
	r, conns := testFlow(t, linear)
	r.stats = metrics.NewRecorder()
	r.Route(context.Background(), newReq("/x", nil, "hi"))
	conns["a"].with(fail("a"))
	r.Route(context.Background(), newReq("/x", nil, "hi"))
	conns["a"].with(errorWith(codes.Unavailable, "x"))
	r.Route(context.Background(), newReq("/x", nil, "hi"))
	if s := r.stats.Snapshot(); s.Requests != 3 || s.Errors != 2 || s.InFlight != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRouteTargetExecutor(t *testing.T) {
	r, conns := testFlow(t, `
executors:
  - {name: enc, uses: RouterNop}
  - {name: idx, uses: RouterNop}
  - {name: post, uses: RouterNop}
`)
	cases := []struct {
		pattern string
		want    string // texts after the flow
		called  []string
	}{
		{"po.*", "hi>post", []string{"post"}},
		{"po", "hi>post", []string{"post"}},                  // a prefix match, like re.match
		{"ost", "hi", nil},                                   // not a search
		{"enc|post", "hi>enc>post", []string{"enc", "post"}}, // alternation stays anchored
		{"", "hi>enc>idx>post", []string{"enc", "idx", "post"}},
	}
	for _, c := range cases {
		for _, cn := range conns {
			cn.calls.Store(0)
		}
		req := newReq("/x", nil, "hi")
		if c.pattern != "" {
			req.Header.TargetExecutor = strp(c.pattern)
		}
		resp, err := r.Route(context.Background(), req)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := texts(t, resp); got != c.want {
			t.Errorf("target %q: %q, want %q", c.pattern, got, c.want)
		}
		if got := strings.Join(routeNames(resp), ","); got != strings.Join(append([]string{"gateway"}, c.called...), ",") {
			t.Errorf("target %q: routes %s", c.pattern, got)
		}
		for name, cn := range conns {
			want := int64(0)
			for _, n := range c.called {
				if n == name {
					want = 1
				}
			}
			if cn.calls.Load() != want {
				t.Errorf("target %q: %s called %d times", c.pattern, name, cn.calls.Load())
			}
		}
	}
	req := newReq("/x", nil, "hi")
	req.Header.TargetExecutor = strp("(unclosed")
	_, err := r.Route(context.Background(), req)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "(unclosed") {
		t.Fatalf("invalid regex: %v", err)
	}
}

func TestRouteEndpointSkip(t *testing.T) {
	r, conns := testFlow(t, linear)
	r.Deployment("b").SetEndpoints([]string{"/search"})
	resp, err := r.Route(context.Background(), newReq("/x", nil, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if texts(t, resp) != "hi>a>c" || strings.Join(routeNames(resp), ",") != "gateway,a,c" || conns["b"].calls.Load() != 0 {
		t.Fatalf("b must be skipped for /x: %s %v", texts(t, resp), routeNames(resp))
	}
	resp, err = r.Route(context.Background(), newReq("/search", nil, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if texts(t, resp) != "hi>a>b>c" {
		t.Fatalf("/search: %s", texts(t, resp))
	}
}

func TestRouteWhenFilter(t *testing.T) {
	r, conns := testFlow(t, `
executors:
  - {name: a, uses: RouterNop}
  - {name: b, uses: RouterNop, when: {tags__keep: {$eq: true}}}
  - {name: c, uses: RouterNop}
`)
	req := newReq("/x", nil)
	docs := docarray.DocList{
		{ID: "keep", Text: "k", Tags: map[string]any{"keep": true}},
		{ID: "drop", Text: "d", Tags: map[string]any{"keep": false}},
		{ID: "none", Text: "n"},
	}
	if err := executors.SetRequestDocs(req, docs); err != nil {
		t.Fatal(err)
	}
	resp, err := r.Route(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(conns["a"].lastDocs(t).IDs(), ","); got != "keep,drop,none" {
		t.Fatalf("a got %s", got)
	}
	if got := strings.Join(conns["b"].lastDocs(t).IDs(), ","); got != "keep" {
		t.Fatalf("b got %s (filtered)", got)
	}
	if got := strings.Join(conns["c"].lastDocs(t).IDs(), ","); got != "keep" {
		t.Fatalf("c got %s: the filter holds for the rest of the branch", got)
	}
	if got := texts(t, resp); got != "k>a>b>c" {
		t.Fatalf("response %s", got)
	}
	// The client's request is not modified by the filter.
	if n := len(docsOf(t, req)); n != 3 {
		t.Fatalf("the request lost documents: %d", n)
	}
}

const dagFlow = `
executors:
  - {name: left, uses: RouterNop}
  - {name: right, uses: RouterNop, needs: gateway}
  - {name: join, uses: RouterNop, needs: [right, left]}
`

func TestRouteDAGJoin(t *testing.T) {
	r, conns := testFlow(t, dagFlow)
	if r.linear {
		t.Fatal("a DAG is not linear")
	}
	conns["left"].with(modify("left", func(docs docarray.DocList) (docarray.DocList, executors.Results) {
		docs[0].Text = "L"
		docs[0].SetTag("left", true)
		return append(docs, &docarray.Document{ID: "l-only"}), executors.Results{"side": "left"}
	}))
	conns["right"].with(modify("right", func(docs docarray.DocList) (docarray.DocList, executors.Results) {
		docs[0].Text = "R"
		docs[0].SetTag("right", true)
		return append(docs, &docarray.Document{ID: "r-only"}), executors.Results{"side": "right"}
	}))
	resp, err := r.Route(context.Background(), newReq("/x", map[string]any{"k": "v"}, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	in := conns["join"].lastDocs(t)
	// needs: [right, left] — right comes first, so it wins on text.
	if got := strings.Join(in.IDs(), ","); got != "d0,r-only,l-only" {
		t.Fatalf("join got %s", got)
	}
	if in[0].Text != "R" || in[0].Tags["left"] != true || in[0].Tags["right"] != true {
		t.Fatalf("join merged %q %v", in[0].Text, in[0].Tags)
	}
	// The join is sent the client's parameters only; the branches'
	// results are collected by the router (below).
	jp := conns["join"].requests()[0].GetParameters().AsMap()
	if jp["k"] != "v" || len(jp) != 1 {
		t.Fatalf("join parameters %v", jp)
	}
	if got := texts(t, resp); got != "R>join,>join,>join" {
		t.Fatalf("response %q", got)
	}
	names := routeNames(resp)
	if names[0] != "gateway" || names[len(names)-1] != "join" || len(names) != 4 {
		t.Fatalf("routes %v", names)
	}
	if res := results(resp); len(res) != 3 {
		t.Fatalf("__results__ %v", res)
	}
	if resp.GetHeader().GetRequestId() != "req-1" {
		t.Fatal("request id")
	}
}

func TestRouteDAGBranchFailure(t *testing.T) {
	r, conns := testFlow(t, dagFlow)
	conns["left"].with(fail("left"))
	resp, err := r.Route(context.Background(), newReq("/x", nil, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetExecutor() != "left" {
		t.Fatalf("status %v", st)
	}
	if conns["join"].calls.Load() != 0 {
		t.Fatal("join ran after a branch failed")
	}

	conns["left"].with(echo("left"))
	conns["right"].with(errorWith(codes.Unavailable, "refused"))
	_, err = r.Route(context.Background(), newReq("/x", nil, "hi"))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "deployment right") {
		t.Fatalf("transport failure in a branch: %v", err)
	}
	if conns["join"].calls.Load() != 0 {
		t.Fatal("join ran after a branch failed")
	}
}

// TestRouteDAGFailureDoesNotWaitForSiblings: join needs [right, left];
// left fails at once while right hangs. The request ends with left's
// error, not with a timeout after right.
func TestRouteDAGFailureDoesNotWaitForSiblings(t *testing.T) {
	r, conns := testFlow(t, dagFlow)
	conns["left"].with(fail("left"))
	rightCtxErr := make(chan error, 1)
	conns["right"].with(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		<-ctx.Done()
		rightCtxErr <- ctx.Err()
		return nil, status.FromContextError(ctx.Err()).Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := r.Route(ctx, newReq("/x", nil, "hi"))
	if err != nil {
		t.Fatalf("the executor error was masked: %v", err)
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetExecutor() != "left" {
		t.Fatalf("status %v", st)
	}
	if ctx.Err() != nil {
		t.Fatal("the request waited for the hanging sibling")
	}
	// The sibling branch was cancelled, not left running.
	if err := <-rightCtxErr; err != context.Canceled {
		t.Fatalf("right branch ended with %v", err)
	}
	if conns["join"].calls.Load() != 0 {
		t.Fatal("join ran")
	}
}

func TestRouteDAGClientCancel(t *testing.T) {
	r, conns := testFlow(t, dagFlow)
	conns["right"].with(block)
	conns["right"].entered = make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := r.Route(ctx, newReq("/x", nil, "hi"))
		errc <- err
	}()
	<-conns["right"].entered
	cancel()
	if err := <-errc; status.Code(err) != codes.Canceled {
		t.Fatalf("err %v", err)
	}
}

const floatingFlow = `
executors:
  - {name: a, uses: RouterNop}
  - {name: float, uses: RouterNop, needs: a}
  - {name: out, uses: RouterNop, needs: a}
`

func TestRouteFloatingNotAwaited(t *testing.T) {
	f, conns := testFlow(t, floatingFlow)
	release := make(chan struct{})
	var floatCtxErr error
	floatDone := make(chan struct{})
	conns["float"].entered = make(chan string, 1)
	conns["float"].with(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		defer close(floatDone)
		select {
		case <-release:
		case <-ctx.Done():
			floatCtxErr = ctx.Err()
		}
		return echo("float")(ctx, req)
	})
	resp, err := f.Route(context.Background(), newReq("/x", nil, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(t, resp); got != "hi>a>out" {
		t.Fatalf("response %q", got)
	}
	if strings.Contains(strings.Join(routeNames(resp), ","), "float") {
		t.Fatalf("routes %v include the floating deployment", routeNames(resp))
	}
	// The floating deployment got a's output, and is still running.
	<-conns["float"].entered
	if got := conns["float"].lastDocs(t).Texts()[0]; got != "hi>a" {
		t.Fatalf("float got %q", got)
	}

	closed := make(chan struct{})
	go func() {
		f.Close(context.Background())
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while floating work was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-closed
	<-floatDone
	if floatCtxErr != nil {
		t.Fatalf("floating work was cancelled: %v", floatCtxErr)
	}
}

func TestRouteCloseCancelsFloatingAfterDeadline(t *testing.T) {
	f, conns := testFlow(t, floatingFlow)
	conns["float"].entered = make(chan string, 1)
	floatErr := make(chan error, 1)
	conns["float"].with(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		<-ctx.Done()
		floatErr <- ctx.Err()
		return nil, status.FromContextError(ctx.Err()).Err()
	})
	// The client's context ends with the response: floating work must not
	// depend on it.
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := f.Route(ctx, newReq("/x", nil, "hi")); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-conns["float"].entered
	select {
	case err := <-floatErr:
		t.Fatalf("floating work ended with the client's request: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer ccancel()
	f.Close(cctx)
	select {
	case err := <-floatErr:
		if err == nil {
			t.Fatal("no error")
		}
	default:
		t.Fatal("Close returned before the cancelled floating work ended")
	}
}

func TestRouteFloatingFailureDoesNotFailRequest(t *testing.T) {
	f, conns := testFlow(t, floatingFlow)
	conns["float"].with(fail("float"))
	conns["float"].entered = make(chan string, 1)
	resp, err := f.Route(context.Background(), newReq("/x", nil, "hi"))
	if err != nil || resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
		t.Fatalf("%v %v", err, resp.GetHeader().GetStatus())
	}
	<-conns["float"].entered
	f.Close(context.Background())
}

// Drain waits for requests still in Route (a flow change stops removed
// deployments only after the old router's requests are through).
func TestRouteDrainWaitsForInflight(t *testing.T) {
	r, conns := testFlow(t, dagFlow)
	release := make(chan struct{})
	conns["right"].entered = make(chan string, 1)
	conns["right"].with(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		<-release
		return echo("right")(ctx, req)
	})
	if err := r.Drain(context.Background()); err != nil {
		t.Fatalf("idle router: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := r.Route(context.Background(), newReq("/x", nil, "hi"))
		errc <- err
	}()
	<-conns["right"].entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.Drain(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Drain with a request in flight: %v, want the deadline", err)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := r.Drain(context.Background()); err != nil {
		t.Fatalf("after the request: %v", err)
	}
}
