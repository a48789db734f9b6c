package workercmd_test

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/workerflags"
)

// portReader records the Runtime.Port it is given.
type portReader struct{ executors.Base }

var seenPort atomic.Int64

func (p *portReader) Endpoints(r *executors.Router) {
	r.Default(executors.Method("Nop", func(context.Context, *executors.Call) error { return nil }))
}

func (p *portReader) Init(context.Context) error {
	seenPort.Store(int64(p.Runtime.Port))
	return nil
}

func init() {
	executors.Register("WorkerTestPort", func() executors.Executor { return &portReader{} })
}

// TestRuntimePortIsTheListenPort: with --port 0 (how the engine starts
// child replicas) the executor's Runtime.Port is the port it serves on.
func TestRuntimePortIsTheListenPort(t *testing.T) {
	seenPort.Store(-1)
	ready, stop := runWorker(t, &workerflags.Flags{Uses: "WorkerTestPort", Host: "127.0.0.1", Port: 0, GracePeriod: time.Second, LogLevel: "info", LogFormat: "text"})
	_, port, err := net.SplitHostPort(ready.Address)
	if err != nil {
		t.Fatal(err)
	}
	if got := strconv.FormatInt(seenPort.Load(), 10); got != port || port == "0" {
		t.Fatalf("Runtime.Port %s, serving on %s", got, ready.Address)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
