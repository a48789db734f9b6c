package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jig-dev/jig/internal/bench"
	"github.com/spf13/cobra"
)

func init() {
	subcommands = append(subcommands, newBenchCmd)
}

type benchFlags struct {
	scenarios  []string
	runs       int
	duration   time.Duration
	jsonOut    string
	compare    string
	cpuprofile string
	list       bool
	failOnMiss bool
	quiet      bool
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure jig against bare grpc-go and RAFT baselines in the same run",
		Long: `Measure jig against bare baselines measured in the same run: the gateway
against direct grpc-go calls (to a bare worker and to a raw grpc-go server),
streaming against a raw bidi stream, replicas and shards, stateful writes
against a bare hashicorp/raft cluster, leader failover, flow start/stop and
large messages. Every figure is the median of --runs runs, jig and baseline
runs alternating, and is judged as a ratio against its baseline, so results
hold on shared, noisy machines. Targets are DESIGN.md §9's quality bars.

Everything listens on 127.0.0.1 only. The TUI benchmarks run with
'go test -bench LogIngest ./tui/' (make bench runs them).`,
		Example: `  jig bench
  jig bench --scenario unary --runs 3 --duration 1s
  jig bench --scenario 'unary/1doc/c1$' --scenario stateful --json out.json
  jig bench --json=new.json --compare old.json
  jig bench --list`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.scenarios, "scenario", nil, "run only the cases whose name matches this regular expression (repeatable; see --list)")
	fl.IntVar(&f.runs, "runs", 5, "measured runs per system; figures are medians")
	fl.DurationVar(&f.duration, "duration", 2*time.Second, "length of one measured run")
	fl.StringVar(&f.jsonOut, "json", "", "write the results as JSON to this file ('-' or no value: to stdout, instead of the table)")
	fl.Lookup("json").NoOptDefVal = "-"
	fl.StringVar(&f.compare, "compare", "", "print the change against a report written earlier with --json")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	fl.BoolVar(&f.list, "list", false, "list the cases and exit")
	fl.BoolVar(&f.failOnMiss, "fail-on-miss", false, "exit 1 when a target is missed")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "do not report progress on stderr")
	return cmd
}

func runBench(cmd *cobra.Command, f *benchFlags) error {
	out := cmd.OutOrStdout()
	if f.list {
		for _, c := range bench.Cases() {
			fmt.Fprintln(out, c)
		}
		return nil
	}
	if f.runs < 1 {
		return &usageError{fmt.Errorf("--runs must be at least 1, got %d", f.runs)}
	}
	if f.duration <= 0 {
		return &usageError{fmt.Errorf("--duration must be positive, got %s", f.duration)}
	}
	opts := bench.Options{Runs: f.runs, Duration: f.duration, Progress: cmd.ErrOrStderr()}
	if f.quiet {
		opts.Progress = io.Discard
	}
	for _, s := range f.scenarios {
		re, err := regexp.Compile(s)
		if err != nil {
			return &usageError{fmt.Errorf("--scenario %q: not a regular expression: %v", s, err)}
		}
		opts.Scenarios = append(opts.Scenarios, re)
	}
	if len(opts.Scenarios) > 0 {
		n := 0
		for _, c := range bench.Cases() {
			for _, re := range opts.Scenarios {
				if re.MatchString(c) {
					n++
					break
				}
			}
		}
		if n == 0 {
			return &usageError{fmt.Errorf("--scenario matches no case (cases: %s)", strings.Join(bench.Cases(), ", "))}
		}
	}
	var old *bench.Report
	if f.compare != "" {
		var err error
		if old, err = bench.ReadJSON(f.compare); err != nil {
			return &usageError{fmt.Errorf("--compare: %w", err)}
		}
	}
	if f.cpuprofile != "" {
		pf, err := os.Create(f.cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	rep, runErr := bench.Run(cmd.Context(), opts)
	if rep == nil {
		return runErr
	}
	jsonToStdout := f.jsonOut == "-"
	if !jsonToStdout {
		if err := bench.WriteTable(out, rep); err != nil {
			return err
		}
	}
	if f.jsonOut != "" {
		w := out
		if !jsonToStdout {
			jf, err := os.Create(f.jsonOut)
			if err != nil {
				return err
			}
			defer jf.Close()
			w = jf
		}
		if err := bench.WriteJSON(w, rep); err != nil {
			return err
		}
	}
	if old != nil {
		cw := out
		if jsonToStdout {
			cw = cmd.ErrOrStderr()
		}
		fmt.Fprintln(cw)
		if err := bench.WriteCompare(cw, old, rep); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if _, miss, _ := bench.Tally(rep); miss > 0 && f.failOnMiss {
		return errors.New(fmt.Sprint(miss, " target(s) missed"))
	}
	return nil
}
