package metrics

import (
	"math"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable time source for a Recorder.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// base is a whole second, so offsets within it stay in it.
var base = time.Unix(1_700_000_000, 0)

func newTestRecorder() (*Recorder, *clock) {
	c := &clock{t: base}
	r := NewRecorder()
	r.now = c.now
	return r, c
}

// at observes n requests of latency lat at second base+sec (plus 0.5 s).
func at(r *Recorder, c *clock, sec int, n int, lat time.Duration, failed bool) {
	c.set(base.Add(time.Duration(sec)*time.Second + 500*time.Millisecond))
	for range n {
		r.Observe(lat, failed)
	}
}

// within reports whether got is the upper bound of want's bucket: at least
// want and less than one bucket (~19%) above it.
func within(got, want time.Duration) bool {
	return got >= want && float64(got) <= float64(want)*bucketGrowth*1.0001
}

func TestEmptySnapshot(t *testing.T) {
	r, _ := newTestRecorder()
	s := r.Snapshot()
	if s.Requests != 0 || s.Errors != 0 || s.InFlight != 0 || s.Rate != 0 || s.P50 != 0 || s.P99 != 0 {
		t.Fatalf("empty recorder: %+v", s)
	}
	if len(s.History) != window {
		t.Fatalf("history has %d seconds, want %d", len(s.History), window)
	}
	for i, v := range s.History {
		if v != 0 {
			t.Fatalf("history[%d] = %v", i, v)
		}
	}
}

func TestRateOverWindow(t *testing.T) {
	r, c := newTestRecorder()
	at(r, c, 0, 1000, time.Millisecond, false) // too old for the rate window
	for sec := 10; sec < 15; sec++ {
		at(r, c, sec, 20, time.Millisecond, false) // the last 5 complete seconds
	}
	at(r, c, 15, 500, time.Millisecond, false) // current, incomplete second
	s := r.Snapshot()
	if s.Rate != 20 {
		t.Fatalf("rate %v, want 20 req/s over the last %d complete seconds", s.Rate, RateWindow)
	}
	if s.Requests != 1000+5*20+500 {
		t.Fatalf("requests %d", s.Requests)
	}
	// One second later, second 15 is complete and second 10 left the window.
	c.set(base.Add(16 * time.Second))
	if s := r.Snapshot(); s.Rate != (4*20+500)/5.0 {
		t.Fatalf("rate one second later %v, want %v", s.Rate, (4*20+500)/5.0)
	}
	// A gap in traffic counts as zero.
	c.set(base.Add(18 * time.Second))
	if s := r.Snapshot(); s.Rate != (2*20+500)/5.0 {
		t.Fatalf("rate with idle seconds %v", s.Rate)
	}
	c.set(base.Add(21 * time.Second))
	if s := r.Snapshot(); s.Rate != 0 {
		t.Fatalf("rate after 5 idle seconds %v", s.Rate)
	}
}

func TestHistoryAlignment(t *testing.T) {
	r, c := newTestRecorder()
	// Second k (0..60) gets k+1 requests; second 60 is the current one.
	for sec := 0; sec <= 60; sec++ {
		at(r, c, sec, sec+1, time.Millisecond, false)
	}
	s := r.Snapshot()
	if len(s.History) != window {
		t.Fatalf("history length %d", len(s.History))
	}
	// Oldest first: seconds 0..59 (60 is incomplete and excluded).
	for i, v := range s.History {
		if want := float64(i + 1); v != want {
			t.Fatalf("history[%d] = %v, want %v (history %v)", i, v, want, s.History)
		}
	}
	// Ten seconds later, with no traffic: the oldest ten fell out, the
	// current second (60) is now history, then nine idle seconds.
	c.set(base.Add(70*time.Second + 100*time.Millisecond))
	s = r.Snapshot()
	for i, v := range s.History {
		want := 0.0
		if sec := 10 + i; sec <= 60 {
			want = float64(sec + 1)
		}
		if v != want {
			t.Fatalf("later history[%d] = %v, want %v (history %v)", i, v, want, s.History)
		}
	}
	if s.History[window-1] != 0 {
		t.Fatal("the last complete second was idle")
	}
}

func TestIdleSecondsReuseRingSlots(t *testing.T) {
	r, c := newTestRecorder()
	at(r, c, 0, 7, 5*time.Millisecond, true)
	// 60 s later second 0 is the oldest second of the history, and out of
	// the rate and latency windows.
	c.set(base.Add(60 * time.Second))
	s := r.Snapshot()
	if s.History[0] != 7 || s.P50 != 0 || s.Rate != 0 {
		t.Fatalf("at +60s: history[0] %v p50 %v rate %v", s.History[0], s.P50, s.Rate)
	}
	// Later, its stale count must not show anywhere.
	for _, later := range []time.Duration{61 * time.Second, 119 * time.Second, 120 * time.Second, 5 * time.Minute} {
		c.set(base.Add(later))
		s := r.Snapshot()
		for i, v := range s.History {
			if v != 0 {
				t.Fatalf("at +%v: history[%d] = %v from a second that left the window", later, i, v)
			}
		}
		if s.Rate != 0 || s.P50 != 0 || s.P99 != 0 {
			t.Fatalf("at +%v: idle recorder reports rate %v p50 %v p99 %v", later, s.Rate, s.P50, s.P99)
		}
		if s.Requests != 7 || s.Errors != 7 {
			t.Fatalf("totals are not windowed: %+v", s)
		}
	}
	// A new observation in a reused slot starts from zero.
	at(r, c, 60, 2, 50*time.Millisecond, false)
	c.set(base.Add(61 * time.Second))
	s = r.Snapshot()
	if s.History[window-1] != 2 {
		t.Fatalf("reused slot counts %v, want 2", s.History[window-1])
	}
	if !within(s.P99, 50*time.Millisecond) {
		t.Fatalf("reused slot kept stale latencies: p99 %v", s.P99)
	}
}

func TestPercentiles(t *testing.T) {
	t.Run("uniform", func(t *testing.T) {
		r, c := newTestRecorder()
		// 1..100 ms, ten of each, spread over the last few seconds.
		for ms := 1; ms <= 100; ms++ {
			at(r, c, ms%5, 10, time.Duration(ms)*time.Millisecond, false)
		}
		c.set(base.Add(5 * time.Second))
		s := r.Snapshot()
		if !within(s.P50, 50*time.Millisecond) || !within(s.P99, 99*time.Millisecond) {
			t.Fatalf("p50 %v (want ~50ms) p99 %v (want ~99ms)", s.P50, s.P99)
		}
	})
	t.Run("bimodal", func(t *testing.T) {
		r, c := newTestRecorder()
		at(r, c, 3, 980, 200*time.Microsecond, false)
		at(r, c, 4, 20, 800*time.Millisecond, false)
		s := r.Snapshot() // the current second counts for latency
		if !within(s.P50, 200*time.Microsecond) || !within(s.P99, 800*time.Millisecond) {
			t.Fatalf("p50 %v (want ~200µs) p99 %v (want ~800ms)", s.P50, s.P99)
		}
	})
	t.Run("constant", func(t *testing.T) {
		for _, lat := range []time.Duration{3 * time.Microsecond, 10 * time.Microsecond, 37 * time.Microsecond, 2 * time.Millisecond, 1234 * time.Millisecond, 30 * time.Second} {
			r, c := newTestRecorder()
			at(r, c, 0, 5, lat, false)
			s := r.Snapshot()
			want := max(lat, bucketBase)
			if !within(s.P50, want) || s.P50 != s.P99 {
				t.Fatalf("constant %v: p50 %v p99 %v", lat, s.P50, s.P99)
			}
		}
	})
	t.Run("window", func(t *testing.T) {
		r, c := newTestRecorder()
		at(r, c, 0, 100, time.Second, false) // leaves the latency window
		at(r, c, 20, 100, time.Millisecond, false)
		c.set(base.Add(25 * time.Second))
		s := r.Snapshot()
		if !within(s.P99, time.Millisecond) {
			t.Fatalf("p99 %v includes latencies older than %d s", s.P99, LatencyWindow)
		}
		c.set(base.Add(20*time.Second + LatencyWindow*time.Second))
		if s := r.Snapshot(); s.P50 != 0 || s.P99 != 0 {
			t.Fatalf("after the latency window: p50 %v p99 %v", s.P50, s.P99)
		}
	})
}

func TestBuckets(t *testing.T) {
	if bucketOf(0) != 0 || bucketOf(-time.Second) != 0 || bucketOf(bucketBase) != 0 {
		t.Fatal("durations up to the base fall in bucket 0")
	}
	if bucketOf(time.Hour) != numBuckets-1 {
		t.Fatal("huge durations fall in the last bucket")
	}
	prev := 0
	for d := time.Microsecond; d < 100*time.Second; d = d*21/20 + 1 {
		b := bucketOf(d)
		if b < prev {
			t.Fatalf("bucketOf not monotonic at %v", d)
		}
		prev = b
		up := bucketUpper(b)
		if d > bucketBase && (up < d || float64(up) > float64(d)*bucketGrowth*1.0001) {
			t.Fatalf("%v: bucket %d upper %v is not within one bucket", d, b, up)
		}
	}
	if g := math.Pow(bucketGrowth, 4); math.Abs(g-2) > 1e-9 {
		t.Fatalf("four buckets should double: %v", g)
	}
}

func TestErrorsCounted(t *testing.T) {
	r, c := newTestRecorder()
	at(r, c, 0, 3, time.Millisecond, true)
	at(r, c, 0, 5, time.Millisecond, false)
	s := r.Snapshot()
	if s.Requests != 8 || s.Errors != 3 {
		t.Fatalf("requests %d errors %d", s.Requests, s.Errors)
	}
}

func TestBeginDone(t *testing.T) {
	r, c := newTestRecorder()
	d1 := r.Begin()
	d2 := r.Begin()
	if s := r.Snapshot(); s.InFlight != 2 || s.Requests != 0 {
		t.Fatalf("in flight %d requests %d", s.InFlight, s.Requests)
	}
	c.advance(30 * time.Millisecond)
	d1(false)
	if s := r.Snapshot(); s.InFlight != 1 || s.Requests != 1 || s.Errors != 0 {
		t.Fatalf("after one done: %+v", s)
	}
	c.advance(70 * time.Millisecond)
	d2(true)
	s := r.Snapshot()
	if s.InFlight != 0 || s.Requests != 2 || s.Errors != 1 {
		t.Fatalf("after both: %+v", s)
	}
	// Latencies come from the recorder's clock: 30 ms and 100 ms.
	if !within(s.P50, 30*time.Millisecond) || !within(s.P99, 100*time.Millisecond) {
		t.Fatalf("p50 %v p99 %v", s.P50, s.P99)
	}
}

func TestConcurrentRecorder(t *testing.T) {
	r := NewRecorder() // real clock
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				done := r.Begin()
				done(i%10 == g)
				if i%100 == 0 {
					_ = r.Snapshot()
				}
			}
		}()
	}
	wg.Wait()
	s := r.Snapshot()
	if s.Requests != 8*500 || s.InFlight != 0 || s.Errors != 8*50 {
		t.Fatalf("%+v", s)
	}
}
