package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// drive loads an already running flow (--drive GRPC_ADDR[,HTTP_ADDR]) with
// the cases of the table, without Jina and without starting anything: for
// profiling one side (`jig up` with a profiler, the client with
// --cpuprofile) against the same client the comparison uses. pgid, when
// not 0, is the server's process group, whose CPU is reported.
func drive(ctx context.Context, w io.Writer, o *options, addrs string, pgid int) error {
	grpcAddr, httpAddr, _ := strings.Cut(addrs, ",")
	t, err := newTarget("server", grpcAddr, httpAddr, pgid)
	if err != nil {
		return err
	}
	defer t.close()
	if err := firstAnswer(ctx, grpcAddr, benchEndpoint, time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(w, "%-4s %4s %3s %10s %9s %12s %12s\n", "", "docs", "c", "req/s", "p50", "client µs/r", "server µs/r")
	for _, protocol := range strings.Split(o.protocols, ",") {
		if protocol == "http" && httpAddr == "" {
			continue
		}
		for _, n := range driveDocs {
			p, err := newPayload(n)
			if err != nil {
				return err
			}
			if err := t.verify(ctx, protocol, p); err != nil {
				return err
			}
			for _, conc := range driveConc {
				t.load(ctx, protocol, p, conc, o.warmup)
				for range o.rounds {
					win := t.load(ctx, protocol, p, conc, o.duration)
					if ctx.Err() != nil {
						return ctx.Err()
					}
					if win.n == 0 {
						return fmt.Errorf("%s %d docs ×%d: no request succeeded: %v", protocol, n, conc, win.firstErr)
					}
					per := func(d time.Duration) float64 { return float64(d/time.Microsecond) / float64(win.n) }
					srv := "-"
					if pgid != 0 {
						srv = fmt.Sprintf("%.0f", per(win.serverCPU))
					}
					fmt.Fprintf(w, "%-4s %4d %3d %10.1f %9s %12.0f %12s  errors %d\n", protocol, n, conc, win.rps(), ms(win.p50), per(win.clientCPU), srv, win.errs)
				}
			}
		}
	}
	return nil
}

// driveDocs and driveConc are the cases --drive runs (--drive-docs, --drive-conc).
var driveDocs, driveConc = []int{1, 100}, []int{1, 16}

// intList parses "1,16".
func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("want positive numbers separated by commas, got %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// startCPUProfile profiles this process into path until the returned
// function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
