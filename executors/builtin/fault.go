package builtin

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

func init() {
	executors.Register("Fault", func() executors.Executor {
		return &Fault{ErrorRate: 0.5, ErrorName: "InjectedFault"}
	})
}

// Fault fails on purpose: each request returns an error with probability
// ErrorRate and panics with probability PanicRate, after an optional
// latency. It is for chaos testing — retries, error reporting in the
// client and the workbench, skipping of later executors, and recovery from
// handler panics.
//
// Errors are *executors.Error values named ErrorName, so the client sees
// that name as the exception name in header.status. Panics are recovered by
// the SDK and reported as exception "Panic".
//
// The two draws are independent: a request panics with probability
// PanicRate; otherwise it fails with probability ErrorRate. With a fixed
// Seed the sequence of outcomes is reproducible (for requests arriving in
// the same order).
type Fault struct {
	executors.Base

	// ErrorRate is the probability, in [0, 1], that a request fails.
	// Default 0.5.
	ErrorRate float64 `yaml:"error_rate"`
	// PanicRate is the probability, in [0, 1], that a request panics.
	// Default 0.
	PanicRate float64 `yaml:"panic_rate"`
	// LatencyMs is waited before deciding, in milliseconds. Default 0.
	LatencyMs float64 `yaml:"latency_ms"`
	// Seed seeds the random generator; 0 (the default) seeds it from the
	// clock, so each instance behaves differently.
	Seed uint64 `yaml:"seed"`
	// ErrorName is the exception name of injected errors. Default
	// "InjectedFault".
	ErrorName string `yaml:"error_name"`

	mu  sync.Mutex // handlers run concurrently; rand.Rand is not safe for that
	rng *rand.Rand
}

// Init validates the options and seeds the generator.
func (f *Fault) Init(ctx context.Context) error {
	if f.ErrorRate < 0 || f.ErrorRate > 1 {
		return configError("error_rate", "must be between 0 and 1, got %v", f.ErrorRate)
	}
	if f.PanicRate < 0 || f.PanicRate > 1 {
		return configError("panic_rate", "must be between 0 and 1, got %v", f.PanicRate)
	}
	if f.LatencyMs < 0 {
		return configError("latency_ms", "must not be negative, got %v", f.LatencyMs)
	}
	if f.ErrorName == "" {
		f.ErrorName = "InjectedFault"
	}
	seed := f.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	f.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return nil
}

// Endpoints binds Fault to the default endpoint.
func (f *Fault) Endpoints(r *executors.Router) {
	executors.Default(r, f.Maybe)
}

// Maybe waits LatencyMs, then panics, fails or returns docs unchanged.
func (f *Fault) Maybe(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	if err := sleepCtx(ctx, millis(f.LatencyMs)); err != nil {
		return nil, err
	}
	// Both values are drawn on every request so that one request's outcome
	// does not shift the sequence the next one sees.
	f.mu.Lock()
	pv, ev := f.rng.Float64(), f.rng.Float64()
	f.mu.Unlock()
	if pv < f.PanicRate {
		panic("injected panic (panic_rate " + formatRate(f.PanicRate) + ")")
	}
	if ev < f.ErrorRate {
		return nil, executors.Errorf(f.ErrorName, "injected fault (error_rate %s)", formatRate(f.ErrorRate))
	}
	return docs, nil
}

func formatRate(r float64) string {
	return strconv.FormatFloat(r, 'g', -1, 64)
}
