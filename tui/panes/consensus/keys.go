package consensus

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/jig-dev/jig/tui/common"
)

// KeyMap is the Consensus pane's key map. Kill is K (k moves up); every
// action asks for confirmation.
type KeyMap struct {
	Up, Down                          key.Binding
	Snapshot, Transfer, Kill, Restart key.Binding
}

// DefaultKeyMap returns the pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       common.Binding("↑/k", "up", "up", "k"),
		Down:     common.Binding("↓/j", "down", "down", "j"),
		Snapshot: common.Binding("s", "snapshot replica", "s"),
		Transfer: common.Binding("T", "transfer leadership", "T"),
		Kill:     common.Binding("K", "kill replica", "K", "ctrl+k"),
		Restart:  common.Binding("R", "restart replica", "R"),
	}
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	if m.confirm.Open() {
		return common.ConfirmKeys()
	}
	k := m.keys
	if len(m.shards()) == 0 {
		return nil // a stateless flow: nothing here to act on
	}
	return []key.Binding{k.Snapshot, k.Transfer, k.Kill, k.Restart}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	if len(m.shards()) == 0 {
		return nil
	}
	return [][]key.Binding{{k.Up, k.Down, common.TopKey, common.BottomKey}, {k.Snapshot, k.Transfer, k.Kill, k.Restart}}
}
