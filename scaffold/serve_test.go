package scaffold_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/engine/enginetest"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
	"github.com/jig-dev/jig/scaffold"
)

// startFlow runs a flow YAML with the engine, as `jig up` does, building Go
// executors into a private cache.
func startFlow(t *testing.T, yml string) *engine.Engine {
	t.Helper()
	f, err := flow.Parse("test.yml", t.TempDir(), []byte(yml))
	if err != nil {
		t.Fatal(err)
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

// post routes one request through the flow and returns the texts of the
// documents it gets back.
func post(t *testing.T, eng *engine.Engine, endpoint string, texts ...string) ([]string, *jinapb.DataRequestProto) {
	t.Helper()
	var docs docarray.DocList
	for _, s := range texts {
		docs = append(docs, &docarray.Document{ID: s, Text: s})
	}
	resp, out := enginetest.Route(t, eng, endpoint, docs, nil)
	return out.Texts(), resp
}

// TestServeGenerated is `jig new` then `jig serve`: the engine builds the
// generated folder (its own module) and serves it.
func TestServeGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a generated executor")
	}
	res := generate(t, scaffold.Options{Name: "Greeter", Dockerfile: scaffold.DockerNone})
	eng := startFlow(t, fmt.Sprintf("jtype: Flow\nexecutors:\n  - {name: greeter, uses: %q, replicas: 2}\n", res.Dir))
	for range 2 {
		if got, _ := post(t, eng, "/default", "world", "jig"); !slices.Equal(got, []string{"hello world", "hello jig"}) {
			t.Fatalf("got %q", got)
		}
	}
}

// TestServeGeneratedStateful runs a generated stateful executor with three
// RAFT replicas: a write through the gateway reaches every replica.
func TestServeGeneratedStateful(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a RAFT cluster of a generated executor")
	}
	res := generate(t, scaffold.Options{Name: "Greeter", Stateful: true, Dockerfile: scaffold.DockerNone})
	eng := startFlow(t, fmt.Sprintf(`
jtype: Flow
executors:
  - name: greeter
    uses: %q
    replicas: 3
    stateful: true
    consistency: leader
    workspace: %s
`, res.Dir, t.TempDir()))
	enginetest.WaitForLeader(t, eng, "greeter")
	if _, resp := post(t, eng, "/remember", "ada"); resp.GetParameters() == nil {
		t.Fatal("no results from /remember")
	}
	if got, _ := post(t, eng, "/default", "ada", "bob"); !slices.Equal(got, []string{"hello again, ada", "hello bob"}) {
		t.Fatalf("got %q", got)
	}
	// Every replica applied the write: each serves the same state.
	// The stats poller has no change signal: poll the status.
	waitfor.Value(t, "3 replicas with the same applied index", 30*time.Second, func() ([]uint64, bool) {
		st := eng.Status().Deployments[0]
		var applied []uint64
		for _, r := range st.ReplicaStatus {
			if r.Raft != nil {
				applied = append(applied, r.Raft.AppliedIndex)
			}
		}
		return applied, len(applied) == 3 && applied[0] > 0 && applied[0] == applied[1] && applied[1] == applied[2]
	})
}
