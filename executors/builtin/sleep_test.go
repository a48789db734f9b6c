package builtin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
)

func TestSleepWaitsAndReturnsDocs(t *testing.T) {
	inst := newInstance(t, "Sleep", map[string]any{"latency_ms": 20})
	in := texts("a", "b")
	start := time.Now()
	out := call(t, inst, "/whatever", in, nil)
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("returned after %v, want >= 20ms", d)
	}
	if !proto.Equal(out.ToProto(), in.ToProto()) {
		t.Error("docs changed")
	}
}

func TestSleepParametersOverride(t *testing.T) {
	inst := newInstance(t, "Sleep", map[string]any{"latency_ms": 60_000})
	start := time.Now()
	call(t, inst, "/default", texts("a"), map[string]any{"latency_ms": 0})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("latency_ms parameter ignored: took %v", d)
	}

	start = time.Now()
	call(t, inst, "/default", texts("a"), map[string]any{"latency_ms": 5, "jitter_ms": 15})
	if d := time.Since(start); d < 5*time.Millisecond || d > 10*time.Second {
		t.Errorf("latency 5 + jitter <15: took %v", d)
	}

	// Parameters addressed to the executor by name win over global ones.
	start = time.Now()
	call(t, inst, "/default", texts("a"), map[string]any{"latency_ms": 60_000, "Sleep": map[string]any{"latency_ms": 1}})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("executor-scoped latency_ms ignored: took %v", d)
	}

	resp := process(t, inst, "/default", texts("a"), map[string]any{"latency_ms": -1})
	if ex := resp.GetHeader().GetStatus().GetException(); ex.GetName() != "BadRequest" {
		t.Errorf("negative latency: status %v", resp.GetHeader().GetStatus())
	}
}

func TestSleepHonoursCancellation(t *testing.T) {
	inst := newInstance(t, "Sleep", map[string]any{"latency_ms": 60_000})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	resp := inst.Process(ctx, request(t, "/default", texts("a"), nil))
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("deadline ignored: took %v", d)
	}
	st := resp.GetHeader().GetStatus()
	if st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetName() != "DeadlineExceeded" {
		t.Errorf("deadline: status %v", st)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	resp = inst.Process(ctx, request(t, "/default", texts("a"), nil))
	if name := resp.GetHeader().GetStatus().GetException().GetName(); name != "Cancelled" {
		t.Errorf("cancelled: exception %q", name)
	}
}

func TestSleepInvalidOptions(t *testing.T) {
	for field, with := range map[string]map[string]any{
		"latency_ms": {"latency_ms": -5},
		"jitter_ms":  {"jitter_ms": -1},
	} {
		spec, err := executors.NewSpec("Sleep", with)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := executors.New(context.Background(), spec); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%v: error %v does not name %s", with, err, field)
		}
	}
}
