//go:build chaos

package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Chaos tests (`make chaos`, build tag chaos): the engine's replicas are
// child processes (engine/testdata/upper, built with go build) and the
// faults are real signals sent from outside the engine, as an operator or
// the kernel's OOM killer would.

// loadGen sends requests from several goroutines until stopped and counts
// failures; per-request deadlines are generous (the point is that nothing
// fails, not how fast).
type loadGen struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	total    atomic.Int64
	failures atomic.Int64
	mu       sync.Mutex
	errs     []string
}

func startLoadGen(t *testing.T, eng *engine.Engine, workers int) *loadGen {
	t.Helper()
	client := jinapb.NewJinaSingleDataRequestRPCClient(dial(t, eng.Addresses().GRPC))
	ctx, cancel := context.WithCancel(context.Background())
	l := &loadGen{cancel: cancel}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
				resp, err := client.ProcessSingleData(rctx, newReq("/x", nil, "abc"))
				rcancel()
				l.total.Add(1)
				if err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
					l.failures.Add(1)
					l.mu.Lock()
					if len(l.errs) < 5 {
						l.errs = append(l.errs, fmt.Sprint(err, resp.GetHeader().GetStatus()))
					}
					l.mu.Unlock()
				}
			}
		}()
	}
	t.Cleanup(l.stop)
	return l
}

func (l *loadGen) stop() { l.cancel(); l.wg.Wait() }

// more waits until n more requests were sent.
func (l *loadGen) more(t *testing.T, n int64) {
	t.Helper()
	target := l.total.Load() + n
	waitForLong(t, fmt.Sprintf("%d more requests", n), 60*time.Second, func() bool { return l.total.Load() >= target })
}

func (l *loadGen) noFailures(t *testing.T, what string) {
	t.Helper()
	l.stop()
	if n := l.failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed %s; first: %v", n, l.total.Load(), what, l.errs)
	}
	t.Logf("%d requests, none failed %s", l.total.Load(), what)
}

func replicaPIDs(eng *engine.Engine, dep string) []int {
	for _, d := range eng.Status().Deployments {
		if d.Name == dep {
			var out []int
			for _, r := range d.ReplicaStatus {
				out = append(out, r.PID)
			}
			return out
		}
	}
	return nil
}

func replicaOf(eng *engine.Engine, dep string, i int) engine.ReplicaStatus {
	for _, d := range eng.Status().Deployments {
		if d.Name == dep && i < len(d.ReplicaStatus) {
			return d.ReplicaStatus[i]
		}
	}
	return engine.ReplicaStatus{}
}

// procState returns the state letter of a process ("T" when stopped).
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

const upperFlow = `
jtype: Flow
with: {protocol: [grpc, http]}
executors:
  - {name: up, uses: upper, replicas: 2, timeout_send: 300}
`

// TestChaosKill9ChildReplicaUnderLoad: SIGKILL (from outside the engine)
// of one of two child-process replicas under load fails no request, and
// the engine restarts the dead replica.
func TestChaosKill9ChildReplicaUnderLoad(t *testing.T) {
	eng := startFlowIn(t, "testdata", upperFlow)
	l := startLoadGen(t, eng, 6)
	l.more(t, 200)
	victim := replicaOf(eng, "up", 0)
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitForLong(t, "replica restarted", 60*time.Second, func() bool {
		r := replicaOf(eng, "up", 0)
		return r.Restarts >= 1 && r.State == events.Ready && r.PID != victim.PID
	})
	l.more(t, 200)
	l.noFailures(t, "while a child replica was killed with SIGKILL")
	// Both kill -9s in a row: the second replica too, while the first is
	// serving again.
	l = startLoadGen(t, eng, 6)
	victim = replicaOf(eng, "up", 1)
	syscall.Kill(victim.PID, syscall.SIGKILL)
	waitForLong(t, "second replica restarted", 60*time.Second, func() bool {
		r := replicaOf(eng, "up", 1)
		return r.Restarts >= 1 && r.State == events.Ready && r.PID != victim.PID
	})
	l.more(t, 200)
	l.noFailures(t, "while the other child replica was killed")
}

// TestChaosSIGSTOPChildReplica: a frozen replica (SIGSTOP) keeps its
// connections open but answers nothing; requests sent to it are re-routed
// to the other replica once timeout_send (300ms) fires, so none fails; after
// SIGCONT it serves again, and it was never treated as a crash.
func TestChaosSIGSTOPChildReplica(t *testing.T) {
	eng := startFlowIn(t, "testdata", upperFlow)
	l := startLoadGen(t, eng, 6)
	l.more(t, 100)
	frozen := replicaOf(eng, "up", 0)
	if err := syscall.Kill(-frozen.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitForLong(t, "the child to stop", 10*time.Second, func() bool { return procState(frozen.PID) == 'T' })
	l.more(t, 300)
	if err := syscall.Kill(-frozen.PID, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	l.more(t, 100)
	l.noFailures(t, "while a child replica was frozen with SIGSTOP")

	// The thawed replica answers again: /pid reaches it eventually.
	cc := dial(t, eng.Addresses().GRPC)
	waitForLong(t, "the thawed replica to answer", 30*time.Second, func() bool {
		resp, err := jinapb.NewJinaSingleDataRequestRPCClient(cc).ProcessSingleData(context.Background(), newReq("/pid", nil, "x"))
		if err != nil {
			return false
		}
		res := resp.GetParameters().AsMap()["__results__"].(map[string]any)["up"].(map[string]any)
		return res["pid"] == float64(frozen.PID)
	})
	if r := replicaOf(eng, "up", 0); r.Restarts != 0 || r.PID != frozen.PID {
		t.Fatalf("a paused replica is not a crash: %+v", r)
	}
}

// TestChaosRollingRestartUnderLoad: restarting every child replica, one at
// a time, fails no request.
func TestChaosRollingRestartUnderLoad(t *testing.T) {
	eng := startFlowIn(t, "testdata", upperFlow)
	before := replicaPIDs(eng, "up")
	l := startLoadGen(t, eng, 6)
	l.more(t, 100)
	for round := range 2 {
		if err := eng.RestartDeployment(context.Background(), "up"); err != nil {
			t.Fatalf("rolling restart %d: %v", round, err)
		}
		l.more(t, 100)
	}
	l.noFailures(t, "during two rolling restarts")
	after := replicaPIDs(eng, "up")
	for _, pid := range after {
		if slices.Contains(before, pid) || pid == 0 {
			t.Fatalf("replicas were not replaced: before %v after %v", before, after)
		}
	}
}

// TestChaosClientCancelReachesChildExecutor: a client's cancellation
// crosses the gateway and the process boundary: the child executor's
// handler sees its context cancelled (it logs so).
func TestChaosClientCancelReachesChildExecutor(t *testing.T) {
	eng := startFlowIn(t, "testdata", upperFlow)
	sub := eng.Bus().Subscribe(4096)
	defer sub.Close()
	cc := dial(t, eng.Addresses().GRPC)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := jinapb.NewJinaSingleDataRequestRPCClient(cc).ProcessSingleData(ctx, newReq("/sleep", nil, "x"))
		errc <- err
	}()
	deadline := time.After(30 * time.Second)
	var source string
	for source == "" {
		select {
		case e := <-sub.C:
			if l, ok := e.(events.Log); ok && l.Message == "sleep started" {
				source = l.Source
			}
		case <-deadline:
			t.Fatal("the child never started the request")
		}
	}
	cancel()
	for {
		select {
		case e := <-sub.C:
			if l, ok := e.(events.Log); ok && l.Message == "sleep cancelled" && l.Source == source {
				if err := <-errc; status.Code(err) != codes.Canceled {
					t.Fatalf("client got %v", err)
				}
				return
			}
		case <-deadline:
			t.Fatal("the cancellation never reached the child's handler")
		}
	}
}
