package client

import (
	"testing"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestGRPCPrepareSizeIsExact: the size prepare checks against the message
// limit is the size the stream's codec sends, to the byte: a limit of
// exactly that size passes, one byte less is refused.
func TestGRPCPrepareSizeIsExact(t *testing.T) {
	params, err := structpb.NewStruct(map[string]any{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	docs := docarray.DocList{{ID: "a", Text: "text"}, {ID: "b", Tags: map[string]any{"n": 1.0}}, {Blob: []byte{1, 2}}}
	prep := func(limit int) (*pending, error) {
		tr := &grpcTransport{c: &Client{opts: options{maxMessageSize: limit}}, endpoint: "/e", target: "ex", params: params}
		p := &pending{id: "rid", ndocs: len(docs)}
		return p, tr.prepare(p, docs)
	}
	p, err := prep(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	buf, err := wire.Codec().Marshal(p.grpcReq.(*jinapb.DataRequestProto))
	if err != nil {
		t.Fatal(err)
	}
	size := buf.Len()
	if _, err := prep(size); err != nil {
		t.Fatalf("limit %d (the encoded size) refused: %v", size, err)
	}
	if _, err := prep(size - 1); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("limit %d (one byte under) gave %v, want ResourceExhausted", size-1, err)
	}
}
