package executors_test

import (
	"context"
	"iter"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

// checked binds every handler shape with the compile-time checked forms
// (executors.On, Default, Write, Method), including the in-place batch
// shape func(ctx, DocList, Params) error.
type checked struct{ executors.Base }

func (c *checked) Endpoints(r *executors.Router) {
	executors.Default(r, c.Mark)
	executors.On(r, "/inplace", c.Mark, "/inplace2")
	executors.On(r, "/batch", c.Batch)
	executors.On(r, "/results", c.Results)
	executors.On(r, "/doc", c.Doc)
	executors.On(r, "/docinplace", c.DocInPlace)
	executors.On(r, "/call", c.Call)
	executors.On(r, "/typed", executors.Typed(c.Typed))
	executors.On(r, "/named", executors.Method("Renamed", func(ctx context.Context, docs docarray.DocList, p executors.Params) error {
		return c.Mark(ctx, docs, p)
	}))
	executors.Write(r, "/write", c.Index)
}

func (c *checked) Mark(ctx context.Context, docs docarray.DocList, p executors.Params) error {
	for _, d := range docs {
		d.Text = "marked:" + d.Text
	}
	return nil
}

// Index is a write handler: every endpoint bound to it is a write.
func (c *checked) Index(ctx context.Context, docs docarray.DocList, p executors.Params) error {
	return c.Mark(ctx, docs, p)
}

func (c *checked) Batch(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	return docarray.FromTexts("new"), nil
}

func (c *checked) Results(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, executors.Results, error) {
	return nil, executors.Results{"n": len(docs)}, nil
}

func (c *checked) Doc(ctx context.Context, d *docarray.Document, p executors.Params) (*docarray.Document, error) {
	return &docarray.Document{ID: d.ID, Text: "doc:" + d.Text}, nil
}

func (c *checked) DocInPlace(ctx context.Context, d *docarray.Document, p executors.Params) error {
	d.Text = "docinplace:" + d.Text
	return nil
}

func (c *checked) Call(ctx context.Context, call *executors.Call) error {
	for _, d := range call.Docs {
		d.Text = "call:" + call.Endpoint + ":" + d.Text
	}
	return nil
}

type word struct {
	Text string `doc:"text"`
}

func (c *checked) Typed(ctx context.Context, in []word, p executors.Params) ([]word, error) {
	out := make([]word, len(in))
	for i, w := range in {
		out[i] = word{Text: "typed:" + w.Text}
	}
	return out, nil
}

func newChecked(t *testing.T, requests map[string]string) *executors.Instance {
	t.Helper()
	spec, err := executors.NewSpec("TestChecked", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = "checked"
	if requests != nil {
		spec.UsesRequests = requests
	}
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close() })
	return inst
}

func init() {
	executors.Register("TestChecked", func() executors.Executor { return &checked{} })
}

func TestCheckedRegistrationShapes(t *testing.T) {
	inst := newChecked(t, nil)
	ctx := context.Background()
	cases := []struct {
		endpoint string
		want     []string
	}{
		{"/inplace", []string{"marked:a", "marked:b"}},
		{"/inplace2", []string{"marked:a", "marked:b"}},
		{"/other", []string{"marked:a", "marked:b"}}, // default
		{"/batch", []string{"new"}},
		{"/results", []string{"a", "b"}},
		{"/doc", []string{"doc:a", "doc:b"}},
		{"/docinplace", []string{"docinplace:a", "docinplace:b"}},
		{"/call", []string{"call:/call:a", "call:/call:b"}},
		{"/typed", []string{"typed:a", "typed:b"}},
		{"/named", []string{"marked:a", "marked:b"}},
		{"/write", []string{"marked:a", "marked:b"}},
	}
	for _, c := range cases {
		t.Run(c.endpoint, func(t *testing.T) {
			got := respDocs(t, inst.Process(ctx, request(c.endpoint, nil, "a", "b"))).Texts()
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	if !inst.IsWrite("/write") || inst.IsWrite("/inplace") {
		t.Fatal("executors.Write did not mark /write as a write endpoint (or marked /inplace)")
	}
	resp := inst.Process(ctx, request("/results", nil, "a", "b"))
	res := resp.GetParameters().AsMap()[executors.ResultsKey].(map[string]any)["checked"].(map[string]any)
	if res["n"] != float64(2) {
		t.Fatalf("results %v", res)
	}
}

// Method names a checked handler for `requests:` remaps.
func TestCheckedMethodRemap(t *testing.T) {
	inst := newChecked(t, map[string]string{"/renamed": "Renamed"})
	got := respDocs(t, inst.Process(context.Background(), request("/renamed", nil, "a"))).Texts()
	if !slices.Equal(got, []string{"marked:a"}) {
		t.Fatalf("got %q", got)
	}
}

// inPlaceUnchecked binds the in-place batch shape through the unchecked
// Router.On, as executors written before executors.On do.
type inPlaceUnchecked struct{ executors.Base }

func (e *inPlaceUnchecked) Endpoints(r *executors.Router) {
	r.On("/x", func(ctx context.Context, docs docarray.DocList, p executors.Params) error {
		docs[0].Text = "in place"
		return nil
	})
}

func TestRouterOnAcceptsInPlaceBatch(t *testing.T) {
	executors.Register("TestInPlaceUnchecked", func() executors.Executor { return &inPlaceUnchecked{} })
	spec, _ := executors.NewSpec("TestInPlaceUnchecked", nil)
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatalf("the in-place batch shape was rejected: %v", err)
	}
	defer inst.Close()
	if got := respDocs(t, inst.Process(context.Background(), request("/x", nil, "a"))).Texts(); !slices.Equal(got, []string{"in place"}) {
		t.Fatalf("got %q", got)
	}
}

// wrongShapes binds functions Router.On cannot take; each error must say
// what is wrong, not suggest a wrapper that does not fit.
type wrongShapes struct{ executors.Base }

func (e *wrongShapes) Endpoints(r *executors.Router) {
	r.On("/batchnoparams", func(ctx context.Context, docs docarray.DocList) error { return nil })
	r.On("/typed", func(ctx context.Context, in []word, p executors.Params) ([]word, error) { return in, nil })
	r.On("/gen", func(ctx context.Context, d *docarray.Document, p executors.Params) iter.Seq2[*docarray.Document, error] {
		return nil
	})
	r.On("/nilfunc", (func(context.Context, *executors.Call) error)(nil))
	r.On("/notfunc", "Greet")
}

func TestRouterOnShapeErrors(t *testing.T) {
	executors.Register("TestWrongShapes", func() executors.Executor { return &wrongShapes{} })
	spec, _ := executors.NewSpec("TestWrongShapes", nil)
	_, err := executors.New(context.Background(), spec)
	if err == nil {
		t.Fatal("wrong handler shapes were accepted")
	}
	msgs := map[string]string{}
	for _, line := range strings.Split(err.Error(), "\n") {
		if i := strings.Index(line, "endpoint "); i >= 0 {
			if ep, rest, ok := strings.Cut(line[i+len("endpoint "):], ": "); ok {
				msgs[ep] = rest
			}
		}
	}
	check := func(ep string, want, notWant string) {
		t.Helper()
		m, ok := msgs[ep]
		if !ok {
			t.Fatalf("no error for %s in:\n%v", ep, err)
		}
		if !strings.Contains(m, want) {
			t.Errorf("%s: %q does not contain %q", ep, m, want)
		}
		if notWant != "" && strings.Contains(m, notWant) {
			t.Errorf("%s: %q contains %q", ep, m, notWant)
		}
	}
	// A DocList batch is not a typed document: no Typed hint, the shapes instead.
	check("/batchnoparams", "unsupported signature func(context.Context, docarray.DocList) error", "Typed")
	check("/typed", "executors.Typed(fn)", "")
	check("/gen", "executors.Generator(fn)", "")
	check("/nilfunc", "handler is nil", "")
	check("/notfunc", "handler is a string, not a function", "")
	for _, shape := range []string{
		"func(context.Context, docarray.DocList, executors.Params) error",
		"executors.On(r, endpoint, fn)",
	} {
		if !strings.Contains(err.Error(), shape) {
			t.Errorf("the shape error does not mention %q:\n%v", shape, err)
		}
	}
}
