package docarray

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/proto"
)

// What docarray 0.40 really writes is in testdata/docarray (written by
// interop/fixtures/gen_docarray.py with real docarray; see
// fixtures_test.go). The node builders below make the shapes docarray may
// send that numpy-only fixtures cannot (torch and tensorflow arrays,
// unusual field types), for TestPythonOtherShapes.

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
