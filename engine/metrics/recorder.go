// Package metrics records request statistics: a cheap in-memory recorder
// per deployment (rate, latency percentiles over a sliding window, a
// per-second history for sparklines) for the TUI, and Prometheus
// collectors for /metrics.
package metrics

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// window is how many seconds of history a Recorder keeps.
const window = 60

// slots is the ring size: the window's complete seconds plus the current
// one, so traffic in the current second does not overwrite the oldest
// second of the history.
const slots = window + 1

// Latency buckets grow by 2^(1/4) (~19%) from 10µs: percentiles are
// accurate to a few percent, with a fixed, small memory cost.
const (
	bucketBase   = 10 * time.Microsecond
	bucketGrowth = 1.189207115002721 // 2^(1/4)
	numBuckets   = 96                // 10µs · 1.19^95 ≈ 140 s
)

var logGrowth = math.Log(bucketGrowth)

func bucketOf(d time.Duration) int {
	if d <= bucketBase {
		return 0
	}
	b := int(math.Log(float64(d)/float64(bucketBase))/logGrowth) + 1
	return min(b, numBuckets-1)
}

// bucketUpper is the upper bound of bucket b.
func bucketUpper(b int) time.Duration {
	return time.Duration(float64(bucketBase) * math.Pow(bucketGrowth, float64(b)))
}

type second struct {
	unix   int64
	count  uint32
	errors uint32
	hist   [numBuckets]uint32
}

// Recorder accumulates request outcomes of one deployment (or the whole
// gateway). It is safe for concurrent use.
type Recorder struct {
	requests atomic.Uint64
	errors   atomic.Uint64
	inflight atomic.Int64

	mu   sync.Mutex
	secs [slots]second
	now  func() time.Time
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{now: time.Now} }

// Begin marks a request in flight; call the returned function with its
// outcome when it ends.
func (r *Recorder) Begin() func(failed bool) {
	start := r.now()
	r.inflight.Add(1)
	return func(failed bool) {
		r.inflight.Add(-1)
		r.Observe(r.now().Sub(start), failed)
	}
}

// Observe records one finished request.
func (r *Recorder) Observe(latency time.Duration, failed bool) {
	r.requests.Add(1)
	if failed {
		r.errors.Add(1)
	}
	sec := r.now().Unix()
	b := bucketOf(latency)
	r.mu.Lock()
	s := &r.secs[sec%slots]
	if s.unix != sec {
		*s = second{unix: sec}
	}
	s.count++
	if failed {
		s.errors++
	}
	s.hist[b]++
	r.mu.Unlock()
}

// Snapshot are a recorder's statistics at one moment.
type Snapshot struct {
	Requests, Errors uint64
	InFlight         int64
	// Rate is requests/s over the last RateWindow complete seconds.
	Rate float64
	// P50 and P99 are over the last LatencyWindow seconds (0 if idle).
	P50, P99 time.Duration
	// History holds requests/s for each of the last 60 seconds, oldest
	// first, the current (incomplete) second excluded.
	History []float64
}

// Windows used by Snapshot.
const (
	RateWindow    = 5
	LatencyWindow = 10
)

// Snapshot computes the current statistics.
func (r *Recorder) Snapshot() Snapshot {
	now := r.now().Unix()
	out := Snapshot{Requests: r.requests.Load(), Errors: r.errors.Load(), InFlight: r.inflight.Load(), History: make([]float64, window)}
	var hist [numBuckets]uint64
	var total uint64
	var rateSum float64
	r.mu.Lock()
	for i := 1; i <= window; i++ { // seconds now-60 .. now-1
		sec := now - int64(window) - 1 + int64(i)
		s := &r.secs[sec%slots]
		if s.unix != sec {
			continue
		}
		out.History[i-1] = float64(s.count)
		if now-sec <= RateWindow {
			rateSum += float64(s.count)
		}
	}
	for back := int64(0); back < LatencyWindow; back++ { // include the current second
		sec := now - back
		s := &r.secs[sec%slots]
		if s.unix != sec {
			continue
		}
		for b, n := range s.hist {
			hist[b] += uint64(n)
			total += uint64(n)
		}
	}
	r.mu.Unlock()
	out.Rate = rateSum / RateWindow
	if total > 0 {
		out.P50 = quantile(&hist, total, 0.50)
		out.P99 = quantile(&hist, total, 0.99)
	}
	return out
}

func quantile(hist *[numBuckets]uint64, total uint64, q float64) time.Duration {
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for b, n := range hist {
		seen += n
		if seen >= rank {
			return bucketUpper(b)
		}
	}
	return bucketUpper(numBuckets - 1)
}
