package tui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/jig-dev/jig/tui/common"
)

// KeyMap is the workbench's global key map (docs/ARCHITECTURE.md, "The
// workbench's structure"). Global keys are looked at only when no pane is
// capturing keys (a text field has focus), except ForceQuit.
type KeyMap struct {
	Panes              [7]key.Binding
	NextPane, PrevPane key.Binding
	Help, Palette      key.Binding
	Theme              key.Binding
	Quit, ForceQuit    key.Binding
	Back               key.Binding
}

// DefaultKeyMap returns the global keys.
func DefaultKeyMap() KeyMap {
	k := KeyMap{
		NextPane:  common.Binding("tab", "next pane", "tab"),
		PrevPane:  common.Binding("shift+tab", "previous pane", "shift+tab"),
		Help:      common.Binding("?", "help", "?"),
		Palette:   common.Binding(":", "command palette", ":"),
		Theme:     common.Binding("t", "cycle theme", "t"),
		Quit:      common.Binding("q", "quit", "q"),
		ForceQuit: common.Binding("ctrl+c", "quit (asks once if unsaved)", "ctrl+c"),
		Back:      common.Binding("esc", "back / close", "esc"),
	}
	names := []string{"Deployments", "Consensus", "Logs", "Events", "Request", "Parameters", "New executor"}
	for i := range k.Panes {
		n := string(rune('1' + i))
		k.Panes[i] = common.Binding(n, names[i], n)
	}
	return k
}

// ShortHelp is the global part of the footer.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Palette, k.Quit}
}

// FullHelp lists every global key.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		k.Panes[:],
		{k.NextPane, k.PrevPane, k.Help, k.Palette, k.Theme, k.Back, k.Quit, k.ForceQuit},
	}
}
