package eventlog_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/panes/eventlog"
	"github.com/jig-dev/jig/tui/tuitest"
)

func TestTimelineMergesStartAndOutcome(t *testing.T) {
	m := eventlog.New(tuitest.Context(), 0)
	m.SetSize(100, 16)
	m.Update(common.EventsMsg{Other: tuitest.OtherEvents()})
	if m.Len() != 4 {
		t.Fatalf("Len = %d: a started build and its failure are one row", m.Len())
	}
	v := m.View()
	for _, want := range []string{"reload", "norm", "succeeded", "2.10s", "config.yml", "build", "encoder", "failed", "1.80s", "examples/encoder/main.go", "leader", "index/shard-0", "rep-0", "replica", "encoder/rep-1"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Index(v, "reload") > strings.Index(v, "leader") {
		t.Error("newest first")
	}
}

func TestRunningThenDone(t *testing.T) {
	m := eventlog.New(tuitest.Context(), 0)
	m.SetSize(100, 10)
	m.Add([]events.Event{events.Update{Time: tuitest.T0, Kind: events.Reload, Deployment: "norm", Outcome: events.Started}})
	if !strings.Contains(m.View(), "running") {
		t.Error("a started update shows as running")
	}
	m.Add([]events.Event{events.Update{Time: tuitest.T0.Add(time.Second), Kind: events.Reload, Deployment: "norm", Outcome: events.Succeeded, Duration: time.Second}})
	if m.Len() != 1 || strings.Contains(m.View(), "running") {
		t.Error("the outcome should close the running row")
	}
}

func TestDetailShowsCompilerOutput(t *testing.T) {
	m := eventlog.New(tuitest.Context(), 0)
	m.SetSize(100, 16)
	m.Update(common.EventsMsg{Other: tuitest.OtherEvents()})
	for _, k := range []string{"j", "enter"} {
		m.Update(tuitest.Key(k))
	}
	v := m.View()
	for _, want := range []string{"build · encoder", "compiler output", "./main.go:42:9: undefined: embedd", "x declared and not used", "trigger  examples/encoder/main.go"} {
		if !strings.Contains(v, want) {
			t.Errorf("detail lacks %q:\n%s", want, v)
		}
	}
	m.Update(tuitest.Key("esc"))
	if strings.Contains(m.View(), "compiler output") {
		t.Error("esc goes back")
	}
}

func TestFilterAndCapacity(t *testing.T) {
	m := eventlog.New(tuitest.Context(), 50)
	m.SetSize(100, 16)
	var evs []events.Event
	for i := range 120 {
		evs = append(evs, events.DeploymentState{Time: tuitest.T0, Deployment: fmt.Sprintf("d%d", i), State: events.Ready})
	}
	m.Add(evs)
	if m.Len() != 50 {
		t.Fatalf("Len = %d, want 50", m.Len())
	}
	m.Update(tuitest.Key("/"))
	for _, k := range tuitest.Type("d119") {
		m.Update(k)
	}
	m.Update(tuitest.Key("enter"))
	v := m.View()
	if !strings.Contains(v, "d119") || strings.Contains(v, "d118") {
		t.Errorf("filter:\n%s", v)
	}
}

// TestNewerRowsAboveAreHinted: reading further down, newer rows arrive
// above the view; the header says how many and how to get there.
func TestNewerRowsAboveAreHinted(t *testing.T) {
	m := eventlog.New(tuitest.Context(), 0)
	m.SetSize(100, 10)
	add := func(from, n int) {
		var evs []events.Event
		for i := from; i < from+n; i++ {
			evs = append(evs, events.ReplicaState{Time: tuitest.T0.Add(time.Duration(i) * time.Second), Deployment: "norm", Replica: fmt.Sprintf("rep-%d", i), State: events.Ready})
		}
		m.Update(common.EventsMsg{Other: evs})
	}
	add(0, 20)
	if strings.Contains(m.View(), "newer above") {
		t.Fatalf("at the top nothing is above:\n%s", m.View())
	}
	for range 12 {
		m.Update(tuitest.Key("j"))
	}
	add(20, 3)
	if v := m.View(); !strings.Contains(v, "newer above (g: newest)") {
		t.Errorf("no hint of the rows above:\n%s", v)
	}
	m.Update(tuitest.Key("g"))
	if v := m.View(); strings.Contains(v, "newer above") || !strings.Contains(v, "rep-22") {
		t.Errorf("g goes to the newest:\n%s", v)
	}
}
