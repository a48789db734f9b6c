package worker_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// counter is a deterministic stateful executor: @write /add adds the
// number of documents to its count, /count answers with it.
type counter struct {
	executors.Base
	mu sync.Mutex
	n  int
}

func (c *counter) Endpoints(r *executors.Router) {
	r.Write("/add", c.Add)
	r.On("/count", c.Count)
}

func (c *counter) Add(_ context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += len(docs)
	return nil, nil
}

func (c *counter) Count(context.Context, docarray.DocList, executors.Params) (docarray.DocList, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return docarray.DocList{{ID: "count", Text: strconv.Itoa(c.n)}}, nil
}

func init() {
	executors.Register("WorkerTestCounter", func() executors.Executor { return &counter{} })
}

// fakeReads records the reads routed to it.
type fakeReads struct {
	mu   sync.Mutex
	got  []string
	fail error
}

func (f *fakeReads) Read(ctx context.Context, r *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, executors.Endpoint(r))
	if f.fail != nil {
		return nil, f.fail
	}
	return req("/from-hook", "hooked"), nil
}

func TestReadsGoToReadHandler(t *testing.T) {
	reads, writes := &fakeReads{}, &fakeApplier{}
	f := start(t, worker.Options{Reads: reads, Writes: writes})
	c := jinapb.NewJinaSingleDataRequestRPCClient(f.conn)
	ctx := context.Background()
	resp, err := c.ProcessSingleData(ctx, req("/foo", "a"))
	if err != nil || texts(t, resp)[0] != "hooked" {
		t.Fatalf("read: %v %v", resp, err)
	}
	if _, err := c.ProcessSingleData(ctx, req("/index", "a")); err != nil {
		t.Fatal(err)
	}
	// The dry-run probe never leaves the worker.
	if _, err := c.ProcessSingleData(ctx, req(executors.DryRunEndpoint)); err != nil {
		t.Fatal(err)
	}
	reads.fail = status.Error(codes.Unavailable, "no leader")
	if _, err := c.ProcessSingleData(ctx, req("/foo", "a")); status.Code(err) != codes.Unavailable {
		t.Fatalf("read handler errors reach the caller: %v", err)
	}
	if strings.Join(reads.got, ",") != "/foo,/foo" || strings.Join(writes.got, ",") != "/index" {
		t.Fatalf("reads %v writes %v", reads.got, writes.got)
	}
}

func TestReadsNeverSeeWrites(t *testing.T) {
	// Without a WriteApplier, writes are the instance's, not the read
	// handler's.
	reads := &fakeReads{}
	f := start(t, worker.Options{Reads: reads})
	resp, err := jinapb.NewJinaSingleDataRequestRPCClient(f.conn).ProcessSingleData(context.Background(), req("/index", "a"))
	if err != nil || texts(t, resp)[0] != "a" || len(reads.got) != 0 {
		t.Fatalf("write went to %v (%v %v)", reads.got, resp, err)
	}
}

func TestConsensusFlags(t *testing.T) {
	spec, _ := executors.NewSpec("WorkerTestCounter", nil)
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	ok := worker.Flags{RaftID: "1", RaftDir: t.TempDir(), RaftAddr: "127.0.0.1:7001", ReadConsistency: "leader",
		RaftPeers:  `[{"id":"0","raft":"127.0.0.1:7000","worker":"127.0.0.1:7100"},{"id":"1","raft":"127.0.0.1:7001"}]`,
		RaftConfig: `{"heartbeat_timeout":"400ms","snapshot_threshold":100}`}
	cfg, consistency, err := ok.Consensus(inst, "127.0.0.1:7101", nil)
	if err != nil {
		t.Fatal(err)
	}
	if consistency != consensus.ConsistencyLeader || cfg.HeartbeatTimeout != 400*time.Millisecond || cfg.SnapshotThreshold != 100 ||
		len(cfg.Peers) != 2 || cfg.Peers[1].WorkerAddr != "127.0.0.1:7101" || cfg.Instance != inst || cfg.ID != "1" {
		t.Fatalf("config %+v", cfg)
	}
	// No peers: a cluster of this replica alone.
	alone := worker.Flags{RaftID: "0", RaftDir: t.TempDir()}
	cfg, _, err = alone.Consensus(inst, "127.0.0.1:9", nil)
	if err != nil || len(cfg.Peers) != 1 || cfg.Peers[0].WorkerAddr != "127.0.0.1:9" || cfg.BindAddr != "127.0.0.1:0" {
		t.Fatalf("alone: %+v %v", cfg.Peers, err)
	}
	for name, mut := range map[string]func(*worker.Flags){
		"no dir":          func(f *worker.Flags) { f.RaftDir = "" },
		"bad peers":       func(f *worker.Flags) { f.RaftPeers = `{"id":"0"}` },
		"not in peers":    func(f *worker.Flags) { f.RaftID = "7" },
		"bad consistency": func(f *worker.Flags) { f.ReadConsistency = "strong" },
		"bad knob":        func(f *worker.Flags) { f.RaftConfig = `{"log_level":"INFO"}` },
	} {
		f := ok
		mut(&f)
		if _, _, err := f.Consensus(inst, "127.0.0.1:9", nil); !errors.Is(err, yamlutil.ErrBadInput) {
			t.Errorf("%s: want bad input, got %v", name, err)
		}
	}
	// The peers list alone says where to bind; a conflicting --raft-addr
	// is an error.
	fromPeers := ok
	fromPeers.RaftAddr = "127.0.0.1:0"
	if cfg, _, err := fromPeers.Consensus(inst, "127.0.0.1:9", nil); err != nil || cfg.BindAddr != "127.0.0.1:7001" {
		t.Fatalf("bind from peers: %v %v", cfg.BindAddr, err)
	}
	conflict := ok
	conflict.RaftAddr = "127.0.0.1:7999"
	if _, _, err := conflict.Consensus(inst, "127.0.0.1:9", nil); !errors.Is(err, yamlutil.ErrBadInput) {
		t.Fatalf("conflicting --raft-addr: %v", err)
	}
	join := ok
	join.RaftID, join.RaftJoin = "7", true
	if cfg, _, err := join.Consensus(inst, "127.0.0.1:9", nil); err != nil || !cfg.Join {
		t.Fatalf("a joining replica need not be in the peers: %v", err)
	}
	var out, errb bytes.Buffer
	if code := worker.MainArgs([]string{"--uses", "WorkerTestCounter", "--raft-id", "0"}, &out, &errb); code != 2 {
		t.Fatalf("--raft-id without --raft-dir: exit %d (%s)", code, errb.String())
	}
}

// runWorker runs worker.Run in the background and returns its ready line
// and a stop function that cancels it and waits.
func runWorker(t *testing.T, f *worker.Flags) (worker.Ready, func() error) {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger, _ := f.NewLogger(io.Discard)
	go func() { done <- worker.Run(ctx, f, pw, logger); pw.Close() }()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		cancel()
		t.Fatalf("no ready line: %v", <-done)
	}
	ready, ok := worker.ParseReady(lines.Text())
	if !ok {
		t.Fatalf("ready line %q", lines.Text())
	}
	go io.Copy(io.Discard, pr)
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return ready, stop
}

func dial(t *testing.T, addr string) jinapb.JinaSingleDataRequestRPCClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return jinapb.NewJinaSingleDataRequestRPCClient(conn)
}

// call retries r while the cluster has no leader yet (UNAVAILABLE).
func call(t *testing.T, c jinapb.JinaSingleDataRequestRPCClient, r *jinapb.DataRequestProto) *jinapb.DataRequestProto {
	t.Helper()
	var resp *jinapb.DataRequestProto
	waitfor.NoError(t, executors.Endpoint(r)+" to be answered", 15*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		resp, err = c.ProcessSingleData(ctx, r)
		if err != nil && status.Code(err) != codes.Unavailable {
			t.Fatalf("%s: %v", executors.Endpoint(r), err) // only UNAVAILABLE is retried
		}
		return err
	})
	if resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("%s: %v", executors.Endpoint(r), resp.GetHeader().GetStatus())
	}
	return resp
}

func TestRunWithRaftSingleReplica(t *testing.T) {
	f := &worker.Flags{Uses: "WorkerTestCounter", Host: "127.0.0.1", GracePeriod: time.Second, LogLevel: "info",
		RaftID: "0", RaftDir: t.TempDir(), ReadConsistency: "leader"}
	ready, stop := runWorker(t, f)
	if !strings.HasPrefix(ready.RaftAddress, "127.0.0.1:") || strings.HasSuffix(ready.RaftAddress, ":0") {
		t.Fatalf("ready line without the bound raft address: %+v", ready)
	}
	c := dial(t, ready.Address)
	call(t, c, req("/add", "a", "b"))
	if got := texts(t, call(t, c, req("/count"))); got[0] != "2" {
		t.Fatalf("count %v", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// The state survives a restart of the process: RAFT replays it.
	ready, stop = runWorker(t, f)
	c = dial(t, ready.Address)
	if got := texts(t, call(t, c, req("/count"))); got[0] != "2" {
		t.Fatalf("count after restart %v", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// freePorts reserves n loopback ports (listen, note, close): what the
// engine does when it allocates ports for child processes.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return addrs
}

func TestRunWithRaftThreeReplicas(t *testing.T) {
	ports := freePorts(t, 6)
	var peers []consensus.Peer
	for i := range 3 {
		peers = append(peers, consensus.Peer{ID: fmt.Sprint(i), RaftAddr: ports[2*i], WorkerAddr: ports[2*i+1]})
	}
	pj, _ := json.Marshal(peers)
	base := t.TempDir()
	var clients []jinapb.JinaSingleDataRequestRPCClient
	var stops []func() error
	for i, p := range peers {
		_, port, _ := net.SplitHostPort(p.WorkerAddr)
		pn, _ := strconv.Atoi(port)
		f := &worker.Flags{Uses: "WorkerTestCounter", Host: "127.0.0.1", Port: pn, GracePeriod: 2 * time.Second, LogLevel: "info",
			Replicas: 3, ReplicaID: i, RaftID: p.ID, RaftDir: filepath.Join(base, "raft", "0", p.ID), RaftAddr: "127.0.0.1:0",
			RaftPeers: string(pj), ReadConsistency: "local"}
		ready, stop := runWorker(t, f)
		if ready.RaftAddress != p.RaftAddr || ready.Address != p.WorkerAddr {
			t.Fatalf("replica %d ready %+v, want %+v", i, ready, p)
		}
		clients = append(clients, dial(t, ready.Address))
		stops = append(stops, stop)
	}
	// Writes through every replica (followers forward to the leader).
	for i, c := range clients {
		call(t, c, req("/add", strings.Repeat("x", i+1)))
	}
	// Local reads converge on every replica.
	for i, c := range clients {
		waitfor.Value(t, fmt.Sprintf("replica %d to count 3", i), 10*time.Second, func() (string, bool) {
			got := texts(t, call(t, c, req("/count")))
			return got[0], got[0] == "3"
		})
	}
	// Stopping a replica (the leader resigns first if it is one) leaves
	// the other two writable.
	if err := stops[0](); err != nil {
		t.Fatal(err)
	}
	call(t, clients[1], req("/add", "y"))
	waitfor.Value(t, "the write after stopping replica 0 to reach replica 2 (count 4)", 10*time.Second, func() (string, bool) {
		got := texts(t, call(t, clients[2], req("/count")))
		return got[0], got[0] == "4"
	})
	for _, stop := range stops[1:] {
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
}
