package docarray

import (
	"strings"
	"testing"

	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/proto"
)

// containsAll reports whether s contains every one of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// denseNode is an ndarray node as docarray writes it.
func denseNode(dtype string, shape []uint32, buf []byte, typ string) *docarraypb.NodeProto {
	return &docarraypb.NodeProto{
		Content:      &docarraypb.NodeProto_Ndarray{Ndarray: &docarraypb.NdArrayProto{Dense: &docarraypb.DenseNdArrayProto{Buffer: buf, Shape: shape, Dtype: dtype}}},
		DocarrayType: &docarraypb.NodeProto_Type{Type: typ},
	}
}

func docProto(fields map[string]*docarraypb.NodeProto) *docarraypb.DocProto {
	return &docarraypb.DocProto{Data: fields}
}

func docArrayNode(docs ...*docarraypb.DocProto) *docarraypb.NodeProto {
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_DocArray{DocArray: &docarraypb.DocListProto{Docs: docs}}}
}

func dictNodeOf(m map[string]*docarraypb.NodeProto) *docarraypb.NodeProto {
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Dict{Dict: &docarraypb.DictOfAnyProto{Data: m}}}
}

func listNodeOf(items ...*docarraypb.NodeProto) *docarraypb.NodeProto {
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_List{List: &docarraypb.ListOfAnyProto{Data: items}}}
}

func textNode(s string) *docarraypb.NodeProto {
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Text{Text: s}}
}

// TestFromProtoErrors: corrupt wire documents are refused with an error
// naming the document index and the field, from FromProto and from bytes.
func TestFromProtoErrors(t *testing.T) {
	ok := docProto(map[string]*docarraypb.NodeProto{keyID: textNode("ok")})
	deepChunks := docProto(nil)
	for range 2 * maxDepth {
		deepChunks = docProto(map[string]*docarraypb.NodeProto{keyChunks: docArrayNode(deepChunks)})
	}
	deepDict := dictNodeOf(map[string]*docarraypb.NodeProto{"leaf": textNode("x")})
	deepList := textNode("x")
	for range 2 * maxDepth {
		deepDict = dictNodeOf(map[string]*docarraypb.NodeProto{"d": deepDict})
		deepList = listNodeOf(deepList)
	}
	for _, tc := range []struct {
		name string
		docs []*docarraypb.DocProto
		want []string
	}{
		{"embedding buffer too short", []*docarraypb.DocProto{ok, docProto(map[string]*docarraypb.NodeProto{
			keyEmbedding: denseNode("<f4", []uint32{4}, make([]byte, 12), typeEmbedding),
		})}, []string{"doc 1", "embedding", "12 bytes", "want 16"}},
		{"tensor in a chunk", []*docarraypb.DocProto{docProto(map[string]*docarraypb.NodeProto{
			keyChunks: docArrayNode(ok, ok, docProto(map[string]*docarraypb.NodeProto{
				keyTensor: denseNode("<i8", []uint32{2, 2}, make([]byte, 8), typeNdArray),
			})),
		})}, []string{"doc 0", "chunks", "doc 2", "tensor"}},
		{"array in tags", []*docarraypb.DocProto{ok, ok, docProto(map[string]*docarraypb.NodeProto{
			keyTags: dictNodeOf(map[string]*docarraypb.NodeProto{"vec": denseNode("<f8", []uint32{1}, nil, typeNdArray)}),
		})}, []string{"doc 2", "tags", `"vec"`}},
		{"shape too large", []*docarraypb.DocProto{docProto(map[string]*docarraypb.NodeProto{
			keyTensor: denseNode("<f4", []uint32{1 << 20, 1 << 20}, nil, typeNdArray),
		})}, []string{"doc 0", "tensor", "too large"}},
		{"chunks too deep", []*docarraypb.DocProto{ok, deepChunks}, []string{"doc 1", "chunks", "deeper than 64"}},
		{"dicts too deep", []*docarraypb.DocProto{docProto(map[string]*docarraypb.NodeProto{keyTags: deepDict})}, []string{"doc 0", "tags", "deeper than 64"}},
		{"lists too deep", []*docarraypb.DocProto{docProto(map[string]*docarraypb.NodeProto{
			keyTags: dictNodeOf(map[string]*docarraypb.NodeProto{"l": deepList}),
		})}, []string{"doc 0", "tags", `"l"`, "deeper than 64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &docarraypb.DocListProto{Docs: tc.docs}
			if _, err := FromProto(p); err == nil || !containsAll(err.Error(), tc.want...) {
				t.Errorf("FromProto: error %v, want one containing %q", err, tc.want)
			}
			b, err := proto.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Unmarshal(b); err == nil || !containsAll(err.Error(), tc.want...) {
				t.Errorf("Unmarshal: error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := Unmarshal([]byte{0xff, 0xff}); err == nil || !strings.Contains(err.Error(), "DocListProto") {
		t.Errorf("Unmarshal of garbage: %v", err)
	}
}

// TestEncodeTooDeep: documents nested past maxDepth (or cyclic tag values)
// are refused by Validate and MarshalJSON, and the encoders that cannot
// return an error do not panic.
func TestEncodeTooDeep(t *testing.T) {
	deep := &Document{ID: "leaf"}
	for range 2 * maxDepth {
		deep = &Document{ID: "n", Chunks: DocList{deep}}
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	cyclicList := []any{nil}
	cyclicList[0] = cyclicList
	for name, d := range map[string]*Document{
		"chunks":      deep,
		"tag doc":     {ID: "x", Tags: map[string]any{"d": deep}},
		"cyclic map":  {ID: "x", Tags: map[string]any{"c": cyclic}},
		"cyclic list": {ID: "x", Tags: map[string]any{"c": cyclicList}},
	} {
		t.Run(name, func(t *testing.T) {
			if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "deeper than 64") {
				t.Errorf("Validate: %v", err)
			}
			if _, err := (DocList{d}).MarshalJSON(); err == nil || !containsAll(err.Error(), "doc 0", "deeper than 64") {
				t.Errorf("MarshalJSON: %v", err)
			}
			// ToProto drops only the part it cannot encode: the document
			// itself, with its id, still goes out.
			if p := d.ToProto(); p.GetData()[keyID].GetText() != d.ID {
				t.Errorf("ToProto lost the document: %v", p)
			}
			b, err := (DocList{d}).Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			back, err := Unmarshal(b)
			if err != nil || len(back) != 1 || back[0].ID != d.ID {
				t.Errorf("Unmarshal(Marshal) = %v, %v", back, err)
			}
		})
	}
}

// TestDepthLimitsAgree: whatever the encoders accept, the decoders accept,
// for every kind of nesting near the limit. A Go executor must be able to
// read back what it sent.
func TestDepthLimitsAgree(t *testing.T) {
	nestChunks := func(n int) *Document {
		d := &Document{ID: "leaf"}
		for range n {
			d = &Document{ID: "n", Chunks: DocList{d}}
		}
		return d
	}
	nestList := func(n int) *Document {
		var v any = "leaf"
		for range n {
			v = []any{v}
		}
		return &Document{ID: "x", Tags: map[string]any{"v": v}}
	}
	nestMap := func(n int) *Document {
		var v any = "leaf"
		for range n {
			v = map[string]any{"k": v}
		}
		return &Document{ID: "x", Tags: map[string]any{"v": v}}
	}
	nestTagDoc := func(n int) *Document {
		d := &Document{ID: "leaf"}
		for range n {
			d = &Document{ID: "n", Tags: map[string]any{"d": d}}
		}
		return d
	}
	for name, build := range map[string]func(int) *Document{
		"chunks": nestChunks, "lists": nestList, "maps": nestMap, "tag docs": nestTagDoc,
	} {
		for n := maxDepth / 3; n <= maxDepth+2; n++ {
			d := build(n)
			if err := d.Validate(); err == nil {
				b, err := (DocList{d}).Marshal()
				if err != nil {
					t.Errorf("%s %d: Validate accepts, Marshal fails: %v", name, n, err)
					continue
				}
				back, err := Unmarshal(b)
				if err != nil {
					t.Errorf("%s %d: Validate accepts, Unmarshal fails: %v", name, n, err)
					continue
				}
				if diff := diffDocList("docs", DocList{d}, back); diff != "" {
					t.Errorf("%s %d: %s", name, n, diff)
				}
			}
			if b, err := d.MarshalJSON(); err == nil {
				var back Document
				if err := back.UnmarshalJSON(b); err != nil {
					t.Errorf("%s %d: MarshalJSON accepts, UnmarshalJSON fails: %v", name, n, err)
				}
			}
		}
	}
}

// TestJSONErrors: bad JSON bodies are refused with an error naming the
// document and the field, so the gateway's 400 says what is wrong.
func TestJSONErrors(t *testing.T) {
	deepChunks := `{"id":"leaf"}`
	deepTags := `"leaf"`
	for range 2 * maxDepth {
		deepChunks = `{"id":"n","chunks":[` + deepChunks + `]}`
		deepTags = `{"k":` + deepTags + `}`
	}
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"not an array", `{"id":"a"}`, []string{"want a JSON array of documents", "object"}},
		{"a string", `"docs"`, []string{"want a JSON array of documents"}},
		{"invalid JSON", `[{"id": }]`, []string{"invalid JSON"}},
		{"doc not an object", `[{"id":"a"}, 5]`, []string{"doc 1", "want a JSON object"}},
		{"null doc", `[{"id":"a"}, null]`, []string{"doc 1", "want a JSON object", "null"}},
		{"id not a string", `[{"id":true}]`, []string{"doc 0", `field "id"`, "boolean"}},
		{"text not a string", `[{"id":"a"},{"text":5}]`, []string{"doc 1", `field "text"`, "want a string"}},
		{"embedding a string", `[{}, {"embedding":"0.1,0.2"}]`, []string{"doc 1", `field "embedding"`, "got a string"}},
		{"ragged tensor", `[{"tensor":[[1,2],[3]]}]`, []string{"doc 0", `field "tensor"`, "ragged", "lengths 2 and 1"}},
		{"numbers then lists", `[{"embedding":[1,[2]]}]`, []string{"doc 0", `field "embedding"`, "numbers and lists mixed"}},
		{"lists then numbers", `[{"embedding":[[1],2]}]`, []string{"doc 0", `field "embedding"`, "numbers and lists mixed"}},
		{"deeper then shallower", `[{"embedding":[[[1]],[2]]}]`, []string{"doc 0", `field "embedding"`, "mixed"}},
		{"string element", `[{"embedding":[1,"2"]}]`, []string{"doc 0", `field "embedding"`, "must be numbers", "string"}},
		{"float32 overflow", `[{"embedding":[1e39]}]`, []string{"doc 0", `field "embedding"`, "element 0", "out of range"}},
		{"bad base64 blob", `[{"id":"a"},{"id":"b"},{"blob":"not base64!"}]`, []string{"doc 2", `field "blob"`, "base64"}},
		{"blob a number", `[{"blob":5}]`, []string{"doc 0", `field "blob"`, "base64"}},
		{"unknown array key", `[{"embedding":{"dtype":"<f4","shape":[1],"data":[1],"order":"C"}}]`, []string{"doc 0", `field "embedding"`, `unknown array key "order"`}},
		{"i1 out of range", `[{"id":"a"},{"tensor":{"dtype":"|i1","shape":[2],"data":[1,200]}}]`, []string{"doc 1", `field "tensor"`, "element 1", "200", "|i1", "out of range"}},
		{"u1 negative", `[{"tensor":{"dtype":"|u1","shape":[1],"data":[-1]}}]`, []string{"doc 0", `field "tensor"`, "element 0", "|u1"}},
		{"i8 fraction", `[{"tensor":{"dtype":"<i8","shape":[1],"data":[1.5]}}]`, []string{"doc 0", `field "tensor"`, "element 0", "<i8"}},
		{"data too short", `[{"embedding":{"dtype":"<f4","shape":[2],"data":[1]}}]`, []string{"doc 0", `field "embedding"`, "does not fit shape [2]"}},
		{"data for unknown dtype", `[{"embedding":{"dtype":"<c8","shape":[1],"data":[1]}}]`, []string{"doc 0", `field "embedding"`, `unsupported dtype "<c8"`}},
		{"buffer and data", `[{"embedding":{"dtype":"<f4","shape":[1],"data":[1],"buffer":"AAAAAA=="}}]`, []string{"doc 0", `field "embedding"`, "not both"}},
		{"bad buffer base64", `[{"embedding":{"dtype":"<f4","shape":[1],"buffer":"@@"}}]`, []string{"doc 0", `field "embedding"`, `"buffer"`}},
		{"negative shape", `[{"embedding":{"dtype":"<f4","shape":[-1],"data":[]}}]`, []string{"doc 0", `field "embedding"`, "non-negative"}},
		{"no dtype", `[{"embedding":{"shape":[1],"data":[1]}}]`, []string{"doc 0", `field "embedding"`, "dtype"}},
		{"no data", `[{"embedding":{"dtype":"<f4","shape":[1]}}]`, []string{"doc 0", `field "embedding"`, `"data" or "buffer"`}},
		{"params not an object", `[{"embedding":{"dtype":"<f4","shape":[0],"data":[],"params":[]}}]`, []string{"doc 0", `field "embedding"`, "params"}},
		{"tags a list", `[{"tags":[1]}]`, []string{"doc 0", `field "tags"`, "want an object"}},
		{"tag number out of range", `[{"tags":{"n":1e400}}]`, []string{"doc 0", `field "tags"`, "out of range"}},
		{"score a string", `[{"scores":{"cos":"high"}}]`, []string{"doc 0", `field "scores"`, `score "cos"`}},
		{"score without value", `[{"scores":{"cos":{"op_name":"x"}}}]`, []string{"doc 0", `field "scores"`, `"value" is missing`}},
		{"bad doc in chunks", `[{"id":"a"},{"chunks":[{"id":"c"},{"embedding":true}]}]`, []string{"doc 1", `field "chunks"`, "doc 1", `field "embedding"`}},
		{"chunks too deep", `[` + deepChunks + `]`, []string{"doc 0", `field "chunks"`, "deeper than 64"}},
		{"tags too deep", `[{"tags":` + deepTags + `}]`, []string{"doc 0", `field "tags"`, "deeper than 64"}},
		{"extra too deep", `[{"custom":` + deepTags + `}]`, []string{"doc 0", `field "custom"`, "deeper than 64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l DocList
			err := l.UnmarshalJSON([]byte(tc.in))
			if err == nil || !containsAll(err.Error(), tc.want...) {
				t.Errorf("error %v\nwant one containing %q", err, tc.want)
			}
		})
	}
	var d Document
	if err := d.UnmarshalJSON([]byte(`[]`)); err == nil || !strings.Contains(err.Error(), "want a JSON object") {
		t.Errorf("Document.UnmarshalJSON([]): %v", err)
	}
}

// TestMarshalJSONErrors: what JSON cannot carry is refused, not mangled.
func TestMarshalJSONErrors(t *testing.T) {
	nan := 0.0
	nan /= nan
	for _, tc := range []struct {
		name string
		d    *Document
		want []string
	}{
		{"NaN tag", &Document{Tags: map[string]any{"x": []any{nan}}}, []string{`field "tags"`, `key "x"`, "item 0", "NaN"}},
		{"NaN score", &Document{Scores: map[string]NamedScore{"s": {Value: nan}}}, []string{`field "scores"`, `score "s"`, "NaN"}},
		{"bad tensor", &Document{Tensor: &NdArray{Dtype: "<f4", Shape: []int{2}, Data: make([]byte, 4)}}, []string{`field "tensor"`, "does not fit"}},
		{"unsupported tag", &Document{Tags: map[string]any{"c": make(chan int)}}, []string{`field "tags"`, `key "c"`, "chan int"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := (DocList{{ID: "ok"}, tc.d}).MarshalJSON()
			if err == nil || !containsAll(err.Error(), append([]string{"doc 1"}, tc.want...)...) {
				t.Errorf("error %v, want one containing doc 1 and %q", err, tc.want)
			}
		})
	}
}

// TestValidateNamesField: Validate says which field cannot be encoded.
func TestValidateNamesField(t *testing.T) {
	bad := &NdArray{Dtype: "<f8", Shape: []int{3}, Data: make([]byte, 16)}
	for field, d := range map[string]*Document{
		"tensor":    {Tensor: bad},
		"embedding": {Embedding: bad},
		"chunks":    {Chunks: DocList{{}, {Embedding: bad}}},
		"matches":   {Matches: DocList{{Tensor: bad}}},
		"tags":      {Tags: map[string]any{"a": bad}},
	} {
		if err := d.Validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: Validate = %v", field, err)
		}
	}
	if err := (&Document{Tensor: &NdArray{Dtype: ">f4", Shape: []int{3}, Data: []byte{1}}}).Validate(); err != nil {
		t.Errorf("an unknown dtype passes through unchecked, but Validate says %v", err)
	}
}
