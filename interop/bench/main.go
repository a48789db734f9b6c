// Command bench-jina measures jig against real Jina 3.20.2 on this machine,
// in one run, with one client (`make bench-jina`; docs/ARCHITECTURE.md
// "Quality bars", issues 22 and 24).
//
// It starts the same echo flow in both — Jina: a Flow of Python echo
// Executors (interop/bench/jina_flow.py) with a gRPC and an HTTP gateway;
// jig: `jig up` of builtin:Echo deployments — on 127.0.0.1, and drives
// both from this process, alternating Jina and jig window by window
// (A,B then B,A), with real DataRequestProto messages
// (JinaSingleDataRequestRPC/process_single_data) and Jina-shaped JSON
// bodies (POST /bench). It prints requests/s, p50 and jig/Jina for 1- and
// 100-document requests over gRPC and HTTP at 1 and 16 in flight, then
// start and stop times of a 10-executor flow in both and the ready time of
// 10 deployments of one user Go executor in jig against 10 Python
// executors in Jina.
//
// Every server runs in its own process group, killed on every exit path
// (error, timeout, SIGINT/SIGTERM). Without Jina it says so and exits 0.
package main

import (
	"github.com/jig-dev/jig/internal/gcfloor"

	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

type options struct {
	jig       string
	harness   string
	py        string
	rounds    int
	flowRuns  int
	goRuns    int
	duration  time.Duration
	warmup    time.Duration
	timeout   time.Duration
	workDir   string
	skipGoExe bool
	protocols string
	skipFlows bool
	drive     string
	drivePG   int
	cpuprof   string
}

func main() {
	var o options
	flag.StringVar(&o.jig, "jig", "bin/jig", "the jig binary (it runs jig up for the jig flows)")
	flag.StringVar(&o.harness, "harness", os.Getenv("JINA_HARNESS"), "Jina interop harness (a folder with env.sh); default $JINA_HARNESS, else ../shared/interop from the repository root when present")
	flag.StringVar(&o.py, "py", os.Getenv("JINA_PY"), "Python with jina==3.20.2 installed (used when there is no harness); default $JINA_PY")
	flag.IntVar(&o.rounds, "rounds", 3, "measured windows per system per case (medians are reported)")
	flag.IntVar(&o.flowRuns, "flow-runs", 3, "start/stop runs of the 10-executor flows per system")
	flag.IntVar(&o.goRuns, "go-runs", 2, "ready-time runs of 10 deployments of one user Go executor (after one unmeasured start that builds it)")
	flag.DurationVar(&o.duration, "duration", 2*time.Second, "length of one measured window")
	flag.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unmeasured load per system before each case")
	flag.DurationVar(&o.timeout, "timeout", 25*time.Minute, "bound on the whole run")
	flag.StringVar(&o.workDir, "dir", "bin/bench-jina", "folder for flow files, logs and the scaffolded Go executor")
	flag.BoolVar(&o.skipGoExe, "skip-go-executor", false, "skip the 10 × user Go executor row")
	flag.BoolVar(&o.skipFlows, "skip-flows", false, "measure requests only (no flow start/stop rows)")
	flag.BoolVar(&useCall, "call", false, "gRPC load over JinaRPC/Call (the stream Jina's Client uses by default) instead of process_single_data")
	flag.StringVar(&o.protocols, "protocols", "grpc,http", "protocols to measure: grpc, http or both")
	flag.StringVar(&o.drive, "drive", "", "GRPC_ADDR[,HTTP_ADDR]: only load an already running echo flow there with the same cases and client (no Jina), printing CPU per request; for profiling")
	flag.IntVar(&o.drivePG, "drive-pgid", 0, "with --drive: the server's process group, whose CPU is reported")
	docsFlag := flag.String("drive-docs", "1,100", "with --drive: documents per request, the cases to run")
	concFlag := flag.String("drive-conc", "1,16", "with --drive: requests in flight, the cases to run")
	flag.StringVar(&o.cpuprof, "cpuprofile", "", "write a CPU profile of this process (the client) to this file (go tool pprof)")
	flag.Parse()
	// The client's own garbage collections are CPU the servers measured
	// would otherwise get (the same client for both).
	gcfloor.Set()
	if o.rounds < 1 || o.flowRuns < 1 || o.goRuns < 1 || o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "bench-jina: --rounds, --flow-runs, --go-runs and --duration must be positive")
		os.Exit(2)
	}

	if o.skipFlows {
		o.skipGoExe = true
	}
	if o.cpuprof != "" {
		stopProf, err := startCPUProfile(o.cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-jina:", err)
			os.Exit(1)
		}
		defer stopProf()
	}
	if o.drive != "" {
		var err1, err2 error
		driveDocs, err1 = intList(*docsFlag)
		driveConc, err2 = intList(*concFlag)
		if err := errors.Join(err1, err2); err != nil {
			fmt.Fprintln(os.Stderr, "bench-jina: --drive-docs/--drive-conc:", err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := drive(ctx, os.Stdout, &o, o.drive, o.drivePG); err != nil {
			fmt.Fprintln(os.Stderr, "bench-jina:", err)
			os.Exit(1)
		}
		return
	}
	py, err := findJina(&o)
	if errors.Is(err, errNoJina) {
		fmt.Println("bench-jina: real Jina 3.20.2 not found (set JINA_HARNESS to the interop harness folder, or JINA_PY to a Python with jina==3.20.2): skipped")
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-jina:", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	// Whatever ends the run, no server outlives it.
	defer killAll()
	go func() {
		<-ctx.Done()
		killAll()
	}()

	err = run(ctx, &o, py)
	killAll()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (run ended: %v)", err, context.Cause(ctx))
		}
		fmt.Fprintln(os.Stderr, "bench-jina:", err)
		os.Exit(1)
	}
}

// findJina resolves how to run Python with Jina: through the harness's
// env.sh, or a plain interpreter with jina installed. It returns the argv
// prefix that runs a script.
func findJina(o *options) ([]string, error) {
	if o.harness == "" {
		root, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		// The repository's sibling (a main checkout next to shared/), or,
		// for a worktree one level deeper, the parent's sibling.
		for _, c := range []string{"../shared/interop", "../../shared/interop"} {
			p := filepath.Join(root, c)
			if _, err := os.Stat(filepath.Join(p, "env.sh")); err == nil {
				o.harness = p
				break
			}
		}
	}
	if o.harness != "" {
		h, err := filepath.Abs(o.harness)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(h, "env.sh")); err != nil {
			return nil, fmt.Errorf("JINA_HARNESS=%s: no env.sh there", o.harness)
		}
		o.harness = h
		// env.sh sets PYTHONPATH and JINA_PY; exec keeps the pid (and so
		// the process group) of the Python process.
		return []string{"bash", "-c", `. "$0/env.sh" && exec "$JINA_PY" "$@"`, h}, nil
	}
	if o.py != "" {
		return []string{o.py}, nil
	}
	return nil, errNoJina
}

// loadAvg is the 1, 5 and 15 minute load averages.
func loadAvg() string {
	load, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(load))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// machine describes the host for the table.
func machine() string {
	la := loadAvg()
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	if model == "" {
		model = runtime.GOARCH
	}
	return fmt.Sprintf("nproc %d, load average at start %s, %s, %s/%s", runtime.NumCPU(), la, model, runtime.GOOS, runtime.GOARCH)
}

// freePort returns a port that was free on 127.0.0.1 a moment ago (the
// servers are separate processes, so they cannot be handed a listener).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench-jina: "+format+"\n", a...)
}

// jinaVersion checks that the Python found runs Jina 3.20.2.
func jinaVersion(ctx context.Context, py []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	argv := append(append([]string{}, py...), "-c", "import jina, docarray; print(jina.__version__, docarray.__version__)")
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("import jina: %v: %s", err, strings.TrimSpace(string(out)))
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return "", fmt.Errorf("import jina: unexpected output %q", out)
	}
	if f[0] != "3.20.2" {
		return "", fmt.Errorf("found jina %s, the comparison is with 3.20.2", f[0])
	}
	return "jina " + f[0] + ", docarray " + f[1], nil
}
