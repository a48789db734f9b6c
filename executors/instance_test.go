package executors_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// greeter is a test executor covering every handler shape.
type greeter struct {
	executors.Base
	Greeting string            `yaml:"greeting"`
	Times    int               `yaml:"times"`
	Labels   map[string]string `yaml:"labels"`

	inited  bool
	closed  atomic.Int32
	failIn  bool
	state   []string
	stateMu sync.Mutex
}

func (g *greeter) Endpoints(r *executors.Router) {
	r.Default(g.Greet)
	r.On("/upper", g.Upper, "/shout")
	r.On("/single", g.Single)
	r.On("/results", g.Count)
	r.On("/fail", g.Fail)
	r.On("/panic", g.Panic)
	r.On("/params", g.Params)
	r.On("/call", g.Call)
	r.On("/replace", g.Replace)
	r.Write("/index", g.Index)
}

func (g *greeter) Init(ctx context.Context) error {
	if g.failIn {
		return errors.New("init refused")
	}
	g.inited = true
	return nil
}

func (g *greeter) Close() error { g.closed.Add(1); return nil }

func (g *greeter) Greet(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	for _, d := range docs {
		d.Text = strings.Repeat(g.Greeting+" ", max(g.Times, 1)) + d.Text
	}
	return nil, nil
}

func (g *greeter) Upper(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	for _, d := range docs {
		d.Text = strings.ToUpper(d.Text)
	}
	return nil, nil
}

func (g *greeter) Single(ctx context.Context, d *docarray.Document, p executors.Params) (*docarray.Document, error) {
	if d.Text == "bad" {
		return nil, errors.New("cannot handle bad")
	}
	return &docarray.Document{ID: d.ID, Text: "single:" + d.Text}, nil
}

func (g *greeter) Count(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, executors.Results, error) {
	return nil, executors.Results{"count": len(docs)}, nil
}

func (g *greeter) Fail(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	return nil, executors.Errorf("ValueError", "%d docs is too many", len(docs))
}

func (g *greeter) Panic(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	var m map[string]int
	//lint:ignore SA5000 the nil map write is the point: a real runtime panic
	m["boom"]++
	return nil, nil
}

func (g *greeter) Params(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	for _, d := range docs {
		for k, v := range p {
			d.SetTag(k, v)
		}
	}
	return nil, nil
}

func (g *greeter) Call(ctx context.Context, c *executors.Call) error {
	c.Docs = append(c.Docs, &docarray.Document{ID: "added", Text: c.Endpoint})
	c.Results = executors.Results{"endpoint": c.Endpoint}
	return nil
}

func (g *greeter) Replace(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	return docarray.DocList{{ID: "new", Text: "replaced"}}, nil
}

func (g *greeter) Index(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	g.stateMu.Lock()
	defer g.stateMu.Unlock()
	g.state = append(g.state, docs.Texts()...)
	return nil, nil
}

func init() {
	executors.Register("TestGreeter", func() executors.Executor { return &greeter{Greeting: "hello"} })
	executors.Register("TestFailingInit", func() executors.Executor { return &greeter{failIn: true} })
}

func newInstance(t *testing.T, with map[string]any) *executors.Instance {
	t.Helper()
	spec, err := executors.NewSpec("TestGreeter", with)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = "greet"
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close() })
	return inst
}

func request(endpoint string, params map[string]any, texts ...string) *jinapb.DataRequestProto {
	docs := make(docarray.DocList, len(texts))
	for i, t := range texts {
		docs[i] = &docarray.Document{ID: fmt.Sprint("d", i), Text: t}
	}
	req := &jinapb.DataRequestProto{
		Header: &jinapb.HeaderProto{RequestId: "r1", ExecEndpoint: proto.String(endpoint)},
		Data:   &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: docs.ToProto()}},
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

func respDocs(t *testing.T, resp *jinapb.DataRequestProto) docarray.DocList {
	t.Helper()
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("status %v: %s", st.GetCode(), st.GetDescription())
	}
	docs, err := executors.RequestDocs(resp)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func TestDispatch(t *testing.T) {
	inst := newInstance(t, map[string]any{"greeting": "hi", "times": 2})
	cases := []struct {
		endpoint string
		want     []string
	}{
		{"/upper", []string{"A", "B"}},
		{"/shout", []string{"A", "B"}},                // second endpoint of one On
		{"/anything", []string{"hi hi a", "hi hi b"}}, // default endpoint
		{"/default", []string{"hi hi a", "hi hi b"}},
		{"/single", []string{"single:a", "single:b"}},
	}
	for _, c := range cases {
		t.Run(c.endpoint, func(t *testing.T) {
			got := respDocs(t, inst.Process(context.Background(), request(c.endpoint, nil, "a", "b"))).Texts()
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestReturnShapes(t *testing.T) {
	inst := newInstance(t, nil)
	ctx := context.Background()

	got := respDocs(t, inst.Process(ctx, request("/replace", nil, "a", "b")))
	if len(got) != 1 || got[0].Text != "replaced" {
		t.Fatalf("returned docs must replace the input, got %v", got.Texts())
	}

	resp := inst.Process(ctx, request("/results", map[string]any{"keep": "me"}, "a", "b", "c"))
	res := resp.GetParameters().AsMap()
	want := map[string]any{"count": float64(3)}
	if r, _ := res[executors.ResultsKey].(map[string]any); fmt.Sprint(r["greet"]) != fmt.Sprint(want) {
		t.Fatalf("__results__ = %v, want greet: %v", res[executors.ResultsKey], want)
	}
	if res["keep"] != "me" {
		t.Fatalf("client parameters must be kept, got %v", res)
	}

	resp = inst.Process(ctx, request("/call", nil, "a"))
	got = respDocs(t, resp)
	if len(got) != 2 || got[1].Text != "/call" {
		t.Fatalf("Call handler: got %v", got.Texts())
	}
}

func TestPassThroughWithoutDefault(t *testing.T) {
	// An executor without a default handler leaves unknown endpoints alone:
	// the very same message comes back (no decode/encode).
	spec, _ := executors.NewSpec("TestGreeter", nil)
	// Remapping Greet moves it off /default, so nothing serves /elsewhere.
	spec.UsesRequests = map[string]string{"/only": "Upper", "/greet": "Greet"}
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	req := request("/elsewhere", nil, "a")
	if resp := inst.Process(context.Background(), req); resp != req {
		t.Fatal("request for an unserved endpoint must pass through unchanged")
	}
	// Remapping removed the methods' old endpoints and kept the others.
	eps := inst.Endpoints()
	if slices.Contains(eps.Endpoints, "/upper") || slices.Contains(eps.Endpoints, executors.DefaultEndpoint) || !slices.Contains(eps.Endpoints, "/only") || !slices.Contains(eps.Endpoints, "/fail") {
		t.Fatalf("remap: endpoints = %v", eps.Endpoints)
	}
	if req := request(executors.DryRunEndpoint, nil); inst.Process(context.Background(), req) != req {
		t.Fatal("dry run must pass through")
	}
}

func TestRemapRules(t *testing.T) {
	// Jina's test_override_requests, in Go terms.
	cases := []struct {
		remap map[string]string
		want  []string
	}{
		{map[string]string{"/nofoo": "Upper"}, []string{"/call", "/default", "/fail", "/index", "/nofoo", "/panic", "/params", "/replace", "/results", "/single", "_jina_dry_run_"}},
		{map[string]string{"/new": "Greet"}, []string{"/call", "/fail", "/index", "/new", "/panic", "/params", "/replace", "/results", "/shout", "/single", "/upper", "_jina_dry_run_"}},
	}
	for _, c := range cases {
		spec, _ := executors.NewSpec("TestGreeter", nil)
		spec.UsesRequests = c.remap
		inst, err := executors.New(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := inst.Endpoints().Endpoints; !slices.Equal(got, c.want) {
			t.Errorf("remap %v: endpoints %v, want %v", c.remap, got, c.want)
		}
		inst.Close()
	}
	spec, _ := executors.NewSpec("TestGreeter", nil)
	spec.UsesRequests = map[string]string{"/x": "NoSuchMethod"}
	if _, err := executors.New(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "NoSuchMethod") {
		t.Fatalf("remap to an unknown method must fail naming it, got %v", err)
	}
}

func TestWriteEndpointsAndDiscovery(t *testing.T) {
	inst := newInstance(t, nil)
	eps := inst.Endpoints()
	if !slices.Equal(eps.WriteEndpoints, []string{"/index"}) {
		t.Fatalf("write endpoints = %v", eps.WriteEndpoints)
	}
	if !inst.IsWrite("/index") || inst.IsWrite("/upper") || inst.IsWrite("/unknown") {
		t.Fatal("IsWrite disagrees with the declaration")
	}
	if !inst.Handles("/unknown") { // default handler
		t.Fatal("the default handler serves unknown endpoints")
	}
}

func TestErrorsBecomeStatus(t *testing.T) {
	inst := newInstance(t, nil)
	ctx := context.Background()

	resp := inst.Process(ctx, request("/fail", nil, "a", "b"))
	st := resp.GetHeader().GetStatus()
	if st.GetCode() != jinapb.StatusProto_ERROR {
		t.Fatalf("want ERROR, got %v", st)
	}
	ex := st.GetException()
	if ex.GetName() != "ValueError" || ex.GetExecutor() != "greet" || !slices.Equal(ex.GetArgs(), []string{"2 docs is too many"}) {
		t.Fatalf("exception = %v", ex)
	}
	if resp.GetHeader().GetRequestId() != "r1" {
		t.Fatal("the request id must be kept on errors")
	}

	st = inst.Process(ctx, request("/panic", nil, "a")).GetHeader().GetStatus()
	if st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetName() != "Panic" || len(st.GetException().GetStacks()) == 0 {
		t.Fatalf("a panic must become an ERROR with a stack, got %v", st)
	}
	if !strings.Contains(strings.Join(st.GetException().GetArgs(), " "), "nil map") {
		t.Fatalf("panic message lost: %v", st.GetException().GetArgs())
	}

	st = inst.Process(ctx, request("/single", nil, "ok", "bad")).GetHeader().GetStatus()
	if st.GetCode() != jinapb.StatusProto_ERROR || !strings.Contains(st.GetDescription(), "doc 1 (id d1)") {
		t.Fatalf("single-doc errors must name the doc, got %q", st.GetDescription())
	}
	// The instance still serves after a panic.
	if got := respDocs(t, inst.Process(ctx, request("/upper", nil, "x"))).Texts(); got[0] != "X" {
		t.Fatal("instance broken after panic")
	}
}

func TestScopedParameters(t *testing.T) {
	inst := newInstance(t, nil)
	params := map[string]any{
		"shared":      "all",
		"greet__k":    "mine",
		"other__k":    "theirs",
		"greet":       map[string]any{"nested": true},
		"__results__": map[string]any{"x": map[string]any{}},
	}
	got := respDocs(t, inst.Process(context.Background(), request("/params", params, "a")))[0].Tags
	// The worker only merges parameters[name] (Jina's _parse_params);
	// NAME__key keys are the gateway's to resolve (engine/router).
	want := map[string]any{"shared": "all", "greet__k": "mine", "other__k": "theirs", "nested": true, "greet": map[string]any{"nested": true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scoped params = %v, want %v", got, want)
	}
}

func TestScopeRules(t *testing.T) {
	p := executors.Scope(map[string]any{"a__b__c": 1, "__x__": 2, "plain": 4, "ex": map[string]any{"plain": 5}, "meta": map[string]any{"m": 6}, "__results__": 7}, "ex", "meta")
	want := executors.Params{"a__b__c": 1, "__x__": 2, "plain": 5, "m": 6, "ex": map[string]any{"plain": 5}, "meta": map[string]any{"m": 6}}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Fatalf("Scope = %v, want %v", p, want)
	}
}

func TestLifecycle(t *testing.T) {
	inst := newInstance(t, nil)
	g := inst.Executor().(*greeter)
	if !g.inited {
		t.Fatal("Init not called")
	}
	inst.Close()
	inst.Close()
	if g.closed.Load() != 1 {
		t.Fatalf("Close called %d times, want exactly once", g.closed.Load())
	}

	spec, _ := executors.NewSpec("TestFailingInit", nil)
	_, err := executors.New(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "init refused") {
		t.Fatalf("Init error must surface, got %v", err)
	}
}

func TestWritesAreSerialised(t *testing.T) {
	inst := newInstance(t, nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst.Process(context.Background(), request("/index", nil, fmt.Sprint(i)))
			inst.Process(context.Background(), request("/upper", nil, "read"))
		}()
	}
	wg.Wait()
	if n := len(inst.Executor().(*greeter).state); n != 50 {
		t.Fatalf("got %d writes, want 50", n)
	}
}

func TestDocsBytesForm(t *testing.T) {
	inst := newInstance(t, nil)
	docs := docarray.FromTexts("a")
	b, _ := docs.Marshal()
	req := &jinapb.DataRequestProto{
		Header: &jinapb.HeaderProto{ExecEndpoint: proto.String("/upper")},
		Data:   &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: b}},
	}
	resp := inst.Process(context.Background(), req)
	if _, ok := resp.GetData().GetDocuments().(*jinapb.DataRequestProto_DataContentProto_DocsBytes); !ok {
		t.Fatal("a docs_bytes request must be answered with docs_bytes")
	}
	if got := respDocs(t, resp).Texts(); got[0] != "A" {
		t.Fatalf("got %v", got)
	}
	// Corrupt bytes give a BadRequest status, not a panic.
	req.Data.Documents = &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: []byte{0xff, 0x01}}
	if st := inst.Process(context.Background(), req).GetHeader().GetStatus(); st.GetException().GetName() != "BadRequest" {
		t.Fatalf("corrupt docs_bytes: %v", st)
	}
}

func TestConfigYAML(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yml")
	os.WriteFile(path, []byte("jtype: TestGreeter\nwith:\n  greeting: hey\n  labels: {a: b}\nmetas:\n  name: g1\n  description: greets\nrequests:\n  /hallo: Greet\ndynamic_batching:\n  /hallo: {preferred_batch_size: 8, timeout: 5}\n"), 0o600)
	cfg, err := executors.LoadConfig(dir) // a folder works too
	if err != nil {
		t.Fatal(err)
	}
	inst, err := executors.New(context.Background(), executors.Spec{Config: cfg, Runtime: executors.RuntimeArgs{Name: "dep"}})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	g := inst.Executor().(*greeter)
	if g.Greeting != "hey" || g.Labels["a"] != "b" || g.Metas.Name != "g1" || g.Metas.Description != "greets" {
		t.Fatalf("config not applied: %+v %+v", g.Greeting, g.Metas)
	}
	if b := inst.Batching()["/hallo"]; b.PreferredBatchSize != 8 || b.Timeout != 5 {
		t.Fatalf("batching = %+v", b)
	}
	if got := respDocs(t, inst.Process(context.Background(), request("/hallo", nil, "x"))).Texts(); got[0] != "hey x" {
		t.Fatalf("remapped endpoint: %v", got)
	}
}

func TestConfigErrorsNameFileLineField(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "jtype: TestGreeter\nwth: {}\n", "cfg.yml:2:1: wth: unknown field \"wth\""},
		{"unknown with key", "jtype: TestGreeter\nwith:\n  greting: hi\n", "cfg.yml:3:3: with.greting: unknown field \"greting\""},
		{"wrong type", "jtype: TestGreeter\nwith:\n  times: lots\n", "cfg.yml:3:10: with.times: want an integer, got \"lots\""},
		{"unknown jtype", "jtype: Nope\n", "cfg.yml:1:8: jtype: unknown executor type \"Nope\""},
		{"missing jtype", "with: {}\n", "jtype: missing"},
		{"py_modules", "jtype: X\npy_modules: [a.py]\n", "py_modules: Python executors cannot run inside jig"},
		{"bad yaml", "jtype: [\n", "cfg.yml:1: invalid YAML"},
		{"metas type", "jtype: TestGreeter\nmetas:\n  keywords: 3\n", "cfg.yml:3:13: metas.keywords: want a list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := executors.ParseConfig("cfg.yml", []byte(c.yaml))
			if err == nil {
				_, err = executors.New(context.Background(), executors.Spec{Config: cfg})
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want it to contain %q", err, c.want)
			}
			if !errors.Is(err, executors.ErrBadInput) {
				t.Fatalf("config errors must be ErrBadInput: %v", err)
			}
		})
	}
}

func TestUsesWithOverride(t *testing.T) {
	n, err := yamlutil.FromJSONOrYAML("flow.yml", `{"greeting": "yo"}`)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := executors.NewSpec("TestGreeter", map[string]any{"greeting": "hey", "times": 3})
	spec.UsesWith = &executors.Override{Node: n, File: "flow.yml", Field: "executors[0].uses_with"}
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	g := inst.Executor().(*greeter)
	if g.Greeting != "yo" || g.Times != 3 {
		t.Fatalf("uses_with must override with: and keep the rest, got %q %d", g.Greeting, g.Times)
	}
	bad, _ := yamlutil.FromJSONOrYAML("flow.yml", `{"tims": 1}`)
	spec.UsesWith = &executors.Override{Node: bad, File: "flow.yml", Field: "executors[0].uses_with"}
	if _, err := executors.New(context.Background(), spec); err == nil || !strings.Contains(err.Error(), `executors[0].uses_with.tims: unknown field "tims"`) {
		t.Fatalf("got %v", err)
	}
}

func TestWorkspace(t *testing.T) {
	base := t.TempDir()
	spec, _ := executors.NewSpec("TestGreeter", nil)
	spec.Runtime = executors.RuntimeArgs{Name: "g", Workspace: base, ShardID: 1, Shards: 2}
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	ws, err := inst.Executor().(*greeter).Workspace()
	if err != nil {
		t.Fatal(err)
	}
	// metas.name defaults to the deployment's name, so two deployments of
	// one type do not share a workspace.
	if want := filepath.Join(base, "g", "1"); ws != want {
		t.Fatalf("workspace %s, want %s", ws, want)
	}
	st, err := os.Stat(ws)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("workspace must exist with mode 0700: %v %v", st.Mode(), err)
	}
	// Outside a flow (no deployment name) it is the type's name.
	alone, _ := executors.NewSpec("TestGreeter", nil)
	alone.Runtime = executors.RuntimeArgs{Workspace: base}
	inst2, err := executors.New(context.Background(), alone)
	if err != nil {
		t.Fatal(err)
	}
	defer inst2.Close()
	if ws, _ := inst2.Executor().(*greeter).Workspace(); ws != filepath.Join(base, "TestGreeter", "0") {
		t.Fatalf("workspace without a deployment name: %s", ws)
	}
	t.Setenv("XDG_CACHE_HOME", "/cache")
	if got := executors.WorkspacePath("", "", "X", 0); got != "/cache/jig/X/0" {
		t.Fatalf("default workspace = %s", got)
	}
	if got := executors.WorkspacePath("", "/m", "X", 0); got != "/m/X/0" {
		t.Fatalf("metas workspace = %s", got)
	}
}

func TestContextCancellationReachesHandler(t *testing.T) {
	inst := newInstance(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	// Single-doc handlers check ctx between documents.
	st := inst.Process(ctx, request("/single", nil, "a", "b")).GetHeader().GetStatus()
	if st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetName() != "DeadlineExceeded" {
		t.Fatalf("got %v", st)
	}
}

type badSig struct{ executors.Base }

func (b *badSig) Endpoints(r *executors.Router) {
	r.On("/x", func(s string) {})
	r.On("/y", b.Endpoints) // wrong shape, too
}

func TestBadHandlerSignature(t *testing.T) {
	executors.Register("TestBadSig", func() executors.Executor { return &badSig{} })
	spec, _ := executors.NewSpec("TestBadSig", nil)
	_, err := executors.New(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "unsupported signature func(string)") || !strings.Contains(err.Error(), "endpoint /y") {
		t.Fatalf("got %v", err)
	}
}

// Apply runs the handler for its effect and reports its error, without
// building a response (RAFT followers).
func TestApply(t *testing.T) {
	inst := newInstance(t, nil)
	if err := inst.Apply(context.Background(), request("/results", nil, "a")); err != nil {
		t.Fatal(err)
	}
	err := inst.Apply(context.Background(), request("/fail", nil, "a", "b"))
	if err == nil || !strings.Contains(err.Error(), "2 docs is too many") {
		t.Fatalf("handler error: %v", err)
	}
	if err := inst.Apply(context.Background(), request("/panic", nil, "a")); err == nil {
		t.Fatal("a panic must be an error")
	}
}
