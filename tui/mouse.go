package tui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/tui/common"
)

// Clicker is a pane that selects what was clicked: row is the line of the
// pane's own area (0 is its first line).
type Clicker interface {
	Click(col, row int) tea.Cmd
}

// mouse handles bubbletea's mouse messages as lazygit and k9s do: a click
// on a tab opens its pane, a click in a pane selects the row under it
// (panes implementing Clicker), and the wheel moves like ↑/↓ in the pane
// under it. Modals and text fields keep the mouse out.
func (m *Model) mouse(msg tea.MouseMsg) tea.Cmd {
	if m.tooSmall || m.quitting || m.overlay != overlayNone || m.confirm.Open() || m.writeBack != nil {
		return nil
	}
	pane := m.panes[m.active]
	if pane.Capturing() {
		return nil
	}
	switch msg.Button {
	case tea.MouseButtonWheelUp, tea.MouseButtonWheelDown:
		if msg.Action != tea.MouseActionPress {
			return nil
		}
		k := tea.KeyMsg{Type: tea.KeyDown}
		if msg.Button == tea.MouseButtonWheelUp {
			k = tea.KeyMsg{Type: tea.KeyUp}
		}
		return pane.Update(k)
	case tea.MouseButtonLeft:
		if msg.Action != tea.MouseActionRelease {
			return nil
		}
		if msg.Y == 0 {
			if i := m.tabAt(msg.X); i >= 0 {
				m.setPane(i)
			}
			return nil
		}
		if c, ok := pane.(Clicker); ok && msg.Y >= 1 && msg.Y < m.ctx.Height-chromeHeight+1 {
			return c.Click(msg.X, msg.Y-1)
		}
	}
	return nil
}

// tabAt is the pane whose tab covers column x of the tab bar (-1: none).
// It measures the labels the way tabBar draws them.
func (m *Model) tabAt(x int) int {
	st := m.ctx.Styles
	short := common.Width(m.tabBar(m.ctx.Width)) < common.Width(m.tabBarFull())
	pos := common.Width(st.Bold.Render("jig ")) + 1 // and the first "│"
	for i, p := range m.panes {
		title := p.Title()
		if short {
			title = p.ShortTitle()
		}
		w := common.Width(st.Tab(fmt.Sprintf("%d %s", i+1, title), i == m.active))
		if x >= pos && x < pos+w {
			return i
		}
		pos += w + 1 // the "│" between tabs
	}
	return -1
}

// tabBarFull is the tab bar with full titles, whatever the width.
func (m *Model) tabBarFull() string { return m.tabBar(1 << 20) }
