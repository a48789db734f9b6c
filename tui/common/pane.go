package common

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Pane is one screen of the workbench (soft-serve's Component: a model,
// its own key map for help, and a size set by the root).
//
// Panes are used through pointers and update in place: Update returns only
// the command. The root delivers key messages to the active pane only and
// broadcasts every other message (status, event batches, results of
// commands) to all panes, so a result reaches its pane even after the user
// switched away.
type Pane interface {
	help.KeyMap
	// Init returns the pane's first command.
	Init() tea.Cmd
	// Update handles a message and returns a command.
	Update(msg tea.Msg) tea.Cmd
	// View renders the pane in exactly the size last given to SetSize.
	View() string
	// SetSize sets the size of the pane's area.
	SetSize(width, height int)
	// Title is the pane's name in the tab bar; ShortTitle is used when the
	// full titles do not fit.
	Title() string
	ShortTitle() string
	// Capturing reports that the pane wants every key: a text field has
	// focus or a confirmation is open, so "q" is a letter and "1" a digit,
	// not quit and "go to pane 1". Only ctrl+c bypasses a capturing pane.
	Capturing() bool
}

// HelpGroup is a titled group of keys in the help overlay.
type HelpGroup struct {
	Title string
	Keys  []key.Binding
}

// HelpGrouper is a pane whose keys differ by view (Request: Compose,
// Response, History): help lists them under one title per view instead
// of one mixed list.
type HelpGrouper interface {
	HelpGroups() []HelpGroup
}
