// Package gateway is a flow's front door: a gRPC server speaking Jina's
// gateway protocol (JinaRPC/Call streams, process_single_data, dry_run,
// _status, endpoint_discovery, health, reflection) and an HTTP/JSON API
// (docs/ARCHITECTURE.md "Wire compatibility"), both handing requests to a
// Backend that routes them through the flow.
package gateway

import (
	"context"
	"log/slog"
	"strings"

	"github.com/jig-dev/jig/internal/auth"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Backend is what the gateway serves: the engine's router and state.
type Backend interface {
	// Route sends a request through the flow (see router.Router.Route).
	Route(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error)
	// Ready returns nil when every deployment has a ready replica, else an
	// error naming those that do not.
	Ready() error
	// Endpoints lists the flow's endpoints and their schemas.
	Endpoints() *jinapb.EndpointsProto
	// Info describes the gateway for _status.
	Info() *jinapb.JinaInfoProto
}

// streamWorkers is how many goroutines serve the gateway's calls, reused
// from call to call (grpc.NumStreamWorkers): without them grpc-go starts a
// goroutine per call, whose stack then grows (copied) through the decode
// and the route, ~5% of the gateway's CPU for 1-document requests. A call
// arriving when all are busy gets its own goroutine as before, so this
// bounds nothing; 32 covers the requests usually in flight on a gateway.
const streamWorkers = 32

// GRPC is the gRPC gateway.
type GRPC struct {
	backend  Backend
	server   *grpc.Server
	health   *health.Server
	prefetch int
	logger   *slog.Logger
}

// GRPCOptions configure the gRPC gateway.
type GRPCOptions struct {
	// Prefetch bounds the requests in flight per Call stream (0: 1000).
	Prefetch int
	// Token, when set, is required as "authorization: Bearer <token>"
	// on every call but health checks.
	Token string
	// ServerOptions add to jig's defaults (TLS credentials, limits).
	ServerOptions []grpc.ServerOption
	Logger        *slog.Logger
}

// NewGRPC builds the gRPC gateway; serve it with Serve.
func NewGRPC(b Backend, opts GRPCOptions) *GRPC {
	if opts.Prefetch <= 0 {
		opts.Prefetch = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	g := &GRPC{backend: b, health: health.NewServer(), prefetch: opts.Prefetch, logger: opts.Logger}
	// Windows and buffers for streams of large batches (see
	// wire.FlowControlServerOptions); opts.ServerOptions come after, so a
	// caller's choice wins.
	sopts := append(wire.FlowControlServerOptions(), grpc.NumStreamWorkers(streamWorkers))
	sopts = append(sopts, opts.ServerOptions...)
	if opts.Token != "" {
		sopts = append(sopts,
			grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				if err := checkToken(ctx, info.FullMethod, opts.Token); err != nil {
					return nil, err
				}
				return h(ctx, req)
			}),
			grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				if err := checkToken(ss.Context(), info.FullMethod, opts.Token); err != nil {
					return err
				}
				return h(srv, ss)
			}))
	}
	g.server = grpc.NewServer(sopts...)
	svc := &grpcService{g: g}
	jinapb.RegisterJinaRPCServer(g.server, svc)
	jinapb.RegisterJinaSingleDataRequestRPCServer(g.server, svc)
	jinapb.RegisterJinaGatewayDryRunRPCServer(g.server, svc)
	jinapb.RegisterJinaInfoRPCServer(g.server, svc)
	jinapb.RegisterJinaDiscoverEndpointsRPCServer(g.server, svc)
	registerStreamDoc(g) // stream_doc, for generator endpoints (streamdoc.go)
	healthpb.RegisterHealthServer(g.server, g.health)
	reflection.Register(g.server)
	g.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return g
}

// checkToken enforces the bearer token; health checks stay open so
// orchestrators can probe the gateway.
func checkToken(ctx context.Context, method, token string) error {
	if strings.HasPrefix(method, "/grpc.health.v1.Health/") {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if auth.BearerMatches(md.Get("authorization"), token) {
		return nil
	}
	return status.Error(codes.Unauthenticated, "missing or wrong bearer token (send metadata \"authorization: Bearer <token>\")")
}

// Server returns the underlying gRPC server.
func (g *GRPC) Server() *grpc.Server { return g.server }

// SetServing marks the gateway healthy or not (health service).
func (g *GRPC) SetServing(ok bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if ok {
		st = healthpb.HealthCheckResponse_SERVING
	}
	g.health.SetServingStatus("", st)
}

// Shutdown stops answering health checks as healthy (before draining).
func (g *GRPC) Shutdown() { g.health.Shutdown() }

type grpcService struct {
	jinapb.UnimplementedJinaRPCServer
	jinapb.UnimplementedJinaSingleDataRequestRPCServer
	jinapb.UnimplementedJinaGatewayDryRunRPCServer
	jinapb.UnimplementedJinaInfoRPCServer
	jinapb.UnimplementedJinaDiscoverEndpointsRPCServer
	g *GRPC
}

// ProcessSingleData implements jina.JinaSingleDataRequestRPC on the gateway:
// one request through the flow; delivery failures are gRPC errors.
func (s *grpcService) ProcessSingleData(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return s.g.backend.Route(ctx, req)
}

// Call implements jina.JinaRPC/Call: requests stream in, are routed
// concurrently (at most Prefetch at a time) and answered as they finish
// (wire.ServeCall). A failed request is answered with an ERROR status; the
// stream goes on.
func (s *grpcService) Call(stream grpc.BidiStreamingServer[jinapb.DataRequestProto, jinapb.DataRequestProto]) error {
	return wire.ServeCall(stream, s.g.prefetch, s.g.backend.Route, errorResponse)
}

// errorResponse turns a delivery failure into a response whose status
// names it: exception name is the gRPC code (UNAVAILABLE,
// DEADLINE_EXCEEDED, ...), so clients can tell it from executor errors and
// retry.
func errorResponse(req *jinapb.DataRequestProto, err error) *jinapb.DataRequestProto {
	st := status.Convert(err)
	return wire.Failed(req, &jinapb.StatusProto{
		Code:        jinapb.StatusProto_ERROR,
		Description: st.Message(),
		Exception:   &jinapb.StatusProto_ExceptionProto{Name: wire.CodeName(st.Code()), Args: []string{st.Message()}, Executor: "gateway"},
	})
}

// DryRun implements jina.JinaGatewayDryRunRPC/dry_run: SUCCESS when every
// deployment can take requests.
func (s *grpcService) DryRun(context.Context, *emptypb.Empty) (*jinapb.StatusProto, error) {
	if err := s.g.backend.Ready(); err != nil {
		return &jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: err.Error(),
			Exception: &jinapb.StatusProto_ExceptionProto{Name: "FlowNotReady", Args: []string{err.Error()}, Executor: "gateway"}}, nil
	}
	return &jinapb.StatusProto{Code: jinapb.StatusProto_SUCCESS}, nil
}

// XStatus implements jina.JinaInfoRPC/_status.
func (s *grpcService) XStatus(context.Context, *emptypb.Empty) (*jinapb.JinaInfoProto, error) {
	return s.g.backend.Info(), nil
}

// EndpointDiscovery implements jina.JinaDiscoverEndpointsRPC on the
// gateway: the endpoints of the whole flow, so clients and the TUI can
// offer them.
func (s *grpcService) EndpointDiscovery(context.Context, *emptypb.Empty) (*jinapb.EndpointsProto, error) {
	return s.g.backend.Endpoints(), nil
}
