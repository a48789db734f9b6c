package executors_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
)

// relay answers /relay without reading the documents, with a result
// naming the parameter it saw; /fail fails the same way.
type relay struct{ executors.Base }

func (r *relay) Endpoints(rt *executors.Router) {
	executors.On(rt, "/relay", executors.PassThrough(func(ctx context.Context, p executors.Params) (executors.Results, error) {
		return executors.Results{"saw": p["k"]}, nil
	}))
	executors.On(rt, "/fail", executors.PassThrough(func(context.Context, executors.Params) (executors.Results, error) {
		return nil, errors.New("no")
	}))
}

func init() {
	executors.Register("TestRelay", func() executors.Executor { return &relay{} })
}

// A pass-through handler's request may carry documents that do not even
// decode: they are never decoded, and go back as they came.
func TestPassThroughNeverDecodesDocuments(t *testing.T) {
	spec, err := executors.NewSpec("TestRelay", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = "relay"
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	garbage := []byte{0x0a, 0xff} // a DocListProto cut short
	req := request("/relay", map[string]any{"k": "v"})
	req.Data = &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: garbage}}
	if _, err := executors.RequestDocs(req); err == nil {
		t.Fatal("the test documents must not decode")
	}
	resp := inst.Process(context.Background(), req)
	if st := resp.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
		t.Fatalf("pass-through decoded the documents: %v", st)
	}
	if !proto.Equal(resp.GetData(), req.GetData()) {
		t.Fatalf("documents %v, want them as they came", resp.GetData())
	}
	res := resp.GetParameters().AsMap()[executors.ResultsKey].(map[string]any)["relay"].(map[string]any)
	if res["saw"] != "v" {
		t.Fatalf("results %v", res)
	}
	failed := inst.Process(context.Background(), request("/fail", nil, "a"))
	if st := failed.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetArgs()[0] != "no" {
		t.Fatalf("a failing pass-through handler: %v", st)
	}
}
