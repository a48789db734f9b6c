package router

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// raftDeployment is a stateful deployment of three replicas whose second
// one reports itself the RAFT leader (as the engine's poller saw it).
func raftDeployment() (d *Deployment, conns []*fakeConn, leader *atomic.Int32) {
	leader = &atomic.Int32{}
	leader.Store(1)
	var ts []*Target
	for i, name := range []string{"r0", "r1", "r2"} {
		c := newConn(name)
		conns = append(conns, c)
		tg := target(c)
		tg.Leader = func() bool { return leader.Load() == int32(i) }
		ts = append(ts, tg)
	}
	d = &Deployment{Name: "idx", Shards: []*Pool{NewPool(ts...)}, Retries: 2}
	d.SetEndpoints([]string{"/index", "/search"})
	d.SetWriteEndpoints([]string{"/index"})
	return d, conns, leader
}

func TestWritesGoToTheLeader(t *testing.T) {
	d, conns, leader := raftDeployment()
	ctx := context.Background()
	for i := range 6 {
		if _, err := d.Send(ctx, newReq("/index", nil, "w")); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if n := conns[1].calls.Load(); n != 6 || conns[0].calls.Load()+conns[2].calls.Load() != 0 {
		t.Fatalf("writes reached r0/r1/r2 %d/%d/%d times, want all on the leader r1", conns[0].calls.Load(), n, conns[2].calls.Load())
	}
	// Reads still spread over every replica.
	for range 6 {
		if _, err := d.Send(ctx, newReq("/search", nil, "q")); err != nil {
			t.Fatal(err)
		}
	}
	if conns[0].calls.Load() != 2 || conns[1].calls.Load() != 8 || conns[2].calls.Load() != 2 {
		t.Fatalf("reads spread r0/r1/r2 %d/%d/%d, want 2 each", conns[0].calls.Load(), conns[1].calls.Load()-6, conns[2].calls.Load())
	}
	// The leader moves: writes follow.
	leader.Store(2)
	if _, err := d.Send(ctx, newReq("/index", nil, "w")); err != nil {
		t.Fatal(err)
	}
	if conns[2].calls.Load() != 3 {
		t.Fatalf("write after the leader moved reached r2 %d times in all, want 3", conns[2].calls.Load())
	}
}

func TestWritesWithoutAKnownLeaderGoAnywhere(t *testing.T) {
	d, conns, leader := raftDeployment()
	ctx := context.Background()
	leader.Store(-1) // during an election, or before the first poll
	for range 6 {
		if _, err := d.Send(ctx, newReq("/index", nil, "w")); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		if c.calls.Load() != 2 {
			t.Fatalf("replica %d got %d of 6 writes, want 2 (rotation)", i, c.calls.Load())
		}
	}
	// Without discovered write endpoints, nothing is a write.
	d2, conns2, _ := raftDeployment()
	d2.SetWriteEndpoints(nil)
	for range 3 {
		d2.Send(ctx, newReq("/index", nil, "w"))
	}
	if conns2[1].calls.Load() != 1 {
		t.Fatalf("leader got %d of 3 requests with no write endpoints known, want 1", conns2[1].calls.Load())
	}
}

func TestWritesAvoidAnUnusableLeader(t *testing.T) {
	ctx := context.Background()

	// Not ready (restarting): another replica takes the write and forwards it.
	d, conns, _ := raftDeployment()
	d.Shards[0].Targets()[1].Ready = func() bool { return false }
	if _, err := d.Send(ctx, newReq("/index", nil, "w")); err != nil {
		t.Fatal(err)
	}
	if conns[1].calls.Load() != 0 {
		t.Fatal("a write went to a leader that is not ready")
	}

	// Unreachable: the retry goes to another replica.
	d, conns, _ = raftDeployment()
	conns[1].with(errorWith(codes.Unavailable, "connection refused"))
	if _, err := d.Send(ctx, newReq("/index", nil, "w")); err != nil {
		t.Fatalf("write with the leader unreachable: %v", err)
	}
	if conns[1].calls.Load() != 1 || conns[0].calls.Load()+conns[2].calls.Load() != 1 {
		t.Fatalf("calls r0/r1/r2 %d/%d/%d, want the leader once then one other", conns[0].calls.Load(), conns[1].calls.Load(), conns[2].calls.Load())
	}

	// Penalised (timed out recently): avoided while another is ready.
	d, conns, _ = raftDeployment()
	d.Shards[0].Targets()[1].penalty.Store(time.Now().Add(time.Minute).UnixNano())
	if _, err := d.Send(ctx, newReq("/index", nil, "w")); err != nil {
		t.Fatal(err)
	}
	if conns[1].calls.Load() != 0 {
		t.Fatal("a write went to a penalised leader")
	}
}
