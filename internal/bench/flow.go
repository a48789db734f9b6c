package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/flow"
)

// flowSize is the number of executors of the start/stop flow.
const flowSize = 10

func echoChain(n int) string {
	var b strings.Builder
	b.WriteString("jtype: Flow\nexecutors:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: echo%d\n    uses: builtin:Echo\n", i)
	}
	return b.String()
}

// flowScenario times engine.Start (until the gateway serves) and Stop of a
// chain of 10 in-process Echo executors, against starting and stopping
// the bare servers such a flow amounts to: 10 workers serving Echo and a
// gRPC server for the gateway.
func flowScenario() scenario {
	const start, stop = "flow/start", "flow/stop"
	return scenario{name: "flow", cases: []string{start, stop}, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		jigOnce := func() (up, down time.Duration, err error) {
			f, err := flow.Parse("chain.yml", r.dir, []byte(echoChain(flowSize)))
			if err != nil {
				return 0, 0, err
			}
			t0 := time.Now()
			eng, err := engine.Start(ctx, f, engine.Options{LogLevel: slog.LevelWarn})
			if err != nil {
				return 0, 0, err
			}
			if err := firstAnswer(ctx, eng.Addresses().GRPC); err != nil {
				stopEngine(eng)
				return 0, 0, fmt.Errorf("first request through the flow: %w", err)
			}
			up = time.Since(t0)
			t1 := time.Now()
			err = stopEngine(eng)
			return up, time.Since(t1), err
		}
		bareOnce := func() (up, down time.Duration, err error) {
			t0 := time.Now()
			servers := make([]*server, flowSize+1)
			errs := make([]error, flowSize+1)
			var wg sync.WaitGroup
			for i := range servers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i == flowSize {
						servers[i], errs[i] = startRaw()
						return
					}
					servers[i], errs[i] = startWorker(ctx, "Echo")
				}()
			}
			wg.Wait()
			stopAll := func() {
				for _, s := range servers {
					if s != nil {
						wg.Add(1)
						go func() { defer wg.Done(); s.stop() }()
					}
				}
				wg.Wait()
			}
			if err := errors.Join(errs...); err != nil {
				stopAll()
				return 0, 0, err
			}
			if err := firstAnswer(ctx, servers[flowSize].addr); err != nil {
				stopAll()
				return 0, 0, fmt.Errorf("first request to the raw server: %w", err)
			}
			up = time.Since(t0)
			t1 := time.Now()
			stopAll()
			return up, time.Since(t1), nil
		}
		r.progress("flow/start+stop: %d-executor flow / %d bare servers, %d runs each", flowSize, flowSize+1, r.o.Runs)
		if _, _, err := jigOnce(); err != nil { // warm-up
			return nil, err
		}
		if _, _, err := bareOnce(); err != nil {
			return nil, err
		}
		var jigUp, jigDown, bareUp, bareDown []float64
		for run := range r.o.Runs {
			order := []bool{true, false}
			if run%2 == 1 {
				order = []bool{false, true}
			}
			for _, isJig := range order {
				once := bareOnce
				if isJig {
					once = jigOnce
				}
				up, down, err := once()
				if err != nil {
					return nil, err
				}
				if isJig {
					jigUp, jigDown = append(jigUp, millis(up)), append(jigDown, millis(down))
				} else {
					bareUp, bareDown = append(bareUp, millis(up)), append(bareDown, millis(down))
				}
			}
		}
		var rows []Row
		const base = "bare servers"
		if want(start) {
			row := ratioRow(start, "ready ms", "ms", base, jigUp, bareUp, &Target{On: "jig", Op: "<=", Value: 500, Source: design})
			row.Note = "engine.Start of a chain of 10 in-process Echo executors until a first request has come back through all of them; bare: 10 workers and a raw grpc-go server started in parallel until the raw server answered"
			rows = append(rows, row)
		}
		if want(stop) {
			row := ratioRow(stop, "closed ms", "ms", base, jigDown, bareDown, &Target{On: "jig", Op: "<=", Value: 200, Source: design})
			row.Note = "engine.Stop: gateway drained, every executor closed; bare: every server stopped in parallel"
			rows = append(rows, row)
		}
		return rows, nil
	}}
}

// firstAnswer dials addr and sends one request, waiting for the server
// to be reachable: what a client starting with the flow sees.
func firstAnswer(ctx context.Context, addr string) error {
	cc, err := dial(addr)
	if err != nil {
		return err
	}
	defer cc.Close()
	docs := textDocs(1, 64)
	return checkUnary(ctx, cc, request(endpoint, docs), len(docs))
}
