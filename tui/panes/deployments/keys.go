package deployments

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/jig-dev/jig/tui/common"
)

// KeyMap is the Deployments pane's key map.
//
// k is "up" (the workbench's hjkl, docs/ARCHITECTURE.md), so killing a
// replica is K (or ctrl+k, as in k9s), the way btop moves kill to shift when
// vim keys are on. Every destructive key asks for confirmation.
type KeyMap struct {
	Up, Down, Open, Back, Filter         key.Binding
	Restart, RestartReplica, KillReplica key.Binding
}

// DefaultKeyMap returns the pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:             common.Binding("↑/k", "up", "up", "k"),
		Down:           common.Binding("↓/j", "down", "down", "j"),
		Open:           common.Binding("enter", "replicas", "enter", "l", "right"),
		Back:           common.Binding("esc", "back", "esc", "h", "left"),
		Filter:         common.Binding("/", "filter", "/"),
		Restart:        common.Binding("r", "restart deployment", "r"),
		RestartReplica: common.Binding("R", "restart replica", "R"),
		KillReplica:    common.Binding("K", "kill replica", "K", "ctrl+k"),
	}
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	switch {
	case m.confirm.Open():
		return common.ConfirmKeys()
	case m.filter.Typing():
		return []key.Binding{common.Binding("enter", "keep filter", "enter"), common.Binding("esc", "clear", "esc")}
	case m.detail:
		return []key.Binding{k.Back, k.Restart, k.RestartReplica, k.KillReplica}
	}
	return []key.Binding{k.Open, k.Restart, k.Filter}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{
		{k.Up, k.Down, k.Open, k.Back, k.Filter},
		{k.Restart, k.RestartReplica, k.KillReplica},
	}
}
