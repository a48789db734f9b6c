package replica

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func startLocal(t *testing.T, st *states) *LocalRunner {
	t.Helper()
	r := NewLocal(LocalSpec{Common: common("rep-0", st), Executor: echoSpec(t, "enc")})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	return r
}

func TestLocalStartServes(t *testing.T) {
	st := &states{}
	r := startLocal(t, st)
	if !r.Ready() || r.Info().State != events.Ready || r.Info().Kind != Local {
		t.Fatalf("info %+v", r.Info())
	}
	if got, err := process(context.Background(), r.Conn()); err != nil || got != "hi>enc" {
		t.Fatalf("in-process call: %q %v", got, err)
	}
	eps, err := r.Conn().Endpoints(context.Background())
	if err != nil || !slices.Contains(eps.GetEndpoints(), "/pid") {
		t.Fatalf("endpoints %v %v", eps, err)
	}
	// The replica is also served over gRPC on its address.
	addr := r.Info().Address
	conn, err := DialGRPC(addr, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := process(ctx, conn); err != nil || got != "hi>enc" {
		t.Fatalf("gRPC call: %q %v", got, err)
	}
	if conn.Addr() != addr || conn.Broken() {
		t.Fatal("conn state")
	}
	if r.Instance() == nil || r.Instance().Name() != "enc" {
		t.Fatal("Instance")
	}
	if got := st.list(); !slices.Equal(got, []events.State{events.Ready}) {
		t.Fatalf("states %v", got)
	}
}

func TestLocalKillRestartsOnSamePort(t *testing.T) {
	st := &states{}
	r := startLocal(t, st)
	addr := r.Info().Address
	before := r.Instance()
	st.reset()
	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	if r.Ready() {
		t.Fatal("ready right after Kill")
	}
	_, err := process(context.Background(), r.Conn())
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("a killed replica answers UNAVAILABLE: %v", err)
	}
	waitFor(t, "restart", r.Ready)
	info := r.Info()
	if info.Restarts != 1 || info.Address != addr || info.LastError != "killed" {
		t.Fatalf("after restart: %+v (address was %s)", info, addr)
	}
	if r.Instance() == before {
		t.Fatal("a restart creates a new instance")
	}
	if got, err := process(context.Background(), r.Conn()); err != nil || got != "hi>enc" {
		t.Fatalf("after restart: %q %v", got, err)
	}
	if got := st.list(); !slices.Equal(got, []events.State{events.Failed, events.Starting, events.Ready}) {
		t.Fatalf("states %v", got)
	}

	// A second crash waits longer (backoff) and counts again.
	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "second restart", r.Ready)
	if r.Info().Restarts != 2 || r.Info().Address != addr {
		t.Fatalf("second restart: %+v", r.Info())
	}
}

// TestLocalDoubleKill kills a replica again while its restart is pending:
// it must come back once and stay ready (not flap on "address in use").
func TestLocalDoubleKill(t *testing.T) {
	st := &states{}
	r := NewLocal(LocalSpec{Common: Common{Deployment: "dep", Name: "rep-0", OnState: st.record, MinBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}, Executor: echoSpec(t, "enc")})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())
	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	r.Kill() // before the restart
	waitFor(t, "restart", r.Ready)
	st.reset()
	// Longer than every pending backoff: the replica must stay ready.
	time.Sleep(150 * time.Millisecond)
	if !r.Ready() || len(st.list()) != 0 {
		t.Fatalf("replica flapped after a double kill: states %v, info %+v", st.list(), r.Info())
	}
	if got, err := process(context.Background(), r.Conn()); err != nil || got != "hi>enc" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestLocalRestart(t *testing.T) {
	st := &states{}
	r := startLocal(t, st)
	addr := r.Info().Address
	st.reset()
	if err := r.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !r.Ready() || r.Info().Address != addr || r.Info().Restarts != 0 {
		t.Fatalf("after Restart: %+v", r.Info())
	}
	if got := st.list(); !slices.Equal(got, []events.State{events.Stopping, events.Starting, events.Ready}) {
		t.Fatalf("states %v", got)
	}
	if got, err := process(context.Background(), r.Conn()); err != nil || got != "hi>enc" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestLocalStop(t *testing.T) {
	st := &states{}
	r := NewLocal(LocalSpec{Common: common("rep-0", st), Executor: echoSpec(t, "enc")})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Ready() || r.Info().State != events.Stopped || r.Instance() != nil {
		t.Fatalf("after Stop: %+v", r.Info())
	}
	if got := st.list(); !slices.Equal(got, []events.State{events.Ready, events.Stopping, events.Stopped}) {
		t.Fatalf("states %v", got)
	}
	if _, err := process(context.Background(), r.Conn()); status.Code(err) != codes.Unavailable {
		t.Fatalf("stopped replica: %v", err)
	}
	if _, err := r.Conn().Endpoints(context.Background()); status.Code(err) != codes.Unavailable {
		t.Fatalf("stopped replica endpoints: %v", err)
	}
	if err := r.Kill(); !errors.Is(err, ErrStopped) {
		t.Fatalf("Kill after Stop: %v", err)
	}
}

// TestLocalStopDuringBackoff stops a killed replica before its restart:
// it stays stopped.
func TestLocalStopDuringBackoff(t *testing.T) {
	st := &states{}
	r := NewLocal(LocalSpec{Common: Common{Deployment: "dep", Name: "rep-0", OnState: st.record, MinBackoff: 50 * time.Millisecond}, Executor: echoSpec(t, "enc")})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // past the backoff
	if r.Ready() || r.Info().State != events.Stopped || r.Instance() != nil {
		t.Fatalf("a stopped replica came back: %+v", r.Info())
	}
}

func TestLocalStartFailures(t *testing.T) {
	st := &states{}
	spec, _ := executors.NewSpec("NoSuchExecutorType", nil)
	r := NewLocal(LocalSpec{Common: common("rep-0", st), Executor: spec})
	err := r.Start(context.Background())
	if err == nil || r.Info().State != events.Failed || r.Info().LastError == "" {
		t.Fatalf("unknown type: %v %+v", err, r.Info())
	}
	r.Stop(context.Background())

	// Port in use.
	first := startLocal(t, &states{})
	port := portOf(t, first.Info().Address)
	r = NewLocal(LocalSpec{Common: common("rep-1", &states{}), Executor: echoSpec(t, "enc"), Port: port})
	if err := r.Start(context.Background()); err == nil || r.Info().State != events.Failed {
		t.Fatalf("a taken port: %v", err)
	}
	r.Stop(context.Background())

	// Attach failing: the instance is closed, the port released.
	attachErr := errors.New("raft refused")
	r = NewLocal(LocalSpec{Common: common("rep-2", &states{}), Executor: echoSpec(t, "enc"),
		Attach: func(ctx context.Context, inst *executors.Instance, opts *worker.Options, addr string) (func(), error) {
			return nil, attachErr
		}})
	if err := r.Start(context.Background()); !errors.Is(err, attachErr) {
		t.Fatalf("attach: %v", err)
	}
	r.Stop(context.Background())
}

func TestLocalAttach(t *testing.T) {
	var gotAddr string
	cleaned := 0
	r := NewLocal(LocalSpec{Common: common("rep-0", &states{}), Executor: echoSpec(t, "enc"),
		Attach: func(ctx context.Context, inst *executors.Instance, opts *worker.Options, addr string) (func(), error) {
			gotAddr = addr
			if inst == nil || opts.Instance != inst {
				t.Error("attach gets the instance and its worker options")
			}
			return func() { cleaned++ }, nil
		}})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if gotAddr != r.Info().Address {
		t.Fatalf("attach saw %q, replica serves %q", gotAddr, r.Info().Address)
	}
	r.Stop(context.Background())
	if cleaned != 1 {
		t.Fatalf("cleanup ran %d times", cleaned)
	}
}

// TestLocalRestartRetriesAfterFailure: while the replica's port is taken,
// restarts fail and are retried with backoff until it is free again.
func TestLocalRestartRetriesAfterFailure(t *testing.T) {
	st := &states{}
	r := NewLocal(LocalSpec{Common: Common{Deployment: "dep", Name: "rep-0", OnState: st.record, MinBackoff: 30 * time.Millisecond, MaxBackoff: 30 * time.Millisecond}, Executor: echoSpec(t, "enc")})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())
	addr := r.Info().Address
	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	squat, err := net.Listen("tcp", addr) // before the first restart
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed restarts", func() bool { return r.Info().Restarts >= 3 })
	if r.Ready() || !strings.Contains(r.Info().LastError, "address already in use") {
		t.Fatalf("info %+v", r.Info())
	}
	squat.Close()
	waitFor(t, "ready again", r.Ready)
	if r.Info().Address != addr {
		t.Fatalf("moved to %s", r.Info().Address)
	}
	if got, err := process(context.Background(), r.Conn()); err != nil || got != "hi>enc" {
		t.Fatalf("%q %v", got, err)
	}
}
