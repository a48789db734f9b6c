package workercmd_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/workercmd"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/executors/workerraft"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestMain gives this test binary's workers RAFT support, as jig does for
// `jig executor` (a test binary has no jig_raft build tag).
func TestMain(m *testing.M) {
	workercmd.EnableRaft(workerraft.Start)
	os.Exit(m.Run())
}

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

func req(endpoint string, texts ...string) *jinapb.DataRequestProto {
	docs := docarray.DocList{}
	for i, t := range texts {
		docs = append(docs, &docarray.Document{ID: fmt.Sprint(i), Text: t})
	}
	return &jinapb.DataRequestProto{
		Header: &jinapb.HeaderProto{RequestId: "rid", ExecEndpoint: proto.String(endpoint)},
		Data:   &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: docs.ToProto()}},
	}
}

func texts(t *testing.T, r *jinapb.DataRequestProto) []string {
	t.Helper()
	docs, err := executors.RequestDocs(r)
	if err != nil {
		t.Fatal(err)
	}
	return docs.Texts()
}

// TestRaftDirRequired: --raft-id without --raft-dir is bad input (exit 2).
func TestRaftDirRequired(t *testing.T) {
	var out, errb bytes.Buffer
	if code := workercmd.MainArgs([]string{"--uses", "WorkerTestCounter", "--raft-id", "0"}, &out, &errb); code != 2 {
		t.Fatalf("--raft-id without --raft-dir: exit %d (%s)", code, errb.String())
	}
}

// runWorker runs workercmd.Run in the background and returns its ready line
// and a stop function that cancels it and waits.
func runWorker(t *testing.T, f *workerflags.Flags) (workercmd.Ready, func() error) {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger, _ := workercmd.NewLogger(f, io.Discard)
	go func() { done <- workercmd.Run(ctx, f, pw, logger); pw.Close() }()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		cancel()
		t.Fatalf("no ready line: %v", <-done)
	}
	ready, ok := workercmd.ParseReady(lines.Text())
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

// call retries r while the cluster has no leader yet (UNAVAILABLE); any
// other failure ends the test at once.
func call(t *testing.T, c jinapb.JinaSingleDataRequestRPCClient, r *jinapb.DataRequestProto) *jinapb.DataRequestProto {
	t.Helper()
	var resp *jinapb.DataRequestProto
	waitfor.NoError(t, executors.Endpoint(r)+" to be answered (a leader elected)", 15*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		resp, err = c.ProcessSingleData(ctx, r)
		if err != nil && status.Code(err) != codes.Unavailable {
			t.Fatalf("%s: %v", executors.Endpoint(r), err)
		}
		return err
	})
	if resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		t.Fatalf("%s: %v", executors.Endpoint(r), resp.GetHeader().GetStatus())
	}
	return resp
}

func TestRunWithRaftSingleReplica(t *testing.T) {
	f := &workerflags.Flags{Uses: "WorkerTestCounter", Host: "127.0.0.1", GracePeriod: time.Second, LogLevel: "info",
		Raft: workerflags.Raft{ID: "0", Dir: t.TempDir(), Consistency: consensus.ConsistencyLeader}}
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
	base := t.TempDir()
	var clients []jinapb.JinaSingleDataRequestRPCClient
	var stops []func() error
	for i, p := range peers {
		_, port, _ := net.SplitHostPort(p.WorkerAddr)
		pn, _ := strconv.Atoi(port)
		f := &workerflags.Flags{Uses: "WorkerTestCounter", Host: "127.0.0.1", Port: pn, GracePeriod: 2 * time.Second, LogLevel: "info",
			Replicas: 3, ReplicaID: i, Raft: workerflags.Raft{ID: p.ID, Dir: filepath.Join(base, "raft", "0", p.ID), Addr: "127.0.0.1:0",
				Peers: peers, Consistency: consensus.ConsistencyLocal}}
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
		waitfor.Value(t, fmt.Sprintf("replica %d to converge (count 3)", i), 10*time.Second, func() (string, bool) {
			got := texts(t, call(t, c, req("/count")))[0]
			return got, got == "3"
		})
	}
	// Stopping a replica (the leader resigns first if it is one) leaves
	// the other two writable.
	if err := stops[0](); err != nil {
		t.Fatal(err)
	}
	call(t, clients[1], req("/add", "y"))
	waitfor.Value(t, "the write after stopping replica 0 to reach replica 2 (count 4)", 10*time.Second, func() (string, bool) {
		got := texts(t, call(t, clients[2], req("/count")))[0]
		return got, got == "4"
	})
	for _, stop := range stops[1:] {
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
}
