package wire

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type echoServer struct {
	jinapb.UnimplementedJinaSingleDataRequestRPCServer
}

func (echoServer) ProcessSingleData(_ context.Context, r *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return r, nil
}

// serve starts a server with ServerOptions(maxMsg) and returns a client
// connection made with DialOptions(maxMsg).
func serve(t *testing.T, maxMsg int) jinapb.JinaSingleDataRequestRPCClient {
	t.Helper()
	srv := grpc.NewServer(ServerOptions(maxMsg)...)
	jinapb.RegisterJinaSingleDataRequestRPCServer(srv, echoServer{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(lis) }()
	cc, err := grpc.NewClient(lis.Addr().String(), DialOptions(maxMsg, nil)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close(); srv.Stop(); <-done })
	return jinapb.NewJinaSingleDataRequestRPCClient(cc)
}

func sized(n int) *jinapb.DataRequestProto {
	return &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: strings.Repeat("x", n)}}
}

// The default limit lets through messages above grpc-go's 4 MiB both
// ways; a smaller limit given to both sides is enforced.
func TestMessageLimits(t *testing.T) {
	c := serve(t, 0)
	resp, err := c.ProcessSingleData(context.Background(), sized(4<<20+1024))
	if err != nil || len(resp.GetHeader().GetRequestId()) != 4<<20+1024 {
		t.Fatalf("over 4 MiB with the default limit: %v", err)
	}
	small := serve(t, 64<<10)
	if _, err := small.ProcessSingleData(context.Background(), sized(128<<10)); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("128 KiB over a 64 KiB limit: %v, want RESOURCE_EXHAUSTED", err)
	}
}
