package themes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func TestBuiltinsAreComplete(t *testing.T) {
	names := map[string]bool{}
	for _, th := range Builtin() {
		names[th.Name] = true
		for _, c := range []string{th.Text.Primary, th.Text.Secondary, th.Text.Faint, th.Text.Inverted, th.Text.Accent,
			th.Text.Error, th.Text.Warning, th.Text.Success, th.Border.Primary, th.Border.Faint, th.Background.Selected,
			th.Levels.Debug, th.Levels.Info, th.Levels.Warn, th.Levels.Error} {
			if err := ValidColor(c); err != nil {
				t.Errorf("%s: %v", th.Name, err)
			}
		}
		if len(th.Sources) < 5 {
			t.Errorf("%s: only %d source colours", th.Name, len(th.Sources))
		}
	}
	for _, n := range []string{"dark", "light", "high-contrast"} {
		if !names[n] {
			t.Errorf("missing built-in theme %q", n)
		}
	}
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDirGoodAndBadFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "solar.yml", `name: solarized
extends: light
text:
  primary: "#657b83"
  accent: "#268bd2"
log:
  levels: {error: "#dc322f"}
  sources: ["#268bd2", "#859900", "136"]
`)
	write(t, dir, "typo.yml", "name: typo\ntext:\n  primray: \"#fff\"\n")
	write(t, dir, "badcolor.yaml", "name: bad\nborder:\n  faint: \"#12345\"\n")
	write(t, dir, "broken.yml", "name: broken\ntext: [unclosed\n")
	write(t, dir, "noname.yml", "text:\n  primary: \"#fff\"\n")
	write(t, dir, "dark.yml", "name: dark\ntext: {primary: \"#ffffff\"}\n")
	write(t, dir, "notes.txt", "not a theme")

	all, errs := LoadDir(dir, Builtin())
	got := map[string]Theme{}
	for _, th := range all {
		got[th.Name] = th
	}
	s, ok := got["solarized"]
	if !ok {
		t.Fatalf("solarized not loaded; errors: %v", errs)
	}
	if s.Text.Primary != "#657b83" || s.Text.Error != Light().Text.Error || s.Dark || len(s.Sources) != 3 || s.Levels.Error != "#dc322f" {
		t.Errorf("solarized = %+v", s)
	}
	if got["dark"].Text.Primary != "#ffffff" || got["dark"].File == "" {
		t.Errorf("a user theme named dark should replace the built-in: %+v", got["dark"])
	}
	if len(all) != 4 {
		t.Errorf("want 3 built-ins + solarized, got %d themes", len(all))
	}
	want := []string{
		"badcolor.yaml:3: border.faint: \"#12345\" is not a colour",
		"broken.yml:1: invalid YAML", // yaml.v3 locates an unclosed flow list at its start
		"noname.yml:1: name: missing",
		"typo.yml:3: text.primray: unknown key",
	}
	if len(errs) != len(want) {
		t.Fatalf("errors = %v", errs)
	}
	for i, w := range want {
		if !strings.Contains(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want it to contain %q", i, errs[i], w)
		}
	}
}

func TestLoadMissingDirIsFine(t *testing.T) {
	all, errs := LoadDir(filepath.Join(t.TempDir(), "nope"), Builtin())
	if len(errs) != 0 || len(all) != 3 {
		t.Fatalf("got %d themes, errors %v", len(all), errs)
	}
}

func TestDirFollowsXDG(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/x")
	if Dir() != "/x/jig/themes" {
		t.Errorf("Dir = %q", Dir())
	}
}

func TestNoColorStylesHaveNoColour(t *testing.T) {
	lipgloss.SetColorProfile(termenv.TrueColor)
	defer lipgloss.SetColorProfile(termenv.Ascii)
	st := NewStyles(Dark(), true)
	for _, s := range []lipgloss.Style{st.Primary, st.Error, st.Source("index/rep-0"), st.Level(8), st.Header, st.TabInactive} {
		out := s.Render("x")
		if strings.Contains(out, "38;") || strings.Contains(out, "48;") {
			t.Errorf("NO_COLOR style emits colour: %q", out)
		}
	}
	if out := st.Selected.Render("x"); !strings.Contains(out, "\x1b[7m") {
		t.Errorf("selection without colour should be reverse video: %q", out)
	}
	col := NewStyles(Dark(), false)
	if out := col.Error.Render("x"); !strings.Contains(out, "38;2;") {
		t.Errorf("coloured style should emit colour: %q", out)
	}
	t.Setenv("NO_COLOR", "1")
	if !NoColor() {
		t.Error("NO_COLOR=1 should disable colour")
	}
}

func TestSourceColourIsStable(t *testing.T) {
	st := NewStyles(Dark(), false)
	// The colour of a source must not change between runs or processes
	// (FNV-1a of the name, not a seeded map hash): pin a few.
	for name, want := range map[string]int{"index/rep-0": 0, "engine": 3, "gateway": 7} {
		if got := SourceIndex(name, 10); got != want {
			t.Errorf("SourceIndex(%q, 10) = %d, want %d", name, got, want)
		}
	}
	seen := map[int]bool{}
	for _, s := range []string{"engine", "gateway", "norm/rep-0", "norm/rep-1", "index/rep-0", "index/rep-1", "encoder/rep-0"} {
		seen[SourceIndex(s, len(st.Sources))] = true
	}
	if len(seen) < 3 {
		t.Errorf("sources map to only %d colours", len(seen))
	}
}

// TestPaintBackground: light and high-contrast paint their background
// behind every line and after every reset; dark and NO_COLOR leave the
// frame alone.
func TestPaintBackground(t *testing.T) {
	prev := lipgloss.ColorProfile()
	lipgloss.SetColorProfile(termenv.TrueColor)
	defer lipgloss.SetColorProfile(prev)
	frame := "a \x1b[0mb\nc"
	light := NewStyles(Light(), false).Paint(frame)
	bg := "\x1b[48;2;255;255;255m"
	if want := bg + "a \x1b[0m" + bg + "b\x1b[0m\n" + bg + "c\x1b[0m"; light != want {
		t.Errorf("light:\n got %q\nwant %q", light, want)
	}
	if hc := NewStyles(HighContrast(), false).Paint(frame); !strings.HasPrefix(hc, "\x1b[40m") && !strings.HasPrefix(hc, "\x1b[48;5;0m") && !strings.HasPrefix(hc, "\x1b[48;2;0;0;0m") {
		t.Errorf("high-contrast paints black: %q", hc)
	}
	if got := NewStyles(Dark(), false).Paint(frame); got != frame {
		t.Errorf("dark keeps the terminal's background: %q", got)
	}
	if got := NewStyles(Light(), true).Paint(frame); got != frame {
		t.Errorf("NO_COLOR paints nothing: %q", got)
	}
}
