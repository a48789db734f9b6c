package docarray

import (
	"testing"

	"github.com/jig-dev/jig/proto/docarraypb"
)

// reduceInputs returns two shard results that overlap on document "1".
// It is a function so that a fresh, equal copy can serve as the reference
// when checking that Reduce leaves its inputs alone.
func reduceInputs() (DocList, DocList) {
	a := DocList{
		{ID: "1", Text: "a", Tags: map[string]any{"x": int64(1)}, Scores: map[string]NamedScore{"s": {Value: 1}},
			Chunks: DocList{{ID: "c1"}, {ID: "shared", Text: "from a"}}, Extra: map[string]*docarraypb.NodeProto{"e": textNode("first")}},
		{ID: "2"},
		{Text: "no id"},
	}
	b := DocList{
		{ID: "1", Text: "b", URL: "u", Blob: []byte{1}, Embedding: NewFloat32([]float32{1}),
			Tags:   map[string]any{"x": int64(2), "y": []any{"l"}},
			Scores: map[string]NamedScore{"s": {Value: 2}, "t": {Value: 3}},
			Chunks: DocList{{ID: "c2"}, {ID: "shared", Text: "from b", URL: "b"}}, Matches: DocList{{ID: "m"}},
			Extra: map[string]*docarraypb.NodeProto{"e": textNode("second"), "f": textNode("only here")}},
		{ID: "3"},
		{Text: "no id"},
	}
	return a, b
}

// TestReduce: documents merge by ID, the first list wins, maps merge key
// by key, chunks and matches are unions by ID, documents without an ID are
// never merged, and the result shares nothing with the inputs.
func TestReduce(t *testing.T) {
	a, b := reduceInputs()
	got := Reduce(a, b)
	want := DocList{
		{ID: "1", Text: "a", URL: "u", Blob: []byte{1}, Embedding: NewFloat32([]float32{1}),
			Tags:   map[string]any{"x": int64(1), "y": []any{"l"}},
			Scores: map[string]NamedScore{"s": {Value: 1}, "t": {Value: 3}},
			Chunks: DocList{{ID: "c1"}, {ID: "shared", Text: "from a", URL: "b"}, {ID: "c2"}}, Matches: DocList{{ID: "m"}},
			Extra: map[string]*docarraypb.NodeProto{"e": textNode("first"), "f": textNode("only here")}},
		{ID: "2"},
		{Text: "no id"},
		{ID: "3"},
		{Text: "no id"},
	}
	if d := diffDocList("reduced", want, got); d != "" {
		t.Fatal(d)
	}
	for _, d := range got {
		mutateDoc(d)
	}
	wantA, wantB := reduceInputs()
	if d := diffDocList("a", wantA, a); d != "" {
		t.Errorf("input changed through the result: %s", d)
	}
	if d := diffDocList("b", wantB, b); d != "" {
		t.Errorf("input changed through the result: %s", d)
	}

	if Reduce() != nil {
		t.Error("Reduce() is not nil")
	}
	if got := Reduce(nil, DocList{}); got == nil || len(got) != 0 {
		t.Errorf("Reduce of empty lists = %#v, want an empty non-nil list", got)
	}
}
