//go:build chaos

package consensus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/executors/workercmd"
	"github.com/jig-dev/jig/executors/workerraft"
	"github.com/jig-dev/jig/internal/waitfor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// Chaos tests (`make chaos`, build tag chaos): RAFT replicas run as real
// child processes (this test binary re-executed as a worker serving the
// KV test executor with --raft-*), so faults are real: SIGKILL, SIGSTOP /
// SIGCONT, a whole-cluster kill and restart, a follower whose folder is
// deleted. Concurrent clients record a history that porcupine must find
// linearizable (linearizability_test.go).

// chaosWorkerEnv makes the test binary act as a worker process.
const chaosWorkerEnv = "JIG_CONSENSUS_CHAOS_WORKER"

func init() {
	// Runs before TestMain: the KV executors are registered by the
	// consensus package's test files, which are initialised first.
	if os.Getenv(chaosWorkerEnv) == "1" {
		workercmd.EnableRaft(workerraft.Start)
		os.Exit(workercmd.MainArgs(os.Args[1:], os.Stdout, os.Stderr))
	}
}

// freeLoopbackPort asks the kernel for a free 127.0.0.1 port (as the
// engine does for stateful replicas): every member's addresses must be in
// --raft-peers before any member starts.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type procReplica struct {
	id   string
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited

	mu     sync.Mutex
	stderr []string // the last stderrLines lines
	seen   map[string]bool
}

const stderrLines = 40

// noteStderr keeps a line of the member's stderr.
func (r *procReplica) noteStderr(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stderr = append(r.stderr, line)
	if len(r.stderr) > stderrLines {
		r.stderr = r.stderr[len(r.stderr)-stderrLines:]
	}
	for k := range r.seen {
		if !r.seen[k] && strings.Contains(line, k) {
			r.seen[k] = true
		}
	}
}

// watch starts looking for a substring in the member's stderr; saw says
// whether a line since then had it.
func (r *procReplica) watch(sub string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[sub] = false
}

func (r *procReplica) saw(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[sub]
}

func (r *procReplica) stderrTail() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.stderr, "\n")
}

// procCluster is a RAFT cluster of child processes on loopback.
type procCluster struct {
	t     *testing.T
	base  string
	peers []consensus.Peer
	conns map[string]*grpc.ClientConn // one per member, kept across restarts

	mu    sync.Mutex
	procs map[string]*procReplica

	// exeArgs select the executor and read consistency of every member
	// (default: the KV test executor, leader reads).
	exeArgs []string
}

var kvArgs = []string{"--uses", "ConsensusTestKV", "--name", "kv", "--read-consistency", "leader"}

func newProcCluster(t *testing.T, n int) *procCluster {
	t.Helper()
	return newProcClusterOf(t, n, kvArgs)
}

// newProcClusterOf starts n members serving the executor exeArgs name.
func newProcClusterOf(t *testing.T, n int, exeArgs []string) *procCluster {
	t.Helper()
	c := &procCluster{t: t, base: t.TempDir(), conns: map[string]*grpc.ClientConn{}, procs: map[string]*procReplica{}, exeArgs: exeArgs}
	for i := range n {
		p := consensus.Peer{ID: strconv.Itoa(i),
			RaftAddr:   "127.0.0.1:" + strconv.Itoa(freeLoopbackPort(t)),
			WorkerAddr: "127.0.0.1:" + strconv.Itoa(freeLoopbackPort(t))}
		c.peers = append(c.peers, p)
		// Reconnect quickly after a restart (grpc-go backs off up to 2m).
		cc, err := grpc.NewClient(p.WorkerAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.5, MaxDelay: 200 * time.Millisecond}, MinConnectTimeout: time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		c.conns[p.ID] = cc
	}
	t.Cleanup(func() {
		for _, p := range c.peers {
			c.kill(p.ID)
		}
		for _, cc := range c.conns {
			cc.Close()
		}
	})
	var wg sync.WaitGroup
	for _, p := range c.peers {
		wg.Add(1)
		go func() { defer wg.Done(); c.start(p.ID) }()
	}
	wg.Wait()
	return c
}

func (c *procCluster) peer(id string) consensus.Peer {
	for _, p := range c.peers {
		if p.ID == id {
			return p
		}
	}
	c.t.Fatalf("no member %s", id)
	return consensus.Peer{}
}

// start runs member id and waits for its ready line.
func (c *procCluster) start(id string) {
	t := c.t
	p := c.peer(id)
	peers, _ := json.Marshal(c.peers)
	dir := filepath.Join(c.base, "raft", id)
	_, port, _ := net.SplitHostPort(p.WorkerAddr)
	args := append([]string{"--host", "127.0.0.1", "--port", port,
		"--replicas", strconv.Itoa(len(c.peers)), "--replica-id", id,
		"--raft-id", id, "--raft-dir", dir, "--raft-addr", p.RaftAddr, "--raft-peers", string(peers),
		"--log-format", "json", "--grace-period", "1s"}, c.exeArgs...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), chaosWorkerEnv+"=1")
	// Own process group, so SIGSTOP/SIGKILL reach only the child; the
	// kernel kills it if the test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Error(err)
		return
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Error(err)
		return
	}
	var echo io.Writer = io.Discard
	if os.Getenv("JIG_TEST_RAFT_LOG") != "" {
		echo = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Errorf("start member %s: %v", id, err)
		return
	}
	r := &procReplica{id: id, dir: dir, cmd: cmd, done: make(chan struct{}), seen: map[string]bool{}}
	ready := make(chan workercmd.Ready, 1)
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			r.noteStderr(sc.Text())
			fmt.Fprintln(echo, id+": "+sc.Text())
		}
	}()
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rd, ok := workercmd.ParseReady(sc.Text()); ok {
				ready <- rd
			}
		}
	}()
	go func() {
		pipes.Wait() // os/exec: Wait after the pipe readers
		cmd.Wait()
		close(r.done)
	}()
	c.mu.Lock()
	c.procs[id] = r
	c.mu.Unlock()
	select {
	case rd := <-ready:
		if rd.Address != p.WorkerAddr {
			t.Errorf("member %s serves %s, want %s", id, rd.Address, p.WorkerAddr)
		}
	case <-r.done:
		t.Errorf("member %s exited before serving: %v; stderr:\n%s", id, cmd.ProcessState, r.stderrTail())
	case <-time.After(30 * time.Second):
		t.Errorf("member %s not ready within 30s", id)
	}
}

func (c *procCluster) proc(id string) *procReplica {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[id]
}

// signal sends sig to member id's process group.
func (c *procCluster) signal(id string, sig syscall.Signal) {
	if r := c.proc(id); r != nil {
		if err := syscall.Kill(-r.cmd.Process.Pid, sig); err != nil {
			c.t.Errorf("signal %v to member %s: %v", sig, id, err)
		}
	}
}

// kill ends member id with SIGKILL (after SIGCONT, in case it is paused)
// and waits for it to exit.
func (c *procCluster) kill(id string) {
	r := c.proc(id)
	if r == nil {
		return
	}
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.done
	c.mu.Lock()
	delete(c.procs, id)
	c.mu.Unlock()
}

// stop ends member id gracefully (SIGTERM, as a clean stop of the flow),
// with SIGKILL after 10s.
func (c *procCluster) stop(id string) {
	r := c.proc(id)
	if r == nil {
		return
	}
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		c.t.Errorf("member %s did not stop within 10s of SIGTERM", id)
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
	c.mu.Lock()
	delete(c.procs, id)
	c.mu.Unlock()
}

// stats asks member id for its RAFT stats (bounded: a paused member does
// not answer).
func (c *procCluster) stats(id string) (consensus.Stats, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	return consensus.NewAdminClient(c.conns[id]).Stats(ctx)
}

// leader waits until one of the members in among reports itself leader.
func (c *procCluster) leader(among ...string) string {
	c.t.Helper()
	if len(among) == 0 {
		for _, p := range c.peers {
			among = append(among, p.ID)
		}
	}
	return waitfor.Value(c.t, fmt.Sprintf("a leader among %v", among), 30*time.Second, func() (string, bool) {
		for _, id := range among {
			if s, err := c.stats(id); err == nil && s.State == "Leader" {
				return id, true
			}
		}
		return "", false
	})
}

func (c *procCluster) others(id string) []string {
	var out []string
	for _, p := range c.peers {
		if p.ID != id {
			out = append(out, p.ID)
		}
	}
	return out
}

// procState returns the state letter of a process ("T" when stopped).
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' && i+2 < len(b) {
			return b[i+2]
		}
	}
	return 0
}

// TestChaosRaftLinearizable runs each fault against a fresh three-process
// cluster under a concurrent put/get workload through every member and
// checks the history with porcupine.
func TestChaosRaftLinearizable(t *testing.T) {
	faults := []struct {
		name string
		run  func(t *testing.T, c *procCluster, w *workload)
	}{
		{"kill -9 the leader", func(t *testing.T, c *procCluster, w *workload) {
			old := c.leader()
			c.kill(old)
			c.leader(c.others(old)...)
			w.waitAcked(t, 30)
			c.start(old)
			w.waitAcked(t, 30)
		}},
		{"SIGSTOP the leader", func(t *testing.T, c *procCluster, w *workload) {
			old := c.leader()
			c.signal(old, syscall.SIGSTOP)
			pid := c.proc(old).cmd.Process.Pid
			waitfor.True(t, "the leader to stop", 10*time.Second, func() bool { return procState(pid) == 'T' })
			// The others elect a leader and keep serving while the old
			// one is frozen, believing it still leads.
			// (Clients that picked the frozen member wait out their
			// timeout, so progress is slower here.)
			c.leader(c.others(old)...)
			w.waitAcked(t, 10)
			c.signal(old, syscall.SIGCONT)
			w.waitAcked(t, 30)
		}},
		{"the crash history of issue 17 three times", func(t *testing.T, c *procCluster, w *workload) {
			// Pause the leader 6s, resume it (it clears its log suffix),
			// kill -9 it, start it, restart the whole cluster cleanly.
			for range 3 {
				old, _ := pauseLeader(t, c, 6*time.Second)
				c.kill(old)
				c.start(old)
				w.waitAcked(t, 10)
				c.restartAll()
				c.leader()
				w.waitAcked(t, 20)
			}
		}},
		{"restart the whole cluster", func(t *testing.T, c *procCluster, w *workload) {
			for _, p := range c.peers {
				c.kill(p.ID)
			}
			var wg sync.WaitGroup
			for _, p := range c.peers {
				wg.Add(1)
				go func() { defer wg.Done(); c.start(p.ID) }()
			}
			wg.Wait()
			c.leader()
			w.waitAcked(t, 30)
		}},
		{"wipe a follower, then kill the leader", func(t *testing.T, c *procCluster, w *workload) {
			l := c.leader()
			f := c.others(l)[0]
			dir := c.proc(f).dir
			c.kill(f)
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			w.waitAcked(t, 20)
			c.start(f)
			// Wait until the wiped member has caught up with the leader's
			// commit index, then kill the leader: the wiped member's
			// data is now needed for a quorum.
			waitfor.Value(t, "the wiped member to catch up with the leader", 30*time.Second, func() (string, bool) {
				fs, err1 := c.stats(f)
				ls, err2 := c.stats(l)
				ok := err1 == nil && err2 == nil && fs.AppliedIndex > 0 && fs.AppliedIndex+5 >= ls.CommitIndex
				return fmt.Sprintf("member %+v (%v) / leader %+v (%v)", fs, err1, ls, err2), ok
			})
			c.kill(l)
			c.leader(c.others(l)...)
			w.waitAcked(t, 30)
			c.start(l)
			w.waitAcked(t, 20)
		}},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			c := newProcCluster(t, 3)
			c.leader()
			h := newHistory()
			w := newWorkload(h, 4, []string{"x", "y", "z"}, 2*time.Second, func(i int) (*grpc.ClientConn, string) {
				p := c.peers[i%len(c.peers)]
				return c.conns[p.ID], p.ID
			})
			w.start()
			defer w.halt()
			w.waitAcked(t, 30)
			fault.run(t, c, w)
			w.halt()
			w.finalReads(t, len(c.peers))
			h.check(t)
		})
	}
}
