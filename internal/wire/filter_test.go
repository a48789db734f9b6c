package wire

import (
	"bytes"
	"testing"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/docarraypb"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// taggedDoc encodes a document with tags {"keep": keep} and a "text" entry
// whose value is not a valid NodeProto: decoding the whole document fails,
// decoding only its tags does not.
func taggedDoc(t *testing.T, keep bool) []byte {
	t.Helper()
	doc, err := proto.Marshal(&docarraypb.DocProto{Data: map[string]*docarraypb.NodeProto{
		"tags": {Content: &docarraypb.NodeProto_Dict{Dict: &docarraypb.DictOfAnyProto{Data: map[string]*docarraypb.NodeProto{
			"keep": {Content: &docarraypb.NodeProto_Boolean{Boolean: keep}}}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var entry []byte
	entry = protowire.AppendTag(entry, 1, protowire.BytesType)
	entry = protowire.AppendString(entry, "text")
	entry = protowire.AppendTag(entry, 2, protowire.BytesType)
	entry = protowire.AppendBytes(entry, []byte{0x0a, 0xff}) // cut short
	doc = protowire.AppendTag(doc, 1, protowire.BytesType)
	doc = protowire.AppendBytes(doc, entry)
	return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), doc)
}

func TestFilterDocsDecodesOnlyWhatItReads(t *testing.T) {
	yes, no := taggedDoc(t, true), taggedDoc(t, false)
	docs := append(append(append([]byte{}, yes...), no...), yes...)
	var req jinapb.DataRequestProto
	if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(encodeRequest(t, docs))}, &req); err != nil {
		t.Fatal(err)
	}
	if _, err := Docs(&req); err == nil {
		t.Fatal("the test documents must not decode in full")
	}
	var seen []map[string]any
	out, ok, err := FilterDocs(&req, []string{"tags"}, func(d *docarray.Document) bool {
		seen = append(seen, d.Tags)
		return d.Tags["keep"] == true
	})
	if err != nil || !ok {
		t.Fatalf("FilterDocs: %v %v", ok, err)
	}
	if len(seen) != 3 || seen[1]["keep"] != false {
		t.Fatalf("the filter saw %v", seen)
	}
	if DocCount(out) != 2 || !undecoded(out) || !undecoded(&req) || DocCount(&req) != 3 {
		t.Fatalf("kept %d of %d", DocCount(out), DocCount(&req))
	}
	b, err := Codec().Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Materialize(), append(append([]byte{}, yes...), yes...)) {
		t.Fatal("the kept documents must leave as the bytes they came in")
	}
	if _, ok, _ := FilterDocs(&jinapb.DataRequestProto{}, nil, nil); ok {
		t.Fatal("a request without encoded documents is the caller's to filter")
	}
	bad := Shallow(&req)
	bad.Data.Documents = &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: []byte{0x0a, 0x05}}
	if _, ok, err := FilterDocs(bad, []string{"tags"}, func(*docarray.Document) bool { return true }); !ok || err == nil {
		t.Fatalf("a broken list: %v %v", ok, err)
	}
}
