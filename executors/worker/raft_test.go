package worker_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

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
