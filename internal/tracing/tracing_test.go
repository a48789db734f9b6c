package tracing

import (
	"context"
	"errors"
	"testing"

	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// TestOffAllocatesNothing: with no provider installed, the helpers on
// the request path make no span and allocate nothing.
func TestOffAllocatesNothing(t *testing.T) {
	if Enabled() {
		t.Fatal("a provider is installed")
	}
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String("/x")}}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(TraceparentKey, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
	allocs := testing.AllocsPerRun(100, func() {
		c, gw := Gateway(ctx, req)
		c, d := Deployment(c, "index")
		c, call := Call(c, "index", 0, "rep-0", "127.0.0.1:1", 0)
		c = Outgoing(c)
		c, ex := Executor(c, "index", req)
		_, r := Raft(c, "raft.apply")
		r.Int(AttrRaftIndex, 3)
		r.End(nil)
		ex.EndResponse(req, nil)
		call.End(nil)
		d.End(nil)
		gw.End(errors.ErrUnsupported)
		if gw.TraceID() != "" {
			t.Fatal("span made while off")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request with tracing off, want 0", allocs)
	}
}

// TestSetupWithoutSDK: this package's tests do not link tracingsdk, so
// an active config is refused with ErrNoSDK and an inactive one still
// gets a no-op stop.
func TestSetupWithoutSDK(t *testing.T) {
	if _, err := Setup(context.Background(), Config{Tracing: true}); !errors.Is(err, ErrNoSDK) {
		t.Fatalf("Setup(Tracing: true) without the SDK: %v, want ErrNoSDK", err)
	}
	if Enabled() {
		t.Fatal("a provider is installed after a refused Setup")
	}
	stop, err := Setup(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
