package router

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/engine/metrics"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestSendRetriesUnavailableOnAnotherReplica(t *testing.T) {
	for _, code := range []codes.Code{codes.Unavailable, codes.Aborted} {
		t.Run(code.String(), func(t *testing.T) {
			down := newConn("down").with(errorWith(code, "connection refused"))
			up := newConn("up")
			d := deployment("enc", down, up)
			d.Retries = 1
			for i := range 6 {
				resp, err := d.Send(context.Background(), newReq("/x", nil, "hi"))
				if err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
				if got := texts(t, resp); got != "hi>up" {
					t.Fatalf("send %d answered %q", i, got)
				}
			}
			if down.calls.Load() == 0 || up.calls.Load() != 6 {
				t.Fatalf("calls: down %d up %d (the rotation must try down first sometimes)", down.calls.Load(), up.calls.Load())
			}
		})
	}
}

func TestSendDoesNotRetryExecutorErrors(t *testing.T) {
	a, b := newConn("a").with(fail("a")), newConn("b").with(fail("b"))
	d := deployment("enc", a, b)
	d.Retries = 3
	resp, err := d.Send(context.Background(), newReq("/x", nil, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetName() != "ValueError" {
		t.Fatalf("status %v", st)
	}
	if n := a.calls.Load() + b.calls.Load(); n != 1 {
		t.Fatalf("an executor error was retried: %d calls", n)
	}
}

func TestSendDoesNotRetryInvalidArgument(t *testing.T) {
	a := newConn("a").with(errorWith(codes.InvalidArgument, "bad docs"))
	b := newConn("b").with(errorWith(codes.InvalidArgument, "bad docs"))
	d := deployment("enc", a, b)
	d.Retries = 3
	_, err := d.Send(context.Background(), newReq("/x", nil, "hi"))
	if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != "bad docs" {
		t.Fatalf("err %v", err)
	}
	if n := a.calls.Load() + b.calls.Load(); n != 1 {
		t.Fatalf("INVALID_ARGUMENT was retried: %d calls", n)
	}
}

func TestSendTimeoutRetriesAndPenalises(t *testing.T) {
	paused := newConn("paused").with(block)
	ok := newConn("ok")
	d := deployment("enc", paused, ok)
	d.Retries = 1
	d.TimeoutSend = 100 * time.Millisecond
	for i := range 6 {
		resp, err := d.Send(context.Background(), newReq("/x", nil, "hi"))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if got := texts(t, resp); got != "hi>ok" {
			t.Fatalf("send %d answered %q", i, got)
		}
	}
	// The paused replica got one request (the rotation tried it first
	// once), timed out, and is avoided afterwards.
	if n := paused.calls.Load(); n != 1 {
		t.Fatalf("paused replica called %d times, want 1 (then penalised)", n)
	}
	pt := d.Shards[0].Targets()[0]
	if until := time.Unix(0, pt.penalty.Load()); !until.After(time.Now().Add(500 * time.Millisecond)) {
		t.Fatalf("penalty until %v: want at least a second after the timeout", until)
	}
	if pt.Outstanding() != 0 || d.Shards[0].Targets()[1].Outstanding() != 0 {
		t.Fatal("outstanding not restored after the calls")
	}
}

func TestSendDeadlineNamesTimeoutSend(t *testing.T) {
	c := newConn("slow").with(block)
	d := deployment("enc", c)
	d.Retries = 2
	d.TimeoutSend = 20 * time.Millisecond
	_, err := d.Send(context.Background(), newReq("/x", nil, "hi"))
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err %v", err)
	}
	msg := status.Convert(err).Message()
	for _, want := range []string{"timeout_send", "deployment enc", "127.0.0.1:slow"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message %q lacks %q", msg, want)
		}
	}
	// The only replica, penalised or not, is tried again on each retry.
	if n := c.calls.Load(); n != 3 {
		t.Fatalf("%d calls, want 1 + 2 retries", n)
	}
}

func TestSendAllReplicasDown(t *testing.T) {
	a := newConn("a").with(errorWith(codes.Unavailable, "connection refused"))
	b := newConn("b").with(errorWith(codes.Unavailable, "connection refused"))
	d := deployment("enc", a, b)
	d.Retries = 3
	_, err := d.Send(context.Background(), newReq("/x", nil, "hi"))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v", err)
	}
	msg := status.Convert(err).Message()
	for _, want := range []string{"connection refused", "deployment enc", "127.0.0.1:a", "127.0.0.1:b"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "shard") {
		t.Fatalf("a single-shard deployment names no shard: %q", msg)
	}
	if n := a.calls.Load() + b.calls.Load(); n != 4 {
		t.Fatalf("%d calls, want 1 + 3 retries", n)
	}

	// Sharded: the message names the shard.
	s0 := newConn("s0").with(errorWith(codes.Unavailable, "refused"))
	s1 := newConn("s1").with(errorWith(codes.Unavailable, "refused"))
	d = &Deployment{Name: "idx", Shards: []*Pool{NewPool(target(s0)), NewPool(target(s1))}}
	_, err = d.Send(context.Background(), newReq("/x", nil, "hi"))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "deployment idx (shard ") {
		t.Fatalf("sharded: %v", err)
	}
}

func TestSendNoReadyReplica(t *testing.T) {
	tg, _ := switchable(newConn("a"), false)
	d := &Deployment{Name: "enc", Shards: []*Pool{NewPool(tg)}, Retries: 2}
	_, err := d.Send(context.Background(), newReq("/x", nil, "hi"))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "no ready replica of deployment enc") {
		t.Fatalf("err %v", err)
	}
	if d.Ready() {
		t.Fatal("Ready with no ready replica")
	}
	if (&Deployment{Name: "empty"}).Ready() {
		t.Fatal("a deployment without shards is not ready")
	}
}

func TestSendWaitsForAReplicaThatBecomesReady(t *testing.T) {
	c := newConn("late")
	tg := target(c)
	var mu sync.Mutex
	checks := 0
	tg.Ready = func() bool { // ready from the 4th check on (a restart)
		mu.Lock()
		defer mu.Unlock()
		checks++
		return checks > 3
	}
	d := &Deployment{Name: "enc", Shards: []*Pool{NewPool(tg)}, WaitReady: 10 * time.Second}
	resp, err := d.Send(context.Background(), newReq("/x", nil, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	if texts(t, resp) != "hi>late" {
		t.Fatalf("answered %q", texts(t, resp))
	}

	never, _ := switchable(newConn("never"), false)
	d = &Deployment{Name: "enc", Shards: []*Pool{NewPool(never)}, WaitReady: 30 * time.Millisecond}
	start := time.Now()
	if _, err := d.Send(context.Background(), newReq("/x", nil, "hi")); status.Code(err) != codes.Unavailable {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("did not wait WaitReady")
	}
}

func TestSendClientDeadlineIsNotRetried(t *testing.T) {
	a, b := newConn("a").with(block), newConn("b").with(block)
	d := deployment("enc", a, b)
	d.Retries = 3
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := d.Send(ctx, newReq("/x", nil, "hi"))
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err %v", err)
	}
	if n := a.calls.Load() + b.calls.Load(); n != 1 {
		t.Fatalf("%d calls after the client's deadline", n)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	a.with(errorWith(codes.Unavailable, "gone"))
	b.with(errorWith(codes.Unavailable, "gone"))
	if _, err := d.Send(ctx, newReq("/x", nil, "hi")); status.Code(err) != codes.Canceled {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestSendObserveAndStats(t *testing.T) {
	var mu sync.Mutex
	var outcomes []string
	stats := metrics.NewRecorder()
	c := newConn("a")
	d := deployment("enc", c)
	d.Retries = 0
	d.Stats = stats
	d.TimeoutSend = 100 * time.Millisecond
	d.Observe = func(outcome string, latency time.Duration) {
		mu.Lock()
		outcomes = append(outcomes, outcome)
		mu.Unlock()
		if latency <= 0 {
			t.Errorf("latency %v", latency)
		}
	}
	for _, h := range []handler{echo("a"), fail("a"), errorWith(codes.Unavailable, "x"), block} {
		c.with(h)
		d.Send(context.Background(), newReq("/x", nil, "hi"))
		d.Shards[0].Targets()[0].penalty.Store(0)
	}
	want := []string{"ok", "error", "unavailable", "timeout"}
	if strings.Join(outcomes, ",") != strings.Join(want, ",") {
		t.Fatalf("outcomes %v, want %v", outcomes, want)
	}
	if s := stats.Snapshot(); s.Requests != 4 || s.Errors != 3 || s.InFlight != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// sharded returns a deployment with one replica per conn, one shard each.
func sharded(name string, polling flow.PollingMap, conns ...*fakeConn) *Deployment {
	d := &Deployment{Name: name, Polling: polling}
	for _, c := range conns {
		d.Shards = append(d.Shards, NewPool(target(c)))
	}
	return d
}

func TestPollingAnyRotatesShards(t *testing.T) {
	s := []*fakeConn{newConn("s0"), newConn("s1"), newConn("s2")}
	d := sharded("idx", flow.PollingMap{"*": flow.Any}, s...)
	for range 9 {
		resp, err := d.Send(context.Background(), newReq("/x", nil, "q"))
		if err != nil {
			t.Fatal(err)
		}
		if docs := docsOf(t, resp); len(docs) != 1 {
			t.Fatalf("ANY must not reduce: %v", docs.Texts())
		}
	}
	for _, c := range s {
		if c.calls.Load() != 3 {
			t.Fatalf("shard calls %d/%d/%d, want 3 each", s[0].calls.Load(), s[1].calls.Load(), s[2].calls.Load())
		}
	}
}

func TestPollingAnyFallsBackWhenAShardIsDown(t *testing.T) {
	s := []*fakeConn{newConn("s0"), newConn("s1").with(errorWith(codes.Unavailable, "down")), newConn("s2")}
	d := sharded("idx", nil, s...) // default polling is ANY
	notReady, _ := switchable(newConn("s3"), false)
	d.Shards = append(d.Shards, NewPool(notReady))
	for i := range 8 {
		resp, err := d.Send(context.Background(), newReq("/x", nil, "q"))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if got := texts(t, resp); got != "q>s0" && got != "q>s2" {
			t.Fatalf("send %d answered %q", i, got)
		}
	}
	if s[1].calls.Load() == 0 {
		t.Fatal("the down shard was never tried")
	}
	// Other errors are not a reason to ask another shard.
	s[0].with(errorWith(codes.InvalidArgument, "bad"))
	s[2].with(errorWith(codes.InvalidArgument, "bad"))
	for range 4 {
		if _, err := d.Send(context.Background(), newReq("/x", nil, "q")); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("err %v", err)
		}
	}
}

// shardSearch is a shard of an index: it overwrites the text (shard 0
// first wins), tags the doc, adds one match and reports its shard.
func shardSearch(shard string) handler {
	return modify("idx/"+shard, func(docs docarray.DocList) (docarray.DocList, executors.Results) {
		for _, d := range docs {
			d.Text = "from " + shard
			d.SetTag(shard, true)
			d.Matches = append(d.Matches, &docarray.Document{ID: "m-" + shard, Text: shard})
		}
		docs = append(docs, &docarray.Document{ID: "only-" + shard})
		return docs, executors.Results{"shard": shard}
	})
}

func TestPollingAllReduces(t *testing.T) {
	s0 := newConn("s0").with(shardSearch("shard-0"))
	s1 := newConn("s1").with(shardSearch("shard-1"))
	d := sharded("idx", flow.PollingMap{"/search": flow.All, "*": flow.Any}, s0, s1)
	resp, err := d.Send(context.Background(), newReq("/search", map[string]any{"k": "v"}, "q"))
	if err != nil {
		t.Fatal(err)
	}
	if s0.calls.Load() != 1 || s1.calls.Load() != 1 {
		t.Fatal("ALL must reach every shard")
	}
	docs := docsOf(t, resp)
	if got := strings.Join(docs.IDs(), ","); got != "d0,only-shard-0,only-shard-1" {
		t.Fatalf("docs merged by id in order of appearance: %s", got)
	}
	q := docs[0]
	if q.Text != "from shard-0" {
		t.Fatalf("first shard wins: %q", q.Text)
	}
	if q.Tags["shard-0"] != true || q.Tags["shard-1"] != true {
		t.Fatalf("tags merged: %v", q.Tags)
	}
	if got := strings.Join(q.Matches.IDs(), ","); got != "m-shard-0,m-shard-1" {
		t.Fatalf("matches concatenated: %s", got)
	}
	res := results(resp)
	if len(res) != 2 || res["idx/shard-0"] == nil || res["idx/shard-1"] == nil {
		t.Fatalf("__results__ of every shard: %v", res)
	}
	if resp.GetParameters().AsMap()["k"] != "v" {
		t.Fatalf("client parameters lost: %v", resp.GetParameters().AsMap())
	}
	if resp.GetHeader().GetRequestId() != "req-1" {
		t.Fatalf("header %v", resp.GetHeader())
	}

	// Other endpoints are ANY: one shard.
	if _, err := d.Send(context.Background(), newReq("/index", nil, "q")); err != nil {
		t.Fatal(err)
	}
	if s0.calls.Load()+s1.calls.Load() != 3 {
		t.Fatal("/index must reach one shard")
	}
}

func TestPollingAllIgnoresUnreachableShards(t *testing.T) {
	s0 := newConn("s0").with(errorWith(codes.Unavailable, "down"))
	s1 := newConn("s1").with(shardSearch("shard-1"))
	d := sharded("idx", flow.PollingMap{"*": flow.All}, s0, s1)
	resp, err := d.Send(context.Background(), newReq("/search", nil, "q"))
	if err != nil {
		t.Fatal(err)
	}
	if docs := docsOf(t, resp); docs[0].Text != "from shard-1" || len(docs[0].Matches) != 1 {
		t.Fatalf("the reachable shard's answer: %v", docs.Texts())
	}

	s1.with(errorWith(codes.Unavailable, "down too"))
	_, err = d.Send(context.Background(), newReq("/search", nil, "q"))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "deployment idx (shard ") {
		t.Fatalf("all shards down: %v", err)
	}
}

func TestPollingAllPropagatesExecutorError(t *testing.T) {
	s0 := newConn("s0").with(shardSearch("shard-0"))
	s1 := newConn("s1").with(fail("idx"))
	d := sharded("idx", flow.PollingMap{"*": flow.All}, s0, s1)
	resp, err := d.Send(context.Background(), newReq("/search", nil, "q"))
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetExecutor() != "idx" {
		t.Fatalf("a shard's executor error must fail the request: %v", st)
	}
}

func TestReduceSinglePartAndRoutes(t *testing.T) {
	req := newReq("/x", nil, "q")
	one := newReq("/x", nil, "a")
	if got, err := Reduce(req, []*jinapb.DataRequestProto{one}); err != nil || got != one {
		t.Fatal("one part is returned as is")
	}
	shared := &jinapb.RouteProto{Executor: "enc"}
	a, b := newReq("/x", nil, "a"), newReq("/x", nil, "b")
	a.Routes = []*jinapb.RouteProto{shared, {Executor: "left"}}
	b.Routes = []*jinapb.RouteProto{shared, {Executor: "right"}}
	got, err := Reduce(req, []*jinapb.DataRequestProto{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if names := strings.Join(routeNames(got), ","); names != "enc,left,right" {
		t.Fatalf("routes %s: shared entries once, then each branch", names)
	}
	if texts(t, got) != "a" {
		t.Fatalf("first part wins: %s", texts(t, got))
	}
	bad := &jinapb.DataRequestProto{Data: &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: []byte("\xff\xff")}}}
	if _, err := Reduce(req, []*jinapb.DataRequestProto{a, bad}); status.Code(err) != codes.Internal {
		t.Fatalf("undecodable part: %v", err)
	}
}

func TestHandlesAndSetEndpoints(t *testing.T) {
	d := &Deployment{Name: "idx"}
	if !d.Handles("/anything") {
		t.Fatal("unknown endpoints: send everything")
	}
	d.SetEndpoints([]string{"/search", "/index"})
	for ep, want := range map[string]bool{"/search": true, "/index": true, "/x": false, "/default": false, executors.DryRunEndpoint: true} {
		if d.Handles(ep) != want {
			t.Errorf("Handles(%q) = %v", ep, !want)
		}
	}
	d.SetEndpoints([]string{"/search", executors.DefaultEndpoint})
	if !d.Handles("/x") {
		t.Fatal("a default handler serves every endpoint")
	}
	d.SetEndpoints([]string{})
	if d.Handles("/x") || !d.Handles(executors.DryRunEndpoint) {
		t.Fatal("no endpoints: only dry runs")
	}
	d.SetEndpoints(nil)
	if !d.Handles("/x") {
		t.Fatal("nil: unknown again")
	}
}

func TestIsTransport(t *testing.T) {
	if !IsTransport(status.Error(codes.Unavailable, "x")) || IsTransport(context.Canceled) || IsTransport(nil) {
		t.Fatal("IsTransport")
	}
}
