package builtin

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
)

// outcomes sends n requests and returns the exception name of each ("" for
// success).
func outcomes(t *testing.T, inst *executors.Instance, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		resp := process(t, inst, "/default", texts("x"), nil)
		out[i] = resp.GetHeader().GetStatus().GetException().GetName()
	}
	return out
}

func count(names []string, name string) int {
	n := 0
	for _, s := range names {
		if s == name {
			n++
		}
	}
	return n
}

func TestFaultErrorRate(t *testing.T) {
	inst := newInstance(t, "Fault", map[string]any{"error_rate": 0.3, "seed": 42})
	got := outcomes(t, inst, 1000)
	errs := count(got, "InjectedFault")
	if errs < 240 || errs > 360 {
		t.Errorf("error_rate 0.3: %d errors in 1000 requests", errs)
	}
	if ok := count(got, ""); ok+errs != 1000 {
		t.Errorf("unexpected outcomes: %d ok, %d errors", ok, errs)
	}

	// The same seed gives the same sequence.
	again := outcomes(t, newInstance(t, "Fault", map[string]any{"error_rate": 0.3, "seed": 42}), 1000)
	if strings.Join(got, ",") != strings.Join(again, ",") {
		t.Error("same seed, different outcomes")
	}
}

func TestFaultErrorStatus(t *testing.T) {
	spec, err := executors.NewSpec("Fault", map[string]any{"error_rate": 1, "error_name": "Boom"})
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime = executors.RuntimeArgs{Name: "chaos", Workspace: t.TempDir()}
	inst := newFromSpec(t, spec)
	st := process(t, inst, "/default", texts("x"), nil).GetHeader().GetStatus()
	if st.GetCode() != jinapb.StatusProto_ERROR {
		t.Fatalf("status %v, want ERROR", st)
	}
	ex := st.GetException()
	if ex.GetName() != "Boom" || ex.GetExecutor() != "chaos" {
		t.Errorf("exception name %q executor %q, want Boom / chaos", ex.GetName(), ex.GetExecutor())
	}
	if len(ex.GetArgs()) != 1 || !strings.Contains(ex.GetArgs()[0], "injected fault") {
		t.Errorf("args %q", ex.GetArgs())
	}

	never := newInstance(t, "Fault", map[string]any{"error_rate": 0})
	if got := outcomes(t, never, 200); count(got, "") != 200 {
		t.Errorf("error_rate 0 failed %d times", 200-count(got, ""))
	}
}

func TestFaultPanicRate(t *testing.T) {
	inst := newInstance(t, "Fault", map[string]any{"error_rate": 0, "panic_rate": 0.2, "seed": 7})
	got := outcomes(t, inst, 1000)
	panics := count(got, "Panic")
	if panics < 140 || panics > 260 {
		t.Errorf("panic_rate 0.2: %d panics in 1000 requests", panics)
	}
	if count(got, "")+panics != 1000 {
		t.Errorf("unexpected outcomes besides panics")
	}
	// A panic is reported with its stack.
	for range 100 {
		st := process(t, inst, "/default", texts("x"), nil).GetHeader().GetStatus()
		if st.GetException().GetName() == "Panic" {
			if len(st.GetException().GetStacks()) == 0 || !strings.Contains(st.GetException().GetArgs()[0], "injected panic") {
				t.Errorf("panic status %v", st)
			}
			return
		}
	}
	t.Error("no panic in 100 more requests")
}

func TestFaultConcurrent(t *testing.T) {
	inst := newInstance(t, "Fault", map[string]any{"error_rate": 0.5, "seed": 1})
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Go(func() {
			n := 0
			for range 100 {
				if process(t, inst, "/default", texts("x"), nil).GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
					n++
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total < 300 || total > 500 {
		t.Errorf("error_rate 0.5 over 800 concurrent requests: %d errors", total)
	}
}

func TestFaultLatencyHonoursCancellation(t *testing.T) {
	inst := newInstance(t, "Fault", map[string]any{"error_rate": 0, "latency_ms": 60_000})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	resp := inst.Process(ctx, request(t, "/default", texts("x"), nil))
	if name := resp.GetHeader().GetStatus().GetException().GetName(); name != "Cancelled" {
		t.Errorf("exception %q, want Cancelled", name)
	}
}

func TestFaultInvalidOptions(t *testing.T) {
	for field, with := range map[string]map[string]any{
		"error_rate": {"error_rate": 1.5},
		"panic_rate": {"panic_rate": -0.1},
		"latency_ms": {"latency_ms": -1},
	} {
		spec, err := executors.NewSpec("Fault", with)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := executors.New(context.Background(), spec); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%v: error %v does not name %s", with, err, field)
		}
	}
}
