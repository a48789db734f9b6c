package common

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
)

func TestSanitizeStripsControlSequences(t *testing.T) {
	cases := map[string]string{
		"plain text":                      "plain text",
		"\x1b[31mred\x1b[0m":              "red",
		"clip\x1b]52;c;aGVsbG8=\x07board": "clipboard",
		"title\x1b]0;pwned\x1b\\ ok":      "title ok",
		"cursor\x1b[2J\x1b[Hhome":         "cursorhome",
		"bell\x07 back\bspace\r":          "bell backspace",
		"tab\there":                       "tab    here",
		"c1 \u009b31m csi":                "c1 31m csi",
		"del\x7f":                         "del",
		"ünïcödé ✓":                       "ünïcödé ✓",
		"bad utf8 \xff end":               "bad utf8 \uFFFD end",
	}
	for in, want := range cases {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
	if got := SanitizeLines("a\x1b[1m\r\nb"); got != "a\nb" {
		t.Errorf("SanitizeLines = %q", got)
	}
}

func TestFitTruncateBlock(t *testing.T) {
	if got := Fit("hello", 8); got != "hello   " {
		t.Errorf("Fit pad = %q", got)
	}
	if got := Fit("hello world", 8); Width(got) != 8 || !strings.HasSuffix(got, "…") {
		t.Errorf("Fit cut = %q", got)
	}
	if got := FitRight("42", 5); got != "   42" {
		t.Errorf("FitRight = %q", got)
	}
	b := Block("a\nbb\nccc\nd", 2, 3)
	if b != "a \nbb\nc…" {
		t.Errorf("Block = %q", b)
	}
	if got := Block("", 3, 2); got != "   \n   " {
		t.Errorf("Block empty = %q", got)
	}
}

func TestOverlayKeepsBackground(t *testing.T) {
	bg := strings.Repeat("..........\n", 4) + ".........."
	out := Overlay(bg, "XX\nYY", 10, 5)
	lines := strings.Split(out, "\n")
	if lines[1] != "....XX...." || lines[2] != "....YY...." || lines[0] != ".........." {
		t.Fatalf("overlay:\n%s", out)
	}
}

func TestLayoutDropsAndFlexes(t *testing.T) {
	cols := []Column{
		{Title: "A", Width: 10},
		{Title: "B", Width: 20, Min: 5, Flex: true, Drop: 1},
		{Title: "C", Width: 10, Drop: 2},
	}
	w := Layout(cols, 100)
	if w[0] != 10 || w[2] != 10 || w[1] != 100-2-10-10-2 {
		t.Errorf("wide layout = %v", w)
	}
	// Flex columns shrink before anything is dropped.
	if w = Layout(cols, 30); w[1] != 6 || w[2] != 10 {
		t.Errorf("layout 30 = %v (B should shrink to fit)", w)
	}
	w = Layout(cols, 25)
	if w[2] != 0 || w[0] != 10 || w[1] != 12 {
		t.Errorf("layout 25 = %v (C should be dropped, B get the room)", w)
	}
	row := Row(cols, w, []Cell{C("x", lipgloss.NewStyle()), C("y", lipgloss.NewStyle())}, true, lipgloss.NewStyle(), 25)
	if !strings.HasPrefix(row, "› x") || Width(row) != 25 {
		t.Errorf("selected row = %q", row)
	}
}

func TestSparklineAndBar(t *testing.T) {
	if got := Sparkline([]float64{0, 1, 2, 4}, 6); got != "   ▃▅█" && got != "  ▂▃▅█" {
		// two leading blanks for missing history, zero drawn as blank
		if Width(got) != 6 || !strings.HasSuffix(got, "█") {
			t.Errorf("Sparkline = %q", got)
		}
	}
	if got := Sparkline(nil, 3); got != "   " {
		t.Errorf("empty Sparkline = %q", got)
	}
	if got := Bar(5, 10, 4); got != "██  " {
		t.Errorf("Bar = %q", got)
	}
	if got := Bar(1, 8, 1); Width(got) != 1 {
		t.Errorf("Bar eighth = %q", got)
	}
	if got := Bar(0, 0, 3); got != "   " {
		t.Errorf("Bar zero = %q", got)
	}
}

func TestMatchAnySmartCase(t *testing.T) {
	if !MatchAny("raft", "index", "RAFT leader") {
		t.Error("lower-case pattern should ignore case")
	}
	if MatchAny("Raft", "raft leader") {
		t.Error("pattern with upper case should be case-sensitive")
	}
	if !MatchAny("", "x") {
		t.Error("empty pattern matches")
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Duration(0), "-"}, {Duration(850_000), "850µs"}, {Duration(12_300_000), "12.3ms"},
		{Rate(0), "0"}, {Rate(3.5), "3.5"}, {Rate(42.5), "42"}, {Rate(12345), "12.3k"},
		{Count(950), "950"}, {Count(12_300), "12.3k"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestUnescapeYAML: yaml.v3's \U escapes of emoji are shown as the
// characters; escaped backslashes and non-printable code points stay.
func TestUnescapeYAML(t *testing.T) {
	for in, want := range map[string]string{
		`greeting: "hi \U0001F44B"`:  `greeting: "hi 👋"`,
		`path: "C:\\U0001F44B"`:      `path: "C:\\U0001F44B"`,
		`x: "\\\U0001F44B"`:          `x: "\\👋"`,
		`bell: "\u0007"`:             `bell: "\u0007"`,
		`plain: text`:                `plain: text`,
		`e: "caf\u00e9 \U0001F600!"`: `e: "café 😀!"`,
	} {
		if got := UnescapeYAML(in); got != want {
			t.Errorf("UnescapeYAML(%s) = %s, want %s", in, got, want)
		}
	}
}
