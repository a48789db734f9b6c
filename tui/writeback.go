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
	// quit: the offer was made on quit, and answering it quits.
	quit bool
}

// writeBackMsg carries the offer built off the UI loop (or why there is
// none).
type writeBackMsg struct {
	wb   *writeBack
	err  error
	quit bool
}

// writtenMsg reports the file written (err: not written).
type writtenMsg struct {
	path string
	err  error
	quit bool
}

// prepareWriteBack reads the flow file and applies the changes to it, in
// a command; quit: the offer is made on quit.
func prepareWriteBack(path string, changes []flowedit.Change, quit bool) tea.Cmd {
	changes = append([]flowedit.Change(nil), changes...)
	return func() tea.Msg {
		fi, err := os.Stat(path)
		if err != nil {
			return writeBackMsg{err: err, quit: quit}
		}
		old, err := os.ReadFile(path)
		if err != nil {
			return writeBackMsg{err: err, quit: quit}
		}
		text, err := flowedit.Apply(old, changes)
		if err != nil {
			return writeBackMsg{err: err, quit: quit}
		}
		return writeBackMsg{quit: quit, wb: &writeBack{path: path, text: text, diff: flowedit.Diff(string(old), string(text)), mode: fi.Mode().Perm(), quit: quit}}
	}
}

// write writes the new text (then quits, for an offer made on quit).
func (w *writeBack) write() tea.Cmd {
	return func() tea.Msg {
		return writtenMsg{path: w.path, err: os.WriteFile(w.path, w.text, w.mode), quit: w.quit}
	}
}

// writeBackKey handles y (write, and quit on quit), n (quit without
// writing; on "write" it only closes) and esc (stay).
func (m *Model) writeBackKey(msg tea.KeyMsg) tea.Cmd {
	wb := m.writeBack
	switch msg.String() {
	case "y":
		m.writeBack = nil
		return wb.write()
	case "n":
		m.writeBack = nil
		if wb.quit {
			return m.quit()
		}
		m.asking = false
	case "esc":
		m.writeBack, m.asking = nil, false
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
	keys := st.Key.Render("y") + st.KeyDesc.Render(" write   ") + st.Key.Render("esc") + st.KeyDesc.Render(" not now")
	if wb.quit {
		keys = st.Key.Render("y") + st.KeyDesc.Render(" write and quit   ") + st.Key.Render("n") + st.KeyDesc.Render(" quit without writing   ") +
			st.Key.Render("esc") + st.KeyDesc.Render(" stay")
	}
	lines = append(lines, "", keys)
	return st.Box.Render(strings.Join(lines, "\n"))
}
