package logs

import "github.com/jig-dev/jig/tui/common"

// entry is one line in the ring, with a cache of its rendered form: the
// pane renders only visible lines, and a line that stays on screen is
// styled once, not once per frame.
type entry struct {
	common.LogLine
	seq uint64

	cacheKey cacheKey
	cache    []string // rendered rows (several when wrapped)
}

// cacheKey is what a rendered line depends on.
type cacheKey struct {
	gen, width, srcW int
	wrap             bool
	// mark is the filter text highlighted in the line.
	mark string
}

// ring is a fixed-capacity buffer of log lines addressed by sequence
// number: seq n lives in buf[n%cap] until n+cap is pushed. Pushing is O(1)
// and never allocates once the ring is full, which is what lets the pane
// ingest tens of thousands of lines per second.
type ring struct {
	buf   []entry
	next  uint64 // sequence number of the next push
	floor uint64 // lines below floor were cleared
}

func newRing(capacity int) *ring {
	return &ring{buf: make([]entry, max(1, capacity))}
}

// push stores l and returns its sequence number.
func (r *ring) push(l common.LogLine) uint64 {
	seq := r.next
	e := &r.buf[seq%uint64(len(r.buf))]
	e.LogLine, e.seq = l, seq
	e.cache, e.cacheKey = e.cache[:0], cacheKey{}
	r.next++
	return seq
}

// first is the oldest sequence number still held.
func (r *ring) first() uint64 {
	if r.next <= uint64(len(r.buf)) {
		return r.floor
	}
	return max(r.floor, r.next-uint64(len(r.buf)))
}

// len is the number of lines held.
func (r *ring) len() int { return int(r.next - r.first()) }

// get returns line seq, or nil when it was evicted or not pushed yet.
func (r *ring) get(seq uint64) *entry {
	if seq < r.first() || seq >= r.next {
		return nil
	}
	return &r.buf[seq%uint64(len(r.buf))]
}

// clear forgets every line (sequence numbers keep increasing).
func (r *ring) clear() {
	for i := range r.buf {
		r.buf[i] = entry{}
	}
	r.floor = r.next
}
