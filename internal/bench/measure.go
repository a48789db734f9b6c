package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runner carries the options through the scenarios.
type runner struct {
	o   Options
	dir string // the current scenario's work folder
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.o.Progress, "bench: "+format+"\n", args...)
}

// workDir returns a fresh folder for a scenario.
func (r *runner) workDir(name string) (string, func(), error) {
	base := r.o.WorkDir
	if base == "" {
		d, err := os.MkdirTemp("", "jig-bench-*")
		if err != nil {
			return "", nil, err
		}
		return d, func() { os.RemoveAll(d) }, nil
	}
	d := filepath.Join(base, name)
	if err := os.RemoveAll(d); err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// warmup is the length of the unmeasured run each system gets first.
func (r *runner) warmup() time.Duration {
	return min(max(r.o.Duration/4, 20*time.Millisecond), 500*time.Millisecond)
}

// sample is the outcome of one run of one system.
type sample struct {
	ops     int64
	bytes   int64
	elapsed time.Duration
	lat     []time.Duration // sorted
}

func (s sample) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.ops) / s.elapsed.Seconds()
}

func (s sample) mibps() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.bytes) / (1 << 20) / s.elapsed.Seconds()
}

// pct returns the p-th percentile latency (p in [0,1]).
func (s sample) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(s.lat)))) - 1
	return s.lat[min(max(i, 0), len(s.lat)-1)]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// system is one side of a comparison: something to measure for a while.
type system struct {
	name string
	run  func(ctx context.Context, d time.Duration) (sample, error)
}

// closedLoop keeps conc calls in flight for d and records each call's
// latency. The first error ends the run.
func closedLoop(ctx context.Context, conc int, d time.Duration, call func(context.Context) error) (sample, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		lats  = make([][]time.Duration, conc)
		stop  atomic.Bool
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, 1024)
			for !stop.Load() {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				err := call(ctx)
				if err != nil {
					mu.Lock()
					if first == nil && ctx.Err() == nil {
						first = err
					}
					mu.Unlock()
					stop.Store(true)
					cancel()
					break
				}
				own = append(own, time.Since(t0))
			}
			lats[w] = own
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return sample{}, first
	}
	if err := ctx.Err(); err != nil {
		return sample{}, err
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	return sample{ops: int64(len(all)), elapsed: elapsed, lat: all}, nil
}

// interleave measures every system r.o.Runs times, alternating the order
// (A B C, C B A, A B C, ...) so that drift of a noisy machine hits all of
// them alike, after one unmeasured warm-up run each.
func (r *runner) interleave(ctx context.Context, label string, d time.Duration, systems ...system) ([][]sample, error) {
	names := make([]string, len(systems))
	for i, s := range systems {
		names[i] = s.name
	}
	r.progress("%s: %s, %d runs of %s each", label, strings.Join(names, " / "), r.o.Runs, d)
	for _, s := range systems {
		if _, err := s.run(ctx, r.warmup()); err != nil {
			return nil, fmt.Errorf("%s (warm-up): %w", s.name, err)
		}
	}
	out := make([][]sample, len(systems))
	for run := range r.o.Runs {
		for k := range systems {
			i := k
			if run%2 == 1 {
				i = len(systems) - 1 - k
			}
			s, err := systems[i].run(ctx, d)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", systems[i].name, err)
			}
			out[i] = append(out[i], s)
		}
	}
	return out, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func figures(ss []sample, f func(sample) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// pairedRatios returns jig[i]/base[i] for every run i with a positive
// baseline: each ratio compares two figures measured back to back, so
// drift of the machine between runs cancels out.
func pairedRatios(jig, base []float64) []float64 {
	out := make([]float64, 0, len(jig))
	for i := range min(len(jig), len(base)) {
		if base[i] > 0 {
			out = append(out, jig[i]/base[i])
		}
	}
	return out
}

// pairedDiffs returns jig[i]-base[i] for every run i.
func pairedDiffs(jig, base []float64) []float64 {
	out := make([]float64, 0, len(jig))
	for i := range min(len(jig), len(base)) {
		out = append(out, jig[i]-base[i])
	}
	return out
}

// ratioRow compares a figure as a ratio jig/baseline (throughput, or a
// time where lower is better, as the target says): Compare is the median
// of the per-run ratios, not the ratio of the medians.
func ratioRow(caseName, figure, unit, baseName string, jig, base []float64, t *Target) Row {
	ratios := pairedRatios(jig, base)
	return Row{
		Name: caseName + " " + figure + " vs " + baseName, Case: caseName, Unit: unit,
		Jig: median(jig), Baseline: median(base), BaselineName: baseName,
		Compare: median(ratios), CompareUnit: "x", CompareRuns: ratios, Target: t, JigRuns: jig, BaselineRuns: base,
	}
}

// diffRow compares a latency: Compare is the median of the per-run
// differences jig-baseline (the latency jig adds).
func diffRow(caseName, figure, unit, baseName string, jig, base []float64, t *Target) Row {
	diffs := pairedDiffs(jig, base)
	return Row{
		Name: caseName + " " + figure + " vs " + baseName, Case: caseName, Unit: unit,
		Jig: median(jig), Baseline: median(base), BaselineName: baseName,
		Compare: median(diffs), CompareUnit: unit, CompareRuns: diffs, Target: t, JigRuns: jig, BaselineRuns: base,
	}
}

// absRow is a figure with no baseline (the TUI's, measured by Go
// benchmarks): only its own target judges it.
func absRow(caseName, figure, unit string, jig []float64, t *Target) Row {
	return Row{
		Name: caseName + " " + figure, Case: caseName, Unit: unit,
		Jig: median(jig), Target: t, JigRuns: jig,
	}
}

func atLeast(v float64, source string) *Target {
	return &Target{On: "compare", Op: ">=", Value: v, Source: source}
}

func atMost(v float64, source string) *Target {
	return &Target{On: "compare", Op: "<=", Value: v, Source: source}
}

const design = "quality bar (docs/ARCHITECTURE.md)"
