package bench

import (
	"context"
	"sync"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

// Executors only the benchmarks use. They are registered when a benchmark
// runs, not at import, so they never show in jig's list of built-ins.
const (
	serialSleepType = "BenchSerialSleep"
	shardSleepType  = "BenchShardSleep"
)

var registerOnce sync.Once

func registerExecutors() {
	registerOnce.Do(func() {
		executors.Register(serialSleepType, func() executors.Executor { return &serialSleep{LatencyMs: 10} })
		executors.Register(shardSleepType, func() executors.Executor { return &shardSleep{LatencyMs: 5, SlowMs: 10} })
	})
}

// serialSleep takes LatencyMs per request and serves one request at a
// time, like a model that holds a whole device or a single-threaded
// executor: the capacity of a replica is 1000/LatencyMs requests/s, so
// only more replicas serve more requests.
type serialSleep struct {
	executors.Base
	LatencyMs float64 `yaml:"latency_ms"`
	mu        sync.Mutex
}

func (s *serialSleep) Endpoints(r *executors.Router) { executors.Default(r, s.Sleep) }

func (s *serialSleep) Sleep(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return docs, sleep(ctx, s.LatencyMs)
}

// shardSleep takes LatencyMs per request, except on the last shard of its
// deployment, which takes SlowMs: with shards: 1 the only shard is the
// slow one.
type shardSleep struct {
	executors.Base
	LatencyMs float64 `yaml:"latency_ms"`
	SlowMs    float64 `yaml:"slow_ms"`
}

func (s *shardSleep) Endpoints(r *executors.Router) { executors.Default(r, s.Sleep) }

func (s *shardSleep) Sleep(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	ms := s.LatencyMs
	if s.Runtime.ShardID == s.Runtime.Shards-1 {
		ms = s.SlowMs
	}
	return docs, sleep(ctx, ms)
}

func sleep(ctx context.Context, ms float64) error {
	t := time.NewTimer(time.Duration(ms * float64(time.Millisecond)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
