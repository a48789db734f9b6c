package executors_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

// capturedIn and capturedOut mirror the typed endpoint of the Python
// executor in interop/fixtures/gen_discovery.py.
type capturedIn struct {
	Text string `doc:"text"`
}

type capturedOut struct {
	Text      string    `doc:"text"`
	Embedding []float32 `doc:"embedding,omitempty"`
}

// captured is the Go twin of that Python executor: a default endpoint and
// /untyped without types, /typed with them.
type captured struct{ executors.Base }

func (c *captured) Endpoints(r *executors.Router) {
	pass := func(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
		return docs, nil
	}
	r.Default(pass)
	r.On("/untyped", pass)
	r.On("/typed", executors.Typed(func(ctx context.Context, in []capturedIn, p executors.Params) ([]capturedOut, error) {
		out := make([]capturedOut, len(in))
		for i, d := range in {
			out[i].Text = d.Text
		}
		return out, nil
	}))
}

func init() {
	executors.Register("TestCapturedDiscovery", func() executors.Executor { return &captured{} })
}

// TestDiscoveryMatchesJinaWorker compares jig's endpoint discovery with
// what a real Jina 3.20.2 worker published for the same executor
// (testdata/jina_discovery.json, captured by
// interop/fixtures/gen_discovery.py): the same endpoints, the same keys in
// every entry with the same values where they are not document models,
// docarray's LegacyDocument schema for untyped endpoints (its random
// "example" id aside), and the typed models' names.
func TestDiscoveryMatchesJinaWorker(t *testing.T) {
	b, err := os.ReadFile("testdata/jina_discovery.json")
	if err != nil {
		t.Fatal(err)
	}
	var jina struct {
		Endpoints []string                  `json:"endpoints"`
		Schemas   map[string]map[string]any `json:"schemas"`
	}
	if err := json.Unmarshal(b, &jina); err != nil {
		t.Fatal(err)
	}
	spec, err := executors.NewSpec("TestCapturedDiscovery", nil)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	eps := inst.Endpoints()

	want, got := slices.Clone(jina.Endpoints), slices.Clone(eps.GetEndpoints())
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("endpoints %v, Jina's worker %v", got, want)
	}
	// Through JSON, as Jina's gateway reads them (MessageToDict).
	var schemas map[string]map[string]any
	raw, _ := json.Marshal(eps.GetSchemas().AsMap())
	if err := json.Unmarshal(raw, &schemas); err != nil {
		t.Fatal(err)
	}
	for ep, je := range jina.Schemas {
		ge, ok := schemas[ep]
		if !ok {
			t.Errorf("%s: no entry; Jina's worker publishes %v", ep, keysOf(je))
			continue
		}
		if !slices.Equal(keysOf(ge), keysOf(je)) {
			t.Errorf("%s: keys %v, Jina's worker %v", ep, keysOf(ge), keysOf(je))
		}
		for _, k := range []string{"parameters", "is_generator", "is_singleton_doc"} {
			if !reflect.DeepEqual(ge[k], je[k]) {
				t.Errorf("%s: %s = %v, Jina's worker %v", ep, k, ge[k], je[k])
			}
		}
		for _, side := range []string{"input", "output"} {
			gs, _ := ge[side].(map[string]any)
			js, _ := je[side].(map[string]any)
			if js["name"] == docarray.LegacyName {
				if gs["name"] != docarray.LegacyName || !reflect.DeepEqual(noExample(gs["model"]), noExample(js["model"])) {
					t.Errorf("%s %s: not docarray's LegacyDocument schema: %v", ep, side, gs)
				}
				continue
			}
			gm, _ := gs["model"].(map[string]any)
			jm, _ := js["model"].(map[string]any)
			gp, _ := gm["properties"].(map[string]any)
			jp, _ := jm["properties"].(map[string]any)
			if !slices.Equal(keysOf(gp), keysOf(jp)) {
				t.Errorf("%s %s: properties %v, Jina's worker %v", ep, side, keysOf(gp), keysOf(jp))
			}
			for k, jf := range jp {
				jt, _ := jf.(map[string]any)["type"]
				gt, _ := gp[k].(map[string]any)["type"]
				if jt != gt {
					t.Errorf("%s %s.%s: type %v, Jina's worker %v", ep, side, k, gt, jt)
				}
			}
		}
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// noExample drops docarray's "example" values: the id example is random
// per Python process.
func noExample(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if k != "example" {
				out[k] = noExample(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = noExample(e)
		}
		return out
	}
	return v
}
