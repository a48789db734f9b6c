package examples_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/engine/enginetest"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/examples"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/yamlutil"

	_ "github.com/jig-dev/jig/executors/builtin"
)

// yamlFiles lists every YAML file of the examples, split into flows
// (jtype Flow or Deployment) and executor configs.
func yamlFiles(t *testing.T) (flows, configs []string) {
	t.Helper()
	all, err := filepath.Glob("*/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("*/*.yaml")
	for _, f := range append(all, more...) {
		node, err := yamlutil.LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		switch jt := yamlutil.Lookup(node, "jtype"); {
		case jt != nil && (jt.Value == "Flow" || jt.Value == "Deployment"):
			flows = append(flows, f)
		default:
			configs = append(configs, f)
		}
	}
	return flows, configs
}

// TestEveryExampleLoads loads each example flow and executor config the
// way `jig up` and the engine do, so that none of them rots.
func TestEveryExampleLoads(t *testing.T) {
	flows, configs := yamlFiles(t)
	for _, want := range []string{"quickstart/flow.yml", "greeter/flow.yml", "stateful/flow.yml", "search/flow.yml"} {
		if !slices.Contains(flows, want) {
			t.Errorf("%s is not among the example flows %v", want, flows)
		}
	}
	for _, f := range flows {
		if _, err := flow.Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(f), "README.md")); err != nil {
			t.Errorf("%s has no README.md beside it", f)
		}
	}
	for _, f := range configs {
		if _, err := executors.LoadSourceConfig(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// The embedded copy `jig` opens from any folder is the file itself.
	file, err := os.ReadFile("quickstart/flow.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, examples.Quickstart) {
		t.Error("examples.Quickstart differs from quickstart/flow.yml")
	}
	if _, err := flow.Parse("quickstart", t.TempDir(), examples.Quickstart); err != nil {
		t.Error(err)
	}
}

// start runs an example flow on free ports with its workspace in a
// temporary folder; adjust may change the loaded flow first.
func start(t *testing.T, file string, adjust func(*flow.Flow)) *engine.Engine {
	t.Helper()
	f, err := flow.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	for p := range f.Gateway.Ports {
		f.Gateway.Ports[p] = 0
	}
	f.Gateway.Workspace = ws
	for _, d := range f.Deployments {
		d.Workspace = ws
	}
	if adjust != nil {
		adjust(f)
	}
	eng, err := engine.Start(context.Background(), f, engine.Options{Builder: &build.Builder{CacheDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := eng.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return eng
}

// post routes a request through the flow (as its gateway does) and returns
// the documents and the executors' results.
func post(t *testing.T, eng *engine.Engine, endpoint string, docs docarray.DocList, params map[string]any) (docarray.DocList, map[string]any) {
	t.Helper()
	resp, out := enginetest.Route(t, eng, endpoint, docs, params)
	results, _ := resp.GetParameters().AsMap()[executors.ResultsKey].(map[string]any)
	return out, results
}

// texts makes documents with fresh ids, as `jig post --text` does.
func texts(ss ...string) docarray.DocList {
	var out docarray.DocList
	for _, s := range ss {
		out = append(out, &docarray.Document{ID: docarray.NewID(), Text: s})
	}
	return out
}

// count is an executor's results["count"].
func count(results map[string]any, name string) any {
	r, _ := results[name].(map[string]any)
	return r["count"]
}

func TestQuickstartRuns(t *testing.T) {
	t.Parallel() // free ports, own workspace and build cache
	if testing.Short() {
		t.Skip("runs the flow")
	}
	eng := start(t, "quickstart/flow.yml", nil)
	post(t, eng, "/index", texts("The cat sat on the mat.", "Go is fun."), nil)
	got, _ := post(t, eng, "/search", texts("a cat on a mat"), map[string]any{"limit": 1})
	if len(got) != 1 || len(got[0].Matches) != 1 || got[0].Matches[0].Text != "the cat sat on the mat." {
		t.Fatalf("search: %+v", got)
	}
}

func TestGreeterRuns(t *testing.T) {
	t.Parallel() // free ports, own workspace and build cache
	if testing.Short() {
		t.Skip("builds the greeter and runs the flow")
	}
	eng := start(t, "greeter/flow.yml", nil)
	got, _ := post(t, eng, "/default", texts("  ADA  ", "World"), nil)
	if !slices.Equal(got.Texts(), []string{"hi ada!", "hi world!"}) {
		t.Fatalf("got %q", got.Texts())
	}
	got, _ = post(t, eng, "/shout", texts("grace"), nil)
	if !slices.Equal(got.Texts(), []string{"HI GRACE!"}) {
		t.Fatalf("got %q", got.Texts())
	}
}

func TestStatefulRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a RAFT cluster")
	}
	// Reads from the leader, so that a read right after a write sees it.
	eng := start(t, "stateful/flow.yml", func(f *flow.Flow) { f.Deployment("index").Consistency = flow.Leader })
	if d := eng.Flow().Deployment("index"); d.Replicas != 3 || !d.Stateful {
		t.Fatalf("index: %d replicas, stateful %v", d.Replicas, d.Stateful)
	}
	enginetest.WaitForLeader(t, eng, "index")
	post(t, eng, "/index", texts("raft keeps replicas in agreement", "go is fun", "cats sleep a lot"), nil)
	got, _ := post(t, eng, "/search", texts("agreement between replicas"), map[string]any{"limit": 1})
	if len(got) != 1 || len(got[0].Matches) != 1 || got[0].Matches[0].Text != "raft keeps replicas in agreement" {
		t.Fatalf("search: %+v", got)
	}
	if _, res := post(t, eng, "/count", nil, nil); count(res, "index") != float64(3) {
		t.Errorf("count: %v", res)
	}
}

func TestSearchRuns(t *testing.T) {
	t.Parallel() // free ports, own workspace and build cache
	if testing.Short() {
		t.Skip("runs the flow")
	}
	eng := start(t, "search/flow.yml", nil)
	f, err := os.Open("search/docs.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs docarray.DocList
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		d := &docarray.Document{}
		if err := json.Unmarshal(sc.Bytes(), d); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	if len(docs) != 20 {
		t.Fatalf("%d documents in docs.jsonl", len(docs))
	}
	// As `jig post --request-size 5`: four requests, polling ANY.
	for i := 0; i < len(docs); i += 5 {
		post(t, eng, "/index", docs[i:i+5], nil)
	}
	_, res := post(t, eng, "/count", nil, nil)
	if count(res, "index/shard-0") != float64(10) || count(res, "index/shard-1") != float64(10) {
		t.Errorf("counts per shard: %v", res)
	}
	got, _ := post(t, eng, "/search", texts("consensus for replicated logs"), map[string]any{"limit": 2})
	// Each shard answers with its best two; the reduce puts them together
	// (shard by shard, not re-ranked).
	if len(got) != 1 || len(got[0].Matches) != 4 {
		t.Fatalf("search: %d documents, matches %q", len(got), got[0].Matches.IDs())
	}
	best := slices.SortedFunc(slices.Values(got[0].Matches), func(a, b *docarray.Document) int {
		sa, _ := a.Score("cosine")
		sb, _ := b.Score("cosine")
		return cmp.Compare(sb, sa)
	})
	if !slices.Equal(docarray.DocList(best[:2]).IDs(), []string{"raft", "paxos"}) {
		t.Errorf("best matches %q, want raft and paxos", docarray.DocList(best).IDs())
	}
}
