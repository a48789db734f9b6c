package consensus_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
)

// Linearizability of the stateful KV test executor (kv_test.go) under
// faults, checked with porcupine: concurrent clients put and get a few keys
// through every replica while replicas are killed, paused, wiped and
// restarted, and the recorded history must have a linearization against a
// sequential key-value model. That is a stronger statement than "no
// acknowledged write is lost": no read may return a value that was
// overwritten before the read started, or one that was never written.
//
// Reads use ConsistencyLeader. Local reads (the default) are documented as
// possibly stale (doc.go, read.go): a follower may answer before it has
// applied a write the leader already acknowledged, which is not
// linearizable by design, so they are not checked here.
//
// A put whose outcome the client cannot know (a transport error, a
// timeout, UNAVAILABLE while leadership moves) may still be applied later:
// it is recorded with a return time of +infinity, so the checker may place
// it anywhere after its call (or, in effect, never). A failed get is
// dropped: it observed nothing.

// kvInput is one operation of the history.
type kvInput struct {
	Put   bool
	Key   string
	Value string // for puts
}

// kvOutput is what a get returned.
type kvOutput struct {
	Value string
}

// kvModel is a register per key; partitioning by key keeps the check fast.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(kvInput).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(kvInput)
		if in.Put {
			return true, in.Value
		}
		return output.(kvOutput).Value == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(kvInput)
		if in.Put {
			return fmt.Sprintf("put(%s, %s)", in.Key, in.Value)
		}
		return fmt.Sprintf("get(%s) -> %q", in.Key, output.(kvOutput).Value)
	},
}

// history records operations from concurrent clients.
type history struct {
	start time.Time
	mu    sync.Mutex
	ops   []porcupine.Operation
	// Counters for the test log.
	acked, unknown, reads, failedReads atomic.Int64
}

func newHistory() *history { return &history{start: time.Now()} }

// now is a monotonic timestamp (time.Since uses the monotonic clock).
func (h *history) now() int64 { return int64(time.Since(h.start)) }

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// check runs porcupine and fails the test unless the history is
// linearizable; on failure it writes a visualization next to the test's
// temporary files and names it.
func (h *history) check(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	ops := append([]porcupine.Operation(nil), h.ops...)
	h.mu.Unlock()
	t.Logf("history: %d operations (%d acknowledged puts, %d puts of unknown outcome, %d reads, %d failed reads dropped)",
		len(ops), h.acked.Load(), h.unknown.Load(), h.reads.Load(), h.failedReads.Load())
	if h.acked.Load() == 0 || h.reads.Load() == 0 {
		t.Fatal("the workload acknowledged no put or no read: nothing was checked")
	}
	res, info := porcupine.CheckOperationsVerbose(kvModel, ops, 2*time.Minute)
	switch res {
	case porcupine.Ok:
		return
	case porcupine.Unknown:
		t.Fatal("linearizability check timed out after 2m (history too large?)")
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("jig-%s-%d.html", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano()))
	if f, err := os.Create(path); err == nil {
		porcupine.Visualize(kvModel, info, f)
		f.Close()
	}
	t.Fatalf("history is NOT linearizable: an acknowledged write was lost or a read was stale; visualization: %s", path)
}

// target is where a client sends one operation: a replica's worker
// connection, or nil when no replica is reachable at the moment.
type target func(i int) (*grpc.ClientConn, string)

// workload runs clients that put and get keys through the replicas target
// returns until stop is closed. Every put writes a unique value.
type workload struct {
	h       *history
	keys    []string
	clients int
	timeout time.Duration // per operation
	pick    target

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newWorkload(h *history, clients int, keys []string, timeout time.Duration, pick target) *workload {
	return &workload{h: h, keys: keys, clients: clients, timeout: timeout, pick: pick, stop: make(chan struct{})}
}

func (w *workload) start() {
	for c := range w.clients {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 42))
			for seq := 0; ; seq++ {
				select {
				case <-w.stop:
					return
				default:
				}
				conn, via := w.pick(c + seq)
				if conn == nil {
					time.Sleep(5 * time.Millisecond) // no replica up right now
					continue
				}
				key := w.keys[rng.IntN(len(w.keys))]
				ok := false
				if rng.IntN(2) == 0 {
					ok = w.put(c, conn, via, key, fmt.Sprintf("c%d-%d", c, seq))
				} else {
					ok = w.get(c, conn, key)
				}
				if !ok {
					// Back off a little, so a cluster that is down does
					// not fill the history with failed operations.
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
}

// waitAcked blocks until n more puts were acknowledged (bounded), which
// proves the cluster serves writes again after a fault.
func (w *workload) waitAcked(t *testing.T, n int64) {
	t.Helper()
	target := w.h.acked.Load() + n
	waitfor.Value(t, fmt.Sprintf("%d acknowledged writes after a fault", target), 60*time.Second, func() (int64, bool) {
		got := w.h.acked.Load()
		return got, got >= target
	})
}

// halt stops the clients and waits for them; safe to call twice.
func (w *workload) halt() {
	w.stopOnce.Do(func() { close(w.stop) })
	w.wg.Wait()
}

// callOpts: wait for a connection instead of failing fast while a
// replica restarts, so a request is sent only once a replica is there
// (bounded by the operation's timeout).
var callOpts = []grpc.CallOption{grpc.WaitForReady(true)}

// put writes value under key and reports whether it was acknowledged.
func (w *workload) put(client int, conn *grpc.ClientConn, via, key, value string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	call := w.h.now()
	resp, err := jinapb.NewJinaSingleDataRequestRPCClient(conn).ProcessSingleData(ctx, consensus.PutReq(key, value), callOpts...)
	ret := w.h.now()
	op := porcupine.Operation{ClientId: client, Input: kvInput{Put: true, Key: key, Value: value}, Call: call, Output: kvOutput{}, Return: ret, Metadata: via}
	if err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		// The write may have reached the log: it may take effect at any
		// time after the call.
		op.Return = math.MaxInt64
		w.h.unknown.Add(1)
		w.h.add(op)
		return false
	}
	w.h.acked.Add(1)
	w.h.add(op)
	return true
}

// get reads key and reports whether the read succeeded.
func (w *workload) get(client int, conn *grpc.ClientConn, key string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	call := w.h.now()
	resp, err := jinapb.NewJinaSingleDataRequestRPCClient(conn).ProcessSingleData(ctx, consensus.GetReq(key), callOpts...)
	ret := w.h.now()
	if err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
		w.h.failedReads.Add(1)
		return false
	}
	texts := textsOf(resp)
	if len(texts) != 1 {
		w.h.failedReads.Add(1)
		return false
	}
	w.h.reads.Add(1)
	w.h.add(porcupine.Operation{ClientId: client, Input: kvInput{Key: key}, Call: call, Output: kvOutput{Value: texts[0]}, Return: ret})
	return true
}

// finalReads reads every key once more through each target after the
// faults, so a write lost at the very end is caught too. They must
// succeed: the cluster is healthy by then.
func (w *workload) finalReads(t *testing.T, targets int) {
	t.Helper()
	for i := range targets {
		conn, via := w.pick(i)
		if conn == nil {
			t.Fatalf("final reads: replica %d unreachable", i)
		}
		for _, k := range w.keys {
			if !w.get(w.clients, conn, k) {
				t.Fatalf("final leader read of %s through %s failed", k, via)
			}
		}
	}
}

// textsOf returns the texts of a response's documents (without the
// executors package, so a malformed answer is simply not one text).
func textsOf(r *jinapb.DataRequestProto) []string {
	docs := r.GetData().GetDocs().GetDocs()
	out := make([]string, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.GetData()["text"].GetText())
	}
	return out
}

// TestModelRejectsLostWrite makes sure the checker can fail: a read that
// misses an acknowledged write, and a read of a value never written, are
// not linearizable; a read that sees a put of unknown outcome is.
func TestModelRejectsLostWrite(t *testing.T) {
	put := func(v string, call, ret int64) porcupine.Operation {
		return porcupine.Operation{Input: kvInput{Put: true, Key: "k", Value: v}, Output: kvOutput{}, Call: call, Return: ret}
	}
	get := func(v string, call, ret int64) porcupine.Operation {
		return porcupine.Operation{Input: kvInput{Key: "k"}, Output: kvOutput{Value: v}, Call: call, Return: ret}
	}
	if porcupine.CheckOperations(kvModel, []porcupine.Operation{put("a", 0, 10), get("", 20, 30)}) {
		t.Fatal("a read after an acknowledged put saw the old value, and the checker accepted it")
	}
	if porcupine.CheckOperations(kvModel, []porcupine.Operation{put("a", 0, 10), get("b", 20, 30)}) {
		t.Fatal("a read of a value never written was accepted")
	}
	if porcupine.CheckOperations(kvModel, []porcupine.Operation{put("a", 0, 10), put("b", 20, 30), get("a", 40, 50)}) {
		t.Fatal("a read of an overwritten value was accepted")
	}
	if !porcupine.CheckOperations(kvModel, []porcupine.Operation{put("a", 0, 10), put("b", 20, math.MaxInt64), get("a", 40, 50), get("b", 60, 70)}) {
		t.Fatal("a put of unknown outcome may take effect late")
	}
	if !porcupine.CheckOperations(kvModel, []porcupine.Operation{put("a", 0, 10), get("a", 5, 20), put("b", 15, 30), get("b", 25, 40)}) {
		t.Fatal("overlapping operations may be reordered")
	}
}

// TestClusterLinearizableUnderFaults runs the workload against an
// in-process cluster (real TCP transport, raft-wal stores, gRPC workers)
// while the leader is stopped and restarted and a follower is wiped and
// restarted. The slower scenarios with child processes (SIGKILL, SIGSTOP,
// whole-cluster restart) are in chaos_test.go (`make chaos`).
func TestClusterLinearizableUnderFaults(t *testing.T) {
	c := newCluster(t, 3, "ConsensusTestKV", consensus.ConsistencyLeader, nil)
	c.leader()
	ids := []string{"0", "1", "2"}
	h := newHistory()
	w := newWorkload(h, 4, []string{"x", "y", "z"}, 3*time.Second, func(i int) (*grpc.ClientConn, string) {
		id := ids[i%len(ids)]
		if r := c.get(id); r != nil {
			return r.conn, id
		}
		return nil, ""
	})
	w.start()
	defer w.halt()
	w.waitAcked(t, 30)

	// The leader stops (RAFT first, as a crash would) and comes back.
	old := c.leader().peer.ID
	c.stop(old)
	w.waitAcked(t, 30)
	c.restart(old)
	w.waitAcked(t, 20)

	// A follower loses its whole folder and catches up from the leader.
	f := c.follower()
	id, dir := f.peer.ID, f.dir
	c.stop(id)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	w.waitAcked(t, 20)
	c.restart(id)
	w.waitAcked(t, 20)

	w.halt()
	w.finalReads(t, len(ids))
	h.check(t)
	c.converge()
}
