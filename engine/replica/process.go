package replica

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/executors/workercmd"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ProcessSpec describes a child-process replica: an executor binary (a
// user executor's main, or `jig executor`) started with the worker flags.
type ProcessSpec struct {
	Common
	// Binary and Args run the worker; Args must not contain --host/--port,
	// which the runner adds (the port is kept across restarts, so
	// connections to the replica stay valid).
	Binary string
	Args   []string
	// Env is added to the engine's environment; Dir is the working folder.
	Env []string
	Dir string
	// Host and Port to listen on (Port 0: the child picks one).
	Host string
	Port int
	// MaxMessageSize bounds request sizes (worker default when 0).
	MaxMessageSize int
	// Output receives the child's log lines as events.
	Output func(events.Log)
	// Locate, when set, rewrites the child's reason for exiting: a config
	// error the child reports against the flag text it was given
	// (--uses-with:1:11: prefix: ...) becomes one located in the flow file
	// the flag came from. ok says it did, and the error then reads like a
	// built-in executor's.
	Locate func(reason string) (located string, ok bool)
	// GracePeriod is how long a stopping child may drain before SIGKILL.
	GracePeriod time.Duration
}

// ProcessRunner supervises a child-process replica.
type ProcessRunner struct {
	*tracker
	spec ProcessSpec

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the current child has exited
	conn     *GRPCConn
	port     int
	stopping bool
	killed   bool // the last exit was asked for by Kill
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the monitor goroutine
}

var _ Runner = (*ProcessRunner)(nil)

// NewProcess returns an unstarted child-process replica.
func NewProcess(spec ProcessSpec) *ProcessRunner {
	if spec.Host == "" {
		spec.Host = "127.0.0.1"
	}
	if spec.GracePeriod <= 0 {
		spec.GracePeriod = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &ProcessRunner{tracker: newTracker(spec.Common, Process), spec: spec, port: spec.Port, ctx: ctx, cancel: cancel}
}

// Start implements Runner: it launches the child, waits for its ready line
// and for health SERVING, then watches it (restarting it when it dies).
func (r *ProcessRunner) Start(ctx context.Context) error {
	if err := r.spawn(ctx); err != nil {
		r.set(events.Failed, err.Error())
		return err
	}
	return nil
}

func (r *ProcessRunner) spawn(ctx context.Context) error {
	r.set(events.Starting, "")
	args := append([]string(nil), r.spec.Args...)
	args = append(args, "--host", r.spec.Host, "--port", strconv.Itoa(r.port), "--log-format", "json")
	cmd := exec.Command(r.spec.Binary, args...)
	cmd.Dir = r.spec.Dir
	cmd.Env = append(os.Environ(), r.spec.Env...)
	cmd.Env = append(cmd.Env, authEnv(r.spec.AuthToken), workerflags.AuthTokenFileEnv+"=") // never in argv; no inherited token file
	// Own process group so signals reach the child only; the parent-death
	// signal makes the kernel kill the child if the engine dies abruptly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start %s: %w", r, r.spec.Binary, err)
	}
	exited := make(chan struct{})
	readyc := make(chan string, 1)
	tail := &stderrTail{}
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() { defer pipes.Done(); r.readStdout(stdout, readyc) }()
	go func() { defer pipes.Done(); r.readStderr(stderr, tail) }()
	var waitErr error
	go func() {
		pipes.Wait() // Wait must follow the pipe readers (os/exec's rule)
		waitErr = cmd.Wait()
		close(exited)
	}()
	r.mu.Lock()
	r.cmd, r.exited, r.killed = cmd, exited, false
	r.mu.Unlock()
	r.update(func(i *Info) { i.PID = cmd.Process.Pid })

	var addr string
	select {
	case addr = <-readyc:
	case <-exited:
		var ee *exec.ExitError
		errors.As(waitErr, &ee)
		return newExitError(r.String(), "exited before serving", ee, waitErr, tail).locate(r.spec.Locate)
	case <-ctx.Done():
		r.terminate(0)
		return fmt.Errorf("%s: not ready: %w", r, ctx.Err())
	}
	r.mu.Lock()
	if r.conn == nil || r.conn.Addr() != addr {
		if r.conn != nil {
			r.conn.Close()
		}
		if r.conn, err = DialGRPC(addr, r.spec.MaxMessageSize, nil, authDial(r.spec.AuthToken)...); err != nil {
			r.mu.Unlock()
			r.terminate(0)
			return err
		}
	}
	conn := r.conn
	if _, port, err := splitPort(addr); err == nil {
		r.port = port
	}
	r.mu.Unlock()
	conn.Reconnect()
	if err := conn.WaitHealthy(ctx); err != nil {
		r.terminate(0)
		return err
	}
	r.update(func(i *Info) { i.Address = addr })
	r.set(events.Ready, "")
	r.wg.Add(1)
	go r.monitor(cmd, exited, tail)
	return nil
}

func splitPort(addr string) (string, int, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", 0, errors.New("no port")
	}
	p, err := strconv.Atoi(addr[i+1:])
	return addr[:i], p, err
}

// monitor waits for the child to exit and restarts it unless stopping.
func (r *ProcessRunner) monitor(cmd *exec.Cmd, exited chan struct{}, tail *stderrTail) {
	defer r.wg.Done()
	<-exited
	r.mu.Lock()
	stopping, killed := r.stopping, r.killed
	r.mu.Unlock()
	if stopping {
		return
	}
	reason := "exited: " + cmd.ProcessState.String()
	// A serving child's last lines are ordinary logs: only a panic or an
	// error says why it died.
	if why, _ := tail.reason(false); why != "" {
		reason += ": " + why
	}
	if killed {
		reason = "killed"
	}
	r.c.Logger.Warn("replica died; restarting", "replica", r.String(), "reason", reason)
	r.set(events.Failed, reason)
	for attempt := 1; ; attempt++ {
		var n int
		r.update(func(i *Info) { i.Restarts++; n = i.Restarts })
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(r.backoff(n)):
		}
		if err := r.spawn(r.ctx); err != nil {
			if r.ctx.Err() != nil {
				return
			}
			r.set(events.Failed, err.Error())
			r.c.Logger.Warn("replica restart failed", "replica", r.String(), "attempt", attempt, "err", err)
			continue
		}
		return // spawn started a new monitor
	}
}

func (r *ProcessRunner) readStdout(rd io.Reader, readyc chan<- string) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		if !sent {
			if ready, ok := workercmd.ParseReady(line); ok {
				readyc <- ready.Address
				sent = true
				continue
			}
		}
		r.emit(slog.LevelInfo, line, nil)
	}
}

func (r *ProcessRunner) readStderr(rd io.Reader, tail *stderrTail) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		tail.add(line)
		if lvl, msg, attrs, ok := parseSlogJSON(line); ok {
			r.emit(lvl, msg, attrs)
			continue
		}
		lvl := slog.LevelInfo
		if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "error:") {
			lvl = slog.LevelError
		}
		r.emit(lvl, line, nil)
	}
}

func (r *ProcessRunner) emit(lvl slog.Level, msg string, attrs []events.Attr) {
	if r.spec.Output == nil {
		return
	}
	r.spec.Output(events.Log{Time: time.Now(), Source: r.c.Deployment + "/" + r.c.Name, Level: lvl, Message: msg, Attrs: attrs})
}

// parseSlogJSON reads a line written by slog's JSON handler.
func parseSlogJSON(line string) (slog.Level, string, []events.Attr, bool) {
	if !strings.HasPrefix(line, "{") {
		return 0, "", nil, false
	}
	var m map[string]any
	if json.Unmarshal([]byte(line), &m) != nil {
		return 0, "", nil, false
	}
	msg, _ := m["msg"].(string)
	var lvl slog.Level
	if s, ok := m["level"].(string); ok {
		_ = lvl.UnmarshalText([]byte(s))
	}
	var attrs []events.Attr
	for k, v := range m {
		switch k {
		case "time", "level", "msg":
			continue
		}
		attrs = append(attrs, events.Attr{Key: k, Value: fmt.Sprint(v)})
	}
	slices.SortFunc(attrs, func(a, b events.Attr) int { return strings.Compare(a.Key, b.Key) })
	return lvl, msg, attrs, true
}

// Conn implements Runner.
func (r *ProcessRunner) Conn() Conn { return processConn{r} }

type processConn struct{ r *ProcessRunner }

func (c processConn) get() (*GRPCConn, error) {
	c.r.mu.Lock()
	conn := c.r.conn
	c.r.mu.Unlock()
	if conn == nil || !c.r.Ready() {
		return nil, status.Errorf(codes.Unavailable, "%s is not running", c.r)
	}
	return conn, nil
}

func (c processConn) Process(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	conn, err := c.get()
	if err != nil {
		return nil, err
	}
	return conn.Process(ctx, req)
}

func (c processConn) Endpoints(ctx context.Context) (*jinapb.EndpointsProto, error) {
	conn, err := c.get()
	if err != nil {
		return nil, err
	}
	return conn.Endpoints(ctx)
}

// Kill implements Runner: SIGKILL, as a crash; the monitor restarts it.
func (r *ProcessRunner) Kill() error {
	r.mu.Lock()
	cmd := r.cmd
	if r.stopping || cmd == nil || cmd.Process == nil {
		r.mu.Unlock()
		return ErrStopped
	}
	r.killed = true
	r.mu.Unlock()
	r.set(events.Failed, "killed")
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// Signal sends sig to the child's process group (SIGSTOP/SIGCONT in fault
// tests).
func (r *ProcessRunner) Signal(sig syscall.Signal) error {
	r.mu.Lock()
	cmd := r.cmd
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return ErrStopped
	}
	return syscall.Kill(-cmd.Process.Pid, sig)
}

// terminate asks the child to stop (SIGTERM), waits up to grace, then
// kills it, and waits for it to exit.
func (r *ProcessRunner) terminate(grace time.Duration) {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	if grace > 0 {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
			return
		case <-time.After(grace):
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

// Restart stops the child gracefully and starts a new one on the same
// port.
func (r *ProcessRunner) Restart(ctx context.Context) error {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	r.set(events.Stopping, "restart")
	r.terminate(r.spec.GracePeriod)
	r.wg.Wait()
	r.mu.Lock()
	r.stopping = false
	r.mu.Unlock()
	return r.Start(ctx)
}

// Stop implements Runner.
func (r *ProcessRunner) Stop(ctx context.Context) error {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	r.cancel()
	r.set(events.Stopping, "")
	grace := r.spec.GracePeriod
	if dl, ok := ctx.Deadline(); ok {
		grace = min(grace, time.Until(dl))
	}
	r.terminate(max(grace, time.Millisecond))
	r.wg.Wait()
	r.mu.Lock()
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
	r.mu.Unlock()
	r.set(events.Stopped, "")
	return nil
}
