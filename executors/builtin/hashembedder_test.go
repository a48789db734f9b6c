package builtin

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

// embed runs texts through inst and returns the embeddings as float32s
// (nil for a document without one).
func embed(t *testing.T, inst *executors.Instance, ts ...string) [][]float32 {
	t.Helper()
	out := call(t, inst, "/default", texts(ts...), nil)
	vecs := make([][]float32, len(out))
	for i, d := range out {
		if d.Embedding == nil {
			continue
		}
		v, err := d.Embedding.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		vecs[i] = v
	}
	return vecs
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func l2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestHashEmbedderShapeNormAndDeterminism(t *testing.T) {
	a := newInstance(t, "HashEmbedder", nil)
	b := newInstance(t, "HashEmbedder", nil)
	docs := texts("The quick brown fox", "jumps over the lazy dog")
	outA := call(t, a, "/default", docs, nil)
	outA2 := call(t, a, "/default", docs, nil)
	outB := call(t, b, "/default", docs, nil)
	for i := range docs {
		e := outA[i].Embedding
		if e == nil {
			t.Fatalf("doc %d has no embedding", i)
		}
		if e.Dtype != "<f4" || !slices.Equal(e.Shape, []int{128}) {
			t.Errorf("doc %d: dtype %s shape %v, want <f4 [128]", i, e.Dtype, e.Shape)
		}
		v, _ := e.Float32s()
		if n := l2(v); math.Abs(n-1) > 1e-5 {
			t.Errorf("doc %d: norm %v, want 1", i, n)
		}
		if !bytes.Equal(e.Data, outA2[i].Embedding.Data) || !bytes.Equal(e.Data, outB[i].Embedding.Data) {
			t.Errorf("doc %d: embedding differs between calls or instances", i)
		}
	}

	small := newInstance(t, "HashEmbedder", map[string]any{"dim": 16})
	// One token: a single feature can never cancel out.
	if v := embed(t, small, "dimension")[0]; len(v) != 16 {
		t.Errorf("dim 16: got %d dimensions", len(v))
	}
}

func TestHashEmbedderSimilarity(t *testing.T) {
	inst := newInstance(t, "HashEmbedder", map[string]any{"dim": 256})
	v := embed(t, inst,
		"the cat sat on the mat",
		"a cat sat on a mat",
		"stock markets fell sharply today",
		"Hello, WORLD!",
		"hello world",
	)
	near, far := cosine(v[0], v[1]), cosine(v[0], v[2])
	if near <= far {
		t.Errorf("similar texts not closer: cos(cat, cat)=%.3f <= cos(cat, stocks)=%.3f", near, far)
	}
	if near < 0.5 {
		t.Errorf("cos of texts sharing 4 of 6 tokens = %.3f, want >= 0.5", near)
	}
	if c := cosine(v[3], v[4]); math.Abs(c-1) > 1e-6 {
		t.Errorf("case and punctuation should not matter: cos = %v", c)
	}
}

func TestHashEmbedderSeedAndNgrams(t *testing.T) {
	base := embed(t, newInstance(t, "HashEmbedder", nil), "running quickly")[0]
	seeded := embed(t, newInstance(t, "HashEmbedder", map[string]any{"seed": 7}), "running quickly")[0]
	if slices.Equal(base, seeded) {
		t.Error("seed does not change the embedding")
	}

	words := newInstance(t, "HashEmbedder", nil)
	grams := newInstance(t, "HashEmbedder", map[string]any{"ngrams": 3})
	w := embed(t, words, "running quickly", "runing quikly")
	g := embed(t, grams, "running quickly", "runing quikly")
	if math.Abs(l2(g[0])-1) > 1e-5 {
		t.Errorf("ngrams: norm %v", l2(g[0]))
	}
	if cw, cg := cosine(w[0], w[1]), cosine(g[0], g[1]); cg <= cw || cg < 0.3 {
		t.Errorf("trigrams should make typos similar: tokens only %.3f, with trigrams %.3f", cw, cg)
	}
}

func TestHashEmbedderSkipsEmptyAndEmbedsChunks(t *testing.T) {
	docs := func() docarray.DocList {
		return docarray.DocList{
			{ID: "empty"},
			{ID: "punct", Text: "!!! ..."},
			{ID: "parent", Text: "parent text", Chunks: docarray.DocList{
				{ID: "parent/0", Text: "chunk text", Chunks: docarray.DocList{{ID: "parent/0/0", Text: "deeper"}}},
				{ID: "parent/1"},
			}},
		}
	}
	out := call(t, newInstance(t, "HashEmbedder", nil), "/default", docs(), nil)
	if out[0].Embedding != nil || out[1].Embedding != nil {
		t.Error("docs without tokens got an embedding")
	}
	if out[2].Embedding == nil || out[2].Chunks[0].Embedding == nil || out[2].Chunks[0].Chunks[0].Embedding == nil {
		t.Error("parent or chunks not embedded")
	}
	if out[2].Chunks[1].Embedding != nil {
		t.Error("text-less chunk got an embedding")
	}

	out = call(t, newInstance(t, "HashEmbedder", map[string]any{"embed_chunks": false}), "/default", docs(), nil)
	if out[2].Embedding == nil || out[2].Chunks[0].Embedding != nil {
		t.Error("embed_chunks: false: chunks embedded or parent not")
	}
}

func TestHashEmbedderInvalidOptions(t *testing.T) {
	for field, with := range map[string]map[string]any{
		"dim":    {"dim": 0},
		"ngrams": {"ngrams": -2},
	} {
		spec, err := executors.NewSpec("HashEmbedder", with)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := executors.New(context.Background(), spec); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%v: error %v does not name %s", with, err, field)
		}
	}
}

func BenchmarkHashEmbedder(b *testing.B) {
	inst := newInstance(b, "HashEmbedder", map[string]any{"ngrams": 3})
	h := inst.Executor().(*HashEmbedder)
	s := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 10)
	for b.Loop() {
		h.Embed(s)
	}
}
