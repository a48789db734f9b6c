package bench

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRunSmoke measures two tiny cases for real (one short run each, no
// figures asserted: machines are noisy) and checks the report is whole:
// every row measured, judged and named, the extra rows appended, progress
// reported, nothing left running (goleak in TestMain).
func TestRunSmoke(t *testing.T) {
	var progress bytes.Buffer
	extra := absRow("tui/log-ingest", "lines/s", "lines/s", []float64{1e6}, &Target{On: "jig", Op: ">=", Value: tuiLinesPerSec, Source: design})
	rep, err := Run(context.Background(), Options{
		Scenarios: []*regexp.Regexp{regexp.MustCompile(`^unary/1doc/c1$`), regexp.MustCompile(`^flow/start$`)},
		Runs:      1, Duration: 100 * time.Millisecond, Progress: &progress, WorkDir: t.TempDir(),
		Extra: []Row{extra},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("errors: %v", rep.Errors)
	}
	var names []string
	for _, r := range rep.Rows {
		names = append(names, r.Name)
		if r.Jig <= 0 && r.Unit != "µs" {
			t.Errorf("%s: jig figure %v", r.Name, r.Jig)
		}
		if r.BaselineName != "" && (r.Baseline <= 0 || len(r.BaselineRuns) != 1 || len(r.CompareRuns) != 1) {
			t.Errorf("%s: baseline %v, runs %v, paired %v", r.Name, r.Baseline, r.BaselineRuns, r.CompareRuns)
		}
		if r.Status == "" {
			t.Errorf("%s not judged", r.Name)
		}
	}
	want := []string{
		"unary/1doc/c1 throughput vs worker", "unary/1doc/c1 throughput vs raw grpc-go",
		"unary/1doc/c1 p50 vs worker", "unary/1doc/c1 p50 vs raw grpc-go", "unary/1doc/c1 p99 vs raw grpc-go",
		"flow/start ready ms vs bare servers",
		"tui/log-ingest lines/s",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if rep.Rows[len(rep.Rows)-1].Status != "pass" {
		t.Errorf("extra row not judged: %+v", rep.Rows[len(rep.Rows)-1])
	}
	if !strings.Contains(progress.String(), "unary/1doc/c1: jig gateway / worker / raw grpc-go, 1 runs of 100ms") {
		t.Errorf("progress: %q", progress.String())
	}
	if rep.Runs != 1 || rep.Duration != "100ms" || rep.NumCPU <= 0 {
		t.Errorf("report header %+v", rep)
	}
	var table bytes.Buffer
	if err := WriteTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "flow/start ready ms vs bare servers") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestRunRejectsUnknownCases(t *testing.T) {
	_, err := Run(context.Background(), Options{Scenarios: []*regexp.Regexp{regexp.MustCompile(`^nothing$`)}})
	if err == nil {
		t.Fatal("Run with no matching case succeeded")
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Options{Scenarios: []*regexp.Regexp{regexp.MustCompile(`^unary/1doc/c1$`)}, Runs: 1, Duration: 10 * time.Millisecond})
	if err == nil {
		t.Fatal("Run with a cancelled context succeeded")
	}
}

// TestRunStatefulSmoke runs the stateful write comparison once: a
// 3-replica stateful flow against a bare 3-member RAFT cluster.
func TestRunStatefulSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two RAFT clusters")
	}
	rep, err := Run(context.Background(), Options{
		Scenarios: []*regexp.Regexp{regexp.MustCompile(`^stateful/writes$`)},
		Runs:      1, Duration: 100 * time.Millisecond, WorkDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 {
		t.Fatalf("rows %+v", rep.Rows)
	}
	r := rep.Rows[0]
	if r.Name != "stateful/writes writes/s vs bare raft" || r.Jig <= 0 || r.Baseline <= 0 || r.Status == "" {
		t.Errorf("row %+v", r)
	}
}
