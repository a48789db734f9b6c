package themes

import (
	"hash/fnv"
	"log/slog"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Styles are the lipgloss styles of one theme, built once when the theme
// changes so that rendering a frame does not rebuild styles.
type Styles struct {
	// Theme is the theme the styles were built from.
	Theme Theme
	// NoColor is true when the styles carry no colour (NO_COLOR).
	NoColor bool

	Primary, Secondary, Faint, Accent lipgloss.Style
	Error, Warning, Success           lipgloss.Style
	// Bold is primary text in bold (titles, values that matter).
	Bold lipgloss.Style
	// Header is a table header.
	Header lipgloss.Style
	// Selected is the selected row (background, or reverse video).
	Selected lipgloss.Style
	// TabActive and TabInactive draw the pane tabs (see Tab).
	TabActive, TabInactive lipgloss.Style
	// Rule draws horizontal rules.
	Rule lipgloss.Style
	// Box frames modals (confirmations, palette, help).
	Box lipgloss.Style
	// FocusedBox and BlurredBox frame editors.
	FocusedBox, BlurredBox lipgloss.Style
	// Key and KeyDesc render help entries.
	Key, KeyDesc lipgloss.Style
	// Bar is the filled part of bars and sparklines.
	Bar lipgloss.Style
	// Match marks the text a search or filter matched (reverse video in
	// the warning colour, readable on any background).
	Match lipgloss.Style
	// Levels colour the level column: debug, info, warn, error.
	Levels [4]lipgloss.Style
	// Sources colour log sources (see Source).
	Sources []lipgloss.Style

	// base is the theme's screen background (Background.Base), "" for
	// none or without colour.
	base string
}

// Paint draws the theme's screen background behind frame (see
// Background.Base): the background is set at the start of every line and
// again after every reset, so text drawn with styles that set no
// background of their own stays on it. Lines must already be padded to
// the screen's width. Without a base colour frame is returned unchanged.
func (s *Styles) Paint(frame string) string {
	if s.base == "" {
		return frame
	}
	seq := lipgloss.ColorProfile().Color(s.base).Sequence(true)
	if seq == "" {
		return frame // an Ascii profile: no colour at all
	}
	bg := "\x1b[" + seq + "m"
	lines := strings.Split(frame, "\n")
	for i, l := range lines {
		lines[i] = bg + strings.ReplaceAll(l, "\x1b[0m", "\x1b[0m"+bg) + "\x1b[0m"
	}
	return strings.Join(lines, "\n")
}

// NewStyles builds the styles of t. With noColor the styles use no colour
// at all (NO_COLOR): selection becomes reverse video and the active tab is
// bold and reverse, so the UI stays usable.
func NewStyles(t Theme, noColor bool) *Styles {
	fg := func(c string) lipgloss.Style {
		if noColor || c == "" {
			return lipgloss.NewStyle()
		}
		return lipgloss.NewStyle().Foreground(lipgloss.Color(c))
	}
	s := &Styles{Theme: t, NoColor: noColor}
	if !noColor {
		s.base = t.Background.Base
	}
	s.Primary = fg(t.Text.Primary)
	s.Secondary = fg(t.Text.Secondary)
	s.Faint = fg(t.Text.Faint)
	s.Accent = fg(t.Text.Accent)
	s.Error = fg(t.Text.Error)
	s.Warning = fg(t.Text.Warning)
	s.Match = s.Warning.Reverse(true).Bold(true)
	s.Success = fg(t.Text.Success)
	s.Bold = fg(t.Text.Primary).Bold(true)
	s.Header = fg(t.Text.Secondary).Bold(true)
	s.Rule = fg(t.Border.Faint)
	s.Key = fg(t.Text.Accent).Bold(true)
	s.KeyDesc = fg(t.Text.Secondary)
	s.Bar = fg(t.Text.Accent)
	s.Levels = [4]lipgloss.Style{fg(t.Levels.Debug), fg(t.Levels.Info), fg(t.Levels.Warn), fg(t.Levels.Error).Bold(true)}

	box := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1)
	if noColor {
		s.Selected = lipgloss.NewStyle().Reverse(true)
		s.TabActive = lipgloss.NewStyle().Bold(true).Reverse(true)
		s.TabInactive = lipgloss.NewStyle()
		s.Box = box
		s.FocusedBox = lipgloss.NewStyle().Border(lipgloss.ThickBorder())
		s.BlurredBox = lipgloss.NewStyle().Border(lipgloss.NormalBorder())
	} else {
		s.Selected = lipgloss.NewStyle().Background(lipgloss.Color(t.Background.Selected)).Foreground(lipgloss.Color(t.Text.Primary))
		s.TabActive = lipgloss.NewStyle().Bold(true).
			Foreground(lipgloss.Color(t.Text.Inverted)).Background(lipgloss.Color(t.Text.Accent))
		s.TabInactive = fg(t.Text.Secondary)
		s.Box = box.BorderForeground(lipgloss.Color(t.Border.Primary))
		s.FocusedBox = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color(t.Border.Primary))
		s.BlurredBox = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color(t.Border.Faint))
	}
	for _, c := range t.Sources {
		s.Sources = append(s.Sources, fg(c))
	}
	if len(s.Sources) == 0 {
		s.Sources = []lipgloss.Style{s.Primary}
	}
	return s
}

// Source returns the style of a log source. The same source always gets
// the same colour (FNV hash of its name), across sessions too.
func (s *Styles) Source(name string) lipgloss.Style {
	return s.Sources[SourceIndex(name, len(s.Sources))]
}

// SourceIndex maps a source name onto a palette of n colours.
func SourceIndex(name string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32() % uint32(n))
}

// Level returns the style of a log level.
func (s *Styles) Level(l slog.Level) lipgloss.Style {
	switch {
	case l >= slog.LevelError:
		return s.Levels[3]
	case l >= slog.LevelWarn:
		return s.Levels[2]
	case l >= slog.LevelInfo:
		return s.Levels[1]
	default:
		return s.Levels[0]
	}
}

// State returns the style of a lifecycle state ("ready", "failed", ...).
func (s *Styles) State(state string) lipgloss.Style {
	switch state {
	case "ready", "Leader", "succeeded", "ok":
		return s.Success
	case "failed", "Shutdown", "error":
		return s.Error
	case "degraded", "starting", "reloading", "stopping", "Candidate", "started":
		return s.Warning
	case "stopped":
		return s.Faint
	}
	return s.Primary
}

// Tab renders a tab label. The active tab is bracketed as well as styled,
// so it stays visible without colour (NO_COLOR, plain-text goldens).
func (s *Styles) Tab(label string, active bool) string {
	if active {
		return s.TabActive.Render("[" + label + "]")
	}
	return s.TabInactive.Render(" " + label + " ")
}
