package tracing

import (
	"slices"
	"sync"
	"time"
)

// SpanRecord is a finished span as the workbench shows it.
type SpanRecord struct {
	TraceID, SpanID string
	// ParentID is the parent span's id ("" for a root, or a parent in
	// another process that is not recorded here).
	ParentID   string
	Name       string
	Start, End time.Time
	// Attrs are the span's attributes as text.
	Attrs map[string]string
	// Error is the span's error status message ("" when it succeeded).
	Error string
}

// Duration is how long the span took.
func (s SpanRecord) Duration() time.Duration { return s.End.Sub(s.Start) }

// Recorder keeps the spans of the most recent traces in memory: the
// store behind the workbench's timing waterfall (tracingsdk's span
// processor fills it). It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	max    int
	traces map[string][]SpanRecord
	order  []string // trace ids, oldest first
}

// NewRecorder returns a recorder keeping the last maxTraces traces (0:
// 256). Spans reach it through the SDK's span processor
// (tracingsdk), installed when Config.Recorder is set.
func NewRecorder(maxTraces int) *Recorder {
	if maxTraces <= 0 {
		maxTraces = 256
	}
	return &Recorder{max: maxTraces, traces: map[string][]SpanRecord{}}
}

// Record keeps a finished span, dropping the oldest trace when more than
// the recorder's limit are kept.
func (r *Recorder) Record(rec SpanRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.traces[rec.TraceID]; !ok {
		r.order = append(r.order, rec.TraceID)
		for len(r.order) > r.max {
			delete(r.traces, r.order[0])
			r.order = r.order[1:]
		}
	}
	r.traces[rec.TraceID] = append(r.traces[rec.TraceID], rec)
}

// Trace returns the recorded spans of trace id, by start time (nil when
// none are recorded).
func (r *Recorder) Trace(id string) []SpanRecord {
	r.mu.Lock()
	spans := slices.Clone(r.traces[id])
	r.mu.Unlock()
	slices.SortStableFunc(spans, func(a, b SpanRecord) int { return a.Start.Compare(b.Start) })
	return spans
}

// TraceOf returns the id of the most recent recorded trace with a span
// whose attribute key has value v ("" when none), e.g. the trace of a
// request id.
func (r *Recorder) TraceOf(key, v string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.order) - 1; i >= 0; i-- {
		for _, s := range r.traces[r.order[i]] {
			if s.Attrs[key] == v {
				return r.order[i]
			}
		}
	}
	return ""
}

// Depth returns how deep each span sits in its trace's tree (a root, or
// a span whose parent is not recorded, is 0), keyed by span id.
func Depth(spans []SpanRecord) map[string]int {
	parent := make(map[string]string, len(spans))
	for _, s := range spans {
		parent[s.SpanID] = s.ParentID
	}
	depth := make(map[string]int, len(spans))
	for _, s := range spans {
		d, p := 0, s.ParentID
		for p != "" && d < len(spans) {
			if _, ok := parent[p]; !ok {
				break
			}
			d++
			p = parent[p]
		}
		depth[s.SpanID] = d
	}
	return depth
}
