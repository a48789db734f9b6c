package replica

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// LocalSpec describes an in-process replica: the executor instance lives in
// the engine's process and is also served over gRPC on its own port, so
// outside tools (grpcurl, Jina clients, other flows) can reach it.
type LocalSpec struct {
	Common
	// Executor is the instance to create (config, overrides, runtime).
	Executor executors.Spec
	// Host and Port to listen on (Port 0 picks one; a restart reuses it).
	Host string
	Port int
	// Listener, when set, is the socket (on Host:Port) the first start
	// serves on, bound by the owner beforehand so no other process can
	// take the port in between; restarts bind Port again. The runner
	// closes it if it never starts.
	Listener net.Listener
	// MaxMessageSize bounds request sizes (worker default when 0).
	MaxMessageSize int
	// Attach, when set, runs after the instance is created and before it
	// serves, with the worker's address; it may add to the worker options
	// (RAFT: Writes, Register). Its cleanup runs after the server stopped
	// and before the instance closes.
	Attach func(ctx context.Context, inst *executors.Instance, opts *worker.Options, addr string) (cleanup func(), err error)
}

// LocalRunner supervises an in-process replica.
type LocalRunner struct {
	*tracker
	spec LocalSpec

	mu      sync.Mutex
	srv     *worker.Server
	inst    *executors.Instance
	cleanup func()
	served  chan struct{} // closed when the current server's Serve returns
	port    int
	stopped bool
	restart *time.Timer
	// restarting counts scheduled restarts that have not finished.
	restarting sync.WaitGroup
	ctx        context.Context // for restarts; cancelled by Stop
	cancel     context.CancelFunc
}

var _ Runner = (*LocalRunner)(nil)

// NewLocal returns an unstarted in-process replica.
func NewLocal(spec LocalSpec) *LocalRunner {
	if spec.Host == "" {
		spec.Host = "127.0.0.1"
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &LocalRunner{tracker: newTracker(spec.Common, Local), spec: spec, port: spec.Port, ctx: ctx, cancel: cancel}
}

// Start implements Runner.
func (r *LocalRunner) Start(ctx context.Context) error {
	if err := r.start(ctx); err != nil {
		r.set(events.Failed, err.Error())
		return err
	}
	return nil
}

func (r *LocalRunner) start(ctx context.Context) error {
	r.set(events.Starting, "")
	lis, err := r.listen()
	if err != nil {
		return fmt.Errorf("%s: listen: %w", r, err)
	}
	addr := lis.Addr().(*net.TCPAddr)
	spec := r.spec.Executor
	spec.Runtime.Port = addr.Port
	inst, err := executors.New(ctx, spec)
	if err != nil {
		lis.Close()
		return fmt.Errorf("%s: %w", r, err)
	}
	opts := worker.Options{Instance: inst, Logger: r.c.Logger, MaxMessageSize: r.spec.MaxMessageSize}
	opts.ServerOptions = authServer(r.spec.AuthToken)
	var cleanup func()
	if r.spec.Attach != nil {
		if cleanup, err = r.spec.Attach(ctx, inst, &opts, lis.Addr().String()); err != nil {
			lis.Close()
			return errors.Join(fmt.Errorf("%s: %w", r, err), inst.Close())
		}
	}
	srv, err := worker.NewServer(opts)
	if err != nil {
		lis.Close()
		if cleanup != nil {
			cleanup()
		}
		return errors.Join(err, inst.Close())
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(lis); err != nil {
			r.c.Logger.Error("replica server failed", "replica", r.String(), "err", err)
		}
	}()
	r.mu.Lock()
	r.srv, r.inst, r.cleanup, r.served, r.port = srv, inst, cleanup, served, addr.Port
	r.mu.Unlock()
	r.update(func(i *Info) { i.Address = lis.Addr().String() })
	if c, ok := opts.Writes.(worker.CatchingUp); ok {
		// A restarted stateful replica takes traffic once it has caught
		// up with its cluster (bounded by the node's catch-up timeout);
		// until then the gateway uses the other replicas.
		select {
		case <-c.CaughtUp():
		case <-ctx.Done():
			r.c.Logger.Warn("replica ready before catching up with its cluster", "replica", r.String(), "err", ctx.Err())
		}
		r.mu.Lock()
		current := r.srv == srv
		r.mu.Unlock()
		if !current {
			return nil // killed or stopped while catching up: that path takes over
		}
	}
	r.set(events.Ready, "")
	return nil
}

// listen returns the owner's socket at first start, else binds the port.
func (r *LocalRunner) listen() (net.Listener, error) {
	r.mu.Lock()
	lis := r.spec.Listener
	r.spec.Listener = nil
	r.mu.Unlock()
	if lis != nil {
		return lis, nil
	}
	return net.Listen("tcp", net.JoinHostPort(r.spec.Host, strconv.Itoa(r.port)))
}

// teardown stops the current server (drain until ctx ends) and closes the
// instance. It reports whether a server was running.
func (r *LocalRunner) teardown(ctx context.Context) (bool, error) {
	r.mu.Lock()
	srv, inst, cleanup, served := r.srv, r.inst, r.cleanup, r.served
	r.srv, r.inst, r.cleanup = nil, nil, nil
	r.mu.Unlock()
	if srv == nil {
		return false, nil
	}
	srv.Stop(ctx)
	<-served
	if cleanup != nil {
		cleanup()
	}
	return true, inst.Close()
}

// Conn implements Runner.
func (r *LocalRunner) Conn() Conn { return localConn{r} }

// Instance returns the current executor instance (nil when not running).
func (r *LocalRunner) Instance() *executors.Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inst
}

// Kill implements Runner: the replica goes down at once (in-flight
// requests fail) and is restarted after a backoff.
func (r *LocalRunner) Kill() error {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return ErrStopped
	}
	running := r.srv != nil
	r.mu.Unlock()
	if !running {
		return nil // already down: its restart is pending
	}
	r.set(events.Failed, "killed")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no draining: a crash
	down, err := r.teardown(ctx)
	if down { // else a concurrent Kill tore it down and restarts it
		r.scheduleRestart()
	}
	return err
}

func (r *LocalRunner) scheduleRestart() {
	var n int
	r.update(func(i *Info) { i.Restarts++; n = i.Restarts })
	delay := r.backoff(n)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.restarting.Add(1)
	r.restart = time.AfterFunc(delay, func() {
		defer r.restarting.Done()
		if err := r.start(r.ctx); err != nil {
			r.set(events.Failed, err.Error())
			r.mu.Lock()
			stopped := r.stopped
			r.mu.Unlock()
			if !stopped && r.ctx.Err() == nil {
				r.scheduleRestart()
			}
		}
	})
}

// Restart stops the replica gracefully and starts it again at once.
func (r *LocalRunner) Restart(ctx context.Context) error {
	r.set(events.Stopping, "restart")
	if _, err := r.teardown(ctx); err != nil {
		r.c.Logger.Warn("close before restart failed", "replica", r.String(), "err", err)
	}
	return r.Start(ctx)
}

// Stop implements Runner.
func (r *LocalRunner) Stop(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	if r.spec.Listener != nil { // never started
		r.spec.Listener.Close()
		r.spec.Listener = nil
	}
	if r.restart != nil && r.restart.Stop() {
		r.restarting.Done() // the timer will not run
	}
	r.mu.Unlock()
	r.cancel()
	// A restart already running finishes first, so its server is torn
	// down below instead of outliving Stop.
	r.restarting.Wait()
	r.set(events.Stopping, "")
	_, err := r.teardown(ctx)
	r.set(events.Stopped, "")
	return err
}

// localConn calls the in-process server directly: no network hop, but the
// same code path (writes through RAFT, errors as statuses) as gRPC.
type localConn struct{ r *LocalRunner }

func (c localConn) server() (*worker.Server, *executors.Instance) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	return c.r.srv, c.r.inst
}

func (c localConn) Process(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	srv, _ := c.server()
	if srv == nil || !c.r.Ready() {
		return nil, status.Errorf(codes.Unavailable, "%s is not running", c.r)
	}
	return srv.Process(ctx, req)
}

func (c localConn) Endpoints(context.Context) (*jinapb.EndpointsProto, error) {
	_, inst := c.server()
	if inst == nil {
		return nil, status.Errorf(codes.Unavailable, "%s is not running", c.r)
	}
	return inst.Endpoints(), nil
}
