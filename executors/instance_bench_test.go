package executors_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
)

// BenchmarkProcess100Docs is the executor runtime's own cost for one
// request of 100 documents of 1 KiB text through an in-place handler:
// decoding, dispatch, checking and encoding the result. It is what the
// gateway benchmarks (make bench, unary/100docs) add on top of raw gRPC.
func BenchmarkProcess100Docs(b *testing.B) {
	spec, err := executors.NewSpec("TestGreeter", nil)
	if err != nil {
		b.Fatal(err)
	}
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		b.Fatal(err)
	}
	defer inst.Close()
	texts := make([]string, 100)
	for i := range texts {
		texts[i] = strings.Repeat("x", 1024)
	}
	req := request("/hello", nil, texts...)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if st := inst.Process(context.Background(), req).GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS {
			b.Fatal(st)
		}
	}
}
