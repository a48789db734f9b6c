package builtin

import (
	"context"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/types/known/structpb"
)

// newInstance builds a registered executor through the SDK (executors.New),
// with its workspace in a test folder so nothing lands in ~/.cache. It is
// closed when the test ends.
func newInstance(tb testing.TB, jtype string, with map[string]any) *executors.Instance {
	tb.Helper()
	spec, err := executors.NewSpec(jtype, with)
	if err != nil {
		tb.Fatal(err)
	}
	spec.Runtime.Workspace = tb.TempDir()
	return newFromSpec(tb, spec)
}

func newFromSpec(tb testing.TB, spec executors.Spec) *executors.Instance {
	tb.Helper()
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		tb.Fatalf("New %s: %v", spec.Config.JType, err)
	}
	tb.Cleanup(func() {
		if err := inst.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return inst
}

// request builds a DataRequestProto the way a gateway sends it.
func request(tb testing.TB, endpoint string, docs docarray.DocList, params map[string]any) *jinapb.DataRequestProto {
	tb.Helper()
	req := &jinapb.DataRequestProto{
		Header: &jinapb.HeaderProto{RequestId: "test", ExecEndpoint: &endpoint},
		Data: &jinapb.DataRequestProto_DataContentProto{
			Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: docs.ToProto()},
		},
	}
	if params != nil {
		s, err := structpb.NewStruct(params)
		if err != nil {
			tb.Fatal(err)
		}
		req.Parameters = s
	}
	return req
}

// process sends docs to endpoint and returns the response; it does not
// look at the status.
func process(tb testing.TB, inst *executors.Instance, endpoint string, docs docarray.DocList, params map[string]any) *jinapb.DataRequestProto {
	tb.Helper()
	return inst.Process(context.Background(), request(tb, endpoint, docs, params))
}

// call sends docs to endpoint, fails the test on an ERROR status and
// returns the decoded documents of the response.
func call(tb testing.TB, inst *executors.Instance, endpoint string, docs docarray.DocList, params map[string]any) docarray.DocList {
	tb.Helper()
	resp := process(tb, inst, endpoint, docs, params)
	return respDocs(tb, resp)
}

func respDocs(tb testing.TB, resp *jinapb.DataRequestProto) docarray.DocList {
	tb.Helper()
	if st := resp.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
		tb.Fatalf("request failed: %s", st.GetDescription())
	}
	out, err := executors.RequestDocs(resp)
	if err != nil {
		tb.Fatalf("decode response docs: %v", err)
	}
	return out
}

// texts builds documents with fixed IDs d0, d1, ... so expectations can
// name them.
func texts(ts ...string) docarray.DocList {
	out := make(docarray.DocList, len(ts))
	for i, t := range ts {
		out[i] = &docarray.Document{ID: "d" + string(rune('0'+i)), Text: t}
	}
	return out
}
