package logs

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/jig-dev/jig/tui/common"
)

// KeyMap is the Logs pane's key map.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Follow, Filter, PickSource              key.Binding
	Level, Wrap, Clear                      key.Binding
	// Commit and ClearFilter apply while typing a filter.
	Commit, ClearFilter key.Binding
}

// DefaultKeyMap returns the Logs pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:          common.Binding("↑/k", "scroll up (pauses)", "up", "k"),
		Down:        common.Binding("↓/j", "scroll down", "down", "j"),
		PageUp:      common.Binding("pgup/ctrl+u", "page up", "pgup", "ctrl+u", "ctrl+b"),
		PageDown:    common.Binding("pgdn/ctrl+d", "page down", "pgdown", "ctrl+d", "ctrl+f"),
		Top:         common.Binding("g/home", "oldest line", "g", "home"),
		Bottom:      common.Binding("G/end", "newest line (follow)", "G", "end"),
		Follow:      common.Binding("f", "follow/pause", "f"),
		Filter:      common.Binding("/", "filter text", "/"),
		PickSource:  common.Binding("S", "pick source", "S"),
		Level:       common.Binding("L", "minimum level", "L"),
		Wrap:        common.Binding("w", "wrap lines", "w"),
		Clear:       common.Binding("C", "clear buffer", "C"),
		Commit:      common.Binding("enter", "keep filter", "enter"),
		ClearFilter: common.Binding("esc", "clear filter", "esc"),
	}
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	switch {
	case m.filtering:
		return []key.Binding{k.Commit, k.ClearFilter}
	case m.picker.open:
		return []key.Binding{k.Up, k.Down, k.Commit, k.ClearFilter}
	}
	return []key.Binding{k.Follow, k.Filter, k.PickSource, k.Level, k.Wrap}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Follow, k.Filter, k.Commit, k.ClearFilter},
		{k.PickSource, k.Level, k.Wrap, k.Clear},
	}
}
