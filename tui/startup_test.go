package tui

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/tui/tuitest"
)

// TestStartupModelShowsBuilds: the start-up screen says what is being
// built and for how long, then how long it took, and quits when the
// engine has started.
func TestStartupModelShowsBuilds(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := newStartupModel("demo", nil, nil, t0)
	m.Update(startupEventMsg{events.Update{Time: t0.Add(time.Second), Kind: events.Build, Deployment: "up,down", Outcome: events.Started}})
	m.Update(startupEventMsg{events.Log{Time: t0.Add(time.Second), Source: "engine", Message: "building executor", Attrs: []events.Attr{{Key: "folder", Value: "/src/up"}, {Key: "deployments", Value: "up,down"}}}})
	m.Update(startupTickMsg(t0.Add(4 * time.Second)))
	v := m.View()
	for _, want := range []string{"starting flow demo  (4s)", "building up,down (go build /src/up) ... 3s", "building executor"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	m.Update(startupEventMsg{events.Update{Time: t0.Add(5 * time.Second), Kind: events.Build, Deployment: "up,down", Outcome: events.Succeeded, Duration: 4200 * time.Millisecond}})
	if v := m.View(); !strings.Contains(v, "built    up,down in 4.2s") || strings.Contains(v, "building up") {
		t.Errorf("after the build:\n%s", v)
	}
	_, cmd := m.Update(startupDoneMsg{})
	if cmd == nil {
		t.Fatal("no quit after the start")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("not a quit")
	}
}

// syncBuffer is the program's output, read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStartWithProgress runs the screen as a program: a build the start
// publishes shows while the start is still running (before any engine
// exists), and the started engine or the start's error is returned.
func TestStartWithProgress(t *testing.T) {
	bus := events.NewBus(100)
	out := &syncBuffer{}
	fake := tuitest.NewFixtureEngine()
	eng, err := StartWithProgress(context.Background(), "demo", bus, func(ctx context.Context) (Engine, error) {
		bus.Publish(events.Update{Time: time.Now(), Kind: events.Build, Deployment: "up", Outcome: events.Started})
		// The start returns only once the screen has shown the build.
		for !strings.Contains(out.String(), "building up") {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
		return fake, nil
	}, tea.WithInput(nil), tea.WithOutput(out))
	if err != nil || eng != Engine(fake) {
		t.Fatalf("got %v, %v", eng, err)
	}

	want := errors.New("deployment up failed to start")
	eng, err = StartWithProgress(context.Background(), "demo", events.NewBus(10), func(context.Context) (Engine, error) {
		return nil, want
	}, tea.WithInput(nil), tea.WithOutput(&syncBuffer{}))
	if eng != nil || !errors.Is(err, want) {
		t.Fatalf("got %v, %v", eng, err)
	}
}

// TestStartupCtrlCCancels: ctrl+c during the start cancels it (once) and
// the screen says it is stopping; it ends when the start returns.
func TestStartupCtrlCCancels(t *testing.T) {
	var cancels int
	m := newStartupModel("demo", nil, func() { cancels++ }, time.Now())
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	if cancels != 1 || !strings.Contains(m.View(), "stopping...") {
		t.Fatalf("cancels %d, view:\n%s", cancels, m.View())
	}
}
