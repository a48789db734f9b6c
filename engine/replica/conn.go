package replica

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/types/known/emptypb"
)

// GRPCConn is a Conn to a worker over gRPC.
type GRPCConn struct {
	addr   string
	cc     *grpc.ClientConn
	single jinapb.JinaSingleDataRequestRPCClient
	disc   jinapb.JinaDiscoverEndpointsRPCClient
	health healthpb.HealthClient
}

// DialOptions are the client options for connections to workers: large
// messages, quick reconnection after a replica restarts (grpc-go's default
// backoff grows to two minutes), and keepalive to notice dead peers.
func DialOptions(maxMsg int, tlsConfig *tls.Config) []grpc.DialOption {
	return append(wire.DialOptions(maxMsg, tlsConfig),
		wire.WithCodec(), // unread documents travel as they came
		wire.Reconnect(50*time.Millisecond, time.Second, 2*time.Second),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
	)
}

// DialGRPC returns a connection to the worker at addr. It does not block:
// the connection is made in the background and re-made after failures.
func DialGRPC(addr string, maxMsg int, tlsConfig *tls.Config, extra ...grpc.DialOption) (*GRPCConn, error) {
	cc, err := grpc.NewClient(addr, append(DialOptions(maxMsg, tlsConfig), extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	cc.Connect()
	return &GRPCConn{
		addr: addr, cc: cc,
		single: jinapb.NewJinaSingleDataRequestRPCClient(cc),
		disc:   jinapb.NewJinaDiscoverEndpointsRPCClient(cc),
		health: healthpb.NewHealthClient(cc),
	}, nil
}

// Process implements Conn.
func (c *GRPCConn) Process(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return c.single.ProcessSingleData(tracing.Outgoing(ctx), req)
}

// Endpoints implements Conn.
func (c *GRPCConn) Endpoints(ctx context.Context) (*jinapb.EndpointsProto, error) {
	return c.disc.EndpointDiscovery(ctx, &emptypb.Empty{})
}

// Healthy asks the worker's health service whether it is SERVING.
func (c *GRPCConn) Healthy(ctx context.Context) bool {
	r, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{})
	return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

// WaitHealthy polls the health service until SERVING or ctx ends.
func (c *GRPCConn) WaitHealthy(ctx context.Context) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		ok := c.Healthy(cctx)
		cancel()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("worker %s not healthy: %w", c.addr, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Broken reports whether the connection is failing (the peer is gone).
func (c *GRPCConn) Broken() bool {
	return c.cc.GetState() == connectivity.TransientFailure
}

// Reconnect makes an idle or backing-off connection try again now (after
// a replica restarted on the same address).
func (c *GRPCConn) Reconnect() { c.cc.Connect() }

// Close closes the connection.
func (c *GRPCConn) Close() error { return c.cc.Close() }

// ClientConn returns the underlying connection (for further services on
// the worker, such as jig.RaftAdmin).
func (c *GRPCConn) ClientConn() *grpc.ClientConn { return c.cc }

// Addr returns the worker address.
func (c *GRPCConn) Addr() string { return c.addr }
