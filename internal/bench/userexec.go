package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/scaffold"
)

// userFlowSize is the number of deployments of the user-executor flow.
const userFlowSize = 10

// userFlow is a flow of n deployments of the Go executor in ./exe.
func userFlow(n int) string {
	var b strings.Builder
	b.WriteString("jtype: Flow\nexecutors:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: exe%d\n    uses: ./exe\n", i)
	}
	return b.String()
}

// userExecScenario times the start of a flow of 10 deployments of one
// scaffolded Go executor (as `jig new --yes` writes it): with sources
// unchanged since the last start (the binary comes from the build cache,
// the go command does not run), and with one source file edited before
// each start (one build, then the replicas). The build cache is the
// scenario's own, so the first (warm-up) start builds.
func userExecScenario() scenario {
	const unchanged, touched = "userexec/unchanged", "userexec/touched"
	return scenario{name: "userexec", cases: []string{unchanged, touched}, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		exe := filepath.Join(r.dir, "exe")
		r.progress("userexec: scaffolding a Go executor into %s (go mod tidy)", exe)
		if _, err := scaffold.Generate(ctx, scaffold.Options{Name: "BenchExec", Path: exe, Dockerfile: scaffold.DockerNone}); err != nil {
			return nil, fmt.Errorf("scaffold an executor: %w", err)
		}
		builder := &build.Builder{CacheDir: filepath.Join(r.dir, "build-cache")}
		yml := userFlow(userFlowSize)
		// once starts the flow until a first request came back through
		// every deployment; built is the go build's duration in it (0:
		// cached).
		once := func() (ready, built time.Duration, err error) {
			f, err := flow.Parse("userexec.yml", r.dir, []byte(yml))
			if err != nil {
				return 0, 0, err
			}
			bus := events.NewBus(100)
			sub := bus.Subscribe(10000)
			defer sub.Close()
			t0 := time.Now()
			eng, err := engine.Start(ctx, f, engine.Options{LogLevel: slog.LevelWarn, Builder: builder, Bus: bus})
			if err != nil {
				return 0, 0, err
			}
			if err := firstAnswer(ctx, eng.Addresses().GRPC); err != nil {
				stopEngine(eng)
				return 0, 0, fmt.Errorf("first request through the flow: %w", err)
			}
			ready = time.Since(t0)
			for done := false; !done; {
				select {
				case e := <-sub.C:
					if u, ok := e.(events.Update); ok && u.Kind == events.Build && u.Outcome == events.Succeeded {
						built += u.Duration
					}
				default:
					done = true
				}
			}
			return ready, built, stopEngine(eng)
		}
		r.progress("userexec: %d deployments of one Go executor, first start (builds)", userFlowSize)
		if _, _, err := once(); err != nil {
			return nil, err
		}
		var rows []Row
		if want(unchanged) {
			r.progress("userexec/unchanged: %d starts, sources unchanged", r.o.Runs)
			var readies []float64
			for range r.o.Runs {
				ready, built, err := once()
				if err != nil {
					return nil, err
				}
				if built != 0 {
					return nil, fmt.Errorf("unchanged sources were built again (%s)", built)
				}
				readies = append(readies, millis(ready))
			}
			row := absRow(unchanged, "ready ms", "ms", readies, &Target{On: "jig", Op: "<=", Value: 1000, Source: "issue 24"})
			row.Note = fmt.Sprintf("engine.Start of %d deployments of one scaffolded Go executor (child processes), sources unchanged: cached binary, no go command; until a first request has come back through all of them", userFlowSize)
			rows = append(rows, row)
		}
		if want(touched) {
			r.progress("userexec/touched: %d starts, one source file edited before each", r.o.Runs)
			src := filepath.Join(exe, "executor.go")
			var readies, builds []float64
			for run := range r.o.Runs {
				fh, err := os.OpenFile(src, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					return nil, err
				}
				_, err = fmt.Fprintf(fh, "\n// bench edit %d %d\n", run, time.Now().UnixNano())
				if cerr := fh.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return nil, err
				}
				ready, built, err := once()
				if err != nil {
					return nil, err
				}
				if built == 0 {
					return nil, fmt.Errorf("an edited source was not built")
				}
				readies, builds = append(readies, millis(ready)), append(builds, millis(built))
			}
			row := diffRow(touched, "ready ms", "ms", "its go build", readies, builds, atMost(1000, "issue 24"))
			row.Note = fmt.Sprintf("the same flow with executor.go edited before each start: exactly one go build for the %d deployments, then their replicas; the baseline is that build's own duration, so the difference is what jig adds to one build", userFlowSize)
			rows = append(rows, row)
		}
		return rows, nil
	}}
}
