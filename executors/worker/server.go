// Package worker is the executor runtime: a gRPC server hosting one
// executor instance and speaking Jina's worker protocol
// (process_single_data, process_data, endpoint_discovery, _status, plus the
// JinaRPC stream, grpc.health.v1 and server reflection).
//
// The engine runs it in-process for built-in executors and as a child
// process (`jig executor`, or a user executor's own main calling
// executors/workercmd.Main) for executors in their own folders. This
// package is the server only: the command line is executors/workerflags,
// the process executors/workercmd, RAFT wiring executors/workerraft.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// DefaultMaxMessageSize is the largest request or response a worker
// accepts unless told otherwise (wire.MaxMessageSize).
const DefaultMaxMessageSize = wire.MaxMessageSize

// WriteApplier replicates a write request and returns the response of the
// leader's executor. The consensus package implements it for stateful
// deployments; errors are returned to the caller as gRPC errors.
type WriteApplier interface {
	ApplyWrite(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error)
}

// ReadHandler serves requests for read endpoints instead of the instance,
// e.g. consensus.Reads, which can serve them on the RAFT leader (leader
// reads) and serves the reads other replicas forward to it. Errors are
// returned to the caller as gRPC errors.
type ReadHandler interface {
	Read(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error)
}

// Options configure a Server.
type Options struct {
	// Instance is the executor to serve (required).
	Instance *executors.Instance
	// Writes, when set, handles requests for write endpoints instead of the
	// instance (replication through RAFT).
	Writes WriteApplier
	// Reads, when set, handles requests for every other endpoint (except
	// the dry-run probe) instead of the instance.
	Reads ReadHandler
	// Logger receives server logs; nil discards them.
	Logger *slog.Logger
	// MaxMessageSize bounds requests and responses (DefaultMaxMessageSize
	// when 0).
	MaxMessageSize int
	// Register, when set, adds further services to the gRPC server before
	// it starts (e.g. the RAFT transport).
	Register func(*grpc.Server)
	// ServerOptions are appended to the server's own options (TLS, ...).
	// Interceptors see requests as wire.Codec decodes them: documents may
	// still be encoded (read them with executors.RequestDocs).
	ServerOptions []grpc.ServerOption
}

// Server serves one executor instance over gRPC.
type Server struct {
	opts   Options
	inst   *executors.Instance
	grpc   *grpc.Server
	health *health.Server
	logger *slog.Logger
	// batcher merges concurrent requests of endpoints with dynamic
	// batching (nil when no endpoint has it).
	batcher *executors.Batcher

	mu       sync.Mutex
	addr     net.Addr
	stopOnce sync.Once
	stopped  chan struct{} // closed by Stop
}

// CatchingUp is implemented by write appliers whose replica must catch up
// with its cluster before it serves (consensus.Node): until CaughtUp is
// closed the server reports NOT_SERVING, so gateways send requests to the
// other replicas instead of reading stale state here.
type CatchingUp interface {
	CaughtUp() <-chan struct{}
}

// NewServer builds a server; call Serve to start it.
func NewServer(opts Options) (*Server, error) {
	if opts.Instance == nil {
		return nil, errors.New("worker: no executor instance")
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{opts: opts, inst: opts.Instance, logger: logger, health: health.NewServer(), stopped: make(chan struct{})}
	if len(s.inst.Batching()) > 0 {
		s.batcher = executors.NewBatcher(s.inst.Name(), s.inst.BatchingFor, s.processOne)
	}
	sopts := append(wire.ServerOptions(opts.MaxMessageSize), opts.ServerOptions...)
	s.grpc = grpc.NewServer(sopts...)
	svc := &service{s: s}
	jinapb.RegisterJinaSingleDataRequestRPCServer(s.grpc, svc)
	jinapb.RegisterJinaDataRequestRPCServer(s.grpc, svc)
	jinapb.RegisterJinaDiscoverEndpointsRPCServer(s.grpc, svc)
	jinapb.RegisterJinaInfoRPCServer(s.grpc, svc)
	jinapb.RegisterJinaRPCServer(s.grpc, svc)
	registerStreamDoc(s) // stream_doc, for generator endpoints (streamdoc.go)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	if opts.Register != nil {
		opts.Register(s.grpc)
	}
	// Not serving until Serve runs: readiness probes must not pass early.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// GRPC returns the underlying gRPC server (to register more services
// before Serve).
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Health returns the server's health service, so owners can mark it
// NOT_SERVING (e.g. while draining).
func (s *Server) Health() *health.Server { return s.health }

// Serve accepts connections on lis until Stop; it marks the server SERVING,
// once caught up when Options.Writes is CatchingUp.
func (s *Server) Serve(lis net.Listener) error {
	s.mu.Lock()
	s.addr = lis.Addr()
	s.mu.Unlock()
	if c, ok := s.opts.Writes.(CatchingUp); ok {
		go func() { // ends at the latest when Stop is called
			select {
			case <-c.CaughtUp():
				s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
			case <-s.stopped:
			}
		}()
	} else {
		s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	}
	err := s.grpc.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Addr returns the listening address once Serve has started.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stop drains the server: it reports NOT_SERVING, lets in-flight requests
// finish until ctx is done, then closes every connection and processes the
// requests still queued for dynamic batching (cancelling them when ctx is
// done). It does not close the executor instance (its owner does).
func (s *Server) Stop(ctx context.Context) {
	s.stopOnce.Do(func() {
		close(s.stopped)
		s.notifyStopping() // stopping.go
		s.health.Shutdown()
		done := make(chan struct{})
		go func() {
			s.grpc.GracefulStop()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			s.grpc.Stop()
			<-done
		}
		if s.batcher != nil {
			s.batcher.Close(ctx)
		}
	})
}

// service implements the Jina gRPC services.
type service struct {
	jinapb.UnimplementedJinaSingleDataRequestRPCServer
	jinapb.UnimplementedJinaDataRequestRPCServer
	jinapb.UnimplementedJinaDiscoverEndpointsRPCServer
	jinapb.UnimplementedJinaInfoRPCServer
	jinapb.UnimplementedJinaRPCServer
	s *Server
}

var (
	_ jinapb.JinaSingleDataRequestRPCServer = (*service)(nil)
	_ jinapb.JinaDataRequestRPCServer       = (*service)(nil)
	_ jinapb.JinaDiscoverEndpointsRPCServer = (*service)(nil)
	_ jinapb.JinaInfoRPCServer              = (*service)(nil)
	_ jinapb.JinaRPCServer                  = (*service)(nil)
)

func (v *service) process(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return v.s.Process(ctx, req)
}

// Process handles one request exactly as process_single_data does (dynamic
// batching, writes through the WriteApplier and reads through the
// ReadHandler when set), without the network: the engine calls it for
// in-process replicas.
func (s *Server) Process(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	ctx, span := tracing.Executor(ctx, s.inst.Name(), req)
	if s.batcher == nil {
		resp, err := s.processOne(ctx, req)
		span.EndResponse(resp, err)
		return resp, err
	}
	resp, err := s.batcher.Process(ctx, req)
	defer func() { span.EndResponse(resp, err) }()
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		if _, isStatus := status.FromError(err); !isStatus {
			return nil, status.FromContextError(err).Err()
		}
	}
	return resp, err
}

// processOne handles one (possibly merged) request.
func (s *Server) processOne(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	ep := executors.Endpoint(req)
	if s.inst.IsWrite(ep) {
		if w := s.opts.Writes; w != nil {
			return w.ApplyWrite(ctx, req)
		}
	} else if r := s.opts.Reads; r != nil && ep != executors.DryRunEndpoint {
		return r.Read(ctx, req)
	}
	resp := s.inst.Process(ctx, req)
	if err := ctx.Err(); err != nil && resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
		// The caller gave up; report the deadline or cancellation as gRPC
		// does rather than as an executor error.
		return nil, status.FromContextError(err).Err()
	}
	return resp, nil
}

// ProcessSingleData implements jina.JinaSingleDataRequestRPC/process_single_data.
func (v *service) ProcessSingleData(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return v.process(ctx, req)
}

// ProcessData implements jina.JinaDataRequestRPC/process_data: the parts
// of a join are reduced into one request (documents merged by id) and
// processed once.
func (v *service) ProcessData(ctx context.Context, list *jinapb.DataRequestListProto) (*jinapb.DataRequestProto, error) {
	reqs := list.GetRequests()
	switch len(reqs) {
	case 0:
		return nil, status.Error(codes.InvalidArgument, "process_data: no requests")
	case 1:
		return v.process(ctx, reqs[0])
	}
	merged, err := MergeRequests(reqs)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return v.process(ctx, merged)
}

// MergeRequests reduces several requests for the same endpoint into one
// (wire.Merge): the first request's header and parameters (with the
// __results__ of all), the routes of all, and the documents reduced by id.
func MergeRequests(reqs []*jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	if len(reqs) == 0 {
		return nil, errors.New("no requests")
	}
	return wire.Merge(reqs[0].GetParameters(), reqs)
}

// Call implements jina.JinaRPC/Call on a bare worker, so clients can stream
// to an executor without a gateway: the gateway's rules (wire.ServeCall),
// at most wire.DefaultPrefetch requests in flight. A per-request failure
// (e.g. not the leader) does not end the stream: it is reported in the
// response status.
func (v *service) Call(stream grpc.BidiStreamingServer[jinapb.DataRequestProto, jinapb.DataRequestProto]) error {
	return wire.ServeCall(stream, wire.DefaultPrefetch, v.process, func(req *jinapb.DataRequestProto, err error) *jinapb.DataRequestProto {
		return wire.Failed(req, executors.ErrorStatus(err, v.s.inst.Name(), ""))
	})
}

// EndpointDiscovery implements jina.JinaDiscoverEndpointsRPC/endpoint_discovery.
func (v *service) EndpointDiscovery(context.Context, *emptypb.Empty) (*jinapb.EndpointsProto, error) {
	return v.s.inst.Endpoints(), nil
}

// XStatus implements jina.JinaInfoRPC/_status.
func (v *service) XStatus(context.Context, *emptypb.Empty) (*jinapb.JinaInfoProto, error) {
	return Info(v.s.inst.JType()), nil
}

// Info describes this process for _status: versions and the JIG_/JINA_
// environment.
func Info(role string) *jinapb.JinaInfoProto {
	host, _ := os.Hostname()
	info := &jinapb.JinaInfoProto{
		Jina: map[string]string{
			"jig":      executors.Version,
			"jina":     "3.27.0-compatible",
			"proto":    "jina 3 / docarray 0.40",
			"go":       runtime.Version(),
			"platform": runtime.GOOS + "/" + runtime.GOARCH,
			"hostname": host,
			"role":     role,
			"pid":      fmt.Sprint(os.Getpid()),
		},
		Envs: map[string]string{},
	}
	for _, kv := range os.Environ() {
		for _, prefix := range []string{"JIG_", "JINA_"} {
			if strings.HasPrefix(kv, prefix) {
				k, val, _ := strings.Cut(kv, "=")
				if !secretName(k) {
					info.Envs[k] = val
				}
			}
		}
	}
	return info
}

// secretName reports whether an environment variable probably holds a
// secret, which _status must not reveal.
func secretName(k string) bool {
	for _, w := range []string{"TOKEN", "SECRET", "PASSWORD", "KEY", "CREDENTIAL"} {
		if strings.Contains(strings.ToUpper(k), w) {
			return true
		}
	}
	return false
}
