package teatest_test

import (
	"bytes"
	"os"
	"strconv"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/themes"
	"github.com/jig-dev/jig/tui"
	"github.com/jig-dev/jig/tui/panes/request"
	"github.com/jig-dev/jig/tui/tuitest"
	"github.com/muesli/termenv"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	code := m.Run()
	if code == 0 {
		// teatest leaves one goroutine per test model waiting for SIGINT.
		// Commands still running when a program ended (cursor blinks,
		// ticks) finish within a second; give them time.
		if err := findLeaks(goleak.IgnoreTopFunction("os/signal.signal_recv"),
			goleak.IgnoreAnyFunction("github.com/charmbracelet/x/exp/teatest.NewTestModel.func2")); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// app is a workbench under test.
//
// Bubble Tea's renderer only rewrites the lines that changed, so text
// that is already on screen does not appear in the output again. waitFor
// therefore looks at the output since the last key press (for what a key
// changes), and waitForAny at all the output so far (for data that
// arrives on its own: status, event history, discovery).
type app struct {
	tm     *teatest.TestModel
	eng    *tuitest.Engine
	sender *tuitest.Sender
	wizard *tuitest.Wizard
	all    bytes.Buffer // output since start
	mark   int          // len(all) at the last key press
}

// start runs the workbench at w×h with the fixture flow and fakes, and
// waits until the first status and the event history have arrived.
func start(t *testing.T, w, h int, opts ...func(*tui.Options)) *app {
	t.Helper()
	return startWith(t, w, h, nil, opts...)
}

// startWith is start with the fixture engine prepared (prepare, when not
// nil) before the workbench sees its first status, so a test does not race
// the status poll.
func startWith(t *testing.T, w, h int, prepare func(*tuitest.Engine), opts ...func(*tui.Options)) *app {
	t.Helper()
	a := &app{
		eng: tuitest.NewFixtureEngine(),
		sender: &tuitest.Sender{EndpointList: []request.Endpoint{
			{Name: "/index", Write: true},
			{Name: "/search", Fields: []request.Field{{Name: "price", Type: "number"}, {Name: "text", Type: "string"}}},
		}},
		wizard: &tuitest.Wizard{},
	}
	if prepare != nil {
		prepare(a.eng)
	}
	o := tui.Options{
		Themes: themes.Builtin(), Now: tuitest.Clock, Sender: a.sender, Wizard: a.wizard,
		Clipboard: func(string) error { return nil }, BatchInterval: 10 * time.Millisecond,
	}
	for _, f := range opts {
		f(&o)
	}
	a.tm = teatest.NewTestModel(t, tui.New(a.eng, o), teatest.WithInitialTermSize(w, h))
	t.Cleanup(func() {
		// Every test ends with the program gone, quitting if it has not.
		a.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
		a.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	})
	// The status bar shows the flow once the first status arrived; the
	// Logs pane's line count tells the history was delivered.
	a.waitForAny(t, "quickstart")
	return a
}

// waitFor waits until the output since the last key press contains text.
func (a *app) waitFor(t *testing.T, text string) {
	t.Helper()
	a.wait(t, text, true)
}

// waitForAny waits until the output since start contains text.
func (a *app) waitForAny(t *testing.T, text string) {
	t.Helper()
	a.wait(t, text, false)
}

func (a *app) wait(t *testing.T, text string, sinceMark bool) {
	t.Helper()
	// A generous deadline: it only matters when the text never comes,
	// and CI machines are shared.
	buf := make([]byte, 64<<10)
	waitfor.Value(t, strconv.Quote(text)+" on the screen", 15*time.Second, func() (sinceKey, bool) {
		for {
			n, _ := a.tm.Output().Read(buf)
			a.all.Write(buf[:n])
			if n == 0 {
				break
			}
		}
		seen := a.all.Bytes()
		if sinceMark {
			seen = seen[a.mark:]
		}
		return sinceKey{a}, bytes.Contains(seen, []byte(text))
	})
}

// sinceKey shows the output since the last key in a failure message (it
// is formatted only then).
type sinceKey struct{ a *app }

func (s sinceKey) String() string {
	return "output since the last key:\n" + string(s.a.all.Bytes()[s.a.mark:])
}

// press marks the output, then sends msgs: later waitFor calls only look
// at what was drawn after.
func (a *app) press(msgs ...tea.Msg) {
	buf := make([]byte, 64<<10)
	for {
		n, _ := a.tm.Output().Read(buf)
		if n == 0 {
			break
		}
		a.all.Write(buf[:n])
	}
	a.mark = a.all.Len()
	for _, m := range msgs {
		a.tm.Send(m)
	}
}

// keys presses keys by name ("1", "enter", "ctrl+s").
func (a *app) keys(names ...string) {
	msgs := make([]tea.Msg, len(names))
	for i, n := range names {
		msgs[i] = tuitest.Key(n)
	}
	a.press(msgs...)
}

// typeText types text into whatever has focus.
func (a *app) typeText(s string) { a.press(tuitest.Type(s)...) }

// resize changes the terminal size.
func (a *app) resize(w, h int) { a.press(tea.WindowSizeMsg{Width: w, Height: h}) }

// quit presses q and returns the final root model.
func (a *app) quit(t *testing.T) *tui.Model {
	t.Helper()
	a.keys("q")
	return a.final(t)
}

func (a *app) final(t *testing.T) *tui.Model {
	t.Helper()
	fm, ok := a.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*tui.Model)
	if !ok {
		t.Fatal("final model is not *tui.Model")
	}
	return fm
}

// golden compares the final frame with testdata/<test name>.golden.
func golden(t *testing.T, m *tui.Model) {
	t.Helper()
	teatest.RequireEqualOutput(t, []byte(m.View()))
}

// findLeaks retries goleak.Find for a few seconds: goleak gives up after
// about half a second, shorter than a cursor blink.
func findLeaks(opts ...goleak.Option) error {
	var err error
	for range 6 {
		if err = goleak.Find(opts...); err == nil {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return err
}
