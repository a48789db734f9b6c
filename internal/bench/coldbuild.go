package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/scaffold"
)

// coldBuildScenario times the first build a newcomer waits for: `go build
// ./cmd/jig` and the engine's build of a scaffolded executor (`jig new
// --yes`; the go command's arguments of engine/build, with its
// DefaultTags, as `jig serve` and `jig up` run it),
// each with an empty build cache (a fresh GOCACHE) and the module cache as
// it is (warm), with the real go command. Each build takes minutes, so the
// scenario is opt-in: it runs only when --scenario names it (make
// bench-build), never in a plain `jig bench`, and measures one build per
// case whatever --runs says.
func coldBuildScenario() scenario {
	const jig, exe = "build/jig/cold", "build/executor/cold"
	return scenario{name: "build", optIn: true, cases: []string{jig, exe}, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		root, err := scaffold.FindJigRoot("")
		if err != nil {
			return nil, fmt.Errorf("find the jig checkout to build: %w", err)
		}
		var rows []Row
		if want(jig) {
			r.progress("build/jig/cold: go build ./cmd/jig with an empty GOCACHE (minutes)")
			took, _, err := coldBuild(ctx, root, []string{"build"}, "./cmd/jig", filepath.Join(r.dir, "gocache-jig"), filepath.Join(r.dir, "jig"))
			if err != nil {
				return rows, err
			}
			row := absRow(jig, "s", "s", []float64{took.Seconds()}, &Target{On: "jig", Op: "<=", Value: 90, Source: "issue 22"})
			row.Note = "go build ./cmd/jig of this checkout, empty GOCACHE, module cache warm; one build"
			rows = append(rows, row)
		}
		if want(exe) {
			dir := filepath.Join(r.dir, "exe")
			r.progress("build/executor/cold: scaffolding a Go executor into %s (go mod tidy)", dir)
			if _, err := scaffold.Generate(ctx, scaffold.Options{Name: "BenchExec", Path: dir, JigRoot: root, Dockerfile: scaffold.DockerNone}); err != nil {
				return rows, fmt.Errorf("scaffold an executor: %w", err)
			}
			r.progress("build/executor/cold: go build of the scaffolded executor with an empty GOCACHE (minutes)")
			bin := filepath.Join(r.dir, "exe-bin")
			args := build.GoArgs(nil)
			took, raft, err := coldBuild(ctx, dir, args, ".", filepath.Join(r.dir, "gocache-exe"), bin)
			if err != nil {
				return rows, err
			}
			row := absRow(exe, "s", "s", []float64{took.Seconds()}, &Target{On: "jig", Op: "<=", Value: 45, Source: "issue 22"})
			row.Note = fmt.Sprintf("go %s of a `jig new --yes` executor (not stateful; the engine's build), empty GOCACHE, module cache warm; one build; links hashicorp/raft: %v", strings.Join(args, " "), raft)
			rows = append(rows, row)
		}
		return rows, nil
	}}
}

// coldBuild runs `go ARGS -o out pkg` in dir (args starts with "build")
// with GOCACHE set to the empty folder cache, and reports how long it
// took and whether the binary links hashicorp/raft (go version -m).
func coldBuild(ctx context.Context, dir string, args []string, pkg, cache, out string) (time.Duration, bool, error) {
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return 0, false, err
	}
	defer os.RemoveAll(cache)
	cmd := exec.CommandContext(ctx, "go", append(slices.Clone(args), "-o", out, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOCACHE="+cache)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, false, fmt.Errorf("go build %s in %s: %w: %s", pkg, dir, err, strings.TrimSpace(stderr.String()))
	}
	took := time.Since(start)
	mods, err := exec.CommandContext(ctx, "go", "version", "-m", out).Output()
	if err != nil {
		return took, false, fmt.Errorf("go version -m %s: %w", out, err)
	}
	return took, bytes.Contains(mods, []byte("github.com/hashicorp/raft")), nil
}
