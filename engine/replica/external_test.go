package replica

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
)

// serveWorker serves a ReplicaEcho instance named "ext" on addr and
// returns its address and a function stopping it.
func serveWorker(t *testing.T, addr string) (string, func()) {
	t.Helper()
	inst, err := executors.New(context.Background(), echoSpec(t, "ext"))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		inst.Close()
		t.Fatal(err)
	}
	srv, err := worker.NewServer(worker.Options{Instance: inst})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(lis)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		srv.Stop(ctx)
		<-served
		inst.Close()
	}
	t.Cleanup(stop)
	return lis.Addr().String(), stop
}

func TestExternalFollowsHealth(t *testing.T) {
	addr, stop := serveWorker(t, "127.0.0.1:0")
	st := &states{}
	r := NewExternal(ExternalSpec{Common: common("rep-0", st), Address: addr, HealthInterval: 20 * time.Millisecond})
	if r.Info().Address != addr || r.Info().Kind != External {
		t.Fatalf("info %+v", r.Info())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())
	if !r.Ready() {
		t.Fatal("not ready after Start")
	}
	if got, err := process(ctx, r.Conn()); err != nil || got != "hi>ext" {
		t.Fatalf("call: %q %v", got, err)
	}
	if eps, err := r.Conn().Endpoints(ctx); err != nil || !slices.Contains(eps.GetEndpoints(), "/pid") {
		t.Fatalf("endpoints: %v %v", eps, err)
	}

	stop() // the worker goes away
	waitFor(t, "failed", func() bool { return r.Info().State == events.Failed })
	if r.Ready() || !strings.Contains(r.Info().LastError, "health") {
		t.Fatalf("info %+v", r.Info())
	}

	serveWorker(t, addr) // and comes back on the same address
	waitFor(t, "ready again", r.Ready)
	if got, err := process(ctx, r.Conn()); err != nil || got != "hi>ext" {
		t.Fatalf("call after the worker came back: %q %v", got, err)
	}
	if got := st.list(); !slices.Equal(got, []events.State{events.Ready, events.Failed, events.Ready}) {
		t.Fatalf("states %v", got)
	}
	if err := r.Kill(); err == nil || !strings.Contains(err.Error(), "external") {
		t.Fatalf("Kill of an external replica: %v", err)
	}
	if err := r.Stop(context.Background()); err != nil || r.Info().State != events.Stopped {
		t.Fatalf("Stop: %v %+v", err, r.Info())
	}
}

func TestExternalStartFailsWhenUnreachable(t *testing.T) {
	// A port nobody listens on.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	st := &states{}
	r := NewExternal(ExternalSpec{Common: common("rep-0", st), Address: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = r.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err %v", err)
	}
	if r.Ready() || r.Info().State != events.Failed || r.Info().LastError == "" {
		t.Fatalf("info %+v", r.Info())
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
