package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Fast fault tests (make test). The slow ones, with child processes
// killed and paused under load, are in chaos_test.go (make chaos).

// sleeper blocks in /sleep until its context ends or it is released, and
// records how each call ended, so tests can see a client's cancellation
// arrive in the executor. /panic panics (a bug in an executor).
type sleeper struct {
	executors.Base
}

// sleepCalls is shared by every sleeper instance (tests run one flow at a
// time): started gets one value per /sleep call that began, ended the
// context error each call saw.
var sleepCalls = struct {
	started chan string
	ended   chan error
}{started: make(chan string, 64), ended: make(chan error, 64)}

func (s *sleeper) Endpoints(r *executors.Router) {
	r.On("/sleep", s.Sleep)
	r.On("/panic", s.Panic)
	r.Default(func(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
		return docs, nil
	})
}

func (s *sleeper) Sleep(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	sleepCalls.started <- s.Runtime.Name
	select {
	case <-ctx.Done():
		sleepCalls.ended <- ctx.Err()
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		sleepCalls.ended <- nil
		return docs, nil
	}
}

func (s *sleeper) Panic(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	var m map[string]int
	//lint:ignore SA5000 the nil map write is the point: a real runtime panic
	m[docs[0].Text]++
	return nil, nil
}

func init() {
	executors.Register("EngSleeper", func() executors.Executor { return &sleeper{} })
}

// awaitSleepStart waits for a /sleep call to begin in the executor.
func awaitSleepStart(t *testing.T) {
	t.Helper()
	select {
	case <-sleepCalls.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the executor never got the request")
	}
}

// awaitSleepCancelled waits for the executor to see its context end.
func awaitSleepCancelled(t *testing.T) {
	t.Helper()
	select {
	case err := <-sleepCalls.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the executor's context ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client's cancellation never reached the executor")
	}
}

// TestClientCancelReachesExecutor: a client that gives up (gRPC unary,
// the JinaRPC/Call stream, HTTP) cancels the executor's handler context
// through the gateway and the router.
func TestClientCancelReachesExecutor(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
with: {protocol: [grpc, http]}
executors:
  - {name: first, uses: EngTagger}
  - {name: slow, uses: EngSleeper, replicas: 2}
`)
	cc := dial(t, eng.Addresses().GRPC)

	t.Run("unary", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := jinapb.NewJinaSingleDataRequestRPCClient(cc).ProcessSingleData(ctx, newReq("/sleep", nil, "x"))
			errc <- err
		}()
		awaitSleepStart(t)
		cancel()
		awaitSleepCancelled(t)
		if err := <-errc; status.Code(err) != codes.Canceled {
			t.Fatalf("client got %v", err)
		}
	})
	t.Run("stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		stream, err := jinapb.NewJinaRPCClient(cc).Call(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(newReq("/sleep", nil, "x")); err != nil {
			t.Fatal(err)
		}
		awaitSleepStart(t)
		cancel()
		awaitSleepCancelled(t)
		if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
			t.Fatalf("stream ended with %v", err)
		}
	})
	t.Run("http", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+eng.Addresses().HTTP+"/sleep", strings.NewReader(`{"data":[{"text":"x"}]}`))
		errc := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		awaitSleepStart(t)
		cancel()
		awaitSleepCancelled(t)
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("HTTP client got %v", err)
		}
	})
	// The flow still serves.
	if _, docs := send(t, cc, newReq("/x", nil, "ok")); docs[0].Text != "ok>first" {
		t.Fatalf("after cancellations: %q", docs[0].Text)
	}
}

// TestExecutorPanicIsAnErrorStatus: a panicking handler becomes an ERROR
// status naming the executor (gRPC) and HTTP 500, and the flow goes on
// serving.
func TestExecutorPanicIsAnErrorStatus(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
with: {protocol: [grpc, http]}
executors:
  - {name: boom, uses: EngSleeper}
  - {name: after, uses: EngTagger}
`)
	cc := dial(t, eng.Addresses().GRPC)
	resp, _ := send(t, cc, newReq("/panic", nil, "x"))
	st := resp.GetHeader().GetStatus()
	if st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetExecutor() != "boom" ||
		!strings.Contains(strings.Join(st.GetException().GetArgs(), " "), "nil map") || len(st.GetException().GetStacks()) == 0 {
		t.Fatalf("status %v", st)
	}
	res, err := http.Post("http://"+eng.Addresses().HTTP+"/panic", "application/json", strings.NewReader(`{"data":[{"text":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError || fmt.Sprint(body["header"]) == "" {
		t.Fatalf("HTTP %d %v", res.StatusCode, body)
	}
	for range 3 {
		if _, docs := send(t, cc, newReq("/x", nil, "ok")); docs[0].Text != "ok>after" {
			t.Fatalf("after a panic: %q", docs[0].Text)
		}
	}
}

// TestEveryReplicaDownIsUnavailable: when no replica of a deployment can be
// reached, gRPC callers get UNAVAILABLE and HTTP callers 503, both naming
// the deployment; the gateway itself stays up and answers its probes.
func TestEveryReplicaDownIsUnavailable(t *testing.T) {
	// An external worker the test owns, so it can go away for good.
	spec, err := executors.NewSpec("EngTagger", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = "remote"
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	srv, err := worker.NewServer(worker.Options{Instance: inst})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serveWG sync.WaitGroup
	serveWG.Add(1)
	go func() { defer serveWG.Done(); srv.Serve(lis) }()
	stopWorker := sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Stop(ctx)
		serveWG.Wait()
	})
	defer stopWorker()

	eng := startFlow(t, fmt.Sprintf(`
jtype: Flow
with: {protocol: [grpc, http]}
executors:
  - {name: local, uses: EngTagger}
  - {name: remote, external: true, host: 127.0.0.1, port: %d, retries: 2}
`, lis.Addr().(*net.TCPAddr).Port))
	cc := dial(t, eng.Addresses().GRPC)
	if _, docs := send(t, cc, newReq("/x", nil, "a")); docs[0].Text != "a>local>remote" {
		t.Fatalf("before: %q", docs[0].Text)
	}
	stopWorker()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = jinapb.NewJinaSingleDataRequestRPCClient(cc).ProcessSingleData(ctx, newReq("/x", nil, "a"))
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "deployment remote") {
		t.Fatalf("want UNAVAILABLE naming deployment remote, got %v", err)
	}
	// The Call stream answers with an ERROR response instead of ending.
	stream, err := jinapb.NewJinaRPCClient(cc).Call(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(newReq("/x", nil, "a"))
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	stream.CloseSend()
	if ex := resp.GetHeader().GetStatus().GetException(); ex.GetName() != "UNAVAILABLE" || !strings.Contains(resp.GetHeader().GetStatus().GetDescription(), "remote") {
		t.Fatalf("stream answer %v", resp.GetHeader().GetStatus())
	}
	res, err := http.Post("http://"+eng.Addresses().HTTP+"/x", "application/json", strings.NewReader(`{"data":[{"text":"a"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || body.Error.Code != "UNAVAILABLE" || !strings.Contains(body.Error.Message, "remote") {
		t.Fatalf("HTTP %d %+v", res.StatusCode, body)
	}
	// The gateway is up and, once the health checks noticed (every
	// second), says what is missing.
	var dry map[string]string
	waitFor(t, func() bool {
		res, err := http.Get("http://" + eng.Addresses().HTTP + "/dry_run")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		dry = nil
		json.NewDecoder(res.Body).Decode(&dry)
		return res.StatusCode == http.StatusServiceUnavailable
	})
	if !strings.Contains(dry["description"], "remote") || strings.Contains(dry["description"], "local") {
		t.Fatalf("dry_run %v", dry)
	}
}

// TestOversizedRequests: a request over with.max_message_size gets
// RESOURCE_EXHAUSTED on gRPC and 413 on HTTP, and the gateway keeps
// serving normal requests afterwards.
func TestOversizedRequests(t *testing.T) {
	const limit = 64 << 10
	eng := startFlow(t, fmt.Sprintf(`
jtype: Flow
with: {protocol: [grpc, http], max_message_size: %d}
executors:
  - {name: a, uses: EngTagger}
`, limit))
	cc := dial(t, eng.Addresses().GRPC)
	big := strings.Repeat("x", 2*limit)
	client := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	_, err := client.ProcessSingleData(context.Background(), newReq("/x", nil, big), grpc.MaxCallSendMsgSize(16<<20))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("gRPC: want RESOURCE_EXHAUSTED, got %v", err)
	}
	stream, err := jinapb.NewJinaRPCClient(cc).Call(context.Background(), grpc.MaxCallSendMsgSize(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(newReq("/x", nil, big))
	if _, err := stream.Recv(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("gRPC stream: want RESOURCE_EXHAUSTED, got %v", err)
	}
	if _, docs := send(t, cc, newReq("/x", nil, "small")); docs[0].Text != "small>a" {
		t.Fatalf("after an oversized request: %q", docs[0].Text)
	}

	url := "http://" + eng.Addresses().HTTP + "/x"
	res, err := http.Post(url, "application/json", strings.NewReader(`{"data":[{"text":"`+big+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge || body.Error.Code != "RESOURCE_EXHAUSTED" || !strings.Contains(body.Error.Message, fmt.Sprint(limit)) {
		t.Fatalf("HTTP: %d %+v", res.StatusCode, body)
	}
	res, err = http.Post(url, "application/json", strings.NewReader(`{"data":[{"text":"small"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("HTTP after an oversized request: %d", res.StatusCode)
	}
}
