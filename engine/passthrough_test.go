package engine_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/proto/docarraypb"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// bytesCodec sends and receives messages as they are encoded, so a test
// sees the exact bytes the gateway answers with.
type bytesCodec struct{}

func (bytesCodec) Marshal(v any) ([]byte, error)   { return *v.(*[]byte), nil }
func (bytesCodec) Unmarshal(b []byte, v any) error { *v.(*[]byte) = bytes.Clone(b); return nil }
func (bytesCodec) Name() string                    { return "proto" }

// oddDoc encodes a document (text, and tags {"keep": keep}) the way
// protobuf never encodes it: its length is a two-byte varint where one
// byte does. Decoding and encoding it again changes its bytes.
func oddDoc(t *testing.T, text string, keep bool) []byte {
	t.Helper()
	doc, err := proto.Marshal(&docarraypb.DocProto{Data: map[string]*docarraypb.NodeProto{
		"text": {Content: &docarraypb.NodeProto_Text{Text: text}},
		"tags": {Content: &docarraypb.NodeProto_Dict{Dict: &docarraypb.DictOfAnyProto{Data: map[string]*docarraypb.NodeProto{
			"keep": {Content: &docarraypb.NodeProto_Boolean{Boolean: keep}}}}}},
	}})
	if err != nil || len(doc) >= 128 {
		t.Fatalf("test document: %v (%d bytes)", err, len(doc))
	}
	out := protowire.AppendTag(nil, 1, protowire.BytesType)
	out = append(out, byte(len(doc))|0x80, 0) // non-minimal varint length
	return append(out, doc...)
}

// sendRaw sends a request for /x carrying docs (an encoded DocListProto,
// as docs) to the gateway and returns the answer's bytes.
func sendRaw(t *testing.T, eng *engine.Engine, docs []byte) []byte {
	t.Helper()
	req, err := proto.Marshal(&jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String("/x")}})
	if err != nil {
		t.Fatal(err)
	}
	data := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), docs)
	req = protowire.AppendBytes(protowire.AppendTag(req, 4, protowire.BytesType), data)
	var out []byte
	cc := dial(t, eng.Addresses().GRPC)
	if err := cc.Invoke(context.Background(), "/jina.JinaSingleDataRequestRPC/process_single_data", &req, &out, grpc.ForceCodec(bytesCodec{})); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPassThroughForwardsDocumentBytes sends documents encoded the way
// protobuf never encodes them through two Echo executors: they come back
// byte for byte, which they cannot if the gateway, the router or an
// executor decoded and encoded them again.
func TestPassThroughForwardsDocumentBytes(t *testing.T) {
	eng := startFlow(t, "executors:\n  - {name: a, uses: builtin:Echo}\n  - {name: b, uses: builtin:Echo}\n")
	docs := append(append(oddDoc(t, "one", true), oddDoc(t, "two", true)...), oddDoc(t, "three", false)...)
	out := sendRaw(t, eng, docs)
	if !bytes.Contains(out, docs) {
		t.Fatal("the documents were decoded and encoded again on the way")
	}
	var resp jinapb.DataRequestProto
	if err := proto.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS || len(resp.GetData().GetDocs().GetDocs()) != 3 {
		t.Fatalf("status %v, data %v", st, resp.GetData())
	}
	var names []string
	for _, r := range resp.GetRoutes() {
		names = append(names, r.GetExecutor())
	}
	if len(names) != 3 || names[1] != "a" || names[2] != "b" {
		t.Fatalf("routes %v: the request must have gone through both executors", names)
	}
}

// TestWhenFilterForwardsKeptDocumentBytes: a `when:` on tags keeps the
// matching documents as the bytes they came in.
func TestWhenFilterForwardsKeptDocumentBytes(t *testing.T) {
	eng := startFlow(t, "executors:\n  - name: a\n    uses: builtin:Echo\n    when: {tags__keep: {$eq: true}}\n")
	one, two, three := oddDoc(t, "one", true), oddDoc(t, "two", false), oddDoc(t, "three", true)
	out := sendRaw(t, eng, append(append(append([]byte{}, one...), two...), three...))
	if !bytes.Contains(out, append(append([]byte{}, one...), three...)) || bytes.Contains(out, two) {
		t.Fatal("want the kept documents as they came, and not the other")
	}
	var resp jinapb.DataRequestProto
	if err := proto.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if got := resp.GetData().GetDocs().GetDocs(); len(got) != 2 || got[1].GetData()["text"].GetText() != "three" {
		t.Fatalf("documents %v", got)
	}
}
