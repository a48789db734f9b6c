package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func testReport() *Report {
	rows := []Row{
		ratioRow("unary/1doc/c1", "throughput", "req/s", "raw grpc-go", []float64{3800, 3900, 4000}, []float64{5800, 5900, 6000}, atLeast(0.45, design)),
		diffRow("unary/1doc/c1", "p50", "µs", "raw grpc-go", []float64{240, 250, 260}, []float64{150, 150, 150}, atMost(60, design)),
		ratioRow("replicas/serial", "3 replicas req/s", "req/s", "1 replica", []float64{290}, []float64{100}, &Target{On: "compare", Op: "≈", Value: 3, Source: "ideal"}),
		absRow("tui/log-ingest", "lines/s", "lines/s", []float64{1.2e6, 1.3e6, 1.1e6}, &Target{On: "jig", Op: ">=", Value: tuiLinesPerSec, Source: design}),
	}
	rows[2].Note = "one request at a time per replica"
	for i := range rows {
		rows[i].judge()
	}
	return &Report{Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Go: "go1.26", Platform: "linux/amd64", NumCPU: 2, GOMAXPROCS: 2,
		Runs: 3, Duration: "1s", Took: "5s", Load: "0.50 0.40 0.30", Rows: rows, Errors: []string{"stream: refused"}}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, testReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"median of 3 runs of 1s", "load average at start: 0.50 0.40 0.30",
		"scenario", "ratio / added", "target", "result",
		"one request at a time per replica", // notes
		"targets: 2 pass, 1 miss (1 rows informational)",
		"missed: unary/1doc/c1 p50 vs raw grpc-go: +100 µs, target ≤ 60 µs",
		"error: stream: refused",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Each row is one line: name, jig, baseline, comparison, spread,
	// target, result, in that order.
	for _, re := range []string{
		`unary/1doc/c1 throughput vs raw grpc-go +3900 req/s +5900 req/s +0\.66× +0\.66–0\.67 +≥ 0\.45× +pass`,
		`unary/1doc/c1 p50 vs raw grpc-go +250 µs +150 µs +\+100 µs +\+90…\+110 µs +≤ 60 µs +MISS`,
		`replicas/serial 3 replicas req/s vs 1 replica +290 req/s +100 req/s +2\.90× +— +≈ 3× \(ideal\) +info`,
		`tui/log-ingest lines/s +1\.20M lines/s +— +— +1\.10M…1\.30M lines/s +≥ 50\.0k lines/s +pass`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no line matching %s in:\n%s", re, out)
		}
	}
	// Columns line up: every row's result starts at the same offset.
	var cols []int
	for _, line := range strings.Split(out, "\n") {
		for _, res := range []string{" pass", " MISS", " info", " result"} {
			if strings.HasSuffix(line, res) {
				cols = append(cols, len([]rune(line))-len(res))
			}
		}
	}
	if len(cols) != 5 || slices.Min(cols) != slices.Max(cols) {
		t.Errorf("result column not aligned (%v):\n%s", cols, out)
	}
}

func TestGroupNotes(t *testing.T) {
	rows := []Row{
		{Case: "a/1", Note: "x"}, {Case: "a/1", Note: "x"}, {Case: "b", Note: "y"},
		{Case: "v/one", Note: "z"}, {Case: "v/two", Note: "z"}, {Case: "v/three", Note: "z"},
		{Case: "u/1doc/c1", Note: "w"}, {Case: "u/1doc/c8", Note: "w"}, {Case: "u/100docs/c1", Note: "w"},
		{Case: "c"},
	}
	got := groupNotes(rows)
	want := []string{"a/1: x", "b: y", "v/*: z", "u/*: w"}
	if !slices.Equal(got, want) {
		t.Errorf("groupNotes = %q, want %q", got, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	rep := testReport()
	path := filepath.Join(t.TempDir(), "r.json")
	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != len(rep.Rows) || got.Rows[1].Compare != rep.Rows[1].Compare || got.Rows[1].Status != "miss" ||
		!slices.Equal(got.Rows[0].CompareRuns, rep.Rows[0].CompareRuns) || got.Rows[0].Target.Value != 0.45 {
		t.Errorf("round trip changed the report: %+v", got.Rows)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"rows": []}`), 0o644)
	if _, err := ReadJSON(bad); err == nil || !strings.Contains(err.Error(), "not a jig bench report") {
		t.Errorf("ReadJSON of an empty report: %v", err)
	}
	os.WriteFile(bad, []byte(`goos: linux`), 0o644)
	if _, err := ReadJSON(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("ReadJSON of a non-JSON file: %v", err)
	}
}

func TestVerdict(t *testing.T) {
	thr := func(runs ...float64) Row {
		return Row{Unit: "req/s", BaselineName: "raw", Compare: median(runs), CompareUnit: "x", CompareRuns: runs}
	}
	lat := func(runs ...float64) Row {
		return Row{Unit: "µs", BaselineName: "raw", Baseline: 200, Compare: median(runs), CompareUnit: "µs", CompareRuns: runs}
	}
	for _, c := range []struct {
		name     string
		old, cur Row
		want     string
	}{
		{"overlapping runs", thr(0.6, 0.7, 0.8), thr(0.65, 0.75, 0.85), "~"},
		{"throughput up", thr(0.5, 0.52, 0.55), thr(0.7, 0.72, 0.75), "better"},
		{"throughput down", thr(0.7, 0.72, 0.75), thr(0.5, 0.52, 0.55), "WORSE"},
		{"added latency up", lat(40, 45, 50), lat(80, 85, 90), "WORSE"},
		{"added latency down", lat(80, 85, 90), lat(40, 45, 50), "better"},
		// One wide run on either side keeps a change within the noise.
		{"noisy old", thr(0.3, 0.52, 0.9), thr(0.7, 0.72, 0.75), "~"},
		{"same", thr(0.5), thr(0.5), "~"},
		// Beyond the (tight) runs but under 5%: not worth a flag.
		{"small change", thr(0.800, 0.801, 0.802), thr(0.820, 0.821, 0.822), "~"},
		{"small added latency change", lat(40, 41, 42), lat(47, 48, 49), "~"}, // 7 µs of a 200 µs call
		{"tight TUI runs, 3%", Row{Unit: "lines/s", Jig: 1e6, JigRuns: []float64{0.99e6, 1e6}}, Row{Unit: "lines/s", Jig: 1.03e6, JigRuns: []float64{1.02e6, 1.03e6}}, "~"},
		{"no baseline, times", Row{Unit: "ms", Jig: 2, JigRuns: []float64{1.9, 2, 2.1}}, Row{Unit: "ms", Jig: 4, JigRuns: []float64{3.9, 4, 4.2}}, "WORSE"},
		{"no baseline, rates", Row{Unit: "lines/s", Jig: 2e5, JigRuns: []float64{1.9e5, 2e5}}, Row{Unit: "lines/s", Jig: 4e5, JigRuns: []float64{3.9e5, 4e5}}, "better"},
	} {
		if got := Verdict(c.old, c.cur); got != c.want {
			t.Errorf("%s: Verdict = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestWriteCompare(t *testing.T) {
	old := testReport()
	cur := testReport()
	cur.Rows[0] = ratioRow("unary/1doc/c1", "throughput", "req/s", "raw grpc-go", []float64{2000, 2100, 2200}, []float64{5800, 5900, 6000}, atLeast(0.45, design))
	cur.Rows[0].judge()
	cur.Rows = append(cur.Rows, absRow("new/case", "x", "ms", []float64{1}, nil))
	var b bytes.Buffer
	if err := WriteCompare(&b, old, cur); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, re := range []string{
		`unary/1doc/c1 throughput vs raw grpc-go +3900 req/s → 2100 req/s +-46\.2% +0\.66× → 0\.36× +-46\.[0-9]% +WORSE +pass → MISS`,
		`unary/1doc/c1 p50 vs raw grpc-go +250 µs → 250 µs +\+0\.0% +\+100 µs → \+100 µs +\+0 µs +~ +MISS`,
		`tui/log-ingest lines/s .* +— +~ +pass`,
		`0 better, 1 worse beyond the noise of the runs \(each median outside the other report's per-run range, and at least 5%\)`,
		`1 row\(s\) have no counterpart in the old report`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no line matching %s in:\n%s", re, out)
		}
	}
}
