package tui

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/tui/common"
)

// collect takes batches from b until want log lines (plus drops) arrived
// or the deadline passed.
func collect(t *testing.T, b *bridge, want int, deadline time.Duration) (batches []common.EventsMsg) {
	t.Helper()
	end := time.Now().Add(deadline)
	got := 0
	for got < want && time.Now().Before(end) {
		msg, ok := b.next()().(bridgeMsg)
		if !ok {
			break
		}
		batches = append(batches, msg.EventsMsg)
		got += len(msg.Logs) + int(msg.Dropped)
	}
	return batches
}

func TestBridgeBatchesAFlood(t *testing.T) {
	bus := events.NewBus(10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := startBridge(ctx, bus, 50*time.Millisecond, 100000)
	const n = 50000
	go func() {
		for i := range n {
			bus.Publish(events.Log{Time: time.Now(), Source: "flood", Level: slog.LevelInfo, Message: fmt.Sprint("line ", i)})
		}
	}()
	batches := collect(t, b, n, 10*time.Second)
	lines, dropped := 0, uint64(0)
	for _, m := range batches {
		lines += len(m.Logs)
		dropped += m.Dropped
	}
	if lines+int(dropped) != n {
		t.Fatalf("got %d lines + %d dropped, want %d", lines, dropped, n)
	}
	// 50k lines must arrive as a handful of messages, not one per line.
	if len(batches) > 100 {
		t.Errorf("%d messages for %d lines: not batched", len(batches), n)
	}
	t.Logf("%d lines (%d dropped) in %d batches", lines, dropped, len(batches))
}

func TestBridgeDeliversHistoryFirst(t *testing.T) {
	bus := events.NewBus(100)
	bus.Publish(events.Log{Source: "engine", Message: "before"})
	bus.Publish(events.DeploymentState{Deployment: "norm", State: events.Ready})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := startBridge(ctx, bus, 10*time.Millisecond, 1000)
	first := collect(t, b, 1, time.Second)
	if len(first) == 0 || !first[0].History || len(first[0].Logs) != 1 || len(first[0].Other) != 1 {
		t.Fatalf("first batch = %+v", first)
	}
	bus.Publish(events.Log{Source: "engine", Message: "after"})
	next := collect(t, b, 1, time.Second)
	if len(next) == 0 || next[0].History || next[0].Logs[0].Text != "after" {
		t.Fatalf("next batch = %+v", next)
	}
}

func TestBridgeSanitisesAndSplits(t *testing.T) {
	bus := events.NewBus(10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := startBridge(ctx, bus, 10*time.Millisecond, 1000)
	bus.Publish(events.Log{Source: "x/rep-0\x1b[2J", Message: "\x1b[31mpanic\x1b[0m: boom\ngoroutine 1 [running]:\x07\n", Attrs: []events.Attr{{Key: "k", Value: "v"}}})
	got := collect(t, b, 2, time.Second)
	if len(got) == 0 || len(got[0].Logs) != 2 {
		t.Fatalf("batches %+v", got)
	}
	l := got[0].Logs
	if l[0].Source != "x/rep-0" || l[0].Text != "panic: boom" || l[1].Text != "goroutine 1 [running]: k=v" {
		t.Errorf("lines %q %q %q", l[0].Source, l[0].Text, l[1].Text)
	}
	for _, line := range l {
		if strings.ContainsAny(line.Text, "\x1b\x07\n") {
			t.Errorf("control characters left: %q", line.Text)
		}
	}
}

func TestBridgeBoundsPendingWhenUIStalls(t *testing.T) {
	bus := events.NewBus(10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := startBridge(ctx, bus, 5*time.Millisecond, 100)
	for i := range 1000 {
		bus.Publish(events.Log{Source: "s", Message: fmt.Sprint(i)})
	}
	time.Sleep(100 * time.Millisecond) // nobody takes batches meanwhile
	var lines []common.LogLine
	var dropped uint64
	for _, m := range collect(t, b, 1000, 2*time.Second) {
		lines = append(lines, m.Logs...)
		dropped += m.Dropped
	}
	if len(lines) > 200 || int(dropped)+len(lines) != 1000 {
		t.Fatalf("%d lines, %d dropped", len(lines), dropped)
	}
	if lines[len(lines)-1].Text != "999" {
		t.Errorf("the newest lines are kept, last = %q", lines[len(lines)-1].Text)
	}
}

func TestBridgeStopsWithContext(t *testing.T) {
	bus := events.NewBus(10)
	ctx, cancel := context.WithCancel(context.Background())
	b := startBridge(ctx, bus, 10*time.Millisecond, 100)
	done := make(chan any)
	go func() { done <- b.next()() }()
	cancel()
	select {
	case msg := <-done:
		if msg != nil {
			t.Errorf("next after cancel = %v", msg)
		}
	case <-time.After(time.Second):
		t.Fatal("next did not return after cancel")
	}
	// The subscription is closed: the bus no longer delivers to it.
	deadline := time.Now().Add(time.Second)
	for {
		bus.Publish(events.Log{Message: "x"})
		if _, ok := <-b.out; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bridge goroutine still running")
		}
	}
}
