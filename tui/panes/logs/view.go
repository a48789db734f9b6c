package logs

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/jig-dev/jig/tui/common"
)

// timeLayout is the timestamp column (12 cells).
const timeLayout = "15:04:05.000"

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERR"
	case l >= slog.LevelWarn:
		return "WRN"
	case l >= slog.LevelInfo:
		return "INF"
	default:
		return "DBG"
	}
}

// View implements common.Pane. It renders only the visible lines, walking
// back from the bottom one, so its cost does not depend on the ring size.
func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	ch := m.contentHeight()
	rows := make([]string, 0, ch)
	if b := m.bottom(); b >= 0 {
		// Collect rows bottom-up, then reverse.
		for i := b; i >= 0 && len(rows) < ch; i-- {
			e := m.ring.get(m.seqAt(i))
			if e == nil {
				break
			}
			r := m.render(e)
			for j := len(r) - 1; j >= 0 && len(rows) < ch; j-- {
				rows = append(rows, r[j])
			}
		}
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	} else {
		rows = append(rows, m.ctx.Styles.Faint.Render(m.emptyText()))
	}

	out := make([]string, 0, m.h)
	out = append(out, m.statusLine())
	out = append(out, rows...)
	for len(out) < m.h-1 || (!m.filtering && len(out) < m.h) {
		out = append(out, "")
	}
	if m.filtering {
		out = append(out[:m.h-1], m.input.View())
	}
	view := common.Block(strings.Join(out, "\n"), m.w, m.h)
	if m.picker.open {
		view = common.Overlay(view, m.pickerView(), m.w, m.h)
	}
	return view
}

func (m *Model) emptyText() string {
	if m.ring.len() == 0 {
		return "No log lines yet."
	}
	return "No line matches the filters (esc clears them)."
}

// render returns the rows of one line, from its cache when the width,
// wrap mode, source column and theme are unchanged.
func (m *Model) render(e *entry) []string {
	mark := m.text
	if strings.HasPrefix(mark, "!") {
		mark = "" // an exclusion matches nothing on the lines shown
	}
	key := cacheKey{gen: m.ctx.ThemeGen, width: m.w, srcW: m.srcW, wrap: m.wrap, mark: mark}
	if e.cacheKey == key && len(e.cache) > 0 {
		return e.cache
	}
	st := m.ctx.Styles
	prefixW := len(timeLayout) + 1 + m.srcW + 1 + 3 + 1
	prefix := st.Faint.Render(e.Time.Format(timeLayout)) + " " +
		st.Source(e.Source).Render(common.Fit(e.Source, m.srcW)) + " " +
		st.Level(e.Level).Render(levelName(e.Level)) + " "
	textW := max(1, m.w-prefixW)
	textStyle := st.Primary
	if e.Level >= slog.LevelError {
		textStyle = st.Error
	}
	e.cache = e.cache[:0]
	if !m.wrap {
		e.cache = append(e.cache, prefix+common.Highlight(common.Truncate(e.Text, textW), mark, textStyle, st.Match))
	} else {
		indent := strings.Repeat(" ", prefixW)
		for i, part := range common.Wrap(e.Text, textW) {
			if i == 0 {
				e.cache = append(e.cache, prefix+common.Highlight(part, mark, textStyle, st.Match))
			} else {
				e.cache = append(e.cache, indent+common.Highlight(part, mark, textStyle, st.Match))
			}
		}
		if len(e.cache) == 0 {
			e.cache = append(e.cache, prefix)
		}
	}
	e.cacheKey = key
	return e.cache
}

func (m *Model) statusLine() string {
	st := m.ctx.Styles
	parts := []string{st.Bold.Render("Logs")}
	if m.follow {
		parts = append(parts, st.Success.Render("● following"))
	} else {
		p := "‖ paused"
		if n := m.newLines(); n > 0 {
			p += fmt.Sprintf(" +%d new", n)
		}
		parts = append(parts, st.Warning.Render(p+" (f follows)"))
	}
	lines := fmt.Sprintf("%d lines", m.ring.len())
	if m.filtered() {
		lines = fmt.Sprintf("%d/%d lines", m.count(), m.ring.len())
	}
	parts = append(parts, st.Secondary.Render(lines))
	if m.text != "" {
		parts = append(parts, st.Accent.Render(fmt.Sprintf("filter %q", m.text)))
	}
	src := "all sources"
	if m.source != "" {
		src = "source " + m.source
	}
	parts = append(parts, st.Secondary.Render(src), st.Secondary.Render("level "+levels[m.level].name))
	if m.wrap {
		parts = append(parts, st.Secondary.Render("wrap"))
	}
	if m.dropped > 0 {
		parts = append(parts, st.Warning.Render(fmt.Sprintf("%d dropped", m.dropped)))
	}
	return strings.Join(parts, st.Faint.Render(" · "))
}

func (m *Model) pickerView() string {
	st := m.ctx.Styles
	p := m.picker
	h := max(3, min(len(p.choices), m.h-6))
	top := common.Scroll(0, p.cursor, h, len(p.choices))
	w := 12
	for _, c := range p.choices {
		w = max(w, len(c)+8)
	}
	w = min(w, m.w-6)
	lines := []string{st.Bold.Render("Show logs from"), ""}
	for i := top; i < min(len(p.choices), top+h); i++ {
		name, n := p.choices[i], 0
		if name == "" {
			name = "all sources"
			n = m.ring.len()
		} else if c, ok := m.sources[name]; ok {
			n = c
		} else {
			for s, c := range m.sources {
				if strings.HasPrefix(s, name+"/") {
					n += c
				}
			}
		}
		row := common.Fit(name, w-7) + common.FitRight(fmt.Sprint(n), 7)
		if i == p.cursor {
			lines = append(lines, st.Selected.Render("› "+row))
		} else {
			lines = append(lines, "  "+st.Source(name).Render(row))
		}
	}
	return st.Box.Render(strings.Join(lines, "\n"))
}
