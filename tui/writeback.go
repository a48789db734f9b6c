package tui

import (
	"fmt"
	"os"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/flowedit"
)

// writeBack is the offer, on quit, to write the flow's runtime changes
// into its YAML: the new text and its diff, shown before anything is
// written.
type writeBack struct {
	path string
	text []byte
	diff []string
	mode os.FileMode
}

// writeBackMsg carries the offer built off the UI loop (or why there is
// none).
type writeBackMsg struct {
	wb  *writeBack
	err error
}

// writtenMsg reports the file written (err: not written).
type writtenMsg struct {
	path string
	err  error
}

// prepareWriteBack reads the flow file and applies the changes to it, in
// a command.
func prepareWriteBack(path string, changes []flowedit.Change) tea.Cmd {
	changes = append([]flowedit.Change(nil), changes...)
	return func() tea.Msg {
		fi, err := os.Stat(path)
		if err != nil {
			return writeBackMsg{err: err}
		}
		old, err := os.ReadFile(path)
		if err != nil {
			return writeBackMsg{err: err}
		}
		text, err := flowedit.Apply(old, changes)
		if err != nil {
			return writeBackMsg{err: err}
		}
		return writeBackMsg{wb: &writeBack{path: path, text: text, diff: flowedit.Diff(string(old), string(text)), mode: fi.Mode().Perm()}}
	}
}

// write writes the new text, then quits.
func (w *writeBack) write() tea.Cmd {
	return func() tea.Msg {
		return writtenMsg{path: w.path, err: os.WriteFile(w.path, w.text, w.mode)}
	}
}

// writeBackKey handles y (write and quit), n (quit without writing) and
// esc (stay).
func (m *Model) writeBackKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.String() {
	case "y":
		wb := m.writeBack
		m.writeBack = nil
		return wb.write()
	case "n":
		m.writeBack = nil
		return m.quit()
	case "esc":
		m.writeBack = nil
	}
	return nil
}

// writeBackView draws the diff in a box that fits w×h.
func (m *Model) writeBackView(w, h int) string {
	st := m.ctx.Styles
	wb := m.writeBack
	inner := max(20, w-8)
	lines := []string{st.Warning.Bold(true).Render(common.Truncate("Write the changes made here into "+wb.path+"?", inner)), ""}
	room := max(1, h-2-5)
	for i, l := range wb.diff {
		if i == room-1 && len(wb.diff) > room {
			lines = append(lines, st.Faint.Render(fmt.Sprintf("… %d more lines", len(wb.diff)-i)))
			break
		}
		style := st.Secondary
		switch {
		case strings.HasPrefix(l, "+ "):
			style = st.Success
		case strings.HasPrefix(l, "- "):
			style = st.Error
		}
		lines = append(lines, style.Render(common.Truncate(l, inner)))
	}
	lines = append(lines, "", st.Key.Render("y")+st.KeyDesc.Render(" write and quit   ")+st.Key.Render("n")+st.KeyDesc.Render(" quit without writing   ")+
		st.Key.Render("esc")+st.KeyDesc.Render(" stay"))
	return st.Box.Render(strings.Join(lines, "\n"))
}
