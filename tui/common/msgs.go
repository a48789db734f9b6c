package common

import (
	"log/slog"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/status"
	"github.com/jig-dev/jig/tui/flowedit"
)

// StatusMsg carries a fresh engine snapshot. The root stores it in
// Context.Status before broadcasting it.
type StatusMsg struct {
	Status status.Flow
}

// LogLine is a log event prepared for display: the bridge has already
// stripped terminal control sequences from Text and split multi-line
// messages, off the UI goroutine.
type LogLine struct {
	Time   time.Time
	Source string
	Level  slog.Level
	// Text is the message followed by its attributes, safe to print.
	Text string
}

// EventsMsg is one batch of engine events, delivered about every 50 ms by
// the bridge, never one message per event.
type EventsMsg struct {
	// Logs are the log lines of the batch, oldest first.
	Logs []LogLine
	// Other holds every non-log event (state changes, updates, leaders),
	// oldest first.
	Other []events.Event
	// Dropped counts events lost since the previous batch, because the
	// engine outpaced the bridge (bus buffer) or the UI (pending batch cap).
	Dropped uint64
	// History is true for the first batch, built from the bus's recent
	// events when the workbench opened.
	History bool
}

// ToastMsg shows a short notice in the status bar.
type ToastMsg struct {
	Text string
	// Err marks the notice as an error.
	Err bool
}

// FlowChangedMsg says the running flow was changed from the workbench
// (an executor added, a uses_with applied): the change lives in the
// engine only, not in the flow's YAML, so quitting asks first.
type FlowChangedMsg struct {
	// What describes the change ("uses_with of norm").
	What string
	// Change is the change, to write it back into the YAML.
	Change flowedit.Change
}

// FlowChanged returns a command reporting a runtime change of the flow.
func FlowChanged(what string, c flowedit.Change) tea.Cmd {
	return func() tea.Msg { return FlowChangedMsg{What: what, Change: c} }
}

// ActionDoneMsg reports the end of an engine action started by a pane
// (restart, kill, snapshot...). Label says what was done, as shown to the
// user; Err is its error.
type ActionDoneMsg struct {
	Label string
	Err   error
	Took  time.Duration
}

// DefaultParamsMsg says the default request parameters changed (edited in
// the Parameters pane); the Request pane picks them up.
type DefaultParamsMsg struct {
	Text string
}

// FocusPaneMsg asks the root to switch to a pane (by index, 0-based), e.g.
// the Parameters pane jumping to Request after saving defaults.
type FocusPaneMsg struct {
	Index int
}

// ThemeChangedMsg tells panes the theme changed (Context.Styles is new);
// panes with components that keep their own styles (text areas, forms)
// restyle them.
type ThemeChangedMsg struct{}
