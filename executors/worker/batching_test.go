package worker_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

type textIn struct {
	Text string `doc:"text,required"`
}

type lengthOut struct {
	Length int `doc:"length"`
	Batch  int `doc:"batch"` // the size of the batch the handler saw
}

// batched records the size of every batch its handler sees.
type batched struct {
	executors.Base
	mu    sync.Mutex
	sizes []int
}

func (b *batched) Endpoints(r *executors.Router) {
	r.On("/embed", executors.Typed(b.Embed))
	r.Write("/index", executors.Typed(b.Embed))
}

func (b *batched) Embed(ctx context.Context, docs []textIn, p executors.Params) ([]lengthOut, error) {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(docs))
	b.mu.Unlock()
	out := make([]lengthOut, len(docs))
	for i, d := range docs {
		out[i] = lengthOut{Length: len(d.Text), Batch: len(docs)}
	}
	return out, nil
}

func (b *batched) batchSizes() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sizes)
}

func init() {
	executors.Register("WorkerTestBatched", func() executors.Executor { return &batched{} })
}

// batchedServer serves a WorkerTestBatched instance whose /embed and
// /index batch up to 10 documents; the timeout is an hour, so batches form
// by size alone and their number does not depend on scheduling.
func batchedServer(t *testing.T, opts worker.Options) (*worker.Server, *executors.Instance, *grpc.ClientConn) {
	t.Helper()
	cfg, err := executors.ParseConfig("batched.yml", []byte("jtype: WorkerTestBatched\ndynamic_batching:\n  /embed: {preferred_batch_size: 10, timeout: 3600000}\n  /index: {preferred_batch_size: 10, timeout: 3600000}\n"))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := executors.New(context.Background(), executors.Spec{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	opts.Instance = inst
	srv, err := worker.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Stop(ctx)
		if err := <-served; err != nil {
			t.Error(err)
		}
		inst.Close()
	})
	return srv, inst, conn
}

func singleDoc(endpoint string, i int) *jinapb.DataRequestProto {
	text := fmt.Sprintf("caller-%0*d", i%7+1, i) // lengths differ between callers
	docs := docarray.DocList{{ID: fmt.Sprint("doc-", i), Text: text}}
	return &jinapb.DataRequestProto{
		Header: &jinapb.HeaderProto{RequestId: fmt.Sprint("req-", i), ExecEndpoint: proto.String(endpoint)},
		Data:   &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: docs.ToProto()}},
	}
}

// checkOwn verifies that caller i got exactly its own document back,
// processed in a batch of 10.
func checkOwn(i int, req, resp *jinapb.DataRequestProto) error {
	if st := resp.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
		return fmt.Errorf("caller %d: %s", i, st.GetDescription())
	}
	docs, err := executors.RequestDocs(resp)
	if err != nil {
		return err
	}
	sent, _ := executors.RequestDocs(req)
	if len(docs) != 1 || docs[0].ID != sent[0].ID || docs[0].Text != sent[0].Text || resp.GetHeader().GetRequestId() != req.GetHeader().GetRequestId() {
		return fmt.Errorf("caller %d got %v %v (request %s)", i, docs.IDs(), docs.Texts(), resp.GetHeader().GetRequestId())
	}
	if n, _ := docs[0].Field("length"); n != int64(len(sent[0].Text)) {
		return fmt.Errorf("caller %d: length %v, want %d", i, n, len(sent[0].Text))
	}
	if b, _ := docs[0].Field("batch"); b != int64(10) {
		return fmt.Errorf("caller %d: processed in a batch of %v, want 10", i, b)
	}
	return nil
}

func fifty(t *testing.T, send func(i int, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error), endpoint string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			req := singleDoc(endpoint, i)
			resp, err := send(i, req)
			if err == nil {
				err = checkOwn(i, req, resp)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDynamicBatchingInProcess(t *testing.T) {
	srv, inst, _ := batchedServer(t, worker.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Server.Process is how the engine calls in-process replicas.
	fifty(t, func(_ int, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		return srv.Process(ctx, req)
	}, "/embed")
	if got := inst.Executor().(*batched).batchSizes(); !slices.Equal(got, []int{10, 10, 10, 10, 10}) {
		t.Errorf("the handler saw batches %v, want five batches of 10", got)
	}
}

func TestDynamicBatchingOverGRPC(t *testing.T) {
	_, inst, conn := batchedServer(t, worker.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := jinapb.NewJinaSingleDataRequestRPCClient(conn)
	fifty(t, func(_ int, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		return c.ProcessSingleData(ctx, req)
	}, "/embed")
	if got := inst.Executor().(*batched).batchSizes(); !slices.Equal(got, []int{10, 10, 10, 10, 10}) {
		t.Errorf("the handler saw batches %v, want five batches of 10", got)
	}
}

// countingWrites stands in for RAFT: it counts the write requests it
// replicates (one log entry each) and applies them to the instance.
type countingWrites struct {
	inst  func() *executors.Instance
	calls atomic.Int32
}

func (w *countingWrites) ApplyWrite(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	w.calls.Add(1)
	return w.inst().Process(ctx, req), nil
}

func TestDynamicBatchingMergesWritesBeforeReplication(t *testing.T) {
	var inst *executors.Instance
	writes := &countingWrites{inst: func() *executors.Instance { return inst }}
	srv, i, _ := batchedServer(t, worker.Options{Writes: writes})
	inst = i
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fifty(t, func(_ int, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		return srv.Process(ctx, req)
	}, "/index")
	if n := writes.calls.Load(); n != 5 {
		t.Errorf("%d replicated writes, want one per batch (5)", n)
	}
}
