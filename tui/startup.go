package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/jig-dev/jig/engine/events"
)

// The engine's start can take minutes: a Go executor's first build on a
// cold build cache. The workbench needs a running engine, so until it has
// one a start-up screen shows what is happening from the first moment:
// each build (which deployments, elapsed time, how long it took) and the
// latest log lines.

// startupLogLines is how many of the latest log lines the screen shows.
const startupLogLines = 8

// startupBuild is one executor build seen on the bus.
type startupBuild struct {
	who     string // the deployments built from one folder
	folder  string // that folder, from the engine's "building executor" log
	started time.Time
	took    time.Duration
	outcome events.Outcome
}

// startupModel is the start-up screen.
type startupModel struct {
	flow   string
	began  time.Time
	now    time.Time
	builds []*startupBuild
	// folders maps a build's deployments to its folder (the engine's
	// build log line carries it; the build event does not).
	folders map[string]string
	logs    []string
	sub     <-chan events.Event
	cancel  context.CancelFunc // stops the start (ctrl+c)

	stopping bool
	done     bool
	eng      Engine
	err      error
}

// startupEventMsg is one event from the bus; startupClosedMsg says the
// bus closed; startupTickMsg redraws the elapsed times.
type (
	startupEventMsg  struct{ ev events.Event }
	startupClosedMsg struct{}
	startupTickMsg   time.Time
	startupDoneMsg   struct {
		eng Engine
		err error
	}
)

func newStartupModel(flow string, sub <-chan events.Event, cancel context.CancelFunc, now time.Time) *startupModel {
	return &startupModel{flow: flow, began: now, now: now, sub: sub, cancel: cancel, folders: map[string]string{}}
}

func (m *startupModel) Init() tea.Cmd { return tea.Batch(m.next(), startupTick()) }

func startupTick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return startupTickMsg(t) })
}

// next waits for the bus's next event.
func (m *startupModel) next() tea.Cmd {
	if m.sub == nil {
		return nil
	}
	sub := m.sub
	return func() tea.Msg {
		ev, ok := <-sub
		if !ok {
			return startupClosedMsg{}
		}
		return startupEventMsg{ev}
	}
}

func (m *startupModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case startupEventMsg:
		m.observe(msg.ev)
		return m, m.next()
	case startupClosedMsg:
		m.sub = nil
	case startupTickMsg:
		m.now = time.Time(msg)
		if !m.done {
			return m, startupTick()
		}
	case startupDoneMsg:
		m.done, m.eng, m.err = true, msg.eng, msg.err
		return m, tea.Quit
	case tea.KeyMsg:
		if s := msg.String(); (s == "ctrl+c" || s == "q") && !m.stopping {
			// The start is cancelled; its startupDoneMsg ends the screen
			// once the engine has stopped what it began.
			m.stopping = true
			if m.cancel != nil {
				m.cancel()
			}
		}
	}
	return m, nil
}

// observe records a build update or a log line.
func (m *startupModel) observe(e events.Event) {
	switch ev := e.(type) {
	case events.Update:
		if ev.Kind != events.Build {
			return
		}
		var b *startupBuild
		for _, x := range m.builds {
			if x.who == ev.Deployment && x.outcome == events.Started {
				b = x
			}
		}
		if b == nil {
			b = &startupBuild{who: ev.Deployment, started: ev.Time}
			m.builds = append(m.builds, b)
		}
		b.outcome = ev.Outcome
		if f := m.folders[ev.Deployment]; f != "" {
			b.folder = f
		}
		if ev.Outcome != events.Started {
			b.took = ev.Duration
		}
		if ev.Time.After(m.now) {
			m.now = ev.Time
		}
	case events.Log:
		if ev.Source == "engine" && ev.Message == "building executor" {
			var who, folder string
			for _, a := range ev.Attrs {
				switch a.Key {
				case "deployments":
					who = a.Value
				case "folder":
					folder = a.Value
				}
			}
			m.folders[who] = folder
			for _, b := range m.builds {
				if b.who == who && b.outcome == events.Started {
					b.folder = folder
				}
			}
		}
		m.logs = append(m.logs, fmt.Sprintf("%s %-5s %s %s", ev.Time.Format("15:04:05"), ev.Level, ev.Source, ev.String()))
		if len(m.logs) > startupLogLines {
			m.logs = m.logs[len(m.logs)-startupLogLines:]
		}
	}
}

func (m *startupModel) View() string {
	var b strings.Builder
	fmt.Fprintf(&b, "jig · starting flow %s  (%s)\n\n", m.flow, m.now.Sub(m.began).Round(time.Second))
	if len(m.builds) == 0 {
		b.WriteString("  starting deployments...\n")
	}
	for _, x := range m.builds {
		switch x.outcome {
		case events.Started:
			fmt.Fprintf(&b, "  building %s%s ... %s\n", x.who, inFolder(x.folder), m.now.Sub(x.started).Round(time.Second))
		case events.Succeeded:
			fmt.Fprintf(&b, "  built    %s in %s\n", x.who, x.took.Round(100*time.Millisecond))
		default:
			fmt.Fprintf(&b, "  build of %s failed after %s\n", x.who, x.took.Round(100*time.Millisecond))
		}
	}
	if len(m.logs) > 0 {
		b.WriteString("\n")
		for _, l := range m.logs {
			b.WriteString("  " + l + "\n")
		}
	}
	if m.stopping {
		b.WriteString("\nstopping...\n")
	} else {
		b.WriteString("\nctrl+c stops\n")
	}
	return b.String()
}

// inFolder renders " (go build FOLDER)" when the folder is known.
func inFolder(folder string) string {
	if folder == "" {
		return ""
	}
	return " (go build " + folder + ")"
}

// StartWithProgress shows the start-up screen while start runs and returns
// what start returned. bus is the bus start's engine publishes on
// (engine.Options.Bus), subscribed here before start is called so the
// first build's events are seen. ctrl+c cancels start's context.
func StartWithProgress(ctx context.Context, flow string, bus *events.Bus, start func(context.Context) (Engine, error), progOpts ...tea.ProgramOption) (Engine, error) {
	sub := bus.Subscribe(1024)
	defer sub.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := newStartupModel(flow, sub.C, cancel, time.Now())
	p := tea.NewProgram(m, append([]tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx)}, progOpts...)...)
	finished := make(chan startupDoneMsg, 1)
	go func() {
		eng, err := start(sctx)
		finished <- startupDoneMsg{eng, err}
		p.Send(startupDoneMsg{eng, err})
	}()
	_, runErr := p.Run()
	// The program may end before start does (ctx cancelled): wait for it,
	// so no engine is left running unowned.
	cancel()
	done := <-finished
	if done.err == nil && runErr != nil {
		// Started, but the screen failed (e.g. killed): the caller owns
		// the engine only when it gets no error; stop it here.
		sctx2, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		done.eng.Stop(sctx2)
		return nil, fmt.Errorf("start-up screen: %w", runErr)
	}
	return done.eng, done.err
}
