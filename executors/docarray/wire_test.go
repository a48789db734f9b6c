package docarray

import (
	"strings"
	"testing"

	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// plainDocument returns a document with only the fields the direct path
// writes, each set or not, empty strings and empty blobs included.
func (g *gen) plainDocument() *Document {
	d := &Document{}
	if !g.oneIn(4) {
		d.ID = g.str()
	}
	if !g.oneIn(3) {
		d.Text = g.str()
	}
	if g.oneIn(2) {
		d.URL = g.str()
	}
	if g.oneIn(2) {
		d.Blob = g.bytes()
	}
	return d
}

// appendList encodes l with AppendListEntry, entry after entry.
func appendList(t *testing.T, l DocList) []byte {
	t.Helper()
	var b []byte
	for i, d := range l {
		var err error
		if b, err = d.AppendListEntry(b); err != nil {
			t.Fatalf("AppendListEntry doc %d: %v", i, err)
		}
	}
	return b
}

// TestAppendListEntryMatchesToProto: the direct encoding of plain, mixed
// and arbitrary documents decodes to exactly the message ToProto builds.
func TestAppendListEntryMatchesToProto(t *testing.T) {
	forEachSeed(t, func(t *testing.T, g *gen) {
		var in DocList
		for range g.r.IntN(5) {
			switch g.r.IntN(4) {
			case 0:
				in = append(in, g.doc(0))
			case 1:
				in = append(in, nil)
			default:
				in = append(in, g.plainDocument())
			}
		}
		b := appendList(t, in)
		var got docarraypb.DocListProto
		if err := proto.Unmarshal(b, &got); err != nil {
			t.Fatalf("direct encoding does not decode: %v", err)
		}
		if want := in.ToProto(); !proto.Equal(want, &got) {
			t.Fatalf("direct encoding differs:\nwant %v\ngot  %v", want, &got)
		}
		out, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if d := diffDocList("docs", in.ToProtoRoundTrip(t), out); d != "" {
			t.Fatalf("round trip changed the docs: %s", d)
		}
	})
}

// ToProtoRoundTrip is what the DocProto path gives for l (a nil entry
// comes back as an empty document).
func (l DocList) ToProtoRoundTrip(t *testing.T) DocList {
	t.Helper()
	out, err := FromProto(l.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAppendListEntryFailsLikeValidate: a document Validate rejects is
// rejected with the same message.
func TestAppendListEntryFailsLikeValidate(t *testing.T) {
	d := &Document{ID: "a", Tags: map[string]any{"bad": make(chan int)}}
	want := d.Validate()
	if want == nil {
		t.Fatal("Validate accepted a channel tag")
	}
	if _, err := d.AppendListEntry(nil); err == nil || err.Error() != want.Error() {
		t.Fatalf("AppendListEntry error %v, want %v", err, want)
	}
}

// plainishNode returns a node that is plain for some keys and not for
// others: text (empty or not), blob, integer, typed, no content.
func (g *gen) plainishNode() *docarraypb.NodeProto {
	n := &docarraypb.NodeProto{}
	switch g.r.IntN(6) {
	case 0, 1:
		n.Content = &docarraypb.NodeProto_Text{Text: g.str()}
	case 2:
		n.Content = &docarraypb.NodeProto_Blob{Blob: g.bytes()}
	case 3:
		n.Content = &docarraypb.NodeProto_Integer{Integer: int32(g.int())}
	case 4:
		return g.node(0)
	}
	if g.oneIn(4) {
		n.DocarrayType = &docarraypb.NodeProto_Type{Type: docarrayTypes[g.r.IntN(len(docarrayTypes))]}
	}
	return n
}

var plainKeys = []string{keyID, keyText, keyURL, keyBlob, keyID, keyText, keyTags, "other"}

// TestUnmarshalMatchesDocProtoPath: Unmarshal, which reads plain documents
// directly, gives what decoding through DocProto gives, for documents
// mixing plain and other entries, and for malformed bytes.
func TestUnmarshalMatchesDocProtoPath(t *testing.T) {
	forEachSeed(t, func(t *testing.T, g *gen) {
		l := &docarraypb.DocListProto{}
		for range g.r.IntN(5) {
			p := &docarraypb.DocProto{Data: map[string]*docarraypb.NodeProto{}}
			for range g.r.IntN(5) {
				p.Data[plainKeys[g.r.IntN(len(plainKeys))]] = g.plainishNode()
			}
			l.Docs = append(l.Docs, p)
		}
		b, err := proto.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		checkSameDecode(t, b)
		// Damaged copies: cut short, a byte changed, an entry repeated.
		if len(b) > 0 {
			checkSameDecode(t, b[:g.r.IntN(len(b))])
			c := append([]byte{}, b...)
			c[g.r.IntN(len(c))] ^= byte(1 + g.r.IntN(255))
			checkSameDecode(t, c)
			checkSameDecode(t, append(append([]byte{}, b...), b...))
		}
	})
}

// TestUnmarshalEdgeCases: encodings the generator does not produce.
func TestUnmarshalEdgeCases(t *testing.T) {
	entry := func(key string, node []byte) []byte {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, key)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendBytes(e, node)
		return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), e)
	}
	text := func(s string) []byte {
		return protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), s)
	}
	doc := func(entries ...[]byte) []byte {
		var d []byte
		for _, e := range entries {
			d = append(d, e...)
		}
		return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), d)
	}
	cases := map[string][]byte{
		"duplicate key, last wins":  doc(entry("text", text("a")), entry("text", text("b"))),
		"invalid UTF-8 text":        doc(entry("text", text("\xff"))),
		"invalid UTF-8 key":         doc(entry("\xff", text("a"))),
		"two contents":              doc(entry("text", append(text("a"), text("b")...))),
		"empty node":                doc(entry("id", nil)),
		"entry without value":       doc(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "id"))),
		"unknown node field":        doc(entry("text", protowire.AppendVarint(protowire.AppendTag(text("a"), 20, protowire.VarintType), 1))),
		"unknown list field":        protowire.AppendVarint(protowire.AppendTag(doc(entry("id", text("x"))), 7, protowire.VarintType), 3),
		"empty document":            doc(),
		"empty list":                {},
		"repeated value in entry":   doc(entry("text", text("a"))[:0]),
		"value before key":          doc(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), append(protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), text("v")), protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "url")...))),
		"blob with docarray type":   doc(entry("blob", append(protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), []byte{1}), protowire.AppendString(protowire.AppendTag(nil, 13, protowire.BytesType), "bytes")...))),
		"id with type and no text":  doc(entry("id", protowire.AppendString(protowire.AppendTag(nil, 13, protowire.BytesType), "id"))),
		"text field as varint type": doc(entry("text", protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 5))),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) { checkSameDecode(t, b) })
	}
}

// checkSameDecode fails unless Unmarshal(b) and the DocProto path agree.
func checkSameDecode(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := Unmarshal(b)
	var p docarraypb.DocListProto
	want, wantErr := DocList(nil), proto.Unmarshal(b, &p)
	if wantErr == nil {
		want, wantErr = FromProto(&p)
	}
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("Unmarshal error %v, DocProto path error %v (bytes %x)", gotErr, wantErr, b)
	}
	if gotErr != nil {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("Unmarshal gave %d docs, DocProto path %d (bytes %x)", len(got), len(want), b)
	}
	if d := diffDocList("docs", want, got); d != "" {
		t.Fatalf("Unmarshal differs from the DocProto path: %s (bytes %x)", d, b)
	}
}

// FuzzUnmarshalDirect: for any bytes, Unmarshal (direct for plain
// documents) and the DocProto path agree on the error and the documents.
func FuzzUnmarshalDirect(f *testing.F) {
	f.Add([]byte{})
	for _, l := range []DocList{{{ID: "a", Text: "b", URL: "c", Blob: []byte{1}}}, {{Text: "x", Tags: map[string]any{"k": 1.0}}}} {
		b, err := l.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkSameDecode(t, b) })
}

// TestAppendCheckedFailsWhereMarshalFails: AppendChecked encodes what
// proto.Marshal of ToProtoChecked encodes and fails where either fails,
// naming the document: an unsupported tag (Validate) and a string that is
// not UTF-8, in a plain document (direct path) and in one with tags.
func TestAppendCheckedFailsWhereMarshalFails(t *testing.T) {
	old := func(l DocList) ([]byte, error) {
		p, err := l.ToProtoChecked()
		if err != nil {
			return nil, err
		}
		return proto.Marshal(p)
	}
	good := DocList{{ID: "a", Text: "é"}, nil, {ID: "b", Tags: map[string]any{"k": 1.5}}}
	cases := map[string]DocList{
		"channel tag":         {{ID: "a"}, {ID: "b", Tags: map[string]any{"bad": make(chan int)}}},
		"plain text":          {{ID: "a"}, {ID: "b", Text: "\xff"}},
		"plain id":            {{ID: "\xed\xa0\x80"}},
		"plain url":           {{ID: "a", URL: "x\xfe"}},
		"text beside tags":    {{ID: "a", Text: "\xff", Tags: map[string]any{"k": "v"}}},
		"valid, for contrast": good,
	}
	for name, l := range cases {
		t.Run(name, func(t *testing.T) {
			want, wantErr := old(l)
			got, err := l.AppendChecked([]byte("x"))
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("AppendChecked error %v, proto.Marshal of ToProtoChecked %v", err, wantErr)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "doc ") {
					t.Fatalf("error %q does not name the document", err)
				}
				return
			}
			var a, b docarraypb.DocListProto
			if err := proto.Unmarshal(got[1:], &a); err != nil || string(got[:1]) != "x" {
				t.Fatalf("AppendChecked wrote %x: %v", got, err)
			}
			if err := proto.Unmarshal(want, &b); err != nil || !proto.Equal(&a, &b) {
				t.Fatalf("AppendChecked encodes\n%v\nproto.Marshal\n%v", &a, &b)
			}
		})
	}
}
