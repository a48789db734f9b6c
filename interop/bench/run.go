package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// jinaScript is the Python driver of the Jina flows, from the repository
// root (where make runs).
const jinaScript = "interop/bench/jina_flow.py"

// server is a running echo flow: its process and how to reach it.
type server struct {
	c        *child
	grpcAddr string
	httpAddr string
	// inner is the start time the server reports itself (Jina:
	// Flow.start(); jig: the banner's "started in"), without process
	// start and imports.
	inner time.Duration
	// ready is exec to the first answered request.
	ready time.Duration
}

// startJina starts a Jina flow of n Python echo executors.
func startJina(ctx context.Context, o *options, py []string, name string, n int) (*server, error) {
	gp, err := freePort()
	if err != nil {
		return nil, err
	}
	hp, err := freePort()
	if err != nil {
		return nil, err
	}
	script, err := filepath.Abs(jinaScript)
	if err != nil {
		return nil, err
	}
	argv := append(append([]string{}, py...), script, "--executors", fmt.Sprint(n), "--grpc-port", fmt.Sprint(gp), "--http-port", fmt.Sprint(hp))
	c, err := startChild(name, o.workDir, []string{"JINA_LOG_LEVEL=WARNING"}, argv...)
	if err != nil {
		return nil, err
	}
	s := &server{c: c, grpcAddr: fmt.Sprintf("127.0.0.1:%d", gp), httpAddr: fmt.Sprintf("127.0.0.1:%d", hp)}
	line, err := c.waitLine(ctx, "READY ", 3*time.Minute)
	if err != nil {
		c.kill()
		return nil, err
	}
	var secs float64
	if _, err := fmt.Sscanf(line, "READY start=%g", &secs); err != nil {
		c.kill()
		return nil, fmt.Errorf("%s: bad line %q", name, line)
	}
	s.inner = time.Duration(secs * float64(time.Second))
	if err := firstAnswer(ctx, s.grpcAddr, benchEndpoint, time.Minute); err != nil {
		c.kill()
		return nil, fmt.Errorf("%s: %w%s", name, err, c.logTail())
	}
	s.ready = time.Since(c.started)
	return s, nil
}

// stopJina closes the flow's stdin and returns the time to exit and the
// time Flow.close() took.
func stopJina(s *server) (total, inner time.Duration, err error) {
	total, err = s.c.stop(0, time.Minute)
	if err != nil {
		return 0, 0, err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	for _, l := range s.c.lines {
		var secs float64
		if _, e := fmt.Sscanf(l, "STOPPED stop=%g", &secs); e == nil {
			return total, time.Duration(secs * float64(time.Second)), nil
		}
	}
	return total, 0, fmt.Errorf("%s: no STOPPED line; see %s", s.c.name, s.c.logPath)
}

var startedIn = regexp.MustCompile(`is ready to serve! \(started in ([^)]+)\)`)

// startJig writes a flow of the given deployments and runs `jig up` on it.
func startJig(ctx context.Context, o *options, name string, uses []string, probe string, readyTimeout time.Duration) (*server, error) {
	gp, err := freePort()
	if err != nil {
		return nil, err
	}
	hp, err := freePort()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "jtype: Flow\nwith:\n  port: [%d, %d]\n  protocol: [grpc, http]\nexecutors:\n", gp, hp)
	for i, u := range uses {
		fmt.Fprintf(&b, "  - name: echo%d\n    uses: %s\n", i, u)
	}
	yml := filepath.Join(o.workDir, name+".yml")
	if err := os.WriteFile(yml, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	c, err := startChild(name, o.workDir, nil, o.jig, "up", yml, "--headless", "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	s := &server{c: c, grpcAddr: fmt.Sprintf("127.0.0.1:%d", gp), httpAddr: fmt.Sprintf("127.0.0.1:%d", hp)}
	line, err := c.waitLine(ctx, "Flow ", readyTimeout)
	if err != nil {
		c.kill()
		return nil, err
	}
	if m := startedIn.FindStringSubmatch(line); m != nil {
		s.inner, _ = time.ParseDuration(m[1])
	}
	if err := firstAnswer(ctx, s.grpcAddr, probe, time.Minute); err != nil {
		c.kill()
		return nil, fmt.Errorf("%s: %w%s", name, err, c.logTail())
	}
	s.ready = time.Since(c.started)
	return s, nil
}

// stopJig sends SIGINT (what Ctrl-C does) and returns the time to exit.
func stopJig(s *server) (time.Duration, error) {
	return s.c.stop(syscall.SIGINT, time.Minute)
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// cell is one load case and its windows.
type cell struct {
	protocol string
	ndocs    int
	conc     int
	jina     []window
	jig      []window
}

// flowTimes are the start/stop figures of one system.
type flowTimes struct {
	ready, inner, stop, innerStop []time.Duration
}

type results struct {
	machine, versions string
	cells             []*cell
	jina10, jig10     flowTimes
	goexec            flowTimes
	goexecFirst       time.Duration
	goexecErr         string
	bodyNote          string
	opts              *options
}

func run(ctx context.Context, o *options, py []string) error {
	if err := os.MkdirAll(o.workDir, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(jinaScript); err != nil {
		return fmt.Errorf("%s: %w (run from the repository root: make bench-jina)", jinaScript, err)
	}
	if _, err := os.Stat(o.jig); err != nil {
		return fmt.Errorf("jig binary %s: %w (make build)", o.jig, err)
	}
	res := &results{machine: machine(), opts: o}
	progress("machine: %s", res.machine)
	v, err := jinaVersion(ctx, py)
	if err != nil {
		return err
	}
	res.versions = v
	progress("%s; logs in %s", v, o.workDir)

	if err := loadCases(ctx, o, py, res); err != nil {
		return err
	}
	if !o.skipFlows {
		if err := flowCases(ctx, o, py, res); err != nil {
			return err
		}
	}
	if !o.skipGoExe {
		if err := goExecCase(ctx, o, res); err != nil {
			// The comparison above stands; say what failed here.
			res.goexecErr = err.Error()
			progress("user Go executor row: %v", err)
		}
	}
	printTable(os.Stdout, res)
	return nil
}

// loadCases runs the throughput table: one echo executor in each system.
func loadCases(ctx context.Context, o *options, py []string, res *results) error {
	progress("starting the 1-executor echo flows")
	js, err := startJina(ctx, o, py, "jina-echo1", 1)
	if err != nil {
		return err
	}
	defer js.c.kill()
	gs, err := startJig(ctx, o, "jig-echo1", []string{"builtin:Echo"}, benchEndpoint, time.Minute)
	if err != nil {
		return err
	}
	defer gs.c.kill()
	jt, err := newTarget("Jina", js.grpcAddr, js.httpAddr, js.c.cmd.Process.Pid)
	if err != nil {
		return err
	}
	defer jt.close()
	gt, err := newTarget("jig", gs.grpcAddr, gs.httpAddr, gs.c.cmd.Process.Pid)
	if err != nil {
		return err
	}
	defer gt.close()

	payloads := map[int]*payload{}
	for _, n := range []int{1, 100} {
		if payloads[n], err = newPayload(n); err != nil {
			return err
		}
	}
	for _, protocol := range strings.Split(o.protocols, ",") {
		if protocol != "grpc" && protocol != "http" {
			return fmt.Errorf("--protocols: want grpc and/or http, got %q", protocol)
		}
		if protocol == "http" {
			// The body Jina's own Client sends; if a server refuses it,
			// both get the minimal body instead and the table says why.
			for _, t := range []*target{jt, gt} {
				if err := t.verify(ctx, protocol, payloads[1]); err != nil && !minimalBody {
					res.bodyNote = strings.TrimSpace(err.Error())
					progress("HTTP: %s; both systems get {\"data\", \"parameters\"} instead", err)
					minimalBody = true
				}
			}
		}
		for _, n := range []int{1, 100} {
			for _, conc := range []int{1, 16} {
				c := &cell{protocol: protocol, ndocs: n, conc: conc}
				res.cells = append(res.cells, c)
				p := payloads[n]
				for _, t := range []*target{jt, gt} {
					if err := t.verify(ctx, protocol, p); err != nil {
						return err
					}
					t.load(ctx, protocol, p, conc, o.warmup)
				}
				for r := range o.rounds {
					order := []*target{jt, gt}
					if r%2 == 1 {
						order = []*target{gt, jt}
					}
					for _, t := range order {
						w := t.load(ctx, protocol, p, conc, o.duration)
						if ctx.Err() != nil {
							return ctx.Err()
						}
						if w.n == 0 {
							return fmt.Errorf("%s %s %d docs ×%d: no request succeeded: %v", t.name, protocol, n, conc, w.firstErr)
						}
						if t == jt {
							c.jina = append(c.jina, w)
						} else {
							c.jig = append(c.jig, w)
						}
					}
				}
				progress("%-4s %3d docs %2d in flight: Jina %7.1f req/s, jig %8.1f req/s", protocol, n, conc, medianRPS(c.jina), medianRPS(c.jig))
			}
		}
	}
	if _, _, err := stopJina(js); err != nil {
		return err
	}
	if _, err := stopJig(gs); err != nil {
		return err
	}
	return nil
}

// flowCases starts and stops a 10-executor flow in each system, alternating.
func flowCases(ctx context.Context, o *options, py []string, res *results) error {
	const n = 10
	for r := range o.flowRuns {
		progress("10-executor flows, run %d/%d", r+1, o.flowRuns)
		jinaFirst := r%2 == 0
		for k := range 2 {
			if (k == 0) == jinaFirst {
				s, err := startJina(ctx, o, py, fmt.Sprintf("jina-echo10-%d", r), n)
				if err != nil {
					return err
				}
				total, inner, err := stopJina(s)
				if err != nil {
					return err
				}
				res.jina10.add(s, total, inner)
			} else {
				s, err := startJig(ctx, o, fmt.Sprintf("jig-echo10-%d", r), repeat("builtin:Echo", n), benchEndpoint, time.Minute)
				if err != nil {
					return err
				}
				total, err := stopJig(s)
				if err != nil {
					return err
				}
				res.jig10.add(s, total, 0)
			}
		}
	}
	return nil
}

func (f *flowTimes) add(s *server, stop, innerStop time.Duration) {
	f.ready = append(f.ready, s.ready)
	f.inner = append(f.inner, s.inner)
	f.stop = append(f.stop, stop)
	f.innerStop = append(f.innerStop, innerStop)
}

// goExecCase times 10 deployments of one scaffolded Go executor (`jig new`
// output, sources unchanged between runs) until the flow answers.
func goExecCase(ctx context.Context, o *options, res *results) error {
	dir, err := filepath.Abs(filepath.Join(o.workDir, "goexec"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		root, err := os.Getwd()
		if err != nil {
			return err
		}
		progress("scaffolding a Go executor in %s (jig new)", dir)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		out, err := exec.CommandContext(cctx, o.jig, "new", "--yes", "--name", "BenchEcho", "--path", dir, "--dockerfile", "none", "--jig-path", root, "--no-tidy").CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("jig new: %v: %s", err, out)
		}
	}
	uses := repeat(dir, 10)
	// The first start may build (a cold build cache, a changed jig): it is
	// reported on its own, the runs after it are the "unchanged sources" case.
	for r := range o.goRuns + 1 {
		progress("10 × user Go executor in jig, run %d/%d%s", r, o.goRuns, map[bool]string{true: " (unmeasured first start)", false: ""}[r == 0])
		s, err := startJig(ctx, o, fmt.Sprintf("jig-goexec10-%d", r), uses, "/default", 5*time.Minute)
		if err != nil {
			return err
		}
		total, err := stopJig(s)
		if err != nil {
			return err
		}
		if r == 0 {
			res.goexecFirst = s.ready
			continue
		}
		res.goexec.add(s, total, 0)
	}
	return nil
}
