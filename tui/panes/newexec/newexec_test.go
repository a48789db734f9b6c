package newexec_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/tui/panes/newexec"
	"github.com/jig-dev/jig/tui/tuitest"
)

func setup(t *testing.T, w newexec.Wizard) (*newexec.Model, *tuitest.Engine) {
	t.Helper()
	ctx := tuitest.Context()
	eng := tuitest.NewEngine(ctx.Status, 1)
	m := newexec.New(ctx, w, eng)
	m.SetSize(100, 20)
	if cmd := m.Init(); cmd != nil {
		tuitest.Feed(m, 5, tuitest.Run(cmd, tuitest.FeedWait)...)
	}
	return m, eng
}

func feed(m *newexec.Model, msgs ...tea.Msg) {
	for _, msg := range msgs {
		tuitest.Feed(m, 6, msg)
	}
}

func TestWizardGenerateAndAdd(t *testing.T) {
	w := &tuitest.Wizard{}
	m, eng := setup(t, w)
	if !strings.Contains(m.View(), "Executor name") || m.Capturing() {
		t.Fatalf("form shown, not focused yet:\n%s", m.View())
	}
	feed(m, tuitest.Key("enter"))
	if !m.Capturing() {
		t.Fatal("enter focuses the form")
	}
	feed(m, tuitest.Type("q1")...) // letters that are global keys elsewhere
	feed(m, tuitest.Key("esc"))
	if m.Capturing() {
		t.Fatal("esc leaves the form")
	}
	feed(m, tuitest.Key("i"))
	feed(m, tuitest.Type("x")...)
	feed(m, tuitest.Key("enter"))
	res, err := m.Result()
	if err != nil || res.Name != "q1x" || !slices.Equal(w.Generated, []string{"q1x"}) {
		t.Fatalf("generated %+v %v %v", res, err, w.Generated)
	}
	v := m.View()
	if !strings.Contains(v, "Created executor q1x") || !strings.Contains(v, "Add q1x to the running flow") {
		t.Fatalf("result:\n%s", v)
	}
	feed(m, tuitest.Key("y"))
	if got := eng.Calls(); !slices.Equal(got, []string{"add q1x executors/q1x reload=true"}) || !m.Added() {
		t.Fatalf("calls %v", got)
	}
	if !strings.Contains(m.View(), "runs in the flow") {
		t.Error(m.View())
	}
	feed(m, tuitest.Key("enter"))
	if !strings.Contains(m.View(), "Executor name") {
		t.Error("enter starts a new executor")
	}
}

func TestWizardDecline(t *testing.T) {
	m, eng := setup(t, &tuitest.Wizard{})
	feed(m, tuitest.Key("enter"))
	feed(m, tuitest.Type("enc")...)
	feed(m, tuitest.Key("enter"), tuitest.Key("n"))
	if len(eng.Calls()) != 0 || !strings.Contains(m.View(), "Not added") {
		t.Errorf("calls %v\n%s", eng.Calls(), m.View())
	}
}

func TestWizardErrors(t *testing.T) {
	m, _ := setup(t, &tuitest.Wizard{Err: errors.New("folder exists")})
	feed(m, tuitest.Key("enter"))
	feed(m, tuitest.Type("a")...)
	feed(m, tuitest.Key("enter"))
	if !strings.Contains(m.View(), "folder exists") {
		t.Error(m.View())
	}
}

func TestNoWizard(t *testing.T) {
	m, _ := setup(t, nil)
	if !strings.Contains(m.View(), "Run `jig new` in a shell") {
		t.Error(m.View())
	}
	m.Update(tuitest.Key("enter"))
	if m.Capturing() {
		t.Error("nothing to capture without a wizard")
	}
}
