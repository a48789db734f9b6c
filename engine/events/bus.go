package events

import (
	"sync"
	"sync/atomic"
)

// Bus fans events out to subscribers and keeps the most recent ones, so a
// late subscriber (the TUI opening after start-up) sees the history.
type Bus struct {
	mu     sync.RWMutex
	subs   map[*Subscription]struct{}
	recent []Event // ring of the last cap(recent) events
	next   int
	full   bool
	closed bool
}

// NewBus returns a bus that remembers the last history events.
func NewBus(history int) *Bus {
	if history < 1 {
		history = 1
	}
	return &Bus{subs: map[*Subscription]struct{}{}, recent: make([]Event, history)}
}

// Subscription receives events on C until Close.
type Subscription struct {
	// C delivers the events. It is closed by Close or when the bus closes.
	C       <-chan Event
	c       chan Event
	bus     *Bus
	dropped atomic.Uint64
	once    sync.Once
}

// Subscribe returns a subscription with a buffer of buf events.
func (b *Bus) Subscribe(buf int) *Subscription {
	if buf < 1 {
		buf = 1
	}
	c := make(chan Event, buf)
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.closeLocked() // through once, so a later s.Close does not close c again
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Dropped returns how many events this subscriber missed because its
// buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	s.once.Do(func() {
		delete(s.bus.subs, s)
		close(s.c)
	})
}

// Publish sends e to every subscriber without blocking.
func (b *Bus) Publish(e Event) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.recent[b.next] = e
	b.next = (b.next + 1) % len(b.recent)
	if b.next == 0 {
		b.full = true
	}
	b.mu.Unlock()

	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// Recent returns the remembered events, oldest first.
func (b *Bus) Recent() []Event {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if !b.full {
		return append([]Event(nil), b.recent[:b.next]...)
	}
	out := make([]Event, 0, len(b.recent))
	out = append(out, b.recent[b.next:]...)
	return append(out, b.recent[:b.next]...)
}

// Close closes every subscription; later publishes are ignored.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for s := range b.subs {
		s.closeLocked()
	}
}
