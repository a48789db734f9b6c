package bench

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
)

// replicaConcurrency is the number of requests in flight in the replica
// and shard scenarios.
const replicaConcurrency = 16

// gateway starts a flow and returns a connection to its gateway.
func gateway(ctx context.Context, r *runner, st *stack, name, yml string) (*grpc.ClientConn, error) {
	eng, err := startFlow(ctx, name, r.dir, yml)
	if err != nil {
		return nil, err
	}
	st.push(func() { stopEngine(eng) })
	cc, err := dial(eng.Addresses().GRPC)
	if err != nil {
		return nil, err
	}
	st.push(func() { cc.Close() })
	return cc, nil
}

func replicasFlow(uses string, replicas int) string {
	return fmt.Sprintf(`jtype: Flow
executors:
  - name: slow
    uses: %s
    uses_with: {latency_ms: 10}
    replicas: %d
`, uses, replicas)
}

// replicasScenario compares a 10 ms executor at 3 replicas with the same
// at 1 replica, 16 requests in flight: builtin:Sleep, whose handlers run
// in parallel (one replica already serves all 16 at once), and an executor
// that serves one request at a time per replica, where replicas are what
// adds capacity.
func replicasScenario() scenario {
	kinds := []struct {
		name, uses, note string
		ideal            float64
	}{
		{"replicas/sleep", "builtin:Sleep", "builtin:Sleep runs requests in parallel: 16 in flight / 10 ms is the ceiling at any replica count", 1},
		{"replicas/serial", serialSleepType, "one request at a time per replica (100 req/s each): replicas add capacity", 3},
	}
	var cases []string
	for _, k := range kinds {
		cases = append(cases, k.name)
	}
	return scenario{name: "replicas", cases: cases, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		var rows []Row
		docs := textDocs(1, 1024)
		req := request(endpoint, docs)
		payload := marshal(req)
		for _, k := range kinds {
			if !want(k.name) {
				continue
			}
			row, err := func() (Row, error) {
				var st stack
				defer st.run()
				three, err := gateway(ctx, r, &st, "replicas3", replicasFlow(k.uses, 3))
				if err != nil {
					return Row{}, err
				}
				one, err := gateway(ctx, r, &st, "replicas1", replicasFlow(k.uses, 1))
				if err != nil {
					return Row{}, err
				}
				for _, cc := range []*grpc.ClientConn{three, one} {
					if err := checkUnary(ctx, cc, req, len(docs)); err != nil {
						return Row{}, err
					}
				}
				ss, err := r.interleave(ctx, k.name, r.o.Duration,
					unarySystem("3 replicas", three, payload, replicaConcurrency),
					unarySystem("1 replica", one, payload, replicaConcurrency))
				if err != nil {
					return Row{}, err
				}
				row := ratioRow(k.name, "3 replicas req/s", "req/s", "1 replica", figures(ss[0], sample.rate), figures(ss[1], sample.rate),
					&Target{On: "compare", Op: "≈", Value: k.ideal, Source: "ideal"})
				row.Note = k.note
				return row, nil
			}()
			if err != nil {
				return rows, fmt.Errorf("%s: %w", k.name, err)
			}
			rows = append(rows, row)
		}
		return rows, nil
	}}
}

// shardsScenario compares polling ALL over 3 shards, one of them slower
// (10 ms, the others 5 ms), with that slowest shard alone: the fan-out and
// the reduce of 100 documents from each shard are what jig adds.
func shardsScenario() scenario {
	const name = "shards/all3"
	flowOf := func(shards int) string {
		return fmt.Sprintf(`jtype: Flow
executors:
  - name: shards
    uses: %s
    uses_with: {latency_ms: 5, slow_ms: 10}
    shards: %d
    polling: ALL
`, shardSleepType, shards)
	}
	return scenario{name: "shards", cases: []string{name}, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		var st stack
		defer st.run()
		all, err := gateway(ctx, r, &st, "shards3", flowOf(3))
		if err != nil {
			return nil, err
		}
		alone, err := gateway(ctx, r, &st, "shards1", flowOf(1))
		if err != nil {
			return nil, err
		}
		docs := textDocs(100, 1024)
		req := request(endpoint, docs)
		for _, cc := range []*grpc.ClientConn{all, alone} {
			if err := checkUnary(ctx, cc, req, len(docs)); err != nil {
				return nil, err
			}
		}
		payload := marshal(req)
		ss, err := r.interleave(ctx, name, r.o.Duration,
			unarySystem("3 shards ALL", all, payload, 1),
			unarySystem("slowest shard alone", alone, payload, 1))
		if err != nil {
			return nil, err
		}
		p50 := func(s sample) float64 { return millis(s.pct(0.5)) }
		p99 := func(s sample) float64 { return millis(s.pct(0.99)) }
		ideal := &Target{On: "compare", Op: "≈", Value: 1, Source: "ideal"}
		a := ratioRow(name, "p50", "ms", "slowest shard alone", figures(ss[0], p50), figures(ss[1], p50), ideal)
		a.Note = "latency ratio (lower is better): 3 shards (5, 5, 10 ms) polled ALL and reduced vs the 10 ms shard alone, 100 docs"
		b := ratioRow(name, "p99", "ms", "slowest shard alone", figures(ss[0], p99), figures(ss[1], p99), ideal)
		return []Row{a, b}, nil
	}}
}
