package builtin

import (
	"context"
	"math/rand/v2"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

func init() {
	executors.Register("Sleep", func() executors.Executor {
		return &Sleep{LatencyMs: 10}
	})
}

// Sleep waits before returning the documents unchanged: a stand-in for a
// slow model, to exercise timeouts, dynamic batching, load balancing over
// replicas and the latency columns of the workbench.
//
// Each request waits LatencyMs plus a uniformly random jitter in
// [0, JitterMs). A request whose context ends first (client deadline,
// cancellation, shutdown) returns at once with the context's error.
//
// The parameters "latency_ms" and "jitter_ms" override the options for one
// request, e.g. `jig post ... --parameters '{"latency_ms": 500}'`.
type Sleep struct {
	executors.Base

	// LatencyMs is the fixed part of the wait in milliseconds. Default 10.
	LatencyMs float64 `yaml:"latency_ms"`
	// JitterMs is the upper bound of the random extra wait in
	// milliseconds. Default 0.
	JitterMs float64 `yaml:"jitter_ms"`
}

// Init validates the options.
func (s *Sleep) Init(ctx context.Context) error {
	if s.LatencyMs < 0 {
		return configError("latency_ms", "must not be negative, got %v", s.LatencyMs)
	}
	if s.JitterMs < 0 {
		return configError("jitter_ms", "must not be negative, got %v", s.JitterMs)
	}
	return nil
}

// Endpoints binds Sleep to the default endpoint.
func (s *Sleep) Endpoints(r *executors.Router) {
	executors.Default(r, s.Sleep)
}

// Sleep waits, then returns docs unchanged.
func (s *Sleep) Sleep(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	latency := p.Float("latency_ms", s.LatencyMs)
	jitter := p.Float("jitter_ms", s.JitterMs)
	if latency < 0 || jitter < 0 {
		return nil, badRequest("latency_ms and jitter_ms must not be negative, got %v and %v", latency, jitter)
	}
	if jitter > 0 {
		// The global generator is safe for concurrent use and needs no
		// reproducibility here.
		latency += rand.Float64() * jitter
	}
	if err := sleepCtx(ctx, millis(latency)); err != nil {
		return nil, err
	}
	return docs, nil
}
