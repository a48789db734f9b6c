package docarray

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestProtoRoundTrip: any valid document list survives ToProto → FromProto,
// and encoding the result again gives the same message (the encoding is a
// function of the document, not of how it was built).
func TestProtoRoundTrip(t *testing.T) {
	forEachSeed(t, func(t *testing.T, g *gen) {
		in := g.docList(0, 4)
		for i, d := range in {
			if err := d.Validate(); err != nil {
				t.Fatalf("generated doc %d does not validate: %v", i, err)
			}
		}
		p := in.ToProto()
		out, err := FromProto(p)
		if err != nil {
			t.Fatalf("FromProto: %v\nproto: %v", err, p)
		}
		if d := diffDocList("docs", in, out); d != "" {
			t.Fatalf("round trip changed the docs: %s\nproto: %v", d, p)
		}
		if p2 := out.ToProto(); !proto.Equal(p, p2) {
			t.Fatalf("re-encoding differs:\nfirst:  %v\nsecond: %v", p, p2)
		}
	})
}

// TestProtoBytesRoundTrip: the same through serialized bytes (the
// docs_bytes form), which also checks that every encoded message is valid
// protobuf (UTF-8 strings, no nil list entries).
func TestProtoBytesRoundTrip(t *testing.T) {
	forEachSeed(t, func(t *testing.T, g *gen) {
		in := g.docList(0, 4)
		b, err := in.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		out, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if d := diffDocList("docs", in, out); d != "" {
			t.Fatalf("round trip changed the docs: %s", d)
		}
	})
}

// TestJSONRoundTrip: documents whose tags are JSON-native survive
// MarshalJSON → UnmarshalJSON, whatever their arrays hold (every dtype,
// NaN, Inf, -0, half floats, unknown dtypes, params).
func TestJSONRoundTrip(t *testing.T) {
	forEachSeed(t, func(t *testing.T, g *gen) {
		g.json = true
		in := g.docList(0, 4)
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		var out DocList
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("UnmarshalJSON: %v\njson: %s", err, b)
		}
		if d := diffDocList("docs", in, out); d != "" {
			t.Fatalf("round trip changed the docs: %s\njson: %s", d, b)
		}
		// One document on its own takes the same path.
		if len(in) > 0 {
			b, err := in[0].MarshalJSON()
			if err != nil {
				t.Fatalf("Document.MarshalJSON: %v", err)
			}
			var d Document
			if err := d.UnmarshalJSON(b); err != nil {
				t.Fatalf("Document.UnmarshalJSON: %v\njson: %s", err, b)
			}
			if diff := diffDoc("doc", in[0], &d); diff != "" {
				t.Fatalf("round trip changed the doc: %s\njson: %s", diff, b)
			}
		}
	})
}

// TestJSONArrayForms pins which JSON form each array takes: float32 arrays
// are the nested lists Jina's HTTP clients send, other numeric dtypes the
// "data" object, and what JSON cannot spell the base64 "buffer" object.
// Float elements keep a ".0" when whole, so Python reads floats, not ints.
func TestJSONArrayForms(t *testing.T) {
	negZero := math.Copysign(0, -1)
	for _, tc := range []struct {
		name string
		a    *NdArray
		want string
	}{
		{"f4 matrix", NewFloat32([]float32{1, 2.5, -3, 0.1}, 2, 2), `[[1.0,2.5],[-3.0,0.1]]`},
		{"f4 one element", NewFloat32([]float32{7}), `[7.0]`},
		{"f4 true scalar", &NdArray{Dtype: "<f4", Shape: []int{}, Data: NewFloat32([]float32{7}).Data}, `{"dtype":"<f4","shape":[],"data":[7.0]}`},
		{"f4 empty", NewFloat32(nil, 0, 3), `{"dtype":"<f4","shape":[0,3],"data":[]}`},
		{"f4 NaN", NewFloat32([]float32{float32(math.NaN())}), `{"dtype":"<f4","shape":[1],"buffer":"AADAfw=="}`},
		{"f8", NewFloat64([]float64{0.1, 1e300}), `{"dtype":"<f8","shape":[2],"data":[0.1,1e+300]}`},
		{"f8 -0", NewFloat64([]float64{negZero}), `{"dtype":"<f8","shape":[1],"data":[-0.0]}`},
		{"f8 Inf", NewFloat64([]float64{math.Inf(1)}), `{"dtype":"<f8","shape":[1],"buffer":"AAAAAAAA8H8="}`},
		{"i8", NewInt64([]int64{math.MinInt64, 1}), `{"dtype":"<i8","shape":[2],"data":[-9223372036854775808,1]}`},
		{"u8 max", &NdArray{Dtype: "<u8", Shape: []int{1}, Data: []byte{255, 255, 255, 255, 255, 255, 255, 255}}, `{"dtype":"<u8","shape":[1],"data":[18446744073709551615]}`},
		{"f2", &NdArray{Dtype: "<f2", Shape: []int{1}, Data: []byte{0, 0x3c}}, `{"dtype":"<f2","shape":[1],"buffer":"ADw="}`},
		{"b1", &NdArray{Dtype: "|b1", Shape: []int{2}, Data: []byte{0, 1}}, `{"dtype":"|b1","shape":[2],"buffer":"AAE="}`},
		{"c8", &NdArray{Dtype: "<c8", Shape: []int{1}, Data: make([]byte, 8)}, `{"dtype":"<c8","shape":[1],"buffer":"AAAAAAAAAAA="}`},
		{"params", &NdArray{Dtype: "<f4", Shape: []int{1}, Data: make([]byte, 4), Params: map[string]any{"scale": 2.0}}, `{"dtype":"<f4","shape":[1],"data":[0.0],"params":{"scale":2.0}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Document{ID: "x", Embedding: tc.a}
			b, err := d.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			// Strings go through encoding/json, which escapes '<' (valid
			// JSON, and what Go's own encoder would write).
			want := strings.ReplaceAll(`{"id":"x","embedding":`+tc.want+`}`, "<", `\u003c`)
			if string(b) != want {
				t.Errorf("got  %s\nwant %s", b, want)
			}
			var back Document
			if err := back.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
			if diff := diffDoc("doc", d, &back); diff != "" {
				t.Errorf("round trip: %s", diff)
			}
		})
	}
}

// TestJSONFloatTagsStayFloats: a float tag with an integral value must not
// come back as an integer (Python would then see an int), and -0 keeps its
// sign; integers stay integers whatever their size.
func TestJSONFloatTagsStayFloats(t *testing.T) {
	in := &Document{ID: "x", Tags: map[string]any{
		"one": 1.0, "big": 1e21, "neg0": math.Copysign(0, -1), "int": int64(1), "huge": int64(math.MaxInt64),
	}, Scores: map[string]NamedScore{"s": {Value: 2}}}
	b, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out Document
	if err := out.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if d := diffDoc("doc", in, &out); d != "" {
		t.Errorf("%s\njson: %s", d, b)
	}
}

// TestJSONMissingID: a document without an id gets a fresh docarray-style id.
func TestJSONMissingID(t *testing.T) {
	var l DocList
	if err := json.Unmarshal([]byte(`[{"text":"a"},{"id":null},{"id":""},{"id":7}]`), &l); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, d := range l[:3] {
		if len(d.ID) != 32 || seen[d.ID] {
			t.Errorf("doc %d: id %q is not a fresh 32-hex-digit id", i, d.ID)
		}
		seen[d.ID] = true
	}
	if l[3].ID != "7" {
		t.Errorf("numeric id decoded as %q, want \"7\"", l[3].ID)
	}
}

// TestJSONLegacyFieldWinsOverExtra: a legacy key kept verbatim in Extra
// (docarray sent text="") is shadowed once Go sets the field, in JSON as in
// protobuf; JSON must not write the key twice.
func TestJSONLegacyFieldWinsOverExtra(t *testing.T) {
	var d Document
	if err := d.SetField(keyText, ""); err != nil {
		t.Fatal(err)
	}
	d.ID, d.Text = "x", "hello"
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"x","text":"hello"}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	back, err := DocFromProto(d.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	if back.Text != "hello" {
		t.Errorf("protobuf: text %q, want hello", back.Text)
	}
}

// TestValueNormalisation: Go values of other types encode as the listed tag
// types and decode in their normalised form.
func TestValueNormalisation(t *testing.T) {
	type myString string
	s := "p"
	// JSON numbers are not limited to docarray's int32 integers.
	jsonKeeps := map[string]any{"int64 beyond int32": int64(1) << 40}
	for _, tc := range []struct {
		name    string
		in, out any
	}{
		{"int", 7, int64(7)},
		{"int8", int8(-7), int64(-7)},
		{"int32 min", int32(math.MinInt32), int64(math.MinInt32)},
		{"uint16", uint16(65535), int64(65535)},
		{"int64 beyond int32", int64(1) << 40, float64(1 << 40)},
		{"uint64 max", uint64(math.MaxUint64), float64(math.MaxUint64)},
		{"float32", float32(0.5), 0.5},
		{"named string", myString("s"), "s"},
		{"[]string", []string{"a", "b"}, []any{"a", "b"}},
		{"[2]int", [2]int{1, 2}, []any{int64(1), int64(2)}},
		{"map[string]int", map[string]int{"a": 1}, map[string]any{"a": int64(1)}},
		{"pointer", &s, "p"},
		{"nil pointer", (*string)(nil), nil},
		{"nil array", (*NdArray)(nil), nil},
		{"nil doc", (*Document)(nil), nil},
		{"nil list", []any(nil), []any{}},
		{"nil bytes", []byte(nil), []byte{}},
		{"nil doc list", DocList(nil), DocList{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Document{Tags: map[string]any{"v": tc.in}}
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			back, err := DocFromProto(d.ToProto())
			if err != nil {
				t.Fatal(err)
			}
			if diff := diffValue("v", tc.out, back.Tags["v"]); diff != "" {
				t.Errorf("protobuf: %s", diff)
			}
			// JSON agrees with protobuf on the meaning of these values
			// (up to JSON's own vocabulary: no bytes, sets, doc lists).
			b, err := d.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := tc.out.([]byte); ok {
				return
			}
			if _, ok := tc.out.(DocList); ok {
				return
			}
			var j Document
			if err := j.UnmarshalJSON(b); err != nil {
				t.Fatalf("%v\njson: %s", err, b)
			}
			want := tc.out
			if w, ok := jsonKeeps[tc.name]; ok {
				want = w
			}
			if diff := diffValue("v", want, j.Tags["v"]); diff != "" {
				t.Errorf("JSON %s: %s", b, diff)
			}
		})
	}
}

// TestUnsupportedTagDropped: ToProto drops what it cannot encode, and
// Validate names it.
func TestUnsupportedTagDropped(t *testing.T) {
	d := &Document{ID: "x", Tags: map[string]any{"ok": "yes", "bad": make(chan int)}}
	err := d.Validate()
	if err == nil || !containsAll(err.Error(), "tags", `"bad"`, "chan int") {
		t.Errorf("Validate: %v, want an error naming tags, the key and the type", err)
	}
	back, err := DocFromProto(d.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffMap("tags", map[string]any{"ok": "yes"}, back.Tags); diff != "" {
		t.Error(diff)
	}
}

// TestNilDocuments: a nil entry in a list encodes as an empty document
// everywhere, rather than panicking in one encoder but not the others.
func TestNilDocuments(t *testing.T) {
	l := DocList{nil, {ID: "b", Chunks: DocList{nil}}}
	p := l.ToProto()
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fromBytes, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	fromProto, err := FromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	want := DocList{{}, {ID: "b", Chunks: DocList{{}}}}
	for name, got := range map[string]DocList{"proto": fromProto, "bytes": fromBytes} {
		if d := diffDocList(name, want, got); d != "" {
			t.Error(d)
		}
	}
	var nilDoc *Document
	if err := nilDoc.Validate(); err != nil {
		t.Errorf("Validate on a nil document: %v", err)
	}
	if _, err := json.Marshal(l); err != nil {
		t.Errorf("MarshalJSON: %v", err)
	}
}

// TestFieldAccessors covers Field/SetField, SetTag, Score/SetScore.
func TestFieldAccessors(t *testing.T) {
	d := &Document{}
	if _, ok := d.Field("x"); ok {
		t.Error("Field on an empty document reports a value")
	}
	if err := d.SetField("x", map[string]any{"a": Tuple{int64(1), "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetField("bad", func() {}); err == nil {
		t.Error("SetField accepted a func")
	}
	v, ok := d.Field("x")
	if !ok {
		t.Fatal("Field lost the value")
	}
	if diff := diffValue("x", map[string]any{"a": Tuple{int64(1), "b"}}, v); diff != "" {
		t.Error(diff)
	}
	d.SetTag("k", "v")
	d.SetScore("cos", 0.5)
	d.SetScore("cos", 0.75)
	if s, ok := d.Score("cos"); !ok || s != 0.75 {
		t.Errorf("Score = %v, %v", s, ok)
	}
	if _, ok := d.Score("none"); ok {
		t.Error("Score reports an unset score")
	}
	if d.Tags["k"] != "v" {
		t.Error("SetTag lost the tag")
	}
}

// TestListHelpers covers New, FromTexts, Texts and IDs.
func TestListHelpers(t *testing.T) {
	l := FromTexts("a", "b")
	if got := l.Texts(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("Texts = %v", got)
	}
	ids := l.IDs()
	if len(ids[0]) != 32 || ids[0] == ids[1] {
		t.Errorf("IDs = %v, want two distinct 32-digit ids", ids)
	}
	if DocList(nil).Clone() != nil {
		t.Error("Clone of a nil list is not nil")
	}
}
