package docarray

import (
	"encoding/json"
	"testing"
)

// FuzzFromProtoBytes: whatever serialized DocListProto decodes must be
// encodable (Validate accepts every decoded document) and must come back
// the same when encoded and decoded again (decoding is idempotent).
// Seeds: testdata/fuzz/FuzzFromProtoBytes.
func FuzzFromProtoBytes(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		docs, err := Unmarshal(b)
		if err != nil {
			return
		}
		for i, d := range docs {
			if err := d.Validate(); err != nil {
				t.Fatalf("decoded doc %d does not validate: %v", i, err)
			}
		}
		b2, err := docs.Marshal()
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		again, err := Unmarshal(b2)
		if err != nil {
			t.Fatalf("decoding the re-marshalled docs: %v", err)
		}
		if d := diffDocList("docs", docs, again); d != "" {
			t.Fatalf("not idempotent: %s", d)
		}
	})
}

// FuzzDocListJSON: whatever JSON decodes must encode to JSON without a
// panic (an error is allowed: JSON can nest values deeper than the
// encoder accepts), and that JSON must decode to the same documents. The
// decoded documents must also survive the protobuf encoder without a
// panic, as the gateway sends them on to executors.
// Seeds: testdata/fuzz/FuzzDocListJSON.
func FuzzDocListJSON(f *testing.F) {
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var docs DocList
		if err := docs.UnmarshalJSON(b); err != nil {
			return
		}
		_, _ = docs.Marshal()
		out, err := docs.MarshalJSON()
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("MarshalJSON wrote invalid JSON: %s", out)
		}
		var again DocList
		if err := again.UnmarshalJSON(out); err != nil {
			t.Fatalf("decoding our own JSON: %v\njson: %s", err, out)
		}
		if d := diffDocList("docs", docs, again); d != "" {
			t.Fatalf("JSON round trip changed the docs: %s\njson: %s", d, out)
		}
	})
}
