// Package replica runs and supervises one replica of a deployment: an
// executor served in the engine's own process, a child process running an
// executor binary, or an external worker someone else runs. It hides the
// difference behind Conn, the way the router sends requests, and reports
// state changes; replicas that die are restarted with backoff.
package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/proto/jinapb"
)

// Conn sends requests to one replica. Errors are gRPC status errors:
// codes.Unavailable when the replica cannot be reached, so the router can
// try another replica.
type Conn interface {
	Process(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error)
	Endpoints(ctx context.Context) (*jinapb.EndpointsProto, error)
}

// Kind says how a replica runs.
type Kind int

// Kinds of replicas.
const (
	// Local replicas run in the engine's process (built-in executors).
	Local Kind = iota
	// Process replicas are child processes running an executor binary.
	Process
	// External replicas are workers jig does not run.
	External
)

func (k Kind) String() string {
	return [...]string{"local", "process", "external"}[k]
}

// ErrStopped is returned by Conn calls on a replica that is not running.
var ErrStopped = errors.New("replica is not running")

// Info describes a replica for status displays.
type Info struct {
	Deployment     string
	Name           string
	Shard, Replica int
	Kind           Kind
	Address        string
	PID            int
	State          events.State
	Since          time.Time
	Restarts       int
	LastError      string
}

// Common is what every Spec shares.
type Common struct {
	// Deployment and Name ("rep-1", "shard-0/rep-1") identify the replica.
	Deployment, Name string
	Shard, Replica   int
	// Logger receives the engine's own messages about this replica.
	Logger *slog.Logger
	// OnState is called on every state change (it must not block).
	OnState func(Info)
	// Backoff bounds restart delays (defaults 100ms doubling to 10s).
	MinBackoff, MaxBackoff time.Duration
	// AuthToken, when set, is the flow's secret: the replica's worker
	// requires it and the engine's connection to it sends it.
	AuthToken string
}

// Runner is one supervised replica.
type Runner interface {
	// Start launches the replica and waits until it is ready or ctx ends.
	Start(ctx context.Context) error
	// Conn returns the connection to use for requests.
	Conn() Conn
	// Info returns the current description.
	Info() Info
	// Ready reports whether the replica may receive requests.
	Ready() bool
	// Kill ends the replica abruptly (a crash, for tests and the TUI);
	// the supervisor restarts it.
	Kill() error
	// Stop ends the replica gracefully: in-flight requests may finish
	// until ctx ends. It is not restarted.
	Stop(ctx context.Context) error
}

// tracker holds the state every runner keeps.
type tracker struct {
	c    Common
	mu   sync.Mutex
	info Info
}

func newTracker(c Common, kind Kind) *tracker {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Second
	}
	return &tracker{c: c, info: Info{Deployment: c.Deployment, Name: c.Name, Shard: c.Shard, Replica: c.Replica, Kind: kind, State: events.Starting, Since: time.Now()}}
}

func (t *tracker) set(state events.State, reason string) {
	t.mu.Lock()
	changed := t.info.State != state
	t.info.State = state
	if state == events.Failed && reason != "" {
		t.info.LastError = reason
	}
	if changed {
		t.info.Since = time.Now()
	}
	info := t.info
	t.mu.Unlock()
	if changed && t.c.OnState != nil {
		t.c.OnState(info)
	}
}

func (t *tracker) update(f func(*Info)) {
	t.mu.Lock()
	f(&t.info)
	t.mu.Unlock()
}

func (t *tracker) Info() Info {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info
}

func (t *tracker) Ready() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info.State == events.Ready
}

// backoff returns the delay before restart number n (1-based).
func (t *tracker) backoff(n int) time.Duration {
	d := t.c.MinBackoff
	for i := 1; i < n && d < t.c.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, t.c.MaxBackoff)
}

func (t *tracker) String() string {
	return fmt.Sprintf("%s/%s", t.c.Deployment, t.c.Name)
}
