package replica

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/workercmd"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
)

// helperEnv makes the test binary act as a worker process (the os.Args[0]
// re-exec pattern): "worker" serves ReplicaEcho after writing some noise
// to stdout and stderr; "exit" fails before it is ready.
const helperEnv = "JIG_REPLICA_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
	case "worker":
		fmt.Fprintln(os.Stdout, "plain stdout line")
		fmt.Fprintln(os.Stderr, "plain stderr line")
		fmt.Fprintln(os.Stderr, "panic: not really")
		fmt.Fprintln(os.Stderr, "{not json either")
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Warn("helper warning", "k", 1, "who", "helper", slog.Group("g", "x", "y"))
		os.Exit(workercmd.MainArgs(os.Args[1:], os.Stdout, os.Stderr))
	case "panic":
		// A real runtime panic at start (exit status 2, like a bad input).
		fmt.Fprintln(os.Stderr, "starting")
		var m map[string]int
		//lint:ignore SA5000 the crash under test
		m["x"] = 1
	case "badconfig":
		// The real worker given a config file it rejects.
		os.Exit(workercmd.MainArgs(append(os.Args[1:], "--uses", os.Getenv("JIG_REPLICA_TEST_CONFIG")), os.Stdout, os.Stderr))
	case "exit":
		fmt.Fprintln(os.Stderr, "error: cannot start")
		os.Exit(3)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper mode")
		os.Exit(2)
	}
	goleak.VerifyTestMain(m)
}

// echoExec appends ">name" to every text; /pid reports the process id.
type echoExec struct{ executors.Base }

func (e *echoExec) Endpoints(r *executors.Router) {
	r.Default(func(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
		for _, d := range docs {
			d.Text += ">" + e.Runtime.Name
		}
		return nil, nil
	})
	r.On("/pid", func(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, executors.Results, error) {
		return nil, executors.Results{"pid": os.Getpid()}, nil
	})
}

func init() {
	executors.Register("ReplicaEcho", func() executors.Executor { return &echoExec{} })
}

func echoSpec(t *testing.T, name string) executors.Spec {
	t.Helper()
	spec, err := executors.NewSpec("ReplicaEcho", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = name
	return spec
}

func request(texts ...string) *jinapb.DataRequestProto {
	req := &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String("/x")}}
	executors.SetRequestDocs(req, docarray.FromTexts(texts...))
	return req
}

// process sends one request through conn and returns the first text.
func process(ctx context.Context, c Conn) (string, error) {
	resp, err := c.Process(ctx, request("hi"))
	if err != nil {
		return "", err
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS {
		return "", fmt.Errorf("status %v", st)
	}
	docs, err := executors.RequestDocs(resp)
	if err != nil {
		return "", err
	}
	return docs[0].Text, nil
}

// states records OnState callbacks.
type states struct {
	mu  sync.Mutex
	got []Info
}

func (s *states) record(i Info) {
	s.mu.Lock()
	s.got = append(s.got, i)
	s.mu.Unlock()
}

func (s *states) list() []events.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]events.State, len(s.got))
	for i, in := range s.got {
		out[i] = in.State
	}
	return out
}

func (s *states) reset() {
	s.mu.Lock()
	s.got = nil
	s.mu.Unlock()
}

// waitFor polls cond until it holds or ten seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitfor.True(t, what, 10*time.Second, cond)
}

func common(name string, st *states) Common {
	return Common{Deployment: "dep", Name: name, OnState: st.record, MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}
}

func TestBackoff(t *testing.T) {
	tr := newTracker(Common{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}, Local)
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := tr.backoff(i + 1); got != w*time.Millisecond {
			t.Fatalf("backoff(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	d := newTracker(Common{}, Process)
	if d.c.MinBackoff != 100*time.Millisecond || d.c.MaxBackoff != 10*time.Second || d.c.Logger == nil {
		t.Fatalf("defaults %+v", d.c)
	}
	if Local.String() != "local" || Process.String() != "process" || External.String() != "external" {
		t.Fatal("Kind names")
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, port, err := splitPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}
