package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 1, 9, 5}, 5},
	} {
		in := slices.Clone(c.in)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("median reordered its input: %v, was %v", c.in, in)
		}
	}
}

// The comparison of a row is the median of per-run ratios, which follows
// the pairs: a run where the machine was slow for both sides does not
// skew it, while the ratio of the medians mixes runs.
func TestRatioRowIsMedianOfPairedRatios(t *testing.T) {
	jig := []float64{100, 400, 90}
	base := []float64{200, 500, 100}
	r := ratioRow("c", "throughput", "req/s", "raw", jig, base, atLeast(0.45, design))
	wantRatios := []float64{0.5, 0.8, 0.9}
	if !slices.Equal(r.CompareRuns, wantRatios) {
		t.Fatalf("CompareRuns = %v, want %v", r.CompareRuns, wantRatios)
	}
	if r.Compare != 0.8 {
		t.Errorf("Compare = %v, want the median paired ratio 0.8 (ratio of medians would be %v)", r.Compare, median(jig)/median(base))
	}
	if r.Jig != 100 || r.Baseline != 200 {
		t.Errorf("Jig, Baseline = %v, %v, want the medians 100, 200", r.Jig, r.Baseline)
	}
	if r.Name != "c throughput vs raw" || r.CompareUnit != "x" {
		t.Errorf("Name %q CompareUnit %q", r.Name, r.CompareUnit)
	}
	// A run whose baseline measured nothing has no ratio.
	if got := pairedRatios([]float64{1, 2}, []float64{0, 4}); !slices.Equal(got, []float64{0.5}) {
		t.Errorf("pairedRatios with a zero baseline = %v, want [0.5]", got)
	}
	// Unequal lengths pair what there is.
	if got := pairedRatios([]float64{1, 2, 3}, []float64{2}); !slices.Equal(got, []float64{0.5}) {
		t.Errorf("pairedRatios of unequal lengths = %v", got)
	}
}

func TestDiffRowIsMedianOfPairedDifferences(t *testing.T) {
	r := diffRow("c", "p50", "µs", "raw", []float64{150, 300, 160}, []float64{100, 120, 130}, atMost(60, design))
	if !slices.Equal(r.CompareRuns, []float64{50, 180, 30}) {
		t.Fatalf("CompareRuns = %v", r.CompareRuns)
	}
	if r.Compare != 50 || r.CompareUnit != "µs" {
		t.Errorf("Compare = %v %s, want 50 µs", r.Compare, r.CompareUnit)
	}
}

func TestTargetMet(t *testing.T) {
	for _, c := range []struct {
		t    Target
		v    float64
		want bool
	}{
		{Target{Op: ">=", Value: 0.45}, 0.45, true},
		{Target{Op: ">=", Value: 0.45}, 0.44, false},
		{Target{Op: "<=", Value: 60}, 60, true},
		{Target{Op: "<=", Value: 60}, 61, false},
		{Target{Op: "<=", Value: 60}, -5, true},
		{Target{Op: "≈", Value: 1}, 1, false}, // an ideal is never a pass
	} {
		if got := c.t.Met(c.v); got != c.want {
			t.Errorf("%s %v: Met(%v) = %v, want %v", c.t.Op, c.t.Value, c.v, got, c.want)
		}
	}
}

func TestJudge(t *testing.T) {
	for _, c := range []struct {
		name string
		row  Row
		want string
	}{
		{"no target", Row{Compare: 1}, "info"},
		{"ideal", Row{Compare: 1, Target: &Target{On: "compare", Op: "≈", Value: 1, Source: "ideal"}}, "info"},
		{"ratio pass", Row{Compare: 0.5, Target: atLeast(0.45, design)}, "pass"},
		{"ratio miss", Row{Compare: 0.4, Target: atLeast(0.45, design)}, "miss"},
		{"added pass", Row{Compare: 59, Target: atMost(60, design)}, "pass"},
		{"added miss", Row{Compare: 61, Target: atMost(60, design)}, "miss"},
		// A target on the jig figure ignores the comparison.
		{"jig pass", Row{Jig: 400, Compare: 9, Target: &Target{On: "jig", Op: "<=", Value: 500, Source: design}}, "pass"},
		{"jig miss", Row{Jig: 600, Compare: 0.1, Target: &Target{On: "jig", Op: "<=", Value: 500, Source: design}}, "miss"},
	} {
		r := c.row
		r.judge()
		if r.Status != c.want {
			t.Errorf("%s: Status %q, want %q", c.name, r.Status, c.want)
		}
	}
}

func TestSamplePercentiles(t *testing.T) {
	var s sample
	if s.pct(0.5) != 0 || s.rate() != 0 || s.mibps() != 0 {
		t.Fatal("an empty sample has figures")
	}
	for i := 1; i <= 100; i++ {
		s.lat = append(s.lat, time.Duration(i)*time.Microsecond)
	}
	s.ops, s.bytes, s.elapsed = 100, 100<<20, 2*time.Second
	if got := s.pct(0.5); got != 50*time.Microsecond {
		t.Errorf("p50 = %v", got)
	}
	if got := s.pct(0.99); got != 99*time.Microsecond {
		t.Errorf("p99 = %v", got)
	}
	if got := s.pct(1); got != 100*time.Microsecond {
		t.Errorf("p100 = %v", got)
	}
	if got := s.pct(0); got != time.Microsecond {
		t.Errorf("p0 = %v", got)
	}
	if s.rate() != 50 || s.mibps() != 50 {
		t.Errorf("rate %v, MiB/s %v, want 50 and 50", s.rate(), s.mibps())
	}
}

func TestClosedLoopCountsEveryCall(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	s, err := closedLoop(context.Background(), 4, 30*time.Millisecond, func(context.Context) error {
		mu.Lock()
		calls++
		mu.Unlock()
		time.Sleep(100 * time.Microsecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.ops == 0 || int(s.ops) != calls || len(s.lat) != calls {
		t.Fatalf("ops %d, latencies %d, calls %d", s.ops, len(s.lat), calls)
	}
	if !slices.IsSorted(s.lat) {
		t.Error("latencies are not sorted")
	}
	if s.elapsed <= 0 {
		t.Error("no elapsed time")
	}
}

func TestClosedLoopStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	var mu sync.Mutex
	n := 0
	_, err := closedLoop(context.Background(), 8, time.Minute, func(ctx context.Context) error {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k == 5 {
			return boom
		}
		// Calls in flight see the cancellation, as gRPC calls would.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
			return nil
		}
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom (the first error, not the cancellations it caused)", err)
	}
}

// interleave warms every system up once, then alternates the order of
// the measured runs: A B C, C B A, A B C.
func TestInterleaveAlternatesOrder(t *testing.T) {
	const measured = time.Millisecond
	var order []string
	mk := func(name string) system {
		return system{name: name, run: func(_ context.Context, d time.Duration) (sample, error) {
			tag := name
			if d != measured {
				tag = strings.ToLower(name) // a warm-up
			}
			order = append(order, tag)
			return sample{ops: int64(len(order)), elapsed: time.Second}, nil
		}}
	}
	r := &runner{o: Options{Runs: 3, Duration: 4 * time.Millisecond}}
	r.o.defaults()
	if r.warmup() == measured {
		t.Fatalf("warm-up %v cannot be told from a measured run", r.warmup())
	}
	ss, err := r.interleave(context.Background(), "case", measured, mk("A"), mk("B"), mk("C"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(order, "")
	if want := "abc" + "ABC" + "CBA" + "ABC"; got != want {
		t.Fatalf("order %s, want %s (warm-ups, then alternating runs)", got, want)
	}
	for i, s := range ss {
		if len(s) != 3 {
			t.Errorf("system %d has %d samples, want 3", i, len(s))
		}
	}
	// Each system's samples are its own, in run order.
	if ss[0][0].ops != 4 || ss[2][1].ops != 7 || ss[0][1].ops != 9 || ss[2][2].ops != 12 {
		t.Errorf("samples attributed wrongly: %v", ss)
	}
}

func TestInterleaveReportsTheFailingSystem(t *testing.T) {
	r := &runner{o: Options{Runs: 2}}
	r.o.defaults()
	ok := system{name: "fine", run: func(context.Context, time.Duration) (sample, error) { return sample{}, nil }}
	bad := system{name: "broken", run: func(context.Context, time.Duration) (sample, error) { return sample{}, errors.New("refused") }}
	_, err := r.interleave(context.Background(), "case", time.Millisecond, ok, bad)
	if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want one naming the broken system and its error", err)
	}
}

func TestCasesAreUniqueAndCoverTheIssue(t *testing.T) {
	cases := Cases()
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c] {
			t.Errorf("case %s listed twice", c)
		}
		seen[c] = true
	}
	for _, want := range []string{
		"unary/1doc/c1", "unary/1doc/c8", "unary/1doc/c64", "unary/100docs/c1", "unary/100docs/c8", "unary/100docs/c64",
		"stream/100docs", "replicas/sleep", "replicas/serial", "shards/all3",
		"stateful/writes", "stateful/failover", "stateful/restart", "stateful/scale", "flow/start", "flow/stop", "userexec/unchanged", "userexec/touched", "large/1MiB", "large/8MiB",
	} {
		if !seen[want] {
			t.Errorf("no case %s", want)
		}
	}
}

func TestPayloadsHaveTheAdvertisedSize(t *testing.T) {
	docs := textDocs(100, 1024)
	if len(docs) != 100 {
		t.Fatalf("%d docs", len(docs))
	}
	for i, d := range docs {
		if len(d.Text) != 1024 || d.ID != fmt.Sprintf("doc-%d", i) {
			t.Fatalf("doc %d: id %q, %d bytes of text", i, d.ID, len(d.Text))
		}
	}
	if b := blobDoc(1 << 20); len(b) != 1 || len(b[0].Blob) != 1<<20 {
		t.Fatal("blobDoc(1 MiB) is not one document of 1 MiB")
	}
	// The request the load generators send encodes the documents once.
	req := marshal(request(endpoint, docs))
	if n := len(req); n < 100*1024 || n > 110*1024 {
		t.Errorf("100 docs of 1 KiB encode to %d bytes", n)
	}
}

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{243.4, "µs", "243 µs"},
		{0.42, "ms", "0.42 ms"},
		{5.55, "ms", "5.5 ms"},
		{341, "ms", "341 ms"},
		{0, "ms", "0.0 ms"},
		{3884, "req/s", "3884 req/s"},
		{13400, "req/s", "13.4k req/s"},
		{249.4, "MiB/s", "249 MiB/s"},
		{1297032, "lines/s", "1.30M lines/s"},
	} {
		if got := formatValue(c.v, c.unit); got != c.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
	if got := formatDiff(66, "µs"); got != "+66 µs" {
		t.Errorf("formatDiff = %q", got)
	}
	if got := formatDiff(-4.2, "ms"); got != "-4.2 ms" {
		t.Errorf("formatDiff = %q", got)
	}
}
