// Package bench measures jig against bare baselines in the same run: the
// gateway against direct grpc-go calls, streaming against a raw bidi
// stream, replicas and shards against one replica or the slowest shard
// alone, stateful writes against a bare hashicorp/raft cluster with the
// same store and transport, flow start-up and shutdown, and large
// messages. It backs `jig bench` and `make bench`.
//
// Machines that run benchmarks are often shared and noisy, so no figure is
// judged alone: each is compared with a baseline measured in the same run,
// jig and baseline runs alternate (A B, B A, A B ...) so that drift hits
// both, and every figure is the median of several runs. Ratios are the median
// of the per-run (paired) ratios. The targets are docs/ARCHITECTURE.md's
// quality bars.
//
// Everything listens on 127.0.0.1 port 0 and is stopped before Run
// returns.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Options configure Run.
type Options struct {
	// Scenarios select cases by regular expression on their names
	// ("unary/1doc/c1", see Cases); a case runs when any matches. None:
	// every case.
	Scenarios []*regexp.Regexp
	// Runs is how many measured runs each system gets (default 5).
	Runs int
	// Duration is the length of one measured run of a load scenario
	// (default 2s).
	Duration time.Duration
	// Progress, when set, receives a line per case as it starts.
	Progress io.Writer
	// WorkDir holds RAFT logs and workspaces (default: a temporary folder,
	// removed afterwards).
	WorkDir string
	// Extra rows are added to the report after the cases and judged like
	// them: the TUI's Go benchmark figures (ReadGoBench).
	Extra []Row
}

func (o *Options) defaults() {
	if o.Runs <= 0 {
		o.Runs = 5
	}
	if o.Duration <= 0 {
		o.Duration = 2 * time.Second
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Report is the outcome of a Run (what `jig bench --json` writes).
type Report struct {
	Started    time.Time `json:"started"`
	Go         string    `json:"go"`
	Platform   string    `json:"platform"`
	NumCPU     int       `json:"num_cpu"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	Runs       int       `json:"runs"`
	Duration   string    `json:"duration"`
	Took       string    `json:"took"`
	// Load is the 1, 5 and 15 minute load average when the run started
	// (Linux), so a noisy run can be recognised.
	Load string `json:"load,omitempty"`
	Rows []Row  `json:"rows"`
	// Errors lists scenarios that could not be measured.
	Errors []string `json:"errors,omitempty"`
}

// Row is one line of the table: a jig figure, its baseline figure, how
// they compare, and the target that comparison is held to.
type Row struct {
	// Name is the case and the figure, e.g. "unary/1doc/c1 req/s vs worker".
	Name string `json:"name"`
	// Case is the case the row belongs to ("unary/1doc/c1").
	Case string `json:"case"`
	// Unit of Jig and Baseline ("req/s", "µs", "ms", "MiB/s", "writes/s").
	Unit string `json:"unit"`
	// Jig and Baseline are medians over the runs.
	Jig      float64 `json:"jig"`
	Baseline float64 `json:"baseline"`
	// BaselineName says what the baseline is ("worker", "raw grpc-go").
	BaselineName string `json:"baseline_name"`
	// Compare is the comparison: the median of paired ratios jig/baseline
	// (CompareUnit "x"), or of paired differences jig-baseline (CompareUnit
	// Unit, "added" latency). Rows without a baseline (BaselineName "")
	// have none (CompareUnit "").
	Compare     float64 `json:"compare"`
	CompareUnit string  `json:"compare_unit"`
	// CompareRuns are the per-run ratios or differences Compare is the
	// median of: their range is the noise of the comparison.
	CompareRuns []float64 `json:"compare_runs,omitempty"`
	// Target is what the row is held to (nil: informational).
	Target *Target `json:"target,omitempty"`
	// Status is "pass", "miss" or "info".
	Status string `json:"status"`
	// JigRuns and BaselineRuns are the per-run figures.
	JigRuns      []float64 `json:"jig_runs"`
	BaselineRuns []float64 `json:"baseline_runs"`
	// Note explains the row, when needed.
	Note string `json:"note,omitempty"`
}

// Target is a bound on one figure of a row.
type Target struct {
	// On is "compare" (the ratio or difference) or "jig" (the jig figure
	// itself, e.g. start-up time).
	On string `json:"on"`
	// Op is ">=" or "<=".
	Op    string  `json:"op"`
	Value float64 `json:"value"`
	// Source is where the bar comes from (the quality bars of docs/ARCHITECTURE.md, or "ideal").
	Source string `json:"source"`
}

// Met reports whether v satisfies the target. An "≈" target (an ideal,
// not a bar) is never met: such rows are informational.
func (t *Target) Met(v float64) bool {
	switch t.Op {
	case ">=":
		return v >= t.Value
	case "<=":
		return v <= t.Value
	}
	return false
}

func (r *Row) judge() {
	switch {
	case r.Target == nil || r.Target.Source == "ideal":
		r.Status = "info"
	case r.Target.On == "jig" && r.Target.Met(r.Jig):
		r.Status = "pass"
	case r.Target.On != "jig" && r.Target.Met(r.Compare):
		r.Status = "pass"
	default:
		r.Status = "miss"
	}
}

// loadAverage returns the first three fields of /proc/loadavg, or "" where
// there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// scenario is a group of cases sharing servers.
type scenario struct {
	name  string
	cases []string
	run   func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error)
	// optIn scenarios (minutes long) run only when Options.Scenarios
	// selects them, never in a run of every case.
	optIn bool
}

func scenarios() []scenario {
	return []scenario{
		unaryScenario(),
		streamScenario(),
		replicasScenario(),
		shardsScenario(),
		statefulScenario(),
		restartScenario(),
		flowScenario(),
		userExecScenario(),
		largeScenario(),
		tracingScenario(),
		coldBuildScenario(),
	}
}

// Cases lists the names of every case, in the order Run measures them.
func Cases() []string {
	var out []string
	for _, s := range scenarios() {
		out = append(out, s.cases...)
	}
	return out
}

// Run measures the selected cases and returns the report. A scenario that
// fails is recorded in Report.Errors and the others still run; the error
// returned is ctx's when it ended, or a summary of failed scenarios.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	registerExecutors()
	rep := &Report{
		Started: time.Now(), Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Runs: o.Runs, Duration: o.Duration.String(),
		Load: loadAverage(),
	}
	selected := func(name string) bool {
		if len(o.Scenarios) == 0 {
			return true
		}
		for _, re := range o.Scenarios {
			if re.MatchString(name) {
				return true
			}
		}
		return false
	}
	extra := slices.Clone(o.Extra)
	r := &runner{o: o}
	var failed []string
	for _, s := range scenarios() {
		if s.optIn && len(o.Scenarios) == 0 {
			continue
		}
		any := false
		for _, c := range s.cases {
			any = any || selected(c)
		}
		if !any {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		dir, cleanup, err := r.workDir(s.name)
		if err != nil {
			return rep, err
		}
		r.dir = dir
		rows, err := s.run(ctx, r, selected)
		cleanup()
		for i := range rows {
			rows[i].judge()
		}
		rep.Rows = append(rep.Rows, rows...)
		if err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", s.name, err))
			failed = append(failed, s.name)
		}
	}
	for i := range extra {
		extra[i].judge()
	}
	rep.Rows = append(rep.Rows, extra...)
	rep.Took = time.Since(rep.Started).Round(time.Second).String()
	if len(failed) > 0 {
		return rep, fmt.Errorf("%d scenario(s) failed: %v", len(failed), failed)
	}
	if len(rep.Rows) == 0 {
		return rep, errors.New("no case matches --scenario")
	}
	return rep, nil
}
