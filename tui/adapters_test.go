package tui_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/tui"
	"github.com/jig-dev/jig/tui/panes/newexec"
	"github.com/jig-dev/jig/tui/tuitest"
)

// pump feeds a pane keys and the messages of the commands they start.
// Commands that take long (cursor blinks, the generator running go mod
// tidy) are not abandoned as tuitest.Feed does: their messages arrive
// later on late, and settle feeds them.
type pump struct {
	m    *newexec.Model
	late chan tea.Msg
}

// run executes cmd (batches included); what finishes quickly comes back,
// the rest goes to late.
func (p *pump) run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-ch:
	case <-time.After(tuitest.FeedWait):
		go func() { p.late <- <-ch }()
		return nil
	}
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, p.run(c)...)
		}
		return out
	}
	if msg == nil {
		return nil
	}
	return []tea.Msg{msg}
}

// feed sends msgs and what their commands answer, a few rounds deep.
func (p *pump) feed(msgs ...tea.Msg) {
	for range 6 {
		var next []tea.Msg
		for _, m := range msgs {
			next = append(next, p.run(p.m.Update(m))...)
		}
		if len(next) == 0 {
			return
		}
		msgs = next
	}
}

// settle feeds late messages until done reports true.
func (p *pump) settle(t *testing.T, what string, done func() bool) {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for !done() {
		select {
		case msg := <-p.late:
			p.feed(msg)
		case <-timeout:
			t.Fatalf("waiting for %s:\n%s", what, p.m.View())
		}
	}
}

// TestNewExecutorPaneGenerates drives the New executor pane with the real
// wizard: the form as a user fills it in, the executor generated on disk,
// then added to the (fake) engine with reload on.
func TestNewExecutorPaneGenerates(t *testing.T) {
	if testing.Short() {
		t.Skip("generates an executor (go mod tidy)")
	}
	t.Chdir(t.TempDir()) // the default folder is relative to the working directory
	wd, _ := os.Getwd()
	ctx := tuitest.Context()
	eng := tuitest.NewEngine(ctx.Status, 1)
	p := &pump{m: newexec.New(ctx, tui.NewWizard(), eng), late: make(chan tea.Msg, 256)}
	p.m.SetSize(100, 40)
	p.feed(p.run(p.m.Init())...)
	if v := p.m.View(); !strings.Contains(v, "Executor name") || !strings.Contains(v, "Folder") {
		t.Fatalf("no wizard form:\n%s", v)
	}
	keys := func(names ...string) {
		for _, k := range names {
			p.feed(tuitest.Key(k))
		}
	}
	keys("enter")                      // focus the form
	p.feed(tuitest.Type("Greeter")...) // name
	keys("enter", "enter", "enter")    // name, default folder, default description
	keys("y")                          // stateful
	p.feed(tuitest.Type("/hello")...)  // endpoints
	keys("enter")
	if v := p.m.View(); !strings.Contains(v, "Dockerfile") {
		t.Fatalf("not at the Dockerfile question:\n%s", v)
	}
	keys("down", "down", "enter") // none
	p.settle(t, "the executor", func() bool { r, err := p.m.Result(); return r.Name != "" || err != nil })

	res, err := p.m.Result()
	dir := filepath.Join(wd, "greeter")
	if err != nil || res.Name != "greeter" || res.Dir != dir || res.Uses != dir ||
		!slices.Equal(res.Files, []string{"README.md", "config.yml", "executor.go", "executor_test.go", "go.mod", "go.sum"}) {
		t.Fatalf("result %+v, %v", res, err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "executor.go"))
	if err != nil || !strings.Contains(string(src), `executors.On(r, "/hello", g.Hello)`) || !strings.Contains(string(src), `executors.Write(r, "/remember", g.Remember)`) {
		t.Fatalf("executor.go (%v):\n%s", err, src)
	}
	if v := p.m.View(); !strings.Contains(v, "Created executor greeter") || !strings.Contains(v, "Add greeter to the running flow") {
		t.Fatalf("view:\n%s", v)
	}
	keys("y")
	p.settle(t, "the executor added", p.m.Added)
	if got := eng.Calls(); !slices.Equal(got, []string{"add greeter " + dir + " reload=true"}) {
		t.Errorf("calls %v", got)
	}
	// Once more into the same folder: the form refuses it.
	keys("enter", "enter")
	p.feed(tuitest.Type("Greeter")...)
	keys("enter", "enter")
	p.settle(t, "the folder refused", func() bool { return strings.Contains(p.m.View(), "is not empty") })
}
