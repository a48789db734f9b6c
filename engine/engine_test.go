package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/examples"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tagger appends its deployment name to each document's text and records
// the parameters it saw in tags.
type tagger struct {
	executors.Base
	Suffix string `yaml:"suffix"`
	closed *atomic.Int32
}

func (t *tagger) Endpoints(r *executors.Router) {
	r.Default(t.Tag)
	r.On("/fail", t.Fail)
}

func (t *tagger) Tag(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, executors.Results, error) {
	for _, d := range docs {
		d.Text += ">" + t.Runtime.Name + t.Suffix
		if v, ok := p["k"]; ok {
			d.SetTag(t.Runtime.Name+"_k", v)
		}
	}
	return nil, executors.Results{"n": len(docs)}, nil
}

func (t *tagger) Fail(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	return nil, executors.Errorf("ValueError", "%s refuses", t.Runtime.Name)
}

func (t *tagger) Close() error {
	if t.closed != nil {
		t.closed.Add(1)
	}
	return nil
}

// sharder answers /search with one match per shard, and keeps the shard id
// in tags.
type sharder struct{ executors.Base }

func (s *sharder) Endpoints(r *executors.Router) { r.On("/search", s.Search) }

func (s *sharder) Search(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, executors.Results, error) {
	for _, d := range docs {
		d.SetTag("shard", s.Runtime.ShardID)
		if s.Runtime.ShardID == 0 {
			d.Text = "from shard 0"
		}
		d.Matches = append(d.Matches, &docarray.Document{ID: fmt.Sprint("m", s.Runtime.ShardID), Text: fmt.Sprint("shard ", s.Runtime.ShardID)})
	}
	return nil, executors.Results{"shard": s.Runtime.ShardID}, nil
}

var closedCount atomic.Int32

func init() {
	executors.Register("EngTagger", func() executors.Executor { return &tagger{closed: &closedCount} })
	executors.Register("EngSharder", func() executors.Executor { return &sharder{} })
}

func startFlow(t *testing.T, yml string) *engine.Engine {
	t.Helper()
	return startFlowIn(t, t.TempDir(), yml)
}

// startFlowIn starts a flow whose relative paths start at dir.
func startFlowIn(t *testing.T, dir, yml string, opts ...engine.Options) *engine.Engine {
	t.Helper()
	if !filepath.IsAbs(dir) {
		dir, _ = filepath.Abs(dir)
	}
	f, err := flow.Parse("test.yml", dir, []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	var o engine.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	eng, err := engine.Start(context.Background(), f, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := eng.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return eng
}

func dial(t *testing.T, addr string, extra ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func newReq(endpoint string, params map[string]any, texts ...string) *jinapb.DataRequestProto {
	docs := docarray.DocList{}
	for i, t := range texts {
		docs = append(docs, &docarray.Document{ID: fmt.Sprint("d", i), Text: t})
	}
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String(endpoint)}}
	executors.SetRequestDocs(req, docs)
	if params != nil {
		req.Parameters, _ = structpb.NewStruct(params)
	}
	return req
}

func send(t *testing.T, cc *grpc.ClientConn, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, docarray.DocList) {
	t.Helper()
	resp, err := jinapb.NewJinaSingleDataRequestRPCClient(cc).ProcessSingleData(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := executors.RequestDocs(resp)
	if err != nil {
		t.Fatal(err)
	}
	return resp, docs
}

func routeNames(r *jinapb.DataRequestProto) []string {
	var out []string
	for _, rt := range r.GetRoutes() {
		out = append(out, rt.GetExecutor())
	}
	return out
}

func TestLinearFlowRoutesAndResults(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - {name: a, uses: EngTagger}
  - {name: b, uses: EngTagger, replicas: 2, uses_with: {suffix: "!"}}
`)
	cc := dial(t, eng.Addresses().GRPC)
	resp, docs := send(t, cc, newReq("/x", map[string]any{"k": 1, "a__k": "only-a"}, "hi"))
	if docs[0].Text != "hi>a>b!" {
		t.Fatalf("text %q", docs[0].Text)
	}
	if got := routeNames(resp); !slices.Equal(got, []string{"gateway", "a", "b"}) {
		t.Fatalf("routes %v", got)
	}
	for _, r := range resp.GetRoutes() {
		if !r.GetEndTime().AsTime().After(r.GetStartTime().AsTime()) && r.GetExecutor() != "gateway" {
			t.Fatalf("route %s has no timing", r.GetExecutor())
		}
	}
	// Executor-scoped parameters: a saw its own k, b the shared one.
	if docs[0].Tags["a_k"] != "only-a" || docs[0].Tags["b_k"] != float64(1) {
		t.Fatalf("scoped params: %v", docs[0].Tags)
	}
	res := resp.GetParameters().AsMap()["__results__"].(map[string]any)
	if len(res) != 2 || res["a"] == nil || res["b"] == nil {
		t.Fatalf("__results__ = %v", res)
	}
}

func TestDAGJoinAndFloating(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - {name: left, uses: EngTagger}
  - {name: right, uses: EngTagger, needs: gateway}
  - {name: float, uses: EngTagger, needs: gateway}
  - {name: join, uses: EngTagger, needs: [left, right]}
`)
	cc := dial(t, eng.Addresses().GRPC)
	resp, docs := send(t, cc, newReq("/x", nil, "hi"))
	// Joined by id, the first input (left) wins on text.
	if len(docs) != 1 || docs[0].Text != "hi>left>join" {
		t.Fatalf("join docs: %v", docs.Texts())
	}
	got := routeNames(resp)
	for _, want := range []string{"gateway", "left", "right", "join"} {
		if !slices.Contains(got, want) {
			t.Fatalf("routes %v lack %s", got, want)
		}
	}
	if slices.Contains(got, "float") {
		t.Fatalf("floating deployment must not be in the response: %v", got)
	}
	if f := eng.Flow().Graph; !f.Floating["float"] || f.Output != "join" {
		t.Fatalf("graph: %+v", f)
	}
}

func TestShardsAllReduce(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - {name: idx, uses: EngSharder, shards: 3, polling: {/search: ALL, "*": ANY}}
`)
	cc := dial(t, eng.Addresses().GRPC)
	resp, docs := send(t, cc, newReq("/search", nil, "q"))
	if len(docs) != 1 {
		t.Fatalf("docs %d", len(docs))
	}
	if len(docs[0].Matches) != 3 {
		t.Fatalf("matches of all shards must be concatenated: %v", docs[0].Matches.Texts())
	}
	if docs[0].Text != "from shard 0" || docs[0].Tags["shard"] != int64(0) {
		t.Fatalf("the first shard wins: %q %v", docs[0].Text, docs[0].Tags)
	}
	res := resp.GetParameters().AsMap()["__results__"].(map[string]any)
	if len(res) != 3 {
		t.Fatalf("results of every shard: %v", res)
	}
}

func TestTargetExecutorAndEndpointSkip(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - {name: enc, uses: EngTagger}
  - {name: idx, uses: EngSharder}
  - {name: post, uses: EngTagger}
`)
	cc := dial(t, eng.Addresses().GRPC)
	req := newReq("/x", nil, "hi")
	req.Header.TargetExecutor = proto.String("po.*")
	_, docs := send(t, cc, req)
	if docs[0].Text != "hi>post" {
		t.Fatalf("target_executor: %q", docs[0].Text)
	}
	// idx serves only /search: /x skips it (no route entry).
	resp, _ := send(t, cc, newReq("/x", nil, "hi"))
	if got := routeNames(resp); slices.Contains(got, "idx") {
		t.Fatalf("deployment without the endpoint must be skipped: %v", got)
	}
}

func TestExecutorErrorStopsFlow(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - {name: a, uses: EngTagger}
  - {name: b, uses: EngTagger}
`)
	cc := dial(t, eng.Addresses().GRPC)
	resp, _ := send(t, cc, newReq("/fail", nil, "x"))
	st := resp.GetHeader().GetStatus()
	if st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetExecutor() != "a" || st.GetException().GetName() != "ValueError" {
		t.Fatalf("status %v", st)
	}
	if got := routeNames(resp); slices.Contains(got, "b") {
		t.Fatalf("executors after a failure must be skipped: %v", got)
	}
}

func TestCallStreamAndDryRun(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - {name: a, uses: EngTagger, replicas: 3}
`)
	cc := dial(t, eng.Addresses().GRPC)
	st, err := jinapb.NewJinaGatewayDryRunRPCClient(cc).DryRun(context.Background(), &emptypb.Empty{})
	if err != nil || st.GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("dry run: %v %v", st, err)
	}
	stream, err := jinapb.NewJinaRPCClient(cc).Call(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	go func() {
		for i := range n {
			r := newReq("/x", nil, fmt.Sprint(i))
			r.Header.RequestId = fmt.Sprint(i)
			stream.Send(r)
		}
		stream.CloseSend()
	}()
	seen := 0
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		docs, _ := executors.RequestDocs(resp)
		if docs[0].Text != resp.GetHeader().GetRequestId()+">a" {
			t.Fatalf("response %s: %q", resp.GetHeader().GetRequestId(), docs[0].Text)
		}
		seen++
	}
	if seen != n {
		t.Fatalf("got %d of %d", seen, n)
	}
	// Every replica served some requests.
	for _, r := range eng.Status().Deployments[0].ReplicaStatus {
		if r.State != events.Ready {
			t.Fatalf("replica %s %s", r.Name, r.State)
		}
	}
}

func TestKillReplicaUnderLoad(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - {name: a, uses: EngTagger, replicas: 2}
`)
	cc := dial(t, eng.Addresses().GRPC)
	client := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	var failures, total atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := client.ProcessSingleData(context.Background(), newReq("/x", nil, "x"))
				total.Add(1)
				if err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
					failures.Add(1)
				}
			}
		}()
	}
	waitFor(t, func() bool { return total.Load() > 200 })
	if err := eng.KillReplica(context.Background(), "a", 0, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		rs := eng.Status().Deployments[0].ReplicaStatus
		return rs[0].Restarts == 1 && rs[0].State == events.Ready
	})
	before := total.Load()
	waitFor(t, func() bool { return total.Load() > before+200 })
	cancel()
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed while a replica was killed", failures.Load(), total.Load())
	}
}

func TestAllReplicasDownIsUnavailable(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - {name: solo, uses: EngTagger}
`)
	cc := dial(t, eng.Addresses().GRPC)
	eng.KillReplica(context.Background(), "solo", 0, 0)
	// The restart is quick; race it with a request that must fail or
	// succeed cleanly, never hang.
	_, err := jinapb.NewJinaSingleDataRequestRPCClient(cc).ProcessSingleData(context.Background(), newReq("/x", nil, "x"))
	if err != nil && (status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "solo")) {
		t.Fatalf("want UNAVAILABLE naming the deployment, got %v", err)
	}
}

func TestHTTPGateway(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
with: {protocol: [grpc, http]}
executors:
  - {name: a, uses: EngTagger}
`)
	base := "http://" + eng.Addresses().HTTP
	post := func(path, body string) (int, map[string]any) {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	code, m := post("/foo", `{"data":[{"text":"hello"}],"parameters":{"k":"v"}}`)
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	data := m["data"].([]any)
	if data[0].(map[string]any)["text"] != "hello>a" {
		t.Fatalf("data %v", data)
	}
	if h := m["header"].(map[string]any); h["status"].(map[string]any)["code"] != "SUCCESS" || h["execEndpoint"] != "/foo" {
		t.Fatalf("header %v", h)
	}
	code, m = post("/post", `{"execEndpoint":"/fail","data":[{"text":"x"}]}`)
	if code != 500 || m["header"].(map[string]any)["status"].(map[string]any)["exception"].(map[string]any)["name"] != "ValueError" {
		t.Fatalf("executor error: %d %v", code, m)
	}
	code, m = post("/foo", `{"data":[{"text":1}]}`)
	if code != 400 || !strings.Contains(fmt.Sprint(m["error"]), "doc 0") {
		t.Fatalf("bad doc: %d %v", code, m)
	}
	code, m = post("/foo", `{"dat":[]}`)
	if code != 400 || !strings.Contains(fmt.Sprint(m["error"]), "dat") {
		t.Fatalf("unknown key: %d %v", code, m)
	}
	for _, path := range []string{"/status", "/dry_run", "/endpoints", "/docs", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if path == "/metrics" && !bytes.Contains(body, []byte(`jig_requests_total{deployment="a",outcome="ok"}`)) {
			t.Fatalf("metrics lack request counters:\n%s", body)
		}
		if path == "/docs" && !bytes.Contains(body, []byte(`"/default"`)) {
			t.Fatalf("OpenAPI lacks the endpoint: %s", body)
		}
	}
}

func TestStopClosesEveryExecutor(t *testing.T) {
	f, err := flow.Parse("test.yml", t.TempDir(), []byte("jtype: Flow\nexecutors:\n  - {name: a, uses: EngTagger, replicas: 3}\n  - {name: b, uses: EngTagger, shards: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	before := closedCount.Load()
	eng, err := engine.Start(context.Background(), f, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := closedCount.Load() - before; got != 5 {
		t.Fatalf("Close called %d times, want 5", got)
	}
	<-eng.Done()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	waitfor.True(t, "the condition", 10*time.Second, cond)
}

func mustStruct(m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		panic(err)
	}
	return s
}

func mustParse(t *testing.T, yml string) *flow.Flow {
	t.Helper()
	f, err := flow.Parse("test.yml", t.TempDir(), []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The quickstart flow end to end: /index then /search through both
// shards. Each document keeps one chunk per sentence (the shards pass the
// query's chunks back unchanged: the reduce must not double them) and
// finds the indexed document it matches best.
func TestQuickstartIndexThenSearch(t *testing.T) {
	yml := strings.Replace(string(examples.Quickstart), "port: [12345, 12346]", "port: [0, 0]", 1)
	eng := startFlow(t, yml)
	cc := dial(t, eng.Addresses().GRPC)
	if resp, _ := send(t, cc, newReq("/index", nil, "The cat sat on the mat.", "Go is fun. Raft is a protocol.")); resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("index: %v", resp.GetHeader().GetStatus())
	}
	resp, docs := send(t, cc, newReq("/search", map[string]any{"limit": 1}, "the cat on the mat", "raft. go."))
	if resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS || len(docs) != 2 {
		t.Fatalf("search: %v, %d docs", resp.GetHeader().GetStatus(), len(docs))
	}
	for i, want := range []struct {
		chunks int
		match  string
	}{{1, "the cat sat on the mat."}, {2, "go is fun. raft is a protocol."}} {
		d := docs[i]
		if len(d.Chunks) != want.chunks {
			t.Errorf("doc %d: %d chunks %v, want %d", i, len(d.Chunks), d.Chunks.Texts(), want.chunks)
		}
		if len(d.Matches) == 0 || d.Matches[0].Text != want.match {
			t.Errorf("doc %d: matches %v, want %q first", i, d.Matches.Texts(), want.match)
		}
	}
}

// Replicas that come up one after the other at start-up do not make a
// deployment "degraded": it goes from starting to ready.
func TestStartupIsNotDegraded(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - {name: a, uses: EngTagger, replicas: 3}
`)
	var states []events.State
	for _, e := range eng.Bus().Recent() {
		if s, ok := e.(events.DeploymentState); ok && s.Deployment == "a" {
			states = append(states, s.State)
		}
	}
	if slices.Contains(states, events.Degraded) || len(states) == 0 || states[len(states)-1] != events.Ready {
		t.Fatalf("deployment states %v, want no degraded and ready last", states)
	}
}
