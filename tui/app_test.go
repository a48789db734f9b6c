package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/themes"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/tuitest"
)

// newTestModel returns a sized root model with the fixture status and
// events delivered, without a program (no bridge, no ticks).
func newTestModel(t testing.TB) (*Model, *tuitest.Engine) {
	t.Helper()
	eng := tuitest.NewFixtureEngine()
	m := New(eng, Options{
		Themes: themes.Builtin(), Now: tuitest.Clock,
		Sender: &tuitest.Sender{}, Wizard: &tuitest.Wizard{}, Clipboard: func(string) error { return nil },
	})
	send(m, tea.WindowSizeMsg{Width: 100, Height: 30}, common.StatusMsg{Status: eng.Status()},
		common.EventsMsg{Logs: tuitest.LogLines(), Other: tuitest.OtherEvents()})
	return m, eng
}

// send feeds messages to the root and the messages of the commands they
// produce, a few rounds deep, like the program would.
func send(m *Model, msgs ...tea.Msg) []tea.Msg {
	var all []tea.Msg
	for range 4 {
		var next []tea.Msg
		for _, msg := range msgs {
			_, cmd := m.Update(msg)
			for _, out := range tuitest.Run(cmd, tuitest.FeedWait) {
				if _, tick := out.(common.StatusMsg); tick {
					continue // a poll: would loop forever
				}
				next = append(next, out)
			}
		}
		all = append(all, next...)
		if len(next) == 0 {
			break
		}
		msgs = next
	}
	return all
}

func keys(m *Model, ks ...string) []tea.Msg {
	var out []tea.Msg
	for _, k := range ks {
		out = append(out, send(m, tuitest.Key(k))...)
	}
	return out
}

func quits(msgs []tea.Msg) bool {
	return slices.ContainsFunc(msgs, func(m tea.Msg) bool { _, ok := m.(tea.QuitMsg); return ok })
}

func TestPaneKeys(t *testing.T) {
	m, _ := newTestModel(t)
	want := []string{"Deployments", "Consensus", "Logs", "Events", "Request", "Parameters", "New executor"}
	for i, k := range []string{"1", "2", "3", "4", "5", "6", "7"} {
		keys(m, k)
		if m.ActivePane().Title() != want[i] {
			t.Errorf("key %s: pane %s", k, m.ActivePane().Title())
		}
		if !strings.Contains(m.View(), "["+k+" "+want[i]+"]") {
			t.Errorf("key %s: the tab bar should mark %s", k, want[i])
		}
	}
	keys(m, "tab")
	if m.Active() != PaneDeployments {
		t.Errorf("tab wraps to the first pane: %d", m.Active())
	}
	keys(m, "shift+tab")
	if m.Active() != PaneNewExecutor {
		t.Errorf("shift+tab wraps to the last pane: %d", m.Active())
	}
}

func TestGlobalKeysWaitWhileTyping(t *testing.T) {
	m, eng := newTestModel(t)
	keys(m, "5", "enter") // edit the request address
	if !m.ActivePane().Capturing() {
		t.Fatal("request address should be in edit mode")
	}
	msgs := keys(m, "end", "q", "1", "t", "?", ":", "tab")
	if quits(msgs) || m.Active() != PaneRequest || m.Theme() != "dark" || m.overlay != overlayNone {
		t.Fatalf("keys escaped the text field: pane %d theme %s overlay %d", m.Active(), m.Theme(), m.overlay)
	}
	if !strings.Contains(m.Request().Addr(), "q1t?:") {
		t.Errorf("address = %q", m.Request().Addr())
	}
	keys(m, "esc")
	msgs = keys(m, "q")
	if !quits(msgs) || eng.Stops() != 1 {
		t.Fatalf("q after esc should stop the engine and quit: stops=%d", eng.Stops())
	}
}

func TestQuitStopsEngineOnce(t *testing.T) {
	m, eng := newTestModel(t)
	msgs := keys(m, "ctrl+c")
	if !quits(msgs) {
		t.Fatal("ctrl+c quits")
	}
	if stopped, err := m.Stopped(); !stopped || err != nil || eng.Stops() != 1 {
		t.Errorf("stopped=%v err=%v stops=%d", stopped, err, eng.Stops())
	}
	if m.ctx.Base.Err() == nil {
		t.Error("quitting cancels the workbench context")
	}
	keys(m, "q")
	if eng.Stops() != 1 {
		t.Error("Stop is called once")
	}
}

func TestHelpIsContextSensitive(t *testing.T) {
	m, _ := newTestModel(t)
	keys(m, "3", "?")
	v := m.View()
	for _, want := range []string{"Help", "Logs keys", "follow/pause", "minimum level", "Global keys", "command palette", "cycle theme"} {
		if !strings.Contains(v, want) {
			t.Errorf("help lacks %q:\n%s", want, v)
		}
	}
	keys(m, "esc")
	keys(m, "1", "?")
	if v := m.View(); !strings.Contains(v, "Deployments keys") || !strings.Contains(v, "kill replica") {
		t.Errorf("deployments help:\n%s", v)
	}
	keys(m, "?")
	if m.overlay != overlayNone {
		t.Error("? closes help")
	}
}

func TestPalette(t *testing.T) {
	m, eng := newTestModel(t)
	keys(m, ":")
	if !strings.Contains(m.View(), "restart index") {
		t.Fatalf("palette lists deployment commands:\n%s", m.View())
	}
	for _, k := range tuitest.Type("thlight") {
		send(m, k)
	}
	keys(m, "enter")
	if m.Theme() != "light" {
		t.Errorf("theme = %s", m.Theme())
	}
	keys(m, ":")
	for _, k := range tuitest.Type("pane logs") {
		send(m, k)
	}
	keys(m, "enter")
	if m.Active() != PaneLogs {
		t.Errorf("pane logs: %d", m.Active())
	}
	keys(m, ":")
	for _, k := range tuitest.Type("restart index") {
		send(m, k)
	}
	keys(m, "enter")
	if !strings.Contains(m.View(), "Restart deployment index") {
		t.Fatalf("restart asks first:\n%s", m.View())
	}
	keys(m, "y")
	if !slices.Equal(eng.Calls(), []string{"restart index"}) {
		t.Errorf("calls %v", eng.Calls())
	}
	keys(m, ":", "esc")
	if m.overlay != overlayNone {
		t.Error("esc closes the palette")
	}
}

func TestFuzzyRanksWordStarts(t *testing.T) {
	s1, ok1 := fuzzy("rsi", "restart index")
	s2, ok2 := fuzzy("rsi", "transfer leadership index")
	if !ok1 || !ok2 || s1 <= s2 {
		t.Errorf("scores %d %d", s1, s2)
	}
	if _, ok := fuzzy("zz", "restart index"); ok {
		t.Error("zz should not match")
	}
}

func TestThemeCycle(t *testing.T) {
	m, _ := newTestModel(t)
	var got []string
	for range 3 {
		keys(m, "t")
		got = append(got, m.Theme())
	}
	if !slices.Equal(got, []string{"light", "high-contrast", "dark"}) {
		t.Errorf("t cycles %v", got)
	}
	if !strings.Contains(m.View(), "theme: dark") {
		t.Error("a theme change is announced")
	}
}

func TestTooSmall(t *testing.T) {
	m, eng := newTestModel(t)
	send(m, tea.WindowSizeMsg{Width: 60, Height: 15})
	v := m.View()
	if !strings.Contains(v, "Terminal too small: 60×15, needs at least 80×20") {
		t.Fatalf("too small:\n%s", v)
	}
	keys(m, "3", "?")
	if m.Active() != PaneDeployments || m.overlay != overlayNone {
		t.Error("keys other than quit wait for a usable size")
	}
	send(m, tea.WindowSizeMsg{Width: 30, Height: 8})
	if v := m.View(); !strings.Contains(v, "Terminal too small: 30×8,") || !strings.Contains(v, "needs at least 80×20") {
		t.Errorf("narrow too-small screen:\n%s", v)
	}
	send(m, tea.WindowSizeMsg{Width: 80, Height: 20})
	if strings.Contains(m.View(), "too small") {
		t.Error("80×20 is enough")
	}
	send(m, tea.WindowSizeMsg{Width: 50, Height: 10})
	if !quits(keys(m, "q")) || eng.Stops() != 1 {
		t.Error("q quits from the too-small screen")
	}
}

// TestViewsFitTheTerminal renders every pane at several sizes and checks
// the frame is exactly the terminal: no wrapped or missing lines.
func TestViewsFitTheTerminal(t *testing.T) {
	m, _ := newTestModel(t)
	for _, size := range [][2]int{{80, 20}, {100, 30}, {132, 43}, {200, 60}} {
		send(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for i := range numPanes {
			m.setPane(i)
			rows := strings.Split(m.View(), "\n")
			if len(rows) != size[1] {
				t.Errorf("%v pane %d: %d rows", size, i+1, len(rows))
			}
			for n, r := range rows {
				if w := common.Width(r); w != size[0] {
					t.Errorf("%v pane %d row %d: width %d: %q", size, i+1, n, w, r)
					break
				}
			}
		}
	}
}

func TestEventsAndStatusReachPanes(t *testing.T) {
	m, eng := newTestModel(t)
	if m.Logs().Len() != 8 || m.Events().Len() != 4 {
		t.Fatalf("logs %d events %d", m.Logs().Len(), m.Events().Len())
	}
	st := eng.Status()
	st.Deployments = st.Deployments[:1]
	send(m, common.StatusMsg{Status: st})
	if v := m.View(); strings.Contains(v, "encoder") {
		t.Errorf("the status refresh should reach the pane:\n%s", v)
	}
}

func TestActionOutcomesAreToasted(t *testing.T) {
	m, eng := newTestModel(t)
	send(m, tea.WindowSizeMsg{Width: 160, Height: 30})
	eng.ActionErr = errors.New("replica is external")
	keys(m, "1", "j", "j", "enter", "R", "y")
	if !strings.Contains(m.View(), "✗ restart replica encoder/rep-0: replica is external") {
		t.Errorf("error toast:\n%s", m.View())
	}
	eng.ActionErr = nil
	keys(m, "r", "y")
	if !strings.Contains(m.View(), "restart encoder: done in") {
		t.Errorf("success toast:\n%s", m.View())
	}
}

func TestThemeErrorsAreShown(t *testing.T) {
	eng := tuitest.NewFixtureEngine()
	m := New(eng, Options{Themes: themes.Builtin(), ThemeErrors: []error{&themes.Error{File: "bad.yml", Line: 3, Msg: "text.primray: unknown key"}},
		Now: tuitest.Clock, Sender: &tuitest.Sender{}})
	m.started = true // no bridge: this test feeds messages itself
	send(m, tea.WindowSizeMsg{Width: 100, Height: 30})
	send(m, tuitest.Run(m.Init(), tuitest.FeedWait)...)
	keys(m, "3")
	if v := m.View(); !strings.Contains(v, "theme skipped: bad.yml:3: text.primray: unknown key") {
		t.Errorf("theme problems go to the logs:\n%s", v)
	}
}

// TestHelpAndPaletteFit: at 80×24 the Request help scrolls (its first
// frame says so, G reaches the global keys) and groups its keys by view;
// the palette's rows do not wrap and its bottom border is on screen.
func TestHelpAndPaletteFit(t *testing.T) {
	m, _ := newTestModel(t)
	send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	keys(m, "5", "?")
	v := m.View()
	if !strings.Contains(v, "Request keys · Compose") || !strings.Contains(v, "j/k scroll") || strings.Contains(v, "Global keys") {
		t.Errorf("first help frame:\n%s", v)
	}
	keys(m, "G")
	if v := m.View(); !strings.Contains(v, "Global keys") || !strings.Contains(v, "cycle theme") {
		t.Errorf("G shows the end of help:\n%s", v)
	}
	keys(m, "esc", ":")
	v = m.View()
	lines := strings.Split(v, "\n")
	if len(lines) != 24 || !strings.Contains(v, "╰") {
		t.Errorf("palette at 80×24:\n%s", v)
	}
	for _, l := range lines {
		if common.Width(l) > 80 {
			t.Errorf("wider than 80: %q", l)
		}
	}
	// Every palette row has its border on the right: nothing wrapped.
	for _, l := range lines {
		if strings.Contains(l, "│ ") && strings.Count(l, "│") < 2 && !strings.HasPrefix(strings.TrimSpace(l), "jig") {
			t.Errorf("a palette row wrapped: %q", l)
		}
	}
}
