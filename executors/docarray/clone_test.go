package docarray

import (
	"testing"

	"github.com/jig-dev/jig/proto/docarraypb"
)

// TestCloneIsDeep: mutating every reachable part of a clone leaves the
// original as it was. The reference copy is a second document drawn from
// the same seed, so the test does not depend on Clone to make it.
func TestCloneIsDeep(t *testing.T) {
	forEachSeed(t, func(t *testing.T, g *gen) {
		seed := g.r.Uint64()
		orig := newGen(seed).docList(0, 3)
		want := newGen(seed).docList(0, 3)
		c := orig.Clone()
		if d := diffDocList("clone", want, c); d != "" {
			t.Fatalf("clone differs from the original: %s", d)
		}
		for _, d := range c {
			mutateDoc(d)
		}
		if len(c) > 0 {
			c[0] = &Document{ID: "replaced"}
		}
		if d := diffDocList("original", want, orig); d != "" {
			t.Fatalf("mutating the clone changed the original: %s", d)
		}
	})
}

// mutateDoc changes every mutable part of d in place: bytes, shapes,
// params, nested tag values, sub-documents, scores and extra nodes.
func mutateDoc(d *Document) {
	d.ID += "!"
	flip(d.Blob)
	mutateArray(d.Tensor)
	mutateArray(d.Embedding)
	mutateMap(d.Tags)
	for _, l := range []DocList{d.Chunks, d.Matches} {
		for i, c := range l {
			mutateDoc(c)
			l[i] = &Document{ID: "replaced"}
		}
	}
	for k, s := range d.Scores {
		s.Value++
		d.Scores[k] = s
	}
	if d.Scores != nil {
		d.Scores["added"] = NamedScore{}
	}
	for _, n := range d.Extra {
		n.DocarrayType = &docarraypb.NodeProto_Type{Type: "mutated"}
		n.Content = &docarraypb.NodeProto_Text{Text: "mutated"}
	}
	if d.Extra != nil {
		d.Extra["added"] = &docarraypb.NodeProto{}
	}
}

func flip(b []byte) {
	for i := range b {
		b[i] ^= 0xff
	}
}

func mutateArray(a *NdArray) {
	if a == nil {
		return
	}
	flip(a.Data)
	for i := range a.Shape {
		a.Shape[i]++
	}
	mutateMap(a.Params)
}

func mutateMap(m map[string]any) {
	if m == nil {
		return
	}
	for k, v := range m {
		mutateValue(v)
		m[k] = "mutated"
	}
	m["added"] = true
}

func mutateValue(v any) {
	switch x := v.(type) {
	case []byte:
		flip(x)
	case []any:
		mutateSlice(x)
	case Set:
		mutateSlice(x)
	case Tuple:
		mutateSlice(x)
	case map[string]any:
		mutateMap(x)
	case *NdArray:
		mutateArray(x)
	case *Document:
		mutateDoc(x)
	case DocList:
		for i, d := range x {
			mutateDoc(d)
			x[i] = nil
		}
	}
}

func mutateSlice(s []any) {
	for i, v := range s {
		mutateValue(v)
		s[i] = "mutated"
	}
}
