package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// goBench is one benchmark of `go test -bench` output: every metric it
// reported (ns/op, B/op, custom ones from b.ReportMetric) with one value
// per -count repetition.
type goBench struct {
	pkg, name string
	metrics   map[string][]float64
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// parseGoBench reads `go test -bench` output. Lines other than results
// (goos:, PASS, ok, logs) are skipped; a "pkg:" line names the package of
// the results that follow.
func parseGoBench(r io.Reader) ([]*goBench, error) {
	var (
		out  []*goBench
		byID = map[string]*goBench{}
		pkg  string
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if p, ok := strings.CutPrefix(text, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(text)
		// Benchmark<Name>-P  N  value unit  [value unit ...]
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a log line that happens to start with "Benchmark"
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		id := pkg + "." + name
		b := byID[id]
		if b == nil {
			b = &goBench{pkg: pkg, name: name, metrics: map[string][]float64{}}
			byID[id] = b
			out = append(out, b)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q is not a number (metric %s)", line, f[i], f[i+1])
			}
			b.metrics[f[i+1]] = append(b.metrics[f[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no benchmark results (want `go test -bench` output)")
	}
	return out, nil
}

// Targets of the TUI benchmarks (tui/bench_test.go), from the quality bars
// (docs/ARCHITECTURE.md): the workbench ingests ≥ 50k log lines/s while a
// keypress is answered in ≤ 50 ms p99.
const (
	tuiLinesPerSec = 50000
	tuiKeyP99Ms    = 50
)

// goBenchRows turns Go benchmark results into rows: the TUI's against
// their quality bars, any other benchmark as its time per operation.
// Go benchmarks have no baseline: they are judged on the figure itself.
// Each figure is the median over the -count repetitions.
func goBenchRows(bs []*goBench) ([]Row, error) {
	var rows []Row
	for _, b := range bs {
		m := b.metrics
		switch {
		case b.name == "LogIngest" || b.name == "LogIngestFiltered":
			c := "tui/log-ingest"
			note := "root model Update+View per 2 500-line batch (50k lines/s = one batch per 50 ms), a keypress answered (Update+View) after each"
			if b.name == "LogIngestFiltered" {
				c += "-filtered"
				note = "as tui/log-ingest with a text filter set, so every line is matched on the way in (no keypresses)"
			}
			lines, ok := m["lines/s"]
			if !ok {
				return nil, fmt.Errorf("benchmark %s reports no lines/s metric", b.name)
			}
			row := absRow(c, "lines/s", "lines/s", lines, &Target{On: "jig", Op: ">=", Value: tuiLinesPerSec, Source: design})
			row.Note = note
			rows = append(rows, row)
			if key, ok := m["key-p99-ms"]; ok {
				row := absRow(c, "keypress p99", "ms", key, &Target{On: "jig", Op: "<=", Value: tuiKeyP99Ms, Source: design})
				row.Note = note
				rows = append(rows, row)
			} else if b.name == "LogIngest" {
				return nil, errors.New("benchmark LogIngest reports no key-p99-ms metric")
			}
		case strings.HasPrefix(b.name, "ViewFullRing50Replicas/"):
			ns, ok := m["ns/op"]
			if !ok {
				return nil, fmt.Errorf("benchmark %s reports no ns/op", b.name)
			}
			pane := strings.TrimPrefix(b.name, "ViewFullRing50Replicas/")
			row := absRow("tui/view/"+pane, "View()", "ms", scale(ns, 1e-6), nil)
			row.Note = "one frame with a full log ring (10 000 lines) and 50 replicas; §9 holds the keypress (Update+View) to 50 ms"
			rows = append(rows, row)
		default:
			ns, ok := m["ns/op"]
			if !ok {
				continue
			}
			pkg := b.pkg
			if i := strings.LastIndex(pkg, "/"); i >= 0 {
				pkg = pkg[i+1:]
			}
			rows = append(rows, absRow("go/"+pkg+"/"+b.name, "time/op", "ms", scale(ns, 1e-6), nil))
		}
	}
	return rows, nil
}

func scale(v []float64, f float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * f
	}
	return out
}

// ReadGoBench parses a file of `go test -bench` output (with -count N,
// figures are medians over the N repetitions) into rows for
// Options.Extra: the TUI benchmarks against their quality bars, any
// other benchmark as its time per operation.
func ReadGoBench(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bs, err := parseGoBench(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rows, err := goBenchRows(bs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}
