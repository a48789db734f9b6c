package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors/docarray"
	"google.golang.org/grpc"
)

// Baseline names.
const (
	baseWorker = "worker"      // the same executor behind a bare worker
	baseRaw    = "raw grpc-go" // a grpc-go server answering with the request
)

var unaryPayloads = []struct {
	name string
	docs func() docarray.DocList
}{
	{"1doc", func() docarray.DocList { return textDocs(1, 1024) }},
	{"100docs", func() docarray.DocList { return textDocs(100, 1024) }},
}

var unaryConcurrency = []int{1, 8, 64}

// oneEcho is a flow of one in-process no-op executor.
const oneEcho = `jtype: Flow
executors:
  - name: echo
    uses: builtin:Echo
`

// targets is the gateway of a one-Echo flow, a bare worker serving Echo,
// and a raw grpc-go server, with a connection to each.
type targets struct {
	gw, worker, raw *grpc.ClientConn
}

func startTargets(ctx context.Context, r *runner, st *stack) (*targets, error) {
	eng, err := startFlow(ctx, "echo", r.dir, oneEcho)
	if err != nil {
		return nil, err
	}
	st.push(func() { stopEngine(eng) })
	w, err := startWorker(ctx, "Echo")
	if err != nil {
		return nil, err
	}
	st.push(w.stop)
	raw, err := startRaw()
	if err != nil {
		return nil, err
	}
	st.push(raw.stop)
	t := &targets{}
	for _, c := range []struct {
		addr string
		cc   **grpc.ClientConn
	}{{eng.Addresses().GRPC, &t.gw}, {w.addr, &t.worker}, {raw.addr, &t.raw}} {
		cc, err := dial(c.addr)
		if err != nil {
			return nil, err
		}
		st.push(func() { cc.Close() })
		*c.cc = cc
	}
	return t, nil
}

// unaryRows measures one payload at one concurrency against the three
// targets and returns the throughput and latency rows.
func unaryRows(ctx context.Context, r *runner, t *targets, caseName string, docs docarray.DocList, conc int, latency bool) ([]Row, error) {
	req := request(endpoint, docs)
	for _, cc := range []*grpc.ClientConn{t.gw, t.worker, t.raw} {
		if err := checkUnary(ctx, cc, req, len(docs)); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", caseName, cc.Target(), err)
		}
	}
	payload := marshal(req)
	ss, err := r.interleave(ctx, caseName, r.o.Duration,
		unarySystem("jig gateway", t.gw, payload, conc),
		unarySystem(baseWorker, t.worker, payload, conc),
		unarySystem(baseRaw, t.raw, payload, conc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", caseName, err)
	}
	jig, wk, raw := ss[0], ss[1], ss[2]
	unit, fig := "req/s", sample.rate
	if !latency {
		unit, fig = "MiB/s", sample.mibps
	}
	rows := []Row{
		ratioRow(caseName, "throughput", unit, baseWorker, figures(jig, fig), figures(wk, fig), atLeast(0.45, design)),
		ratioRow(caseName, "throughput", unit, baseRaw, figures(jig, fig), figures(raw, fig), atLeast(0.45, design)),
	}
	if !latency {
		return rows, nil
	}

	p50 := func(s sample) float64 { return micros(s.pct(0.50)) }
	p99 := func(s sample) float64 { return micros(s.pct(0.99)) }
	var p50Target *Target
	if conc == 1 {
		// With calls queueing (c > 1) latency is throughput in disguise;
		// the bar is about one call on an idle gateway.
		p50Target = atMost(60, design)
	}
	rows = append(rows,
		diffRow(caseName, "p50", "µs", baseWorker, figures(jig, p50), figures(wk, p50), p50Target),
		diffRow(caseName, "p50", "µs", baseRaw, figures(jig, p50), figures(raw, p50), p50Target),
		diffRow(caseName, "p99", "µs", baseRaw, figures(jig, p99), figures(raw, p99), nil))
	for i := range rows {
		rows[i].Note = unaryNote
	}
	return rows, nil
}

const unaryNote = "process_single_data, N docs of 1 KiB text, cN in flight; jig: client → gateway → one in-process builtin:Echo (a pass-through handler: the docs are never decoded, they leave as the bytes they came in); worker: the same bytes to Echo on a bare worker (jig's executor runtime, no gateway); raw grpc-go: the same bytes to a grpc-go server that returns the request (protobuf only); the added-p50 bar applies at c1 (with calls queueing, latency follows throughput)"

func unaryScenario() scenario {
	var cases []string
	for _, p := range unaryPayloads {
		for _, c := range unaryConcurrency {
			cases = append(cases, fmt.Sprintf("unary/%s/c%d", p.name, c))
		}
	}
	return scenario{name: "unary", cases: cases, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		var st stack
		defer st.run()
		t, err := startTargets(ctx, r, &st)
		if err != nil {
			return nil, err
		}
		var rows []Row
		for _, p := range unaryPayloads {
			docs := p.docs()
			for _, c := range unaryConcurrency {
				name := fmt.Sprintf("unary/%s/c%d", p.name, c)
				if !want(name) {
					continue
				}
				got, err := unaryRows(ctx, r, t, name, docs, c, true)
				rows = append(rows, got...)
				if err != nil {
					return rows, err
				}
			}
		}
		return rows, nil
	}}
}

// largeScenario sends 1 MiB and 8 MiB requests (one document with a
// blob) through the gateway, against the same bytes to a bare worker and
// to raw grpc-go.
func largeScenario() scenario {
	sizes := []struct {
		name string
		size int
	}{{"large/1MiB", 1 << 20}, {"large/8MiB", 8 << 20}}
	cases := []string{sizes[0].name, sizes[1].name}
	return scenario{name: "large", cases: cases, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		var st stack
		defer st.run()
		t, err := startTargets(ctx, r, &st)
		if err != nil {
			return nil, err
		}
		c, err := client.New("grpc://" + t.gw.Target())
		if err != nil {
			return nil, err
		}
		st.push(func() { c.Close() })
		var rows []Row
		for _, s := range sizes {
			if !want(s.name) {
				continue
			}
			docs := blobDoc(s.size)
			if err := checkClientRoundTrip(ctx, c, docs); err != nil {
				return rows, fmt.Errorf("%s: jig client through the gateway: %w", s.name, err)
			}
			got, err := unaryRows(ctx, r, t, s.name, docs, 2, false)
			for i := range got {
				// §9 names no bar for large messages: the gateway's applies.
				got[i].Note = "one document with a blob; the same bytes to each; gateway quality bar applied to large messages; jig's client (Post) checked to get the blob back intact"
			}
			rows = append(rows, got...)
			if err != nil {
				return rows, err
			}
		}
		return rows, nil
	}}
}

// checkClientRoundTrip posts docs with jig's client (its own codec and
// message limits, as a user's program) and checks every blob comes back
// byte for byte.
func checkClientRoundTrip(ctx context.Context, c *client.Client, docs docarray.DocList) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, _, err := c.Post(ctx, endpoint, docs, client.RequestSize(len(docs)))
	if err != nil {
		return err
	}
	if len(got) != len(docs) {
		return fmt.Errorf("got %d documents back, want %d", len(got), len(docs))
	}
	for i, d := range docs {
		if got[i].ID != d.ID || !bytes.Equal(got[i].Blob, d.Blob) {
			return fmt.Errorf("document %d (%s) came back changed: %d blob bytes, want %d", i, d.ID, len(got[i].Blob), len(d.Blob))
		}
	}
	return nil
}
