package tui

import (
	"sort"
	"strings"
	"unicode"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/tui/common"
)

// command is one entry of the command palette.
type command struct {
	// Title is what the user types and sees ("restart index").
	Title string
	// Hint is shown beside it, faint.
	Hint string
	// Run performs the command on the root model.
	Run func(m *Model) tea.Cmd
}

// palette is the `:` command palette (k9s's command mode with a fuzzy
// list, like posting's ctrl+p): type to narrow, ↑/↓ to choose, enter to
// run, esc to close.
type palette struct {
	input    textinput.Model
	all      []command
	matches  []command
	cursor   int
	maxShown int
}

func newPalette() palette {
	in := textinput.New()
	in.Prompt = ": "
	in.Placeholder = "command (restart index, theme light, pane logs, quit…)"
	in.Cursor.SetMode(cursor.CursorStatic)
	return palette{input: in, maxShown: 10}
}

// open resets the palette with the commands available now.
func (p *palette) open(cmds []command) tea.Cmd {
	p.all = cmds
	p.input.SetValue("")
	p.cursor = 0
	p.refresh()
	return p.input.Focus()
}

func (p *palette) refresh() {
	q := p.input.Value()
	type scored struct {
		c     command
		score int
	}
	var ss []scored
	for _, c := range p.all {
		if s, ok := fuzzy(q, c.Title); ok {
			ss = append(ss, scored{c, s})
		}
	}
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].score > ss[j].score })
	p.matches = p.matches[:0]
	for _, s := range ss {
		p.matches = append(p.matches, s.c)
	}
	p.cursor = min(p.cursor, max(0, len(p.matches)-1))
}

// update handles a key; it returns the chosen command (nil if none yet)
// and whether the palette should close.
func (p *palette) update(msg tea.KeyMsg) (chosen *command, closed bool, cmd tea.Cmd) {
	switch msg.String() {
	case "esc", "ctrl+g":
		return nil, true, nil
	case "enter":
		if len(p.matches) == 0 {
			return nil, true, nil
		}
		c := p.matches[p.cursor]
		return &c, true, nil
	case "up", "ctrl+p", "ctrl+k":
		p.cursor = max(0, p.cursor-1)
		return nil, false, nil
	case "down", "ctrl+n", "ctrl+j", "tab":
		p.cursor = min(len(p.matches)-1, p.cursor+1)
		return nil, false, nil
	}
	p.input, cmd = p.input.Update(msg)
	p.refresh()
	return nil, false, cmd
}

func (p *palette) view(ctx *common.Context, w, h int) string {
	st := ctx.Styles
	w = min(w, 70)
	p.input.Width = w - 6
	lines := []string{p.input.View(), st.Rule.Render(strings.Repeat("─", w-4))}
	// The box fits the pane area: borders, input and rule take 4 rows.
	shown := max(1, min(p.maxShown, h-4))
	top := common.Scroll(0, p.cursor, shown, len(p.matches))
	// Each row is exactly the box's inner width: "› " or "  ", the title
	// and the hint in a column of at most 24 cells, both cut to fit, so
	// nothing wraps onto the next line.
	inner := w - 4
	for i := top; i < min(len(p.matches), top+shown); i++ {
		c := p.matches[i]
		hintW := min(24, common.Width(c.Hint))
		text := common.Fit(c.Title, max(1, inner-2-hintW-1))
		hint := common.Fit(c.Hint, hintW)
		if i == p.cursor {
			lines = append(lines, st.Selected.Render(common.Fit("› "+text+" "+hint, inner)))
		} else {
			lines = append(lines, "  "+st.Primary.Render(text)+" "+st.Faint.Render(hint))
		}
	}
	if len(p.matches) == 0 {
		lines = append(lines, st.Faint.Render("  no command matches"))
	}
	return st.Box.Width(w - 2).Render(strings.Join(lines, "\n"))
}

// fuzzy matches query as a subsequence of s (case-insensitive) and scores
// it: consecutive letters and letters at word starts count more, so
// "rsi" ranks "restart index" above "transfer leadership index".
func fuzzy(query, s string) (int, bool) {
	q := []rune(strings.ToLower(strings.TrimSpace(query)))
	if len(q) == 0 {
		return 0, true
	}
	r := []rune(strings.ToLower(s))
	score, qi, prev := 0, 0, -2
	for i := 0; i < len(r) && qi < len(q); i++ {
		if r[i] != q[qi] {
			continue
		}
		score++
		if prev == i-1 {
			score += 3
		}
		if i == 0 || !unicode.IsLetter(r[i-1]) && !unicode.IsDigit(r[i-1]) {
			score += 2
		}
		prev = i
		qi++
	}
	if qi < len(q) {
		return 0, false
	}
	return score*100 - len(r), true
}
