package docarray

import (
	"strings"
	"testing"
)

// benchDocs returns 100 documents of 1 KiB text with a 128-dim float32
// embedding, a typical embedding request.
func benchDocs() DocList {
	docs := make(DocList, 100)
	text := strings.Repeat("lorem ipsum ", 86)[:1024]
	for i := range docs {
		v := make([]float32, 128)
		for j := range v {
			v[j] = float32(i*128+j) / 1000
		}
		docs[i] = &Document{ID: NewID(), Text: text, Embedding: NewFloat32(v), Tags: map[string]any{"i": i}}
	}
	return docs
}

func BenchmarkDocListToProto(b *testing.B) {
	docs := benchDocs()
	b.ReportAllocs()
	for b.Loop() {
		_ = docs.ToProto()
	}
}

func BenchmarkDocListFromProto(b *testing.B) {
	p := benchDocs().ToProto()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromProto(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDocListMarshal(b *testing.B) {
	docs := benchDocs()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := docs.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDocListUnmarshal(b *testing.B) {
	data, err := benchDocs().Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDocListMarshalJSON(b *testing.B) {
	docs := benchDocs()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := docs.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDocListUnmarshalJSON(b *testing.B) {
	data, err := benchDocs().MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var docs DocList
		if err := docs.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}
