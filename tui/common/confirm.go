package common

import (
	"context"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/jig-dev/jig/themes"
)

// Confirm is a yes/no question guarding a destructive action (kill,
// restart, snapshot, leadership transfer): y or enter runs the action, n
// or esc drops it. While it is open the pane is capturing keys.
type Confirm struct {
	prompt string
	action tea.Cmd
	open   bool
}

var (
	confirmYes = key.NewBinding(key.WithKeys("y", "Y", "enter"), key.WithHelp("y", "confirm"))
	confirmNo  = key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "cancel"))
)

// ConfirmKeys are the keys of an open confirmation, for help.
func ConfirmKeys() []key.Binding { return []key.Binding{confirmYes, confirmNo} }

// Ask opens the confirmation.
func (c *Confirm) Ask(prompt string, action tea.Cmd) {
	c.prompt, c.action, c.open = prompt, action, true
}

// Open reports whether the question is showing.
func (c *Confirm) Open() bool { return c.open }

// Update handles a key while the confirmation is open and returns the
// action when confirmed. Other keys are swallowed.
func (c *Confirm) Update(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, confirmYes):
		c.open = false
		return c.action
	case key.Matches(msg, confirmNo):
		c.open = false
	}
	return nil
}

// View renders the question as a box to overlay on the pane.
func (c *Confirm) View(st *themes.Styles) string {
	body := lipgloss.JoinVertical(lipgloss.Left,
		// Wrapped to fit the smallest screen (80 columns) with its box.
		st.Warning.Bold(true).Render(strings.Join(Wrap(c.prompt, 64), "\n")),
		"",
		st.Key.Render("y")+st.KeyDesc.Render(" yes   ")+st.Key.Render("n")+st.KeyDesc.Render(" no"),
	)
	return st.Box.Render(body)
}

// ActionTimeout bounds engine actions started from the UI.
const ActionTimeout = 2 * time.Minute

// Action runs fn as a command and reports an ActionDoneMsg labelled label.
// ctx is the workbench's context: quitting cancels actions in flight.
func Action(ctx context.Context, label string, fn func(ctx context.Context) error) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, ActionTimeout)
		defer cancel()
		start := time.Now()
		err := fn(ctx)
		return ActionDoneMsg{Label: label, Err: err, Took: time.Since(start)}
	}
}

// Toast returns a command showing a notice in the status bar.
func Toast(text string, isErr bool) tea.Cmd {
	return func() tea.Msg { return ToastMsg{Text: text, Err: isErr} }
}

// Binding is a shorthand for key.NewBinding with keys and help.
func Binding(helpKey, desc string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(helpKey, desc))
}

// The navigation keys every list pane shares, so that g, G, j, k, enter,
// esc and / mean the same thing everywhere (lazygit, k9s).
var (
	// TopKey goes to the first row.
	TopKey = Binding("g/home", "first row", "g", "home")
	// BottomKey goes to the last row.
	BottomKey = Binding("G/end", "last row", "G", "end")
)
