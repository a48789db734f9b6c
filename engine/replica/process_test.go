package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/yamlutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// logs collects a process replica's output events.
type logs struct {
	mu  sync.Mutex
	got []events.Log
}

func (l *logs) add(e events.Log) {
	l.mu.Lock()
	l.got = append(l.got, e)
	l.mu.Unlock()
}

func (l *logs) find(msg string) (events.Log, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.got {
		if e.Message == msg {
			return e, true
		}
	}
	return events.Log{}, false
}

func (l *logs) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.got {
		if e.Message == msg {
			n++
		}
	}
	return n
}

// helperSpec runs this test binary as a worker child process.
func helperSpec(t *testing.T, mode string, st *states, out *logs) ProcessSpec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return ProcessSpec{
		Common: common("rep-0", st),
		Binary: exe,
		Args:   []string{"--uses", "ReplicaEcho", "--name", "proc", "--grace-period", "1s"},
		// Under -race a child sleeps a second at exit unless told not to.
		Env:         []string{helperEnv + "=" + mode, "XDG_CACHE_HOME=" + t.TempDir(), "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")},
		Output:      out.add,
		GracePeriod: 2 * time.Second,
	}
}

func startProcess(t *testing.T, st *states, out *logs) *ProcessRunner {
	t.Helper()
	r := NewProcess(helperSpec(t, "worker", st, out))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Signal(syscall.SIGCONT) // in case a test left it paused
		r.Stop(context.Background())
	})
	return r
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestProcessReadyAndServes(t *testing.T) {
	st, out := &states{}, &logs{}
	r := startProcess(t, st, out)
	info := r.Info()
	if !r.Ready() || info.Kind != Process || info.PID == 0 || info.PID == os.Getpid() || !alive(info.PID) {
		t.Fatalf("info %+v", info)
	}
	if !strings.HasPrefix(info.Address, "127.0.0.1:") || portOf(t, info.Address) == 0 {
		t.Fatalf("address from the ready line: %q", info.Address)
	}
	if got, err := process(context.Background(), r.Conn()); err != nil || got != "hi>proc" {
		t.Fatalf("call: %q %v", got, err)
	}
	eps, err := r.Conn().Endpoints(context.Background())
	if err != nil || !slices.Contains(eps.GetEndpoints(), "/pid") {
		t.Fatalf("endpoints: %v %v", eps, err)
	}
	// The child's pid, from the child itself.
	req := request("x")
	req.Header.ExecEndpoint = strp("/pid")
	resp, err := r.Conn().Process(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	res := resp.GetParameters().AsMap()[executors.ResultsKey].(map[string]any)["proc"].(map[string]any)
	if int(res["pid"].(float64)) != info.PID {
		t.Fatalf("child pid %v, info %d", res["pid"], info.PID)
	}
	if got := st.list(); !slices.Equal(got, []events.State{events.Ready}) {
		t.Fatalf("states %v", got)
	}
}

func strp(s string) *string { return &s }

func TestProcessOutput(t *testing.T) {
	st, out := &states{}, &logs{}
	startProcess(t, st, out)
	// The worker's own JSON log line: level, message, attrs (no time,
	// level or msg among them), source of the replica.
	waitFor(t, "the serving log line", func() bool { _, ok := out.find("executor serving"); return ok })
	e, _ := out.find("executor serving")
	if e.Source != "dep/rep-0" || e.Level != slog.LevelInfo {
		t.Fatalf("serving line %+v", e)
	}
	attrs := map[string]string{}
	for _, a := range e.Attrs {
		attrs[a.Key] = a.Value
	}
	if attrs["executor"] != "proc" || attrs["jtype"] != "ReplicaEcho" || !strings.HasPrefix(attrs["address"], "127.0.0.1:") {
		t.Fatalf("attrs %v", e.Attrs)
	}
	for _, k := range []string{"time", "level", "msg"} {
		if _, has := attrs[k]; has {
			t.Fatalf("%s must not be an attribute: %v", k, e.Attrs)
		}
	}
	// A JSON warning with attributes (sorted by key).
	waitFor(t, "the warning", func() bool { _, ok := out.find("helper warning"); return ok })
	w, _ := out.find("helper warning")
	if w.Level != slog.LevelWarn || w.String() != "helper warning g=map[x:y] k=1 who=helper" {
		t.Fatalf("warning %+v (%s)", w, w.String())
	}
	// Lines that are not JSON are kept as they are.
	for msg, lvl := range map[string]slog.Level{
		"plain stderr line": slog.LevelInfo,
		"panic: not really": slog.LevelError,
		"{not json either":  slog.LevelInfo,
		"plain stdout line": slog.LevelInfo,
	} {
		waitFor(t, msg, func() bool { _, ok := out.find(msg); return ok })
		if e, _ := out.find(msg); e.Level != lvl || len(e.Attrs) != 0 || e.Source != "dep/rep-0" || e.Time.IsZero() {
			t.Fatalf("%q: %+v", msg, e)
		}
	}
	// The ready line itself is not a log line.
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, e := range out.got {
		if strings.Contains(e.Message, `"jig":"ready"`) {
			t.Fatalf("the ready line was logged: %+v", e)
		}
	}
}

func TestParseSlogJSON(t *testing.T) {
	lvl, msg, attrs, ok := parseSlogJSON(`{"time":"2026-01-01T00:00:00Z","level":"ERROR","msg":"boom","z":1,"a":"x","n":null}`)
	if !ok || lvl != slog.LevelError || msg != "boom" || len(attrs) != 3 || attrs[0].Key != "a" || attrs[2] != (events.Attr{Key: "z", Value: "1"}) {
		t.Fatalf("%v %q %v %v", lvl, msg, attrs, ok)
	}
	if lvl, _, _, ok := parseSlogJSON(`{"level":"DEBUG+2","msg":"m"}`); !ok || lvl != slog.LevelDebug+2 {
		t.Fatalf("level offsets: %v", lvl)
	}
	for _, line := range []string{"", "plain", "{", `["level"]`, `{"msg": "x"`} {
		if _, _, _, ok := parseSlogJSON(line); ok {
			t.Errorf("%q parsed as JSON log", line)
		}
	}
}

func TestProcessExitBeforeReady(t *testing.T) {
	st, out := &states{}, &logs{}
	r := NewProcess(helperSpec(t, "exit", st, out))
	defer r.Stop(context.Background())
	err := r.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exited before serving") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("err %v", err)
	}
	if r.Ready() || r.Info().State != events.Failed || r.Info().LastError != err.Error() {
		t.Fatalf("info %+v", r.Info())
	}
	waitFor(t, "the child's last words", func() bool { _, ok := out.find("error: cannot start"); return ok })
	if e, _ := out.find("error: cannot start"); e.Level != slog.LevelError {
		t.Fatalf("%+v", e)
	}
	if _, err := process(context.Background(), r.Conn()); status.Code(err) != codes.Unavailable {
		t.Fatalf("conn of a failed replica: %v", err)
	}
}

func TestProcessBadBinary(t *testing.T) {
	r := NewProcess(ProcessSpec{Common: common("rep-0", &states{}), Binary: "/nonexistent/executor"})
	defer r.Stop(context.Background())
	if err := r.Start(context.Background()); err == nil || r.Info().State != events.Failed {
		t.Fatalf("err %v", err)
	}
}

func TestProcessStartContextEnds(t *testing.T) {
	// A child that never prints its ready line: `sleep`, killed when the
	// start context ends.
	r := NewProcess(ProcessSpec{Common: common("rep-0", &states{}), Binary: "/bin/sh", Args: []string{"-c", "exec sleep 60", "sh"}})
	defer r.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := r.Start(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if pid := r.Info().PID; pid == 0 || alive(pid) {
		t.Fatalf("the child %d must be gone", pid)
	}
}

func TestProcessKillRestarts(t *testing.T) {
	st, out := &states{}, &logs{}
	r := startProcess(t, st, out)
	old := r.Info()
	st.reset()
	if err := r.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the old child to die", func() bool { return !alive(old.PID) })
	waitFor(t, "restart", func() bool { return r.Ready() && r.Info().PID != old.PID })
	info := r.Info()
	if info.Restarts != 1 || info.Address != old.Address || !alive(info.PID) {
		t.Fatalf("after restart %+v (before %+v)", info, old)
	}
	if got, err := process(context.Background(), r.Conn()); err != nil || got != "hi>proc" {
		t.Fatalf("after restart: %q %v", got, err)
	}
	got := st.list()
	if len(got) < 3 || got[0] != events.Failed || got[len(got)-2] != events.Starting || got[len(got)-1] != events.Ready {
		t.Fatalf("states %v", got)
	}
	if st.got[0].LastError != "killed" {
		t.Fatalf("reason %q", st.got[0].LastError)
	}
	// The child logs "executor serving" on stderr after its ready line, so
	// the line may trail the Ready state.
	waitFor(t, "a serving line per child", func() bool { return out.count("executor serving") == 2 })
}

func TestProcessRestart(t *testing.T) {
	st, out := &states{}, &logs{}
	r := startProcess(t, st, out)
	old := r.Info()
	st.reset()
	if err := r.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	info := r.Info()
	if !r.Ready() || info.PID == old.PID || alive(old.PID) || info.Address != old.Address || info.Restarts != 0 {
		t.Fatalf("after Restart %+v (before %+v)", info, old)
	}
	if got := st.list(); !slices.Equal(got, []events.State{events.Stopping, events.Starting, events.Ready}) {
		t.Fatalf("states %v", got)
	}
	// A graceful stop: the worker logged its shutdown.
	if _, ok := out.find("executor stopping"); !ok {
		t.Fatal("the child was not stopped gracefully")
	}
}

func TestProcessStop(t *testing.T) {
	st, out := &states{}, &logs{}
	r := NewProcess(helperSpec(t, "worker", st, out))
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pid := r.Info().PID
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("child %d still running after Stop", pid)
	}
	if r.Ready() || r.Info().State != events.Stopped {
		t.Fatalf("info %+v", r.Info())
	}
	if got := st.list(); !slices.Equal(got, []events.State{events.Ready, events.Stopping, events.Stopped}) {
		t.Fatalf("states %v", got)
	}
	if _, ok := out.find("executor stopping"); !ok {
		t.Fatal("Stop must let the child shut down gracefully (SIGTERM)")
	}
	if err := r.Kill(); !errors.Is(err, ErrStopped) {
		t.Fatalf("Kill after Stop: %v", err)
	}
	if _, err := process(context.Background(), r.Conn()); status.Code(err) != codes.Unavailable {
		t.Fatalf("conn after Stop: %v", err)
	}
}

func TestProcessStopKillsAfterGrace(t *testing.T) {
	st, out := &states{}, &logs{}
	spec := helperSpec(t, "worker", st, out)
	spec.GracePeriod = 100 * time.Millisecond
	r := NewProcess(spec)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pid := r.Info().PID
	// A paused child cannot handle SIGTERM: Stop must SIGKILL it after
	// the grace period.
	if err := r.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r.Stop(context.Background())
	if alive(pid) {
		t.Fatalf("child %d survived Stop", pid)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Stop took %v with a grace of 100ms", d)
	}
}

func TestProcessSignalPauseResume(t *testing.T) {
	st, out := &states{}, &logs{}
	r := startProcess(t, st, out)
	if err := r.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// kill(2) only queues the signal: wait until the kernel shows the
	// child stopped ("T" in /proc/PID/stat) before asking it anything.
	waitFor(t, "the child to stop", func() bool { return procState(r.Info().PID) == 'T' })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := process(ctx, r.Conn())
	cancel()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("a paused child must not answer: %v", err)
	}
	if err := r.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, err := process(ctx, r.Conn()); err != nil || got != "hi>proc" {
		t.Fatalf("after SIGCONT: %q %v", got, err)
	}
	if r.Info().Restarts != 0 || !r.Ready() {
		t.Fatal("a paused child is not a crash")
	}
	if err := (&ProcessRunner{}).Signal(syscall.SIGCONT); !errors.Is(err, ErrStopped) {
		t.Fatalf("Signal before Start: %v", err)
	}
}

// procState returns the state letter of a process from /proc/PID/stat.
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// A child that panics before serving: the error (and the Failed event)
// carries the panic, and it is not bad input although Go exits 2.
func TestProcessPanicReasonInError(t *testing.T) {
	st, out := &states{}, &logs{}
	r := NewProcess(helperSpec(t, "panic", st, out))
	defer r.Stop(context.Background())
	err := r.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exit status 2") || !strings.Contains(err.Error(), "panic: assignment to entry in nil map") {
		t.Fatalf("the error hides the panic: %v", err)
	}
	if errors.Is(err, yamlutil.ErrBadInput) {
		t.Errorf("a panic counts as bad input: %v", err)
	}
	if r.Info().LastError != err.Error() {
		t.Errorf("the Failed event's reason %q is not the error", r.Info().LastError)
	}
}

// The real worker rejecting its config: the error names the file, line
// and field, and is bad input (so `jig up` exits 2).
func TestProcessBadConfigIsBadInput(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(cfg, []byte("jtype: ReplicaEcho\nwith:\n  nosuch: 1\nbogus: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := helperSpec(t, "badconfig", &states{}, &logs{})
	spec.Env = append(spec.Env, "JIG_REPLICA_TEST_CONFIG="+cfg)
	r := NewProcess(spec)
	defer r.Stop(context.Background())
	err := r.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), cfg+":4") || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("the error does not name file:line:field: %v", err)
	}
	if !errors.Is(err, yamlutil.ErrBadInput) {
		t.Errorf("a config error is not bad input: %v", err)
	}
}
