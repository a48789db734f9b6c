// Package engine runs flows: it starts every deployment's replicas
// (in-process, child processes, or external), routes requests through the
// flow's topology behind a gRPC and HTTP gateway, supervises replicas,
// publishes events and metrics, and applies changes while running
// (restart, rescale, reload, reconcile).
//
//	f, err := flow.Load("flow.yml")
//	eng, err := engine.Start(ctx, f, engine.Options{})
//	defer eng.Stop(context.Background())
//	fmt.Println(eng.Addresses().GRPC)
package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/engine/gateway"
	"github.com/jig-dev/jig/engine/metrics"
	"github.com/jig-dev/jig/engine/router"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Options configure an engine.
type Options struct {
	// GRPCPort and HTTPPort override the flow's gateway ports when > 0
	// (`jig up --port/--http-port`); -1 keeps the flow's.
	GRPCPort, HTTPPort int
	// OpenReplicas leaves the replicas' gRPC ports without the flow's
	// secret (engine/auth.go), for flows whose replicas other flows call
	// directly as external executors. Anyone on the machine can then
	// call them, bypassing the gateway's token and TLS.
	OpenReplicas bool
	// Logger receives the engine's own logs (in addition to the event bus).
	Logger *slog.Logger
	// LogLevel filters what reaches the event bus (default Info).
	LogLevel slog.Leveler
	// History is how many events the bus keeps for late subscribers
	// (default 5000).
	History int
	// Builder compiles executors from source (default: a Builder with the
	// default cache). One Builder shared by engines in a process builds
	// each folder once for all of them.
	Builder *build.Builder
	// Bus, when set, is the event bus the engine publishes to, so a caller
	// that subscribed before Start sees the start-up (builds, replicas
	// coming up) as it happens. The engine closes it when it stops or
	// fails to start. Default: a new bus keeping History events.
	Bus *events.Bus
	// JigBinary is the program started for child-process replicas of
	// built-in executors (default: this executable). Only used when a
	// built-in executor must run out of process.
	JigBinary string
	// StopTimeout bounds Stop's draining (default 10s).
	StopTimeout time.Duration
	// Traces, when set, records every request's spans in process (the
	// workbench's waterfall), whether or not the flow exports them.
	Traces *tracing.Recorder
	// TraceExporter, when set, receives the spans instead of the flow's
	// OTLP collector (benchmarks, tests); tracing is then on.
	TraceExporter sdktrace.SpanExporter
}

// sharedBuilder builds for every engine of the process that brings no
// Builder of its own, so a folder is built once however many engines or
// deployments use it.
var sharedBuilder = &build.Builder{}

// Engine is a running flow.
type Engine struct {
	opts    Options
	bus     *events.Bus
	logger  *slog.Logger
	access  *accessLog // the gateway's access log (access.go)
	prom    *metrics.Prom
	gwStats *metrics.Recorder
	builder *build.Builder
	started time.Time

	mu          sync.RWMutex // guards flow, deps
	reconcileMu sync.Mutex   // one flow change at a time
	flow        *flow.Flow
	deps        map[string]*deployment
	router      atomic.Pointer[router.Router]

	grpcGW  *gateway.GRPC
	grpcLis net.Listener
	httpSrv *http.Server
	httpLis net.Listener
	promSrv *http.Server
	promLis net.Listener
	addrs   Addresses
	// watchers (reload/restart) live until Stop.
	// secret is the per-flow token every managed replica's worker
	// requires (engine/auth.go).
	secret      string
	watchCtx    context.Context
	watchCancel context.CancelFunc
	watchWG     sync.WaitGroup
	serveWG     sync.WaitGroup
	stopOnce    sync.Once
	stopErr     error
	done        chan struct{}

	// stateDir is StateDir(flow), the default workspace, fixed at Start.
	stateDir string
	// stopTracing flushes and removes the tracer provider (tracing.go).
	stopTracing func(context.Context) error
}

// Start starts every deployment of f, waits until all are ready (each
// within the flow's timeout_ready), then opens the gateway. On failure
// everything started is stopped again.
func Start(ctx context.Context, f *flow.Flow, opts Options) (*Engine, error) {
	if opts.History <= 0 {
		opts.History = 5000
	}
	if opts.LogLevel == nil {
		opts.LogLevel = slog.LevelInfo
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.Builder == nil {
		opts.Builder = sharedBuilder
	}
	if opts.JigBinary == "" {
		opts.JigBinary, _ = os.Executable()
	}
	bus := opts.Bus
	if bus == nil {
		bus = events.NewBus(opts.History)
	}
	e := &Engine{
		secret: newFlowSecret(opts.OpenReplicas),
		opts:   opts, bus: bus, prom: metrics.NewProm(),
		gwStats: metrics.NewRecorder(), builder: opts.Builder, flow: f,
		deps: map[string]*deployment{}, done: make(chan struct{}), started: time.Now(),
	}
	e.logger = slog.New(teeHandler{events.NewLogHandler(e.bus, "engine", opts.LogLevel), opts.Logger})
	e.access = newAccessLog(e.bus, AccessLogLimit)
	e.watchCtx, e.watchCancel = context.WithCancel(context.Background())
	e.stateDir = StateDir(f)
	e.logState(f)
	var err error
	if e.stopTracing, err = tracing.Setup(ctx, e.tracingConfig(f)); err != nil {
		e.watchCancel()
		e.bus.Close()
		return nil, err
	}

	if err := e.startDeployments(ctx, f.Deployments); err != nil {
		e.stopDeployments(context.Background(), e.sortedDeps())
		e.watchCancel()
		e.stopTracing(context.Background())
		e.bus.Close()
		return nil, err
	}
	e.swapRouter()
	if err := e.startGateway(f); err != nil {
		e.stopDeployments(context.Background(), e.sortedDeps())
		e.watchCancel()
		e.stopTracing(context.Background())
		e.bus.Close()
		return nil, err
	}
	e.startWatchers(f)
	e.logger.Info("flow ready", "flow", f.Name, "grpc", e.addrs.GRPC, "http", e.addrs.HTTP, "startup", time.Since(e.started).Round(time.Millisecond).String())
	return e, nil
}

// teeHandler sends records to the bus and, when set, another handler.
type teeHandler struct {
	bus   slog.Handler
	extra *slog.Logger
}

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.bus.Enabled(ctx, l) || (t.extra != nil && t.extra.Enabled(ctx, l))
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if t.bus.Enabled(ctx, r.Level) {
		t.bus.Handle(ctx, r)
	}
	if t.extra != nil && t.extra.Enabled(ctx, r.Level) {
		return t.extra.Handler().Handle(ctx, r)
	}
	return nil
}

func (t teeHandler) WithAttrs(a []slog.Attr) slog.Handler {
	out := teeHandler{bus: t.bus.WithAttrs(a)}
	if t.extra != nil {
		out.extra = slog.New(t.extra.Handler().WithAttrs(a))
	}
	return out
}

func (t teeHandler) WithGroup(n string) slog.Handler {
	out := teeHandler{bus: t.bus.WithGroup(n)}
	if t.extra != nil {
		out.extra = slog.New(t.extra.Handler().WithGroup(n))
	}
	return out
}

// startDeployments starts the given deployments (see startAll).
func (e *Engine) startDeployments(ctx context.Context, ds []*flow.Deployment) error {
	created := make([]*deployment, len(ds))
	for i, fd := range ds {
		d := e.newDeployment(fd)
		created[i] = d
		e.mu.Lock()
		e.deps[fd.Name] = d
		e.mu.Unlock()
	}
	return errors.Join(e.startAll(ctx, created)...)
}

// sortedDeps returns the deployments in flow order.
func (e *Engine) sortedDeps() []*deployment {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*deployment, 0, len(e.deps))
	for _, fd := range e.flow.Deployments {
		if d, ok := e.deps[fd.Name]; ok {
			out = append(out, d)
		}
	}
	// Deployments being added or removed are not in the flow yet/anymore.
	for name, d := range e.deps {
		if e.flow.Deployment(name) == nil {
			out = append(out, d)
		}
	}
	return out
}

// swapRouter builds a router over the current flow and deployments and
// makes it the one new requests use.
func (e *Engine) swapRouter() *router.Router {
	e.mu.RLock()
	deps := make(map[string]*router.Deployment, len(e.deps))
	for name, d := range e.deps {
		deps[name] = d.route.Load()
	}
	graph := e.flow.Graph
	e.mu.RUnlock()
	rt := router.New(graph, deps, e.gwStats, e.logger)
	rt.AccessLog = e.access.record
	old := e.router.Swap(rt)
	if old != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), e.opts.StopTimeout)
			defer cancel()
			old.Close(ctx)
		}()
	}
	return old
}

func (e *Engine) startGateway(f *flow.Flow) error {
	g := f.Gateway
	host := g.Host
	port := func(p flow.Protocol, override int) int {
		if override > 0 {
			return override
		}
		return g.Port(p)
	}
	var tlsConf *tls.Config
	if g.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(g.TLSCert, g.TLSKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate %s: %w", g.TLSCert, err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	maxMsg := g.MaxMessageSize
	if maxMsg <= 0 {
		maxMsg = wire.MaxMessageSize
	}
	metricsHandler := promhttp.HandlerFor(e.prom.Registry, promhttp.HandlerOpts{})
	if g.Serves(flow.GRPC) {
		lis, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port(flow.GRPC, e.opts.GRPCPort))))
		if err != nil {
			return fmt.Errorf("gateway: listen for gRPC: %w", err)
		}
		sopts := wire.ServerOptions(maxMsg)
		if tlsConf != nil {
			sopts = append(sopts, grpc.Creds(credentials.NewTLS(tlsConf)))
		}
		e.grpcGW = gateway.NewGRPC(e, gateway.GRPCOptions{Prefetch: g.Prefetch, Token: g.AuthToken, ServerOptions: sopts, Logger: e.logger})
		e.grpcLis = lis
		e.addrs.GRPC = lis.Addr().String()
		e.serveWG.Add(1)
		go func() {
			defer e.serveWG.Done()
			if err := e.grpcGW.Server().Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				e.logger.Error("gRPC gateway stopped", "err", err)
			}
		}()
		e.grpcGW.SetServing(true)
	}
	if g.Serves(flow.HTTP) {
		lis, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port(flow.HTTP, e.opts.HTTPPort))))
		if err != nil {
			e.closeGateway(context.Background())
			return fmt.Errorf("gateway: listen for HTTP: %w", err)
		}
		h := gateway.NewHTTP(e, gateway.HTTPOptions{MaxBodyBytes: int64(maxMsg), Budget: gateway.NewBodyBudget(g.HTTPBodyBudget), BodyTimeout: g.HTTPBodyTimeout,
			Token: g.AuthToken, Metrics: metricsHandler, Title: f.Name, Logger: e.logger})
		// net/http's own errors (TLS handshakes, bad connections) go to the
		// engine's log, so the TUI and headless logs see them too.
		errLog := slog.NewLogLogger(e.logger.With("component", "http").Handler(), slog.LevelWarn)
		// Headers must arrive within 10 s and idle kept-alive connections
		// close after 2 min; bodies have their own deadline (gateway
		// HTTPOptions.BodyTimeout), so no connection is held forever.
		e.httpSrv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, TLSConfig: tlsConf, ErrorLog: errLog}
		e.httpLis = lis
		e.addrs.HTTP = lis.Addr().String()
		scheme := "http://"
		if tlsConf != nil {
			scheme = "https://"
		}
		e.addrs.Metrics = scheme + e.addrs.HTTP + "/metrics"
		e.serveWG.Add(1)
		go func() {
			defer e.serveWG.Done()
			var err error
			if tlsConf != nil {
				err = e.httpSrv.ServeTLS(lis, "", "")
			} else {
				err = e.httpSrv.Serve(lis)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				e.logger.Error("HTTP gateway stopped", "err", err)
			}
		}()
	}
	if g.MonitoringPort > 0 {
		lis, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(g.MonitoringPort)))
		if err != nil {
			e.closeGateway(context.Background())
			return fmt.Errorf("gateway: listen for metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", metricsHandler)
		e.promSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(e.logger.With("component", "metrics").Handler(), slog.LevelWarn)}
		e.promLis = lis
		e.addrs.Metrics = "http://" + lis.Addr().String() + "/metrics"
		e.serveWG.Add(1)
		go func() {
			defer e.serveWG.Done()
			if err := e.promSrv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				e.logger.Error("metrics server stopped", "err", err)
			}
		}()
	}
	return nil
}

// closeGateway stops accepting requests and drains those in flight until
// ctx ends.
func (e *Engine) closeGateway(ctx context.Context) {
	if e.grpcGW != nil {
		e.grpcGW.Shutdown()
		done := make(chan struct{})
		go func() { e.grpcGW.Server().GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			e.grpcGW.Server().Stop()
			<-done
		}
	}
	for _, s := range []*http.Server{e.httpSrv, e.promSrv} {
		if s != nil {
			if err := s.Shutdown(ctx); err != nil {
				s.Close()
			}
		}
	}
	e.serveWG.Wait()
}

// Stop drains the gateway, waits for floating work, and stops every
// deployment (calling each executor's Close). It is safe to call more
// than once.
func (e *Engine) Stop(ctx context.Context) error {
	e.stopOnce.Do(func() {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, e.opts.StopTimeout)
			defer cancel()
		}
		start := time.Now()
		e.logger.Info("flow stopping", "flow", e.flow.Name)
		e.watchCancel()
		e.watchWG.Wait()
		e.closeGateway(ctx)
		if r := e.router.Load(); r != nil {
			r.Close(ctx)
		}
		e.stopErr = e.stopDeployments(ctx, e.sortedDeps())
		if err := e.stopTracing(ctx); err != nil {
			e.logger.Warn("tracing", "err", err)
		}
		e.logger.Info("flow stopped", "flow", e.flow.Name, "took", time.Since(start).Round(time.Millisecond).String())
		e.bus.Close()
		close(e.done)
	})
	return e.stopErr
}

// Done is closed once the engine has stopped.
func (e *Engine) Done() <-chan struct{} { return e.done }

func (e *Engine) stopDeployments(ctx context.Context, ds []*deployment) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ds))
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.stop(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Addresses returns where the gateway listens.
func (e *Engine) Addresses() Addresses { return e.addrs }

// Bus returns the event bus.
func (e *Engine) Bus() *events.Bus { return e.bus }

// Flow returns the flow the engine runs now.
func (e *Engine) Flow() *flow.Flow {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.flow
}

// Logger returns the engine's logger (its records reach the bus).
func (e *Engine) Logger() *slog.Logger { return e.logger }

// Metrics returns the engine's Prometheus collectors.
func (e *Engine) Metrics() *metrics.Prom { return e.prom }

// --- gateway.Backend ---

// Route implements gateway.Backend.
func (e *Engine) Route(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	start := time.Now()
	ctx, span := tracing.Gateway(ctx, req)
	resp, err := e.router.Load().Route(ctx, req)
	span.EndResponse(resp, err)
	e.prom.Latency.WithLabelValues("gateway").Observe(time.Since(start).Seconds())
	return resp, err
}

// Ready implements gateway.Backend.
func (e *Engine) Ready() error {
	var missing []string
	for _, d := range e.sortedDeps() {
		if !d.route.Load().Ready() {
			missing = append(missing, d.cfg.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("not ready: %v", missing)
	}
	return nil
}

// Endpoints implements gateway.Backend: the union of the deployments'
// endpoints, each endpoint's schema entry passed through whole
// (gateway.MergeEndpoints): input from the first deployment (in flow
// order) that handles it, the rest from the last one.
func (e *Engine) Endpoints() *jinapb.EndpointsProto {
	var discovered []*jinapb.EndpointsProto
	for _, d := range e.sortedDeps() {
		if eps := d.discovered(); eps != nil {
			discovered = append(discovered, eps)
		}
	}
	return e.withGenerators(gateway.MergeEndpoints(discovered)) // streamdoc.go
}

// Info implements gateway.Backend.
func (e *Engine) Info() *jinapb.JinaInfoProto {
	info := worker.Info("gateway")
	info.Jina["flow"] = e.Flow().Name
	info.Jina["deployments"] = strconv.Itoa(len(e.sortedDeps()))
	info.Jina["num_cpus"] = strconv.Itoa(runtime.NumCPU())
	return info
}

// Status returns a snapshot of the flow for displays.
func (e *Engine) Status() Status {
	f := e.Flow()
	st := Status{Flow: f.Name, File: f.File, Addresses: e.addrs, Started: e.started, Gateway: toStats(e.gwStats.Snapshot())}
	for _, d := range e.sortedDeps() {
		st.Deployments = append(st.Deployments, d.status())
	}
	return st
}

func toStats(s metrics.Snapshot) Stats {
	return Stats{Requests: s.Requests, Errors: s.Errors, Rate: s.Rate, P50: s.P50, P99: s.P99, RateHistory: s.History, InFlight: s.InFlight}
}

// deployment looks up a running deployment.
func (e *Engine) deployment(name string) (*deployment, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	d, ok := e.deps[name]
	if !ok {
		names := make([]string, 0, len(e.deps))
		for n := range e.deps {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("no deployment %q (deployments: %v)", name, names)
	}
	return d, nil
}

var _ gateway.Backend = (*Engine)(nil)
