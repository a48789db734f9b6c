package wire

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/docarraypb"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// oddDocs is an encoded DocListProto of n documents that protobuf would
// not encode this way: each document's length is a two-byte varint where
// one byte would do. It decodes fine, but decoding and encoding it again
// changes its bytes, so finding it unchanged after a trip proves nobody
// decoded and re-encoded it.
func oddDocs(t *testing.T, n int) []byte {
	t.Helper()
	var out []byte
	for i := range n {
		d, err := (docarray.DocList{{ID: string(rune('a' + i)), Text: "hello"}}).ToProtoChecked()
		if err != nil {
			t.Fatal(err)
		}
		doc, err := proto.Marshal(d.Docs[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(doc) >= 128 {
			t.Fatal("test document too long for the two-byte trick")
		}
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = append(out, byte(len(doc))|0x80, 0) // non-minimal varint
		out = append(out, doc...)
	}
	var l docarraypb.DocListProto
	if err := proto.Unmarshal(out, &l); err != nil || len(l.Docs) != n {
		t.Fatalf("the odd encoding must decode: %v", err)
	}
	if again, _ := proto.Marshal(&l); bytes.Equal(again, out) {
		t.Fatal("the odd encoding must not survive re-encoding")
	}
	return out
}

// encodeRequest encodes a request whose documents are the given encoded
// DocListProto, sent as docs (field 1 of DataContentProto).
func encodeRequest(t *testing.T, docs []byte) []byte {
	t.Helper()
	top, err := proto.Marshal(&jinapb.DataRequestProto{
		Header:     &jinapb.HeaderProto{RequestId: "r1", ExecEndpoint: proto.String("/x")},
		Parameters: &structpb.Struct{Fields: map[string]*structpb.Value{"k": structpb.NewStringValue("v")}},
		Routes:     []*jinapb.RouteProto{{Executor: "gateway"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	data = protowire.AppendTag(data, 1, protowire.BytesType)
	data = protowire.AppendBytes(data, docs)
	top = protowire.AppendTag(top, 4, protowire.BytesType)
	return protowire.AppendBytes(top, data)
}

func TestCodecKeepsUnreadDocumentsAsTheyCame(t *testing.T) {
	docs := oddDocs(t, 3)
	in := encodeRequest(t, docs)
	c := Codec()
	var req jinapb.DataRequestProto
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(bytes.Clone(in))}, &req); err != nil {
		t.Fatal(err)
	}
	if !undecoded(&req) || DocCount(&req) != 3 {
		t.Fatalf("undecoded %v, DocCount %d", undecoded(&req), DocCount(&req))
	}
	if req.GetHeader().GetRequestId() != "r1" || req.GetParameters().AsMap()["k"] != "v" || len(req.GetRoutes()) != 1 {
		t.Fatalf("the rest must be decoded: %v", &req)
	}
	// Forwarded and answered untouched (a shallow copy, a new status):
	// the documents go out as the bytes they came in, as docs.
	resp := Shallow(&req)
	resp.Header = HeaderWithStatus(req.Header, &jinapb.StatusProto{})
	out, err := c.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	b := out.Materialize()
	if !bytes.Contains(b, docs) {
		t.Fatal("the documents were re-encoded")
	}
	var std jinapb.DataRequestProto
	if err := proto.Unmarshal(b, &std); err != nil {
		t.Fatal(err)
	}
	if got := std.GetData().GetDocs().GetDocs(); len(got) != 3 || got[2].GetData()["text"].GetText() != "hello" {
		t.Fatalf("a stock decoder must find docs: %v", std.GetData())
	}
	if len(std.GetData().ProtoReflect().GetUnknown()) != 0 {
		t.Fatal("the mark must not reach the wire")
	}
	// Unchanged, the whole message is the bytes that came in.
	whole, err := c.Marshal(&req)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(whole.Materialize(), in) {
		t.Fatal("an untouched request must encode to the bytes it came in")
	}
}

func TestReadingLazyDocuments(t *testing.T) {
	var req jinapb.DataRequestProto
	if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(encodeRequest(t, oddDocs(t, 2)))}, &req); err != nil {
		t.Fatal(err)
	}
	docs, err := Docs(&req)
	if err != nil || len(docs) != 2 || docs[1].ID != "b" || docs[1].Text != "hello" {
		t.Fatalf("Docs = %v, %v", docs, err)
	}
	// A handler's documents replace them and still travel as docs.
	resp := Shallow(&req)
	if err := SetDocs(resp, docarray.DocList{{ID: "z", Text: "new"}}); err != nil {
		t.Fatal(err)
	}
	if undecoded(&req) != true {
		t.Fatal("the request changed with its copy")
	}
	out, err := Codec().Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var std jinapb.DataRequestProto
	if err := proto.Unmarshal(out.Materialize(), &std); err != nil {
		t.Fatal(err)
	}
	if got := std.GetData().GetDocs().GetDocs(); len(got) != 1 || got[0].GetData()["id"].GetText() != "z" {
		t.Fatalf("want the handler's document as docs: %v", std.GetData())
	}
}

// Requests of other shapes are decoded in full, as grpc-go would, and
// encoded the usual way.
func TestCodecFallsBackToFullDecoding(t *testing.T) {
	docs := oddDocs(t, 1)
	for name, data := range map[string]*jinapb.DataRequestProto_DataContentProto{
		"docs_bytes": {Documents: &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: docs}},
		"no docs":    {},
	} {
		in, err := proto.Marshal(&jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r"}, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		var req jinapb.DataRequestProto
		if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(in)}, &req); err != nil {
			t.Fatal(err)
		}
		if undecoded(&req) || !proto.Equal(req.GetData(), data) {
			t.Fatalf("%s: decoded as %v", name, req.GetData())
		}
		out, err := Codec().Marshal(&req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Materialize(), in) {
			t.Fatalf("%s: encoded differently", name)
		}
	}
	var req jinapb.DataRequestProto
	if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0x22, 0x05, 0x0a})}, &req); err == nil {
		t.Fatal("a truncated message must not decode")
	}
}

// A message received in several frames is decoded from a copy of its own:
// the same request as from one piece, and the transport's buffers can be
// reused (here: overwritten) without touching the documents kept encoded.
func TestCodecJoinsFramesIntoItsOwnCopy(t *testing.T) {
	in := encodeRequest(t, oddDocs(t, 3))
	var whole jinapb.DataRequestProto
	if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(bytes.Clone(in))}, &whole); err != nil {
		t.Fatal(err)
	}
	want, err := Codec().Marshal(&whole)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 7, 64} {
		frames := bytes.Clone(in)
		var bs mem.BufferSlice
		for rest := frames; len(rest) > 0; {
			k := min(n, len(rest))
			bs = append(bs, mem.SliceBuffer(rest[:k]))
			rest = rest[k:]
		}
		var req jinapb.DataRequestProto
		if err := Codec().Unmarshal(bs, &req); err != nil {
			t.Fatalf("frames of %d: %v", n, err)
		}
		clear(frames)
		if !undecoded(&req) || DocCount(&req) != 3 {
			t.Fatalf("frames of %d: undecoded %v, DocCount %d", n, undecoded(&req), DocCount(&req))
		}
		got, err := Codec().Marshal(&req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Materialize(), want.Materialize()) {
			t.Fatalf("frames of %d: re-encoded differently from the whole message", n)
		}
	}
}

// BenchmarkUnmarshalFrames decodes a 100-document request (1 KiB texts)
// received in 16 KiB frames, as the gateway gets it from grpc-go.
func BenchmarkUnmarshalFrames(b *testing.B) {
	docs := make(docarray.DocList, 100)
	for i := range docs {
		docs[i] = &docarray.Document{ID: strconv.Itoa(i), Text: strings.Repeat("x", 1024)}
	}
	l, err := docs.ToProtoChecked()
	if err != nil {
		b.Fatal(err)
	}
	in, err := proto.Marshal(&jinapb.DataRequestProto{Data: &jinapb.DataRequestProto_DataContentProto{
		Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: l}}})
	if err != nil {
		b.Fatal(err)
	}
	var bs mem.BufferSlice
	for rest := in; len(rest) > 0; {
		k := min(16384, len(rest))
		bs = append(bs, mem.SliceBuffer(rest[:k]))
		rest = rest[k:]
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var m jinapb.DataRequestProto
		if err := Codec().Unmarshal(bs, &m); err != nil {
			b.Fatal(err)
		}
	}
}
