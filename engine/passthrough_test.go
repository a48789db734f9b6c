package engine_test

import (
	"bytes"
	"context"
	"testing"

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

// TestPassThroughForwardsDocumentBytes sends documents encoded the way
// protobuf never encodes them (each document's length a two-byte varint)
// through two Echo executors: they come back byte for byte, which they
// cannot if the gateway, the router or an executor decoded and encoded
// them again.
func TestPassThroughForwardsDocumentBytes(t *testing.T) {
	eng := startFlow(t, "executors:\n  - {name: a, uses: builtin:Echo}\n  - {name: b, uses: builtin:Echo}\n")
	var docs []byte
	for _, text := range []string{"one", "two", "three"} {
		doc, err := proto.Marshal(&docarraypb.DocProto{Data: map[string]*docarraypb.NodeProto{
			"text": {Content: &docarraypb.NodeProto_Text{Text: text}}}})
		if err != nil {
			t.Fatal(err)
		}
		docs = protowire.AppendTag(docs, 1, protowire.BytesType)
		docs = append(docs, byte(len(doc))|0x80, 0) // non-minimal varint length
		docs = append(docs, doc...)
	}
	req, err := proto.Marshal(&jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String("/x")}})
	if err != nil {
		t.Fatal(err)
	}
	data := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), docs)
	req = protowire.AppendBytes(protowire.AppendTag(req, 4, protowire.BytesType), data)

	cc := dial(t, eng.Addresses().GRPC)
	var out []byte
	if err := cc.Invoke(context.Background(), "/jina.JinaSingleDataRequestRPC/process_single_data", &req, &out, grpc.ForceCodec(bytesCodec{})); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, data) {
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
