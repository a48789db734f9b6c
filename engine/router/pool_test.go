package router

import (
	"context"
	"testing"
	"time"
)

func TestPickEmptyPool(t *testing.T) {
	p := NewPool()
	if p.pick(nil) != nil || p.Ready() != 0 {
		t.Fatal("an empty pool picks nothing")
	}
}

func TestPickLeastOutstanding(t *testing.T) {
	a, b, c := target(newConn("a")), target(newConn("b")), target(newConn("c"))
	a.outstanding.Store(3)
	b.outstanding.Store(1)
	c.outstanding.Store(2)
	p := NewPool(a, b, c)
	for i := range 10 {
		if got := p.pick(nil); got != b {
			t.Fatalf("pick %d = %s, want b (fewest in flight)", i, got.Name)
		}
	}
	b.outstanding.Store(5)
	if got := p.pick(nil); got != c {
		t.Fatalf("pick = %s, want c", got.Name)
	}
}

func TestPickRotatesAmongEquals(t *testing.T) {
	a, b, c := target(newConn("a")), target(newConn("b")), target(newConn("c"))
	p := NewPool(a, b, c)
	count := map[*Target]int{}
	for range 30 {
		count[p.pick(nil)]++
	}
	for _, tg := range []*Target{a, b, c} {
		if count[tg] != 10 {
			t.Fatalf("idle pool spread %d/%d/%d, want 10 each", count[a], count[b], count[c])
		}
	}
	// Only the least loaded ones share. (The rotation is not exactly fair
	// then: a start on the busy target falls to the next equal one.)
	c.outstanding.Store(1)
	count = map[*Target]int{}
	for range 30 {
		count[p.pick(nil)]++
	}
	if count[a] < 10 || count[b] < 10 || count[c] != 0 {
		t.Fatalf("spread among equals %d/%d/%d", count[a], count[b], count[c])
	}
}

func TestPickSkipsNotReadyAndTried(t *testing.T) {
	a, b, c := target(newConn("a")), target(newConn("b")), target(newConn("c"))
	b.Ready = func() bool { return false }
	p := NewPool(a, b, c)
	if p.Ready() != 2 {
		t.Fatalf("ready = %d", p.Ready())
	}
	for range 10 {
		if got := p.pick(nil); got == b {
			t.Fatal("picked a target that is not ready")
		}
	}
	for range 10 {
		if got := p.pick(map[*Target]bool{a: true}); got != c {
			t.Fatalf("picked %v, want c (a tried, b not ready)", got)
		}
	}
	if got := p.pick(map[*Target]bool{a: true, c: true}); got != nil {
		t.Fatalf("picked %s although every ready target was tried", got.Name)
	}
}

func TestPickPenaltyFallback(t *testing.T) {
	a, b, c := target(newConn("a")), target(newConn("b")), target(newConn("c"))
	p := NewPool(a, b, c)
	until := time.Now().Add(time.Minute).UnixNano()
	a.penalty.Store(until)
	b.outstanding.Store(10) // busy but not penalised: still preferred
	c.penalty.Store(until)
	for range 10 {
		if got := p.pick(nil); got != b {
			t.Fatalf("picked %s, want b (the only unpenalised target)", got.Name)
		}
	}
	// Without an unpenalised target, the least loaded penalised one.
	c.outstanding.Store(2)
	a.outstanding.Store(1)
	for range 10 {
		if got := p.pick(map[*Target]bool{b: true}); got != a {
			t.Fatalf("fallback picked %v, want a", got)
		}
	}
	// An expired penalty no longer counts.
	a.penalty.Store(time.Now().Add(-time.Second).UnixNano())
	c.penalty.Store(0)
	b.outstanding.Store(0)
	a.outstanding.Store(0)
	c.outstanding.Store(0)
	count := map[*Target]int{}
	for range 30 {
		count[p.pick(nil)]++
	}
	if count[a] != 10 || count[b] != 10 || count[c] != 10 {
		t.Fatalf("after the penalty: %d/%d/%d", count[a], count[b], count[c])
	}
}

func TestPoolSetAndTargets(t *testing.T) {
	a, b := target(newConn("a")), target(newConn("b"))
	p := NewPool(a)
	ts := p.Targets()
	ts[0] = b // a copy
	if p.Targets()[0] != a {
		t.Fatal("Targets returned the pool's own slice")
	}
	in := []*Target{b}
	p.Set(in)
	in[0] = a // Set copies too
	if got := p.pick(nil); got != b {
		t.Fatalf("after Set picked %s", got.Name)
	}
}

func TestWaitReady(t *testing.T) {
	c := newConn("a")
	tg := target(c)
	var checks int
	tg.Ready = func() bool { checks++; return checks > 3 } // ready after a few polls
	p := NewPool(tg)
	if got := p.waitReady(context.Background(), nil, 10*time.Second); got != tg {
		t.Fatalf("waitReady = %v", got)
	}

	never, _ := switchable(newConn("b"), false)
	p = NewPool(never)
	start := time.Now()
	if got := p.waitReady(context.Background(), nil, 50*time.Millisecond); got != nil {
		t.Fatal("picked a target that never became ready")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before the bound", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := p.waitReady(ctx, nil, time.Hour); got != nil {
		t.Fatal("waitReady must return when ctx ends")
	}
}
