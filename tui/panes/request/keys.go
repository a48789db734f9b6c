package request

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/jig-dev/jig/tui/common"
)

// KeyMap is the Request pane's key map.
//
// Send and copy follow posting (ctrl+j/alt+enter send there; ctrl+s is
// added because many terminals cannot tell alt+enter apart). While a field
// is being edited every key goes to it, except the ones below marked
// "while editing".
type KeyMap struct {
	PrevTab, NextTab      key.Binding
	Up, Down, Left, Right key.Binding
	Edit, Done            key.Binding
	// NextField and PrevField move between fields while editing.
	NextField, PrevField key.Binding
	Send, Copy, Discover key.Binding
	Template             key.Binding
	PageUp, PageDown     key.Binding
	Rerun, Load          key.Binding
	// CopyTrace copies the response's trace id (Response view).
	CopyTrace key.Binding
}

// DefaultKeyMap returns the pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		PrevTab:   common.Binding("[", "previous view", "["),
		NextTab:   common.Binding("]", "next view", "]"),
		Up:        common.Binding("↑/k", "up", "up", "k"),
		Down:      common.Binding("↓/j", "down", "down", "j"),
		Left:      common.Binding("←/h", "previous choice", "left", "h"),
		Right:     common.Binding("→/l", "next choice", "right", "l"),
		Edit:      common.Binding("enter/i", "edit field", "enter", "i"),
		Done:      common.Binding("esc", "stop editing", "esc"),
		NextField: common.Binding("tab", "next field (editing)", "tab"),
		PrevField: common.Binding("shift+tab", "previous field (editing)", "shift+tab"),
		Send:      common.Binding("ctrl+s", "send", "ctrl+s", "alt+enter", "ctrl+j"),
		Copy:      common.Binding("c", "copy as jig post / grpcurl", "c"),
		Discover:  common.Binding("ctrl+r", "rediscover endpoints", "ctrl+r"),
		Template:  common.Binding("ctrl+t", "insert schema template", "ctrl+t"),
		PageUp:    common.Binding("pgup", "page up", "pgup", "ctrl+u"),
		PageDown:  common.Binding("pgdn", "page down", "pgdown", "ctrl+d"),
		Rerun:     common.Binding("enter", "re-run", "enter"),
		Load:      common.Binding("e", "load into composer", "e"),
		CopyTrace: common.Binding("y", "copy trace id", "y"),
	}
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	switch {
	case m.copyText != "":
		return []key.Binding{common.Binding("esc", "close", "esc")}
	case m.editing:
		return []key.Binding{k.Done, k.NextField, k.Send}
	case m.tab == tabHistory:
		return []key.Binding{k.Rerun, k.Load, k.PrevTab, k.NextTab}
	case m.tab == tabResponse && m.last != nil && m.last.Resp != nil && m.last.Resp.TraceID != "":
		return []key.Binding{k.Up, k.Down, k.CopyTrace, k.PrevTab, k.NextTab, k.Send}
	case m.tab == tabResponse:
		return []key.Binding{k.Up, k.Down, k.PrevTab, k.NextTab, k.Send}
	}
	return []key.Binding{k.Edit, k.Left, k.Send, k.Copy, k.NextTab}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{
		{k.PrevTab, k.NextTab, k.Up, k.Down, k.Left, k.Right},
		{k.Edit, k.Done, k.NextField, k.PrevField, k.Template},
		{k.Send, k.Copy, k.Discover, k.Rerun, k.Load, k.CopyTrace, k.PageUp, k.PageDown},
	}
}

// HelpGroups implements common.HelpGrouper: the keys of each view.
func (m *Model) HelpGroups() []common.HelpGroup {
	k := m.keys
	return []common.HelpGroup{
		{Title: "Compose", Keys: []key.Binding{k.Up, k.Down, k.Left, k.Right, k.Edit, k.Template, k.Send, k.Copy, k.Discover}},
		{Title: "Editing a field", Keys: []key.Binding{k.Done, k.NextField, k.PrevField, k.Template, k.Send}},
		{Title: "Response", Keys: []key.Binding{
			k.Up, k.Down, k.PageUp, k.PageDown,
			common.Binding("enter", "one document's JSON", "enter"),
			common.Binding("v", "raw JSON / results", "v"),
			common.Binding("x", "expand/collapse arrays (document)", "x"),
			common.Binding("/", "search (n/N next/previous)", "/"),
			k.CopyTrace,
			common.Binding("esc", "back / clear search / cancel a send", "esc"),
			common.TopKey, common.BottomKey,
		}},
		{Title: "History", Keys: []key.Binding{k.Up, k.Down, common.TopKey, common.BottomKey, k.Rerun, k.Load}},
		{Title: "Views", Keys: []key.Binding{k.PrevTab, k.NextTab}},
	}
}
