package events_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logN returns a Log event whose message is its index.
func logN(i int) events.Event {
	return events.Log{Time: time.Unix(int64(i), 0), Source: "test", Message: fmt.Sprint(i)}
}

func messages(evs []events.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.(events.Log).Message)
	}
	return out
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// drain reads what is buffered in s.C without blocking.
func drain(s *events.Subscription) []events.Event {
	var out []events.Event
	for {
		select {
		case e, ok := <-s.C:
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestPublishNeverBlocksAndCountsDrops(t *testing.T) {
	b := events.NewBus(4)
	defer b.Close()
	slow := b.Subscribe(2) // never read while publishing
	fast := b.Subscribe(100)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 {
			b.Publish(logN(i))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a full subscriber")
	}
	if got := slow.Dropped(); got != 8 {
		t.Fatalf("slow subscriber dropped %d, want 8", got)
	}
	if got := messages(drain(slow)); !equal(got, []string{"0", "1"}) {
		t.Fatalf("slow subscriber kept %v, want the first two events", got)
	}
	if fast.Dropped() != 0 {
		t.Fatalf("fast subscriber dropped %d", fast.Dropped())
	}
	if got := messages(drain(fast)); !equal(got, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) {
		t.Fatalf("fast subscriber got %v, want every event in order", got)
	}
	// Once the slow subscriber made room it receives again.
	b.Publish(logN(10))
	if got := messages(drain(slow)); !equal(got, []string{"10"}) {
		t.Fatalf("after draining: %v", got)
	}
	if slow.Dropped() != 8 {
		t.Fatalf("dropped changed to %d", slow.Dropped())
	}
}

func TestSubscribeMinimumBuffer(t *testing.T) {
	b := events.NewBus(1)
	defer b.Close()
	s := b.Subscribe(0) // at least one slot
	b.Publish(logN(1))
	b.Publish(logN(2))
	if got := messages(drain(s)); !equal(got, []string{"1"}) || s.Dropped() != 1 {
		t.Fatalf("got %v dropped %d", got, s.Dropped())
	}
}

func TestRecentRingOrder(t *testing.T) {
	const history = 3
	b := events.NewBus(history)
	defer b.Close()
	if got := b.Recent(); len(got) != 0 {
		t.Fatalf("empty bus: %v", got)
	}
	// Before the ring is full, when it is exactly full, after it wrapped
	// once, to the start, and many times.
	for n := 1; n <= 5*history+1; n++ {
		b.Publish(logN(n - 1))
		var want []string
		for i := max(0, n-history); i < n; i++ {
			want = append(want, fmt.Sprint(i))
		}
		got := b.Recent()
		if !equal(messages(got), want) {
			t.Fatalf("after %d events Recent() = %v, want %v (oldest first)", n, messages(got), want)
		}
		// The result is a copy: changing it does not change the bus, and
		// Recent does not consume.
		got[0] = logN(-1)
		if again := messages(b.Recent()); !equal(again, want) {
			t.Fatalf("Recent shares memory with the bus or consumes: %v", again)
		}
	}
}

func TestRecentHistoryAtLeastOne(t *testing.T) {
	b := events.NewBus(0)
	defer b.Close()
	b.Publish(logN(1))
	b.Publish(logN(2))
	if got := messages(b.Recent()); !equal(got, []string{"2"}) {
		t.Fatalf("NewBus(0) keeps %v, want the last event", got)
	}
}

func TestCloseClosesSubscriptionsAndIgnoresPublish(t *testing.T) {
	b := events.NewBus(8)
	s1 := b.Subscribe(4)
	s2 := b.Subscribe(4)
	b.Publish(logN(1))
	b.Close()

	// Buffered events are still delivered, then C is closed.
	for _, s := range []*events.Subscription{s1, s2} {
		var got []string
		for e := range s.C { // ends only if C is closed
			got = append(got, e.(events.Log).Message)
		}
		if !equal(got, []string{"1"}) {
			t.Fatalf("subscription got %v before closing", got)
		}
	}
	b.Publish(logN(2)) // no-op, no panic (send on closed channel)
	if got := messages(b.Recent()); !equal(got, []string{"1"}) {
		t.Fatalf("Publish after Close changed the history: %v", got)
	}
	// Closing again, and closing subscriptions after the bus, is harmless.
	b.Close()
	s1.Close()
	s2.Close()

	late := b.Subscribe(4)
	select {
	case _, ok := <-late.C:
		if ok {
			t.Fatal("a subscription after Close received an event")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a subscription after Close must have its channel closed")
	}
	late.Close()
}

func TestSubscriptionClose(t *testing.T) {
	b := events.NewBus(8)
	defer b.Close()
	s := b.Subscribe(4)
	keep := b.Subscribe(4)
	s.Close()
	s.Close() // idempotent
	if _, ok := <-s.C; ok {
		t.Fatal("C must be closed after Close")
	}
	b.Publish(logN(1)) // must not send on s's closed channel
	if got := messages(drain(keep)); !equal(got, []string{"1"}) {
		t.Fatalf("other subscribers keep receiving: %v", got)
	}
	if s.Dropped() != 0 {
		t.Fatalf("a closed subscription counts no drops: %d", s.Dropped())
	}
}

func TestEventTypesReportTime(t *testing.T) {
	at := time.Unix(42, 0)
	for _, e := range []events.Event{
		events.Log{Time: at},
		events.ReplicaState{Time: at},
		events.DeploymentState{Time: at},
		events.Update{Time: at},
		events.Leader{Time: at},
	} {
		if !e.When().Equal(at) {
			t.Errorf("%T.When() = %v", e, e.When())
		}
	}
}

// TestConcurrentUse runs publishers, subscribers that come and go, readers
// and a final Close at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	b := events.NewBus(64)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				b.Publish(logN(p*1_000_000 + i))
				if i%50 == 0 {
					_ = b.Recent()
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := b.Subscribe(8)
				for range 4 {
					select {
					case <-s.C:
					default:
					}
				}
				s.Close()
			}
		}()
	}
	// A subscriber that reads until the bus closes.
	long := b.Subscribe(16)
	readerDone := make(chan int)
	go func() {
		n := 0
		for range long.C {
			n++
		}
		readerDone <- n
	}()
	time.Sleep(50 * time.Millisecond) // let them interleave; nothing waits on this
	b.Close()                         // concurrently with publishers and subscribers
	close(stop)
	wg.Wait()
	select {
	case n := <-readerDone:
		if n == 0 && long.Dropped() == 0 {
			t.Fatal("the long-lived subscriber saw nothing")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("closing the bus did not close a live subscription")
	}
}
