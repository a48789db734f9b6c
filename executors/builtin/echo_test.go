package builtin

import (
	"slices"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"google.golang.org/protobuf/proto"
)

func TestRegistered(t *testing.T) {
	for _, name := range []string{"Echo", "TextNormalizer", "Sentencizer", "HashEmbedder", "Sleep", "Fault", "SimpleIndexer"} {
		if !executors.IsRegistered(name) {
			t.Errorf("%s is not registered (registered: %v)", name, executors.Registered())
		}
	}
}

func TestEchoReturnsDocsUnchanged(t *testing.T) {
	inst := newInstance(t, "Echo", nil)
	in := docarray.DocList{
		{ID: "a", Text: "hello", Tags: map[string]any{"k": "v", "n": int64(3)}, Embedding: docarray.NewFloat32([]float32{1, 2})},
		{ID: "b", Blob: []byte{1, 2, 3}, Chunks: docarray.DocList{{ID: "b/0", Text: "c"}}},
	}
	for _, ep := range []string{"/default", "/anything", "/index"} {
		if !inst.Handles(ep) {
			t.Errorf("Echo does not handle %s", ep)
		}
		resp := process(t, inst, ep, in, nil)
		out := respDocs(t, resp)
		if !proto.Equal(out.ToProto(), in.ToProto()) {
			t.Errorf("%s: docs changed:\n got %v\nwant %v", ep, out.ToProto(), in.ToProto())
		}
		if got := out.IDs(); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("%s: ids %v", ep, got)
		}
	}
}
