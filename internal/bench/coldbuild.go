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
// it is (warm), with the real go command. A third, informational case
// builds a bare grpc-go server the same way: machines differ (and this
// one's speed changes from day to day), so the floor every gRPC executor
// builds above is measured in the same run. Each build takes minutes, so the
// scenario is opt-in: it runs only when --scenario names it (make
// bench-build), never in a plain `jig bench`, and measures one build per
// case whatever --runs says.
func coldBuildScenario() scenario {
	const jig, exe, floor = "build/jig/cold", "build/executor/cold", "build/grpc-floor/cold"
	return scenario{name: "build", optIn: true, cases: []string{jig, exe, floor}, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
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
		if want(floor) {
			dir := filepath.Join(r.dir, "grpc-floor")
			r.progress("build/grpc-floor/cold: go build of a bare grpc-go server with an empty GOCACHE (minutes)")
			if err := writeGRPCFloor(ctx, root, dir); err != nil {
				return rows, err
			}
			args := build.GoArgs(nil)
			took, _, err := coldBuild(ctx, dir, args, ".", filepath.Join(r.dir, "gocache-floor"), filepath.Join(r.dir, "grpc-floor-bin"))
			if err != nil {
				return rows, err
			}
			row := absRow(floor, "s", "s", []float64{took.Seconds()}, nil)
			row.Note = fmt.Sprintf("go %s of a bare grpc-go server (grpc.NewServer + the health service, jig's grpc and protobuf versions), empty GOCACHE: the floor under any gRPC executor's cold build on this machine today", strings.Join(args, " "))
			rows = append(rows, row)
		}
		return rows, nil
	}}
}

// grpcFloorMain is the smallest gRPC server: what every executor links at
// least (grpc-go's transport, credentials, protobuf and the health service).
const grpcFloorMain = `package main

import (
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	_ = s.Serve(lis)
}
`

// writeGRPCFloor writes the bare server's module into dir, requiring the
// grpc and protobuf versions the jig checkout at root builds with, and
// resolves it from the module cache (go mod tidy).
func writeGRPCFloor(ctx context.Context, root, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	list := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Path}}@{{.Version}}", "google.golang.org/grpc", "google.golang.org/protobuf")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		return fmt.Errorf("grpc floor: versions of grpc and protobuf in %s: %w", root, err)
	}
	mod := "module grpcfloor\n\ngo 1.26\n"
	for _, mv := range strings.Fields(string(out)) {
		path, version, _ := strings.Cut(mv, "@")
		mod += fmt.Sprintf("\nrequire %s %s\n", path, version)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(grpcFloorMain), 0o600); err != nil {
		return err
	}
	tidy := exec.CommandContext(ctx, "go", "mod", "tidy")
	tidy.Dir = dir
	if b, err := tidy.CombinedOutput(); err != nil {
		return fmt.Errorf("grpc floor: go mod tidy in %s: %w: %s", dir, err, strings.TrimSpace(string(b)))
	}
	return nil
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
