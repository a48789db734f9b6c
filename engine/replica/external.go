package replica

import (
	"context"
	"crypto/tls"
	"sync"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ExternalSpec describes a worker jig does not run (`external: true`):
// any server speaking the worker protocol, a Python Jina executor
// included.
type ExternalSpec struct {
	Common
	Address        string
	MaxMessageSize int
	TLS            *tls.Config
	// HealthInterval is how often health is checked (default 1s).
	HealthInterval time.Duration
}

// ExternalRunner watches an external worker's health.
type ExternalRunner struct {
	*tracker
	spec   ExternalSpec
	mu     sync.Mutex
	conn   *GRPCConn
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ Runner = (*ExternalRunner)(nil)

// NewExternal returns an unstarted external replica.
func NewExternal(spec ExternalSpec) *ExternalRunner {
	if spec.HealthInterval <= 0 {
		spec.HealthInterval = time.Second
	}
	r := &ExternalRunner{tracker: newTracker(spec.Common, External), spec: spec}
	r.update(func(i *Info) { i.Address = spec.Address })
	return r
}

// Start implements Runner: it connects and waits until the worker's health
// service reports SERVING, then keeps checking it.
func (r *ExternalRunner) Start(ctx context.Context) error {
	conn, err := DialGRPC(r.spec.Address, r.spec.MaxMessageSize, r.spec.TLS, authDial(r.spec.AuthToken)...)
	if err != nil {
		r.set(events.Failed, err.Error())
		return err
	}
	r.mu.Lock()
	r.conn = conn
	r.mu.Unlock()
	if err := conn.WaitHealthy(ctx); err != nil {
		r.set(events.Failed, err.Error())
		conn.Close()
		return err
	}
	r.set(events.Ready, "")
	wctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go r.watch(wctx)
	return nil
}

func (r *ExternalRunner) watch(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(r.spec.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, r.spec.HealthInterval)
		ok := r.conn.Healthy(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if ok {
			r.set(events.Ready, "")
		} else {
			r.set(events.Failed, "health check failed")
		}
	}
}

// Conn implements Runner. Before Start succeeds, calls fail as
// unavailable.
func (r *ExternalRunner) Conn() Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return unavailableConn{r.spec.Address}
	}
	return r.conn
}

type unavailableConn struct{ addr string }

func (c unavailableConn) Process(context.Context, *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return nil, status.Errorf(codes.Unavailable, "external worker %s is not connected", c.addr)
}

func (c unavailableConn) Endpoints(context.Context) (*jinapb.EndpointsProto, error) {
	return nil, status.Errorf(codes.Unavailable, "external worker %s is not connected", c.addr)
}

// Kill implements Runner; external workers cannot be killed by jig.
func (r *ExternalRunner) Kill() error { return errExternal }

// Stop implements Runner.
func (r *ExternalRunner) Stop(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	r.mu.Lock()
	if r.conn != nil {
		r.conn.Close()
	}
	r.mu.Unlock()
	r.set(events.Stopped, "")
	return nil
}

type externalError struct{}

func (externalError) Error() string {
	return "external executors are run by someone else; jig cannot kill them"
}

var errExternal error = externalError{}
