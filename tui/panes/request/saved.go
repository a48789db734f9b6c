package request

import (
	"errors"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// Saved is a history entry as kept between runs (prefs.History): the
// draft to re-run or load, and the outcome as it was shown. Documents
// returned are not kept.
type Saved struct {
	At      time.Time     `json:"at"`
	Addr    string        `json:"addr"`
	Draft   Draft         `json:"draft"`
	Sent    int           `json:"sent"`
	Latency time.Duration `json:"latency"`
	// Error is the outcome when the request failed ("" when it succeeded).
	Error string `json:"error,omitempty"`
}

// maxSavedLines bounds the typed documents a saved draft keeps; a longer
// text is saved without them (the draft still re-runs the endpoint and
// parameters).
const maxSavedLines = 64 << 10

// SetPersist makes the pane hand its history to save (oldest first) as a
// command after every request; nil keeps the history in memory only.
func (m *Model) SetPersist(save func([]Saved) tea.Cmd) { m.persist = save }

// LoadHistory puts saved entries (oldest first) in the history, below
// what was sent in this run.
func (m *Model) LoadHistory(entries []Saved) {
	for _, s := range entries {
		r := &Result{ID: 0, At: s.At, Addr: s.Addr, Draft: s.Draft, Sent: s.Sent, Latency: s.Latency, Resp: &Response{}}
		if s.Error != "" {
			r.Err = errors.New(s.Error)
			r.Resp = nil
		}
		m.history = append([]*Result{r}, m.history...)
	}
	if len(m.history) > HistorySize {
		m.history = m.history[:HistorySize]
	}
}

// saved is the history as entries to keep, oldest first.
func (m *Model) saved() []Saved {
	out := make([]Saved, 0, len(m.history))
	for i := len(m.history) - 1; i >= 0; i-- {
		r := m.history[i]
		s := Saved{At: r.At, Addr: r.Addr, Draft: r.Draft, Sent: r.Sent, Latency: r.Latency}
		if len(s.Draft.Lines) > maxSavedLines {
			s.Draft.Lines = ""
		}
		switch {
		case r.Err != nil:
			s.Error = r.Err.Error()
		case r.Resp != nil && r.Resp.Error != nil:
			s.Error = r.Resp.Error.Name + " in " + r.Resp.Error.Executor
		}
		out = append(out, s)
	}
	return out
}
