package common

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Sanitize makes text from executors safe to print: it removes escape
// sequences (colours, cursor movement, OSC 52 clipboard writes, title
// changes), C0 and C1 control characters and DEL, and turns tabs into
// spaces. Log text comes from child processes we do not control, and a
// stray sequence must not be able to drive the user's terminal.
//
// Newlines are removed too; callers that keep lines split first.
func Sanitize(s string) string {
	if isPlain(s) {
		return s
	}
	if strings.IndexByte(s, 0x1b) >= 0 || strings.Contains(s, "\u009b") || strings.Contains(s, "\u009d") {
		s = ansi.Strip(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			// drop: control characters
		case r == utf8.RuneError:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isPlain is the fast path of Sanitize: printable ASCII (and UTF-8
// without C1 controls) needs no work, which is nearly every log line.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f {
			return false // UTF-8 encoding of a C1 control
		}
	}
	return utf8.ValidString(s)
}

// SanitizeLines sanitises each line of s and keeps the line breaks.
func SanitizeLines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Sanitize(l)
	}
	return strings.Join(lines, "\n")
}

// Width is the display width of s (escape sequences excluded).
func Width(s string) int { return ansi.StringWidth(s) }

// Truncate cuts s to at most w cells, ending with "…" when cut. It keeps
// escape sequences intact.
func Truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// Fit truncates or pads s with spaces to exactly w cells.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	switch {
	case sw > w:
		return ansi.Truncate(s, w, "…")
	case sw < w:
		return s + strings.Repeat(" ", w-sw)
	}
	return s
}

// FitRight right-aligns s in w cells (numbers in tables).
func FitRight(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	switch {
	case sw > w:
		return ansi.Truncate(s, w, "…")
	case sw < w:
		return strings.Repeat(" ", w-sw) + s
	}
	return s
}

// Block makes a multi-line string exactly w×h: lines are cut or padded,
// missing lines are blank, extra lines dropped. Every pane's View ends
// with it, so the root can stack panes without measuring them.
func Block(s string, w, h int) string {
	if h <= 0 || w <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	var b strings.Builder
	b.Grow((w + 1) * h)
	blank := strings.Repeat(" ", w)
	for i := range h {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(Fit(lines[i], w))
		} else {
			b.WriteString(blank)
		}
	}
	return b.String()
}

// Lines joins lines with newlines.
func Lines(lines ...string) string { return strings.Join(lines, "\n") }

// Overlay draws fg centred over bg, a w×h block, keeping the bg visible
// around it (modals over a pane).
func Overlay(bg, fg string, w, h int) string {
	bgLines := strings.Split(Block(bg, w, h), "\n")
	fgLines := strings.Split(fg, "\n")
	fw := 0
	for _, l := range fgLines {
		fw = max(fw, ansi.StringWidth(l))
	}
	fw = min(fw, w)
	if len(fgLines) > h {
		fgLines = fgLines[:h]
	}
	x := max(0, (w-fw)/2)
	y := max(0, (h-len(fgLines))/2)
	for i, fl := range fgLines {
		row := y + i
		b := bgLines[row]
		left := ansi.Truncate(b, x, "")
		right := ansi.TruncateLeft(b, x+fw, "")
		bgLines[row] = left + Fit(fl, fw) + right
	}
	return strings.Join(bgLines, "\n")
}

// Center places s in the middle of a w×h block.
func Center(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, h)
	top := max(0, (h-len(lines))/2)
	for range top {
		out = append(out, "")
	}
	for _, l := range lines {
		lw := ansi.StringWidth(l)
		out = append(out, strings.Repeat(" ", max(0, (w-lw)/2))+l)
	}
	return Block(strings.Join(out, "\n"), w, h)
}

// Wrap breaks s (plain text) into lines of at most w cells, at spaces
// when it can.
func Wrap(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	if ansi.StringWidth(s) <= w {
		return []string{s}
	}
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// ErrorLines wraps an error message to width w as "✗ message" with
// continuation lines indented under the text, at most maxLines of them
// (the last one cut with "…"), so an error names every choice it lists
// instead of ending at the screen's edge.
func ErrorLines(msg string, w, maxLines int, st lipgloss.Style) []string {
	parts := Wrap(Sanitize(msg), max(1, w-2))
	if maxLines > 0 && len(parts) > maxLines {
		parts = append(parts[:maxLines-1], Truncate(strings.Join(parts[maxLines-1:], " "), max(1, w-2)))
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		prefix := "  "
		if i == 0 {
			prefix = "✗ "
		}
		out[i] = st.Render(prefix + p)
	}
	return out
}

// yamlEscape matches YAML's \U and \u escapes, with the backslashes
// before them (an even run is literal backslashes, not an escape).
var yamlEscape = regexp.MustCompile(`(\\+)(U[0-9A-Fa-f]{8}|u[0-9A-Fa-f]{4})`)

// UnescapeYAML puts back the characters yaml.v3 writes as \U0001F44B
// escapes (it escapes every character outside the Basic Multilingual
// Plane, emoji included) inside double-quoted scalars, so YAML shown for
// editing reads as it was written. The result is the same YAML: a
// double-quoted scalar may hold any printable character.
func UnescapeYAML(s string) string {
	if !strings.Contains(s, `\U`) && !strings.Contains(s, `\u`) {
		return s
	}
	return yamlEscape.ReplaceAllStringFunc(s, func(m string) string {
		sub := yamlEscape.FindStringSubmatch(m)
		slashes, code := sub[1], sub[2]
		if len(slashes)%2 == 0 {
			return m
		}
		v, err := strconv.ParseUint(code[1:], 16, 32)
		r := rune(v)
		if err != nil || !utf8.ValidRune(r) || !unicode.IsPrint(r) {
			return m
		}
		return slashes[:len(slashes)-1] + string(r)
	})
}
