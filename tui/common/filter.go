package common

import (
	"strings"
	"unicode"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Filter is the `/` filter of list panes (lazydocker #655's behaviour):
// it filters live while typing, enter keeps the filter and returns to the
// list, esc clears it.
type Filter struct {
	input  textinput.Model
	typing bool
}

// NewFilter returns an empty filter.
func NewFilter() Filter {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "filter"
	in.Cursor.SetMode(cursor.CursorStatic)
	return Filter{input: in}
}

// Start focuses the filter input.
func (f *Filter) Start() tea.Cmd {
	f.typing = true
	f.input.CursorEnd()
	return f.input.Focus()
}

// Typing reports whether the input has focus (the pane is capturing).
func (f *Filter) Typing() bool { return f.typing }

// Value is the filter text.
func (f *Filter) Value() string { return f.input.Value() }

// Active reports whether a filter is set.
func (f *Filter) Active() bool { return f.input.Value() != "" }

// SetWidth sets the input's width.
func (f *Filter) SetWidth(w int) { f.input.Width = max(5, w-3) }

// Update handles a key while typing: enter commits, esc clears.
func (f *Filter) Update(msg tea.KeyMsg) tea.Cmd {
	switch msg.String() {
	case "enter":
		f.typing = false
		f.input.Blur()
		return nil
	case "esc":
		f.Clear()
		return nil
	}
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	return cmd
}

// Clear empties the filter and leaves the input; it reports whether there
// was anything to clear.
func (f *Filter) Clear() bool {
	had := f.typing || f.Active()
	f.typing = false
	f.input.Blur()
	f.input.SetValue("")
	return had
}

// View renders the input line.
func (f *Filter) View() string { return f.input.View() }

// Match reports whether any of fields contains the filter (smart case:
// case-insensitive unless the filter has an upper-case letter).
func (f *Filter) Match(fields ...string) bool {
	return MatchAny(f.input.Value(), fields...)
}

// MatchAny is Filter.Match for a given pattern.
func MatchAny(pat string, fields ...string) bool {
	if pat == "" {
		return true
	}
	fold := strings.IndexFunc(pat, unicode.IsUpper) < 0
	for _, s := range fields {
		if fold {
			s = strings.ToLower(s)
		}
		if strings.Contains(s, pat) {
			return true
		}
	}
	return false
}

// Highlight draws plain text in base with every occurrence of pat (smart
// case, as MatchAny) drawn in hl, so a filter or search shows what it
// matched.
func Highlight(text, pat string, base, hl lipgloss.Style) string {
	if pat == "" {
		return base.Render(text)
	}
	hay := text
	if strings.IndexFunc(pat, unicode.IsUpper) < 0 {
		hay = strings.ToLower(text)
		pat = strings.ToLower(pat)
	}
	// ToLower may change byte lengths outside ASCII; then only the
	// whole-text style is safe.
	if len(hay) != len(text) || !strings.Contains(hay, pat) {
		return base.Render(text)
	}
	var b strings.Builder
	for {
		i := strings.Index(hay, pat)
		if i < 0 {
			if text != "" {
				b.WriteString(base.Render(text))
			}
			return b.String()
		}
		if i > 0 {
			b.WriteString(base.Render(text[:i]))
		}
		b.WriteString(hl.Render(text[i : i+len(pat)]))
		text, hay = text[i+len(pat):], hay[i+len(pat):]
	}
}
