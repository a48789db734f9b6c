package docarray

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// The fixtures below spell out, node by node, the DocProto that docarray
// 0.40 writes for a LegacyDocument (BaseDoc.to_protobuf): every schema
// field is present; an unset Optional field is an empty NodeProto (Python
// None); id is {text, type: "id"}; numpy arrays are {ndarray, type:
// "ndarray"}, embeddings {ndarray, type: "ndarray_embedding"}; tags is a
// dict (an empty one when unset, its default being dict()); chunks and
// matches are doc_arrays; scores is a dict of NamedScore-shaped dicts.
// Python ints are int32 "integer", floats "float", None an empty node.

// none is the node docarray writes for a Python None.
func none() *docarraypb.NodeProto { return &docarraypb.NodeProto{} }

func typedText(s, typ string) *docarraypb.NodeProto {
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Text{Text: s}, DocarrayType: &docarraypb.NodeProto_Type{Type: typ}}
}

func intNodeOf(n int32) *docarraypb.NodeProto {
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Integer{Integer: n}}
}

func floatNodeOf(f float64) *docarraypb.NodeProto {
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Float{Float: f}}
}

func boolNodeOf(b bool) *docarraypb.NodeProto {
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Boolean{Boolean: b}}
}

func blobNodeOf(b []byte) *docarraypb.NodeProto {
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Blob{Blob: b}}
}

func scoreDict(value float64, extra map[string]string) *docarraypb.NodeProto {
	m := map[string]*docarraypb.NodeProto{"value": floatNodeOf(value)}
	for k, v := range extra {
		m[k] = textNode(v)
	}
	return dictNodeOf(m)
}

// f64le and f32le are numpy's tobytes() of little-endian float arrays.
func f64le(v ...float64) []byte {
	b := make([]byte, 8*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(f))
	}
	return b
}

func f32le(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// pyLegacyDoc is LegacyDocument(id=id, text=text) as Python writes it:
// every other field unset.
func pyLegacyDoc(id, text string) *docarraypb.DocProto {
	textN := none()
	if text != "" {
		textN = textNode(text)
	}
	return docProto(map[string]*docarraypb.NodeProto{
		keyID: typedText(id, typeID), keyText: textN,
		keyTensor: none(), keyEmbedding: none(), keyBlob: none(), keyURL: none(),
		keyChunks: none(), keyMatches: none(), keyScores: none(),
		keyTags: dictNodeOf(map[string]*docarraypb.NodeProto{}),
	})
}

// pyFullDoc is a LegacyDocument subclass instance with every field set,
// plus fields of the subclass that jig does not know.
func pyFullDoc() *docarraypb.DocProto {
	match := pyLegacyDoc("m1", "a match")
	match.Data[keyScores] = dictNodeOf(map[string]*docarraypb.NodeProto{"cosine": scoreDict(0.25, nil)})
	return docProto(map[string]*docarraypb.NodeProto{
		keyID:        typedText("5b1c0bd1e0c3e9f4a2d3c4b5a6978812", typeID),
		keyText:      textNode("hello world"),
		keyBlob:      blobNodeOf([]byte("\x89PNG\r\n")),
		keyURL:       textNode("https://example.com/a.png"),
		keyTensor:    denseNode("<f8", []uint32{2, 2}, f64le(1, 2, 3, 4), typeNdArray),
		keyEmbedding: denseNode("<f4", []uint32{3}, f32le(0.1, 0.2, 0.3), typeEmbedding),
		keyTags: dictNodeOf(map[string]*docarraypb.NodeProto{
			"price":  intNodeOf(10),
			"ratio":  floatNodeOf(0.5),
			"whole":  floatNodeOf(2), // a Python float 2.0 stays a float
			"ok":     boolNodeOf(true),
			"name":   textNode("x"),
			"none":   none(),
			"raw":    blobNodeOf([]byte{0, 1}),
			"list":   listNodeOf(intNodeOf(1), textNode("a")),
			"tuple":  {Content: &docarraypb.NodeProto_Tuple{Tuple: &docarraypb.ListOfAnyProto{Data: []*docarraypb.NodeProto{floatNodeOf(1), boolNodeOf(false)}}}},
			"set":    {Content: &docarraypb.NodeProto_Set{Set: &docarraypb.ListOfAnyProto{Data: []*docarraypb.NodeProto{textNode("s")}}}},
			"nested": dictNodeOf(map[string]*docarraypb.NodeProto{"depth": intNodeOf(2), "empty": dictNodeOf(map[string]*docarraypb.NodeProto{})}),
			"mask":   denseNode("|b1", []uint32{2}, []byte{1, 0}, typeNdArray),
		}),
		keyChunks:  docArrayNode(pyLegacyDoc("c1", "hello"), pyLegacyDoc("c2", "")),
		keyMatches: docArrayNode(match),
		keyScores: dictNodeOf(map[string]*docarraypb.NodeProto{
			"cosine": scoreDict(0.9, nil),
			"l2":     scoreDict(1.5, map[string]string{"op_name": "euclidean", "description": "distance", "ref_id": "q1"}),
		}),
		// Fields of the subclass (unknown to jig).
		"source":    typedText("https://example.com/src", "any_url"),
		"model":     textNode("clip"),
		"image":     denseNode("|u1", []uint32{1, 2, 3}, []byte{1, 2, 3, 4, 5, 6}, "torch_tensor"),
		"meta":      {Content: &docarraypb.NodeProto_Doc{Doc: pyLegacyDoc("inner", "i")}},
		"count":     intNodeOf(-3),
		"maybe":     none(),
		"histogram": denseNode("<c8", []uint32{1}, make([]byte, 8), "ndarray"),
	})
}

// stripUnset removes the empty nodes docarray writes for unset legacy
// fields, recursively through chunks and matches: what jig re-emits for a
// Python document is the original minus exactly these.
func stripUnset(p *docarraypb.DocProto) *docarraypb.DocProto {
	p = proto.Clone(p).(*docarraypb.DocProto)
	var strip func(p *docarraypb.DocProto)
	strip = func(p *docarraypb.DocProto) {
		for k, n := range p.Data {
			if isLegacyKey(k) && n.Content == nil && n.DocarrayType == nil {
				delete(p.Data, k)
			}
			if k == keyChunks || k == keyMatches {
				for _, c := range n.GetDocArray().GetDocs() {
					strip(c)
				}
			}
		}
	}
	strip(p)
	return p
}

// TestPythonLegacyDocument decodes the fixture, checks every field, and
// checks that encoding the result gives back what Python sent (unset
// fields aside), unknown fields included, byte for byte after a marshal.
func TestPythonLegacyDocument(t *testing.T) {
	in := pyFullDoc()
	got, err := DocFromProto(in)
	if err != nil {
		t.Fatal(err)
	}
	emptyTags := map[string]*docarraypb.NodeProto{keyTags: dictNodeOf(map[string]*docarraypb.NodeProto{})}
	want := &Document{
		ID:        "5b1c0bd1e0c3e9f4a2d3c4b5a6978812",
		Text:      "hello world",
		Blob:      []byte("\x89PNG\r\n"),
		URL:       "https://example.com/a.png",
		Tensor:    &NdArray{Dtype: "<f8", Shape: []int{2, 2}, Data: f64le(1, 2, 3, 4)},
		Embedding: NewFloat32([]float32{0.1, 0.2, 0.3}),
		Tags: map[string]any{
			"price": int64(10), "ratio": 0.5, "whole": 2.0, "ok": true, "name": "x", "none": nil,
			"raw":    []byte{0, 1},
			"list":   []any{int64(1), "a"},
			"tuple":  Tuple{1.0, false},
			"set":    Set{"s"},
			"nested": map[string]any{"depth": int64(2), "empty": map[string]any{}},
			"mask":   &NdArray{Dtype: "|b1", Shape: []int{2}, Data: []byte{1, 0}},
		},
		// An explicit empty tags dict is kept verbatim, so it goes back
		// to Python as it came.
		Chunks: DocList{
			{ID: "c1", Text: "hello", Extra: emptyTags},
			{ID: "c2", Extra: emptyTags},
		},
		Matches: DocList{{ID: "m1", Text: "a match", Scores: map[string]NamedScore{"cosine": {Value: 0.25}}, Extra: emptyTags}},
		Scores: map[string]NamedScore{
			"cosine": {Value: 0.9},
			"l2":     {Value: 1.5, OpName: "euclidean", Description: "distance", RefID: "q1"},
		},
		Extra: map[string]*docarraypb.NodeProto{},
	}
	for _, k := range []string{"source", "model", "image", "meta", "count", "maybe", "histogram"} {
		want.Extra[k] = in.Data[k]
	}
	if d := diffDoc("doc", want, got); d != "" {
		t.Fatal(d)
	}

	// Re-emitted: the same message, minus the empty nodes of unset fields.
	wantOut := stripUnset(in)
	if out := got.ToProto(); !proto.Equal(out, wantOut) {
		t.Errorf("re-emitted document differs:\n got %v\nwant %v", out, wantOut)
	}
	// And through bytes, as a DocList (the docs_bytes form).
	b, err := DocList{got}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffDoc("bytes", want, back[0]); d != "" {
		t.Error(d)
	}
	for k, n := range back[0].Extra {
		if !proto.Equal(n, in.Data[k]) {
			t.Errorf("extra field %q changed: %v, want %v", k, n, in.Data[k])
		}
	}
}

// TestPythonOtherShapes: values docarray may send that are not the shape
// jig models are kept verbatim (so nothing is lost); array classes other
// than numpy's decode to the same NdArray.
func TestPythonOtherShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  string
		node *docarraypb.NodeProto
		want *Document // nil: the node is kept in Extra
	}{
		{"torch tensor", keyTensor, denseNode("<f4", []uint32{1}, f32le(1), "torch_tensor"), &Document{Tensor: NewFloat32([]float32{1})}},
		{"tensorflow embedding", keyEmbedding, denseNode("<f4", []uint32{1}, f32le(1), "tensorflow_tensor"), &Document{Embedding: NewFloat32([]float32{1})}},
		{"integer id", keyID, intNodeOf(42), &Document{ID: "42"}},
		{"empty text", keyText, textNode(""), nil},
		{"typed text", keyText, typedText("x", "str"), nil},
		{"url as any_url", keyURL, typedText("https://x", "any_url"), nil},
		{"text as a number", keyText, intNodeOf(1), nil},
		{"empty tags", keyTags, dictNodeOf(map[string]*docarraypb.NodeProto{}), nil},
		{"tags as a list", keyTags, listNodeOf(textNode("a")), nil},
		{"empty scores", keyScores, dictNodeOf(map[string]*docarraypb.NodeProto{}), nil},
		{"score without value", keyScores, dictNodeOf(map[string]*docarraypb.NodeProto{"s": dictNodeOf(map[string]*docarraypb.NodeProto{"op_name": textNode("x")})}), nil},
		{"score with an int value", keyScores, dictNodeOf(map[string]*docarraypb.NodeProto{"s": dictNodeOf(map[string]*docarraypb.NodeProto{"value": intNodeOf(1)})}), nil},
		{"score with unknown key", keyScores, dictNodeOf(map[string]*docarraypb.NodeProto{"s": scoreDict(1, map[string]string{"extra": "y"})}), nil},
		{"score with None op_name", keyScores, dictNodeOf(map[string]*docarraypb.NodeProto{"s": dictNodeOf(map[string]*docarraypb.NodeProto{"value": floatNodeOf(1), "op_name": none()})}), nil},
		{"chunks as a list", keyChunks, listNodeOf(), nil},
		{"blob as text", keyBlob, textNode("x"), nil},
		{"typed none", keyTensor, &docarraypb.NodeProto{DocarrayType: &docarraypb.NodeProto_Type{Type: "ndarray"}}, &Document{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := docProto(map[string]*docarraypb.NodeProto{tc.key: tc.node})
			got, err := DocFromProto(in)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = &Document{Extra: map[string]*docarraypb.NodeProto{tc.key: tc.node}}
			}
			if d := diffDoc("doc", want, got); d != "" {
				t.Fatal(d)
			}
			if tc.want == nil {
				if out := got.ToProto(); !proto.Equal(out, in) {
					t.Errorf("kept field not re-emitted unchanged: %v", out)
				}
			}
		})
	}
}

// TestGoDocumentAsPythonWritesIt: a document made in Go is encoded node for
// node as docarray would encode the same LegacyDocument, so Python decodes
// it into the right classes.
func TestGoDocumentAsPythonWritesIt(t *testing.T) {
	params, err := structpb.NewStruct(map[string]any{"scale": 2})
	if err != nil {
		t.Fatal(err)
	}
	emb := denseNode("<f4", []uint32{2}, f32le(0.5, 1), typeEmbedding)
	emb.GetNdarray().Parameters = params
	d := &Document{
		ID: "abc", Text: "hi", Blob: []byte{}, URL: "u",
		Tensor:    NewInt64([]int64{1, 2}, 2, 1),
		Embedding: &NdArray{Dtype: "<f4", Shape: []int{2}, Data: f32le(0.5, 1), Params: map[string]any{"scale": 2}},
		Tags: map[string]any{
			"n": 3, "big": int64(1) << 40, "f": 0.5, "b": false, "s": "x", "nil": nil, "bytes": []byte("b"),
			"l": []any{1, "a"}, "set": Set{"s"}, "tuple": Tuple{true}, "m": map[string]any{"k": 1.5},
			"doc":  &Document{ID: "d"},
			"docs": DocList{{ID: "e"}},
			"arr":  NewFloat64([]float64{1}),
		},
		Chunks:  DocList{{ID: "c"}},
		Matches: DocList{},
		Scores:  map[string]NamedScore{"cos": {Value: 0.5, OpName: "cosine"}},
	}
	want := docProto(map[string]*docarraypb.NodeProto{
		keyID:        typedText("abc", typeID),
		keyText:      textNode("hi"),
		keyBlob:      blobNodeOf(nil),
		keyURL:       textNode("u"),
		keyTensor:    denseNode("<i8", []uint32{2, 1}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}, typeNdArray),
		keyEmbedding: emb,
		keyTags: dictNodeOf(map[string]*docarraypb.NodeProto{
			"n": intNodeOf(3), "big": floatNodeOf(1 << 40), "f": floatNodeOf(0.5), "b": boolNodeOf(false),
			"s": textNode("x"), "nil": none(), "bytes": blobNodeOf([]byte("b")),
			"l":     listNodeOf(intNodeOf(1), textNode("a")),
			"set":   {Content: &docarraypb.NodeProto_Set{Set: &docarraypb.ListOfAnyProto{Data: []*docarraypb.NodeProto{textNode("s")}}}},
			"tuple": {Content: &docarraypb.NodeProto_Tuple{Tuple: &docarraypb.ListOfAnyProto{Data: []*docarraypb.NodeProto{boolNodeOf(true)}}}},
			"m":     dictNodeOf(map[string]*docarraypb.NodeProto{"k": floatNodeOf(1.5)}),
			"doc":   {Content: &docarraypb.NodeProto_Doc{Doc: docProto(map[string]*docarraypb.NodeProto{keyID: typedText("d", typeID)})}},
			"docs":  docArrayNode(docProto(map[string]*docarraypb.NodeProto{keyID: typedText("e", typeID)})),
			"arr":   denseNode("<f8", []uint32{1}, f64le(1), typeNdArray),
		}),
		keyChunks:  docArrayNode(docProto(map[string]*docarraypb.NodeProto{keyID: typedText("c", typeID)})),
		keyMatches: docArrayNode(),
		keyScores:  dictNodeOf(map[string]*docarraypb.NodeProto{"cos": scoreDict(0.5, map[string]string{"op_name": "cosine"})}),
	})
	if got := d.ToProto(); !proto.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}
