package main

import (
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
	goBench    []string
	report     string
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure jig against bare grpc-go and RAFT baselines in the same run",
		Long: `Measure jig against bare baselines measured in the same run: the gateway
against direct grpc-go calls (to a bare worker and to a raw grpc-go server),
streaming against a raw bidi stream, replicas and shards, stateful writes
against a bare hashicorp/raft cluster, leader failover, flow start/stop,
the start of 10 deployments of a scaffolded Go executor (unchanged: cached
binary; edited: one build) and large messages. Every figure is the median of --runs runs, jig and baseline
runs alternating, and is judged as a ratio against its baseline, so results
hold on shared, noisy machines. Targets are the quality bars of docs/ARCHITECTURE.md.

Everything listens on 127.0.0.1 only. The TUI's figures come from its Go
benchmarks: 'make bench' runs 'go test -bench . ./tui/' and passes the
output with --gobench, so they share the table, the JSON and --compare.
A full run takes about 4 minutes with the defaults.`,
		Example: `  jig bench
  jig bench --scenario unary --runs 3 --duration 1s
  jig bench --scenario 'unary/1doc/c1$' --scenario stateful --json out.json
  jig bench --json new.json --compare old.json
  jig bench --report new.json --compare old.json   (two saved reports, nothing measured)
  go test -run '^$' -bench . -count 3 ./tui/ > tui.txt && jig bench --gobench tui.txt
  jig bench --list`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.scenarios, "scenario", nil, "run only the cases whose name matches this regular expression (repeatable; see --list)")
	fl.IntVar(&f.runs, "runs", 5, "measured runs per system; figures are medians")
	fl.DurationVar(&f.duration, "duration", time.Second, "length of one measured run")
	fl.StringVar(&f.jsonOut, "json", "", "write the results as JSON to this file ('-': to stdout, instead of the table)")
	fl.StringVar(&f.compare, "compare", "", "print the change against a report written earlier with --json")
	fl.StringArrayVar(&f.goBench, "gobench", nil, "add the figures of this file of 'go test -bench' output (the TUI benchmarks) to the report (repeatable)")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	fl.StringVar(&f.report, "report", "", "print this report written earlier with --json instead of measuring (with --compare: its change against that one)")
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
	if f.report != "" {
		return showReport(cmd, f)
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
	for _, path := range f.goBench {
		rows, err := bench.ReadGoBench(path)
		if err != nil {
			return &usageError{fmt.Errorf("--gobench: %w", err)}
		}
		opts.Extra = append(opts.Extra, rows...)
	}
	var old *bench.Report
	if f.compare != "" {
		var err error
		if old, err = bench.ReadJSON(f.compare); err != nil {
			return &usageError{fmt.Errorf("--compare: %w", err)}
		}
	}
	jsonToStdout := f.jsonOut == "-"
	var jf *os.File
	if f.jsonOut != "" && !jsonToStdout {
		// Created first, so a bad path fails before minutes of measuring.
		var err error
		if jf, err = os.Create(f.jsonOut); err != nil {
			return &usageError{fmt.Errorf("--json: %w", err)}
		}
		defer jf.Close()
	}
	if f.cpuprofile != "" {
		pf, err := os.Create(f.cpuprofile)
		if err != nil {
			return &usageError{fmt.Errorf("--cpuprofile: %w", err)}
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
	if !jsonToStdout {
		if err := bench.WriteTable(out, rep); err != nil {
			return err
		}
	}
	if f.jsonOut != "" {
		var w io.Writer = out
		if jf != nil {
			w = jf
		}
		if err := bench.WriteJSON(w, rep); err != nil {
			return err
		}
		if jf != nil {
			if err := jf.Close(); err != nil {
				return fmt.Errorf("--json %s: %w", f.jsonOut, err)
			}
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
		return fmt.Errorf("%d target(s) missed", miss)
	}
	return nil
}

// showReport prints a saved report, and its change against --compare,
// without measuring anything.
func showReport(cmd *cobra.Command, f *benchFlags) error {
	for name, set := range map[string]bool{
		"--scenario": len(f.scenarios) > 0, "--gobench": len(f.goBench) > 0, "--json": f.jsonOut != "", "--cpuprofile": f.cpuprofile != "",
	} {
		if set {
			return &usageError{fmt.Errorf("--report prints a saved report: %s measures, leave it out", name)}
		}
	}
	rep, err := bench.ReadJSON(f.report)
	if err != nil {
		return &usageError{fmt.Errorf("--report: %w", err)}
	}
	var old *bench.Report
	if f.compare != "" {
		if old, err = bench.ReadJSON(f.compare); err != nil {
			return &usageError{fmt.Errorf("--compare: %w", err)}
		}
	}
	out := cmd.OutOrStdout()
	if old == nil {
		if err := bench.WriteTable(out, rep); err != nil {
			return err
		}
	} else if err := bench.WriteCompare(out, old, rep); err != nil {
		return err
	}
	if _, miss, _ := bench.Tally(rep); miss > 0 && f.failOnMiss {
		return fmt.Errorf("%d target(s) missed", miss)
	}
	return nil
}
