package executors_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
)

type query struct {
	ID   string `doc:"id"`
	Text string `doc:"text,required" desc:"what to embed"`
}

type answer struct {
	Embedding []float32 `doc:"embedding"`
	Length    int       `doc:"length"`
}

// shop is a test executor with typed and single-document handlers.
type shop struct {
	executors.Base
	stored []string
}

func (s *shop) Endpoints(r *executors.Router) {
	r.On("/embed", executors.Typed(s.Embed))
	r.On("/one", executors.TypedDoc(s.One))
	r.On("/count", executors.TypedResults(s.Count))
	r.On("/keep", executors.Typed(s.Keep))
	r.On("/inplace", s.InPlace)
	r.Write("/store", executors.Typed(s.Store))
}

func (s *shop) Embed(ctx context.Context, docs []query, p executors.Params) ([]answer, error) {
	out := make([]answer, len(docs))
	for i, d := range docs {
		out[i] = answer{Embedding: []float32{float32(len(d.Text))}, Length: len(d.Text)}
	}
	return out, nil
}

func (s *shop) One(ctx context.Context, d query, p executors.Params) (*answer, error) {
	switch d.Text {
	case "bad":
		return nil, executors.Errorf("ValueError", "cannot embed %q", d.Text)
	case "skip":
		return nil, nil // unchanged
	}
	return &answer{Length: len(d.Text)}, nil
}

func (s *shop) Count(ctx context.Context, docs []query, p executors.Params) ([]answer, executors.Results, error) {
	return nil, executors.Results{"n": len(docs)}, nil
}

// Keep returns only the documents whose text starts with "k", by id.
func (s *shop) Keep(ctx context.Context, docs []query, p executors.Params) ([]query, error) {
	var out []query
	for _, d := range docs {
		if strings.HasPrefix(d.Text, "k") {
			out = append(out, query{ID: d.ID, Text: strings.ToUpper(d.Text)})
		}
	}
	slices.Reverse(out)
	return out, nil
}

func (s *shop) InPlace(ctx context.Context, d *docarray.Document, p executors.Params) error {
	if d.Text == "bad" {
		return errors.New("refused")
	}
	d.Text += "!"
	return nil
}

func (s *shop) Store(ctx context.Context, docs []query, p executors.Params) ([]answer, error) {
	for _, d := range docs {
		s.stored = append(s.stored, d.Text)
	}
	return nil, nil
}

type badTyped struct{ executors.Base }

func (b *badTyped) Endpoints(r *executors.Router) {
	r.On("/x", executors.Typed(func(ctx context.Context, in []struct{ C chan int }, p executors.Params) ([]answer, error) {
		return nil, nil
	}))
}

type unwrapped struct{ executors.Base }

func (u *unwrapped) Endpoints(r *executors.Router) {
	r.On("/x", func(ctx context.Context, in []query, p executors.Params) ([]answer, error) { return nil, nil })
}

func init() {
	executors.Register("TestShop", func() executors.Executor { return &shop{} })
	executors.Register("TestBadTyped", func() executors.Executor { return &badTyped{} })
	executors.Register("TestUnwrapped", func() executors.Executor { return &unwrapped{} })
}

func newShop(t *testing.T) *executors.Instance {
	t.Helper()
	spec, err := executors.NewSpec("TestShop", nil)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close() })
	return inst
}

func TestTypedHandler(t *testing.T) {
	inst := newShop(t)
	req := request("/embed", nil, "ab", "abcd")
	docs := respDocs(t, inst.Process(context.Background(), req))
	if !slices.Equal(docs.IDs(), []string{"d0", "d1"}) || !slices.Equal(docs.Texts(), []string{"ab", "abcd"}) {
		t.Errorf("ids and undeclared keys must pass through: %v %v", docs.IDs(), docs.Texts())
	}
	for i, want := range []int64{2, 4} {
		v, err := docs[i].Embedding.Float32s()
		if err != nil || v[0] != float32(want) {
			t.Errorf("doc %d embedding %v %v", i, v, err)
		}
		if n, _ := docs[i].Field("length"); n != want {
			t.Errorf("doc %d length %v", i, n)
		}
	}

	// A document that does not fit the input type names the doc and field.
	bad := request("/embed", nil, "ok", "")
	st := inst.Process(context.Background(), bad).GetHeader().GetStatus()
	if st.GetException().GetName() != "BadRequest" || !strings.Contains(st.GetDescription(), `doc 1 (id d1): field \"text\" (Text string): required, but missing`) {
		t.Errorf("status %s / %s", st.GetException().GetName(), st.GetDescription())
	}
}

func TestTypedDocHandler(t *testing.T) {
	inst := newShop(t)
	docs := respDocs(t, inst.Process(context.Background(), request("/one", nil, "abc", "skip")))
	if n, _ := docs[0].Field("length"); n != int64(3) {
		t.Errorf("length %v", n)
	}
	if _, set := docs[1].Field("length"); set || docs[1].Text != "skip" {
		t.Errorf("a nil result keeps the document: %+v", docs[1])
	}
	st := inst.Process(context.Background(), request("/one", nil, "ok", "bad")).GetHeader().GetStatus()
	if st.GetException().GetName() != "ValueError" || !strings.Contains(st.GetDescription(), "doc 1") || !strings.Contains(st.GetDescription(), `cannot embed \"bad\"`) {
		t.Errorf("single-doc error must keep its name and name the doc: %s / %s", st.GetException().GetName(), st.GetDescription())
	}
}

func TestUntypedSingleDocInPlace(t *testing.T) {
	inst := newShop(t)
	docs := respDocs(t, inst.Process(context.Background(), request("/inplace", nil, "a", "b")))
	if !slices.Equal(docs.Texts(), []string{"a!", "b!"}) {
		t.Errorf("texts %v", docs.Texts())
	}
	st := inst.Process(context.Background(), request("/inplace", nil, "a", "bad")).GetHeader().GetStatus()
	if st.GetCode() != jinapb.StatusProto_ERROR || !strings.Contains(st.GetDescription(), "doc 1 (id d1): refused") {
		t.Errorf("status %s", st.GetDescription())
	}
}

func TestTypedResultsAndFiltering(t *testing.T) {
	inst := newShop(t)
	resp := inst.Process(context.Background(), request("/count", nil, "a", "b", "c"))
	docs := respDocs(t, resp)
	if len(docs) != 3 {
		t.Errorf("nil output keeps the documents, got %d", len(docs))
	}
	n := resp.GetParameters().GetFields()[executors.ResultsKey].GetStructValue().GetFields()[inst.Name()].GetStructValue().GetFields()["n"].GetNumberValue()
	if n != 3 {
		t.Errorf("results n = %v", n)
	}

	kept := respDocs(t, inst.Process(context.Background(), request("/keep", nil, "kiwi", "apple", "kale")))
	if !slices.Equal(kept.IDs(), []string{"d2", "d0"}) || !slices.Equal(kept.Texts(), []string{"KALE", "KIWI"}) {
		t.Errorf("filtered output merged by id: %v %v", kept.IDs(), kept.Texts())
	}
}

func TestTypedDiscoverySchemas(t *testing.T) {
	inst := newShop(t)
	eps := inst.Endpoints()
	schemas := eps.GetSchemas().AsMap()
	embed, ok := schemas["/embed"].(map[string]any)
	if !ok {
		t.Fatalf("no schema for /embed: %v", schemas)
	}
	in := embed["input"].(map[string]any)
	out := embed["output"].(map[string]any)
	if in["name"] != "query" || out["name"] != "answer" {
		t.Errorf("names %v / %v", in["name"], out["name"])
	}
	// The keys Jina's gateway reads besides input and output.
	if embed["is_generator"] != false || embed["is_singleton_doc"] != false || embed["parameters"] == nil {
		t.Errorf("jina keys: %v", embed)
	}
	model := in["model"].(map[string]any)
	props := model["properties"].(map[string]any)
	if props["text"].(map[string]any)["description"] != "what to embed" || !slices.Equal(model["required"].([]any), []any{"text"}) {
		t.Errorf("input model %v", model)
	}
	// Untyped endpoints and the dry-run endpoint publish docarray's
	// LegacyDocument, as Jina's worker does: its gateway reads an entry
	// for every endpoint.
	for _, ep := range []string{"/inplace", executors.DryRunEndpoint} {
		e, ok := schemas[ep].(map[string]any)
		if !ok {
			t.Errorf("no schema for %s: %v", ep, schemas)
			continue
		}
		for _, side := range []string{"input", "output"} {
			m, _ := e[side].(map[string]any)
			if m["name"] != docarray.LegacyName || !reflect.DeepEqual(m["model"], docarray.LegacySchema()) {
				t.Errorf("%s %s: %v", ep, side, m)
			}
		}
	}
	if !slices.Contains(eps.GetEndpoints(), executors.DryRunEndpoint) {
		t.Errorf("endpoints lack %s: %v", executors.DryRunEndpoint, eps.GetEndpoints())
	}
	if !slices.Contains(eps.GetWriteEndpoints(), "/store") {
		t.Errorf("typed write endpoint: %v", eps.GetWriteEndpoints())
	}
	if i, o := inst.EndpointSchema("/one"); i == nil || o == nil || o.Name != "answer" {
		t.Errorf("EndpointSchema(/one) = %v, %v", i, o)
	}
}

func TestTypedRegistrationErrors(t *testing.T) {
	for jtype, want := range map[string]string{
		"TestBadTyped":  "field C: type chan int is not supported",
		"TestUnwrapped": "executors.Typed",
	} {
		spec, err := executors.NewSpec(jtype, nil)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := executors.New(context.Background(), spec)
		if err == nil {
			inst.Close()
			t.Errorf("%s loaded", jtype)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q should mention %q", jtype, err, want)
		}
	}
}

func TestDynamicBatchingConfig(t *testing.T) {
	c, err := executors.ParseConfig("exec.yml", []byte("jtype: TestShop\ndynamic_batching:\n  /nope: {preferred_batch_size: 4}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = executors.New(context.Background(), executors.Spec{Config: c})
	if err == nil || !errors.Is(err, executors.ErrBadInput) || !strings.Contains(err.Error(), "dynamic_batching./nope") || !strings.Contains(err.Error(), "/embed") {
		t.Errorf("unknown endpoint in dynamic_batching: %v", err)
	}

	c, _ = executors.ParseConfig("exec.yml", []byte("jtype: TestShop\ndynamic_batching:\n  /embed: {preferred_batch_size: 4, timeout: 7}\n"))
	inst, err := executors.New(context.Background(), executors.Spec{Config: c, UsesDynamicBatching: map[string]executors.BatchConfig{"/one": {PreferredBatchSize: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	if b, ok := inst.BatchingFor("/embed"); !ok || b.PreferredBatchSize != 4 || b.Timeout != 7 {
		t.Errorf("/embed batching %v %v", b, ok)
	}
	if b, ok := inst.BatchingFor("/one"); !ok || b.PreferredBatchSize != 2 {
		t.Errorf("/one batching %v %v", b, ok)
	}
	if _, ok := inst.BatchingFor("/count"); ok {
		t.Error("/count has no batching")
	}

	// The default endpoint's batching applies to what the default serves.
	spec, _ := executors.NewSpec("TestGreeter", nil)
	spec.UsesDynamicBatching = map[string]executors.BatchConfig{"/default": {PreferredBatchSize: 3}}
	g, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if b, ok := g.BatchingFor("/anything"); !ok || b.PreferredBatchSize != 3 {
		t.Errorf("default batching %v %v", b, ok)
	}
	if _, ok := g.BatchingFor("/upper"); ok {
		t.Error("/upper has its own handler, so the default's batching does not apply")
	}
}
