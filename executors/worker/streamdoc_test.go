package worker_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// gatedWords yields the words of a text on /stream, each only after a
// value arrives on gate (when set), so a test can tell that an item
// reaches the client before the next one exists. stopped receives
// whether the generator ended early (its consumer went away).
type gatedWords struct {
	executors.Base
	gate    chan struct{}
	stopped chan bool
}

func (g *gatedWords) Endpoints(r *executors.Router) {
	r.On("/stream", executors.Generator(g.Stream))
	r.On("/batch", func(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
		return nil, nil
	})
}

func (g *gatedWords) Stream(ctx context.Context, doc *docarray.Document, _ executors.Params) iter.Seq2[*docarray.Document, error] {
	return func(yield func(*docarray.Document, error) bool) {
		early := false
		defer func() {
			if g.stopped != nil {
				g.stopped <- early
			}
		}()
		for _, w := range strings.Fields(doc.Text) {
			if g.gate != nil {
				select {
				case <-g.gate:
				case <-ctx.Done():
					early = true
					return
				}
			}
			if !yield(docarray.New(w), nil) {
				early = true
				return
			}
		}
	}
}

var (
	streamGate    = make(chan struct{})
	streamStopped = make(chan bool, 16)
)

func init() {
	executors.Register("WorkerTestStream", func() executors.Executor {
		return &gatedWords{gate: streamGate, stopped: streamStopped}
	})
}

func startStream(t *testing.T) (*worker.Server, jinapb.JinaSingleDocumentRequestRPCClient) {
	t.Helper()
	spec, _ := executors.NewSpec("WorkerTestStream", nil)
	spec.Runtime.Name = "gen"
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := worker.NewServer(worker.Options{Instance: inst})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Stop(ctx)
		if err := <-done; err != nil {
			t.Error(err)
		}
		inst.Close()
	})
	return srv, jinapb.NewJinaSingleDocumentRequestRPCClient(conn)
}

func oneDoc(endpoint, text string) *jinapb.SingleDocumentRequestProto {
	return &jinapb.SingleDocumentRequestProto{
		Header:   &jinapb.HeaderProto{RequestId: "rid", ExecEndpoint: proto.String(endpoint)},
		Document: (&docarray.Document{ID: "in", Text: text}).ToProto(),
	}
}

func docText(t *testing.T, it *jinapb.SingleDocumentRequestProto) string {
	t.Helper()
	if st := it.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
		t.Fatalf("error item: %s", st.GetDescription())
	}
	d, err := docarray.DocFromProto(it.GetDocument())
	if err != nil {
		t.Fatal(err)
	}
	return d.Text
}

// TestStreamDocOverGRPCIsIncremental: each word is released only after the
// previous one reached the client, so the test would block (and time out)
// if the worker buffered the stream.
func TestStreamDocOverGRPCIsIncremental(t *testing.T) {
	_, c := startStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.StreamDoc(ctx, oneDoc("/stream", "one two three"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one", "two", "three"} {
		select {
		case streamGate <- struct{}{}:
		case <-ctx.Done():
			t.Fatalf("the generator never asked for %q", want)
		}
		it, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if got := docText(t, it); got != want {
			t.Fatalf("item %q, want %q", got, want)
		}
		if it.GetHeader().GetRequestId() != "rid" {
			t.Errorf("request_id %q, want rid", it.GetHeader().GetRequestId())
		}
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last item: %v, want EOF", err)
	}
	if early := <-streamStopped; early {
		t.Fatal("generator reported an early stop on a complete stream")
	}
}

// TestStreamDocClientCancelStopsGenerator: a client that goes away
// mid-stream stops the executor's generator.
func TestStreamDocClientCancelStopsGenerator(t *testing.T) {
	_, c := startStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.StreamDoc(ctx, oneDoc("/stream", "a b c d"))
	if err != nil {
		t.Fatal(err)
	}
	streamGate <- struct{}{}
	if it, err := st.Recv(); err != nil || docText(t, it) != "a" {
		t.Fatalf("first item: %v %v", it, err)
	}
	cancel()
	if early := <-streamStopped; !early {
		t.Fatal("generator ran to completion after the client cancelled")
	}
	if _, err := st.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("after cancel: %v, want Canceled", err)
	}
}

func TestStreamDocOnBatchEndpoint(t *testing.T) {
	srv, c := startStream(t)
	st, err := c.StreamDoc(context.Background(), oneDoc("/batch", "a b"))
	if err != nil {
		t.Fatal(err)
	}
	it, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if ex := it.GetHeader().GetStatus().GetException(); ex.GetName() != "ValueError" || ex.GetExecutor() != "gen" {
		t.Fatalf("status %v, want ValueError from gen", it.GetHeader().GetStatus())
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF after the error item, got %v", err)
	}
	// In-process (no network), as the engine calls it.
	var n int
	if err := srv.StreamDoc(context.Background(), oneDoc("/batch", "a"), func(*jinapb.SingleDocumentRequestProto) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("in-process: err %v, %d items", err, n)
	}
}
