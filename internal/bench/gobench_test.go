package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tuiOutput is `go test -run '^$' -bench . -benchmem -count 2 ./tui/`
// output as it looks (trimmed), with a log line that starts like a result.
const tuiOutput = `goos: linux
goarch: amd64
pkg: github.com/jig-dev/jig/tui
cpu: AMD EPYC
BenchmarkLogIngest-2                	     744	   1927479 ns/op	         1.726 key-p99-ms	   1297032 lines/s	  199980 B/op	    2286 allocs/op
BenchmarkLogIngest-2                	     700	   2000000 ns/op	         2.500 key-p99-ms	   1250000 lines/s	  199980 B/op	    2286 allocs/op
BenchmarkLogIngestFiltered-2        	     312	   3491924 ns/op	    715939 lines/s	  383920 B/op	    4076 allocs/op
BenchmarkLogIngestFiltered-2        	     300	   3591924 ns/op	    700000 lines/s	  383920 B/op	    4076 allocs/op
Benchmark results are below
BenchmarkViewFullRing50Replicas/deployments-2         	    1291	    857050 ns/op	  124554 B/op	    1102 allocs/op
BenchmarkViewFullRing50Replicas/deployments-2         	    1291	    957050 ns/op	  124554 B/op	    1102 allocs/op
PASS
ok  	github.com/jig-dev/jig/tui	13.734s
pkg: github.com/jig-dev/jig/other
BenchmarkThing/sub-8   	 10	 2500000 ns/op
`

func TestGoBenchRows(t *testing.T) {
	bs, err := parseGoBench(strings.NewReader(tuiOutput))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := goBenchRows(bs)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Row{}
	for _, r := range rows {
		r.judge()
		byName[r.Name] = r
	}
	for _, c := range []struct {
		name   string
		jig    float64
		unit   string
		status string
	}{
		{"tui/log-ingest lines/s", (1297032 + 1250000) / 2.0, "lines/s", "pass"},
		{"tui/log-ingest keypress p99", (1.726 + 2.5) / 2, "ms", "pass"},
		{"tui/log-ingest-filtered lines/s", (715939 + 700000) / 2.0, "lines/s", "pass"},
		{"tui/view/deployments View()", 0.90705, "ms", "info"},
		{"go/other/Thing/sub time/op", 2.5, "ms", "info"},
	} {
		r, ok := byName[c.name]
		if !ok {
			t.Errorf("no row %q (rows: %v)", c.name, rows)
			continue
		}
		if diff := r.Jig - c.jig; diff > 1e-9 || diff < -1e-9 || r.Unit != c.unit || r.Status != c.status {
			t.Errorf("%s: %v %s %s, want %v %s %s", c.name, r.Jig, r.Unit, r.Status, c.jig, c.unit, c.status)
		}
		if r.BaselineName != "" || r.CompareUnit != "" {
			t.Errorf("%s has a baseline", c.name)
		}
	}
	if len(rows) != 5 {
		t.Errorf("%d rows, want 5", len(rows))
	}
	// The quality bars judge the figures.
	slow := strings.ReplaceAll(tuiOutput, "1297032 lines/s", "10000 lines/s")
	slow = strings.ReplaceAll(slow, "1250000 lines/s", "20000 lines/s")
	slow = strings.ReplaceAll(slow, "2.500 key-p99-ms", "90 key-p99-ms")
	slow = strings.ReplaceAll(slow, "1.726 key-p99-ms", "80 key-p99-ms")
	bs, _ = parseGoBench(strings.NewReader(slow))
	rows, err = goBenchRows(bs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[:2] {
		r.judge()
		if r.Status != "miss" {
			t.Errorf("%s at %v: %s, want miss", r.Name, r.Jig, r.Status)
		}
	}
}

func TestGoBenchErrors(t *testing.T) {
	if _, err := parseGoBench(strings.NewReader("PASS\nok  \tx\t0.1s\n")); err == nil {
		t.Error("output without results parsed")
	}
	if _, err := parseGoBench(strings.NewReader("BenchmarkX-2 \t 10 \t abc ns/op\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a bad number: %v", err)
	}
	// The ingest benchmark must report the figures §9 is about.
	bs, err := parseGoBench(strings.NewReader("BenchmarkLogIngest-2 \t 10 \t 100 ns/op\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := goBenchRows(bs); err == nil || !strings.Contains(err.Error(), "lines/s") {
		t.Errorf("LogIngest without lines/s: %v", err)
	}
	dir := t.TempDir()
	if _, err := ReadGoBench(filepath.Join(dir, "missing.txt")); err == nil {
		t.Error("a missing file read")
	}
	f := filepath.Join(dir, "tui.txt")
	os.WriteFile(f, []byte(tuiOutput), 0o644)
	rows, err := ReadGoBench(f)
	if err != nil || len(rows) != 5 {
		t.Errorf("ReadGoBench: %d rows, %v", len(rows), err)
	}
}
