package engine_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/enginetest"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// spanTree indexes the spans of one trace by id for parent checks.
type spanTree struct {
	t     *testing.T
	spans []tracetest.SpanStub
	byID  map[string]tracetest.SpanStub
}

func traceOf(t *testing.T, exp *tracetest.InMemoryExporter, traceID string) *spanTree {
	t.Helper()
	if err := tracing.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := &spanTree{t: t, byID: map[string]tracetest.SpanStub{}}
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID().String() == traceID {
			st.spans = append(st.spans, s)
			st.byID[s.SpanContext.SpanID().String()] = s
		}
	}
	return st
}

// one returns the only span named name.
func (st *spanTree) one(name string) tracetest.SpanStub {
	st.t.Helper()
	var found []tracetest.SpanStub
	for _, s := range st.spans {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		st.t.Fatalf("want one span %q, got %d among %v", name, len(found), st.names())
	}
	return found[0]
}

func (st *spanTree) prefixed(prefix string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range st.spans {
		if strings.HasPrefix(s.Name, prefix) {
			out = append(out, s)
		}
	}
	return out
}

func (st *spanTree) names() []string {
	var n []string
	for _, s := range st.spans {
		n = append(n, s.Name)
	}
	return n
}

// parentOf fails unless child's parent is parent.
func (st *spanTree) parentOf(parent, child tracetest.SpanStub) {
	st.t.Helper()
	if child.Parent.SpanID() != parent.SpanContext.SpanID() {
		got := st.byID[child.Parent.SpanID().String()].Name
		st.t.Errorf("parent of %q is %q (%s), want %q", child.Name, got, child.Parent.SpanID(), parent.Name)
	}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

// TestTracingSpanTree runs a stateful write through a flow with tracing
// on and checks the span tree: the client's traceparent is the parent of
// the gateway span and comes back in the response header; each deployment
// hop has its call and executor spans; the write's RAFT apply records the
// commit index; a write sent to a follower's worker shows the forward to
// the leader, whose executor continues the trace over gRPC.
func TestTracingSpanTree(t *testing.T) {
	if testing.Short() {
		t.Skip("RAFT cluster")
	}
	exp := tracetest.NewInMemoryExporter()
	rec := tracing.NewRecorder(0)
	eng := startFlowIn(t, t.TempDir(), `
jtype: Flow
executors:
  - name: embed
    uses: builtin:HashEmbedder
    replicas: 2
  - name: index
    uses: builtin:SimpleIndexer
    uses_with: {persist: false}
    replicas: 3
    stateful: true
`, engine.Options{TraceExporter: exp, Traces: rec, OpenReplicas: true})
	enginetest.WaitForLeader(t, eng, "index")

	traceID, tp := tracing.NewTraceparent()
	clientSpan := strings.Split(tp, "-")[2]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, tracing.TraceparentKey, tp)
	var header metadata.MD
	req := newReq("/index", nil, "hello world", "good bye")
	resp, err := jinapb.NewJinaSingleDataRequestRPCClient(dial(t, eng.Addresses().GRPC)).ProcessSingleData(ctx, req, grpc.Header(&header))
	if err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("/index: %v %v", err, resp.GetHeader().GetStatus())
	}
	if got := header.Get(tracing.TraceparentKey); len(got) != 1 || !strings.Contains(got[0], traceID) {
		t.Errorf("response traceparent %v, want one of trace %s", got, traceID)
	}

	st := traceOf(t, exp, traceID)
	gw := st.one("gateway /index")
	if gw.Parent.SpanID().String() != clientSpan || !gw.Parent.IsRemote() {
		t.Errorf("gateway parent %s, want the client's %s", gw.Parent.SpanID(), clientSpan)
	}
	if attr(gw, tracing.AttrDocs) != "2" || attr(gw, tracing.AttrRequestID) != "r" || attr(gw, tracing.AttrEndpoint) != "/index" {
		t.Errorf("gateway attributes %v", gw.Attributes)
	}
	for _, dep := range []string{"embed", "index"} {
		d := st.one("deployment " + dep)
		st.parentOf(gw, d)
		calls := st.prefixed("call " + dep + "/")
		if len(calls) != 1 {
			t.Fatalf("%s: calls %v", dep, st.names())
		}
		st.parentOf(d, calls[0])
		if attr(calls[0], tracing.AttrAttempt) != "0" || attr(calls[0], tracing.AttrShard) != "0" || attr(calls[0], tracing.AttrReplica) == "" {
			t.Errorf("call attributes %v", calls[0].Attributes)
		}
		st.parentOf(calls[0], st.one("executor "+dep+" /index"))
	}
	apply := st.one("raft.apply")
	st.parentOf(st.one("executor index /index"), apply)
	if attr(apply, tracing.AttrRaftIndex) == "" || attr(apply, tracing.AttrRaftIndex) == "0" {
		t.Errorf("raft.apply attributes %v", apply.Attributes)
	}
	// The recorder saw the same spans (the workbench's waterfall).
	if n := len(rec.Trace(traceID)); n != len(st.spans) {
		t.Errorf("recorder has %d spans of the trace, exporter %d", n, len(st.spans))
	}

	// A write straight to a follower's worker: forwarded to the leader.
	var follower string
	for _, d := range eng.Status().Deployments {
		for _, r := range d.ReplicaStatus {
			if d.Name == "index" && r.Raft != nil && r.Raft.State == "Follower" && r.State == events.Ready {
				follower = r.Address
			}
		}
	}
	if follower == "" {
		t.Fatal("no ready follower")
	}
	traceID, tp = tracing.NewTraceparent()
	fctx := metadata.AppendToOutgoingContext(context.Background(), tracing.TraceparentKey, tp)
	fctx, fcancel := context.WithTimeout(fctx, 30*time.Second)
	defer fcancel()
	if _, err := jinapb.NewJinaSingleDataRequestRPCClient(dial(t, follower)).ProcessSingleData(fctx, newReq("/index", nil, "forwarded")); err != nil {
		t.Fatal(err)
	}
	st = traceOf(t, exp, traceID)
	execs := st.prefixed("executor index /index")
	if len(execs) != 2 {
		t.Fatalf("want the follower's and the leader's executor spans, got %v", st.names())
	}
	fwd := st.one("raft.forward")
	var first, leader tracetest.SpanStub
	for _, e := range execs {
		if e.Parent.IsRemote() && e.Parent.SpanID().String() == strings.Split(tp, "-")[2] {
			first = e
		} else {
			leader = e
		}
	}
	st.parentOf(first, fwd)
	st.parentOf(fwd, leader)
	if attr(fwd, tracing.AttrRaftLeader) == "" {
		t.Errorf("raft.forward attributes %v", fwd.Attributes)
	}
	st.parentOf(leader, st.one("raft.apply"))
}

// TestTracingOff checks that a flow without tracing installs no provider:
// no span is made (the helpers return at once).
func TestTracingOff(t *testing.T) {
	eng := startFlow(t, "jtype: Flow\nexecutors:\n  - {name: echo, uses: builtin:Echo}\n")
	if tracing.Enabled() {
		t.Fatal("tracing is on without tracing: true")
	}
	enginetest.Route(t, eng, "/x", nil, nil)
	if tracing.Enabled() {
		t.Fatal("tracing turned on")
	}
}

// TestTracingHTTPTraceparent: over HTTP too, the caller's traceparent
// header is the gateway span's parent and comes back with the gateway's.
func TestTracingHTTPTraceparent(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	eng := startFlowIn(t, t.TempDir(), "jtype: Flow\nwith: {protocol: http}\nexecutors:\n  - {name: echo, uses: builtin:Echo}\n",
		engine.Options{TraceExporter: exp})
	traceID, tp := tracing.NewTraceparent()
	req, err := http.NewRequest("POST", "http://"+eng.Addresses().HTTP+"/x", strings.NewReader(`{"data": [{"text": "ok"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(tracing.TraceparentKey, tp)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get(tracing.TraceparentKey), traceID) {
		t.Fatalf("status %d, traceparent %q, want one of trace %s", res.StatusCode, res.Header.Get(tracing.TraceparentKey), traceID)
	}
	st := traceOf(t, exp, traceID)
	gw := st.one("gateway /x")
	if !gw.Parent.IsRemote() || gw.Parent.SpanID().String() != strings.Split(tp, "-")[2] {
		t.Errorf("gateway parent %v", gw.Parent)
	}
	call := st.one("call echo/rep-0")
	st.parentOf(st.one("deployment echo"), call)
	st.parentOf(call, st.one("executor echo /x"))
}
