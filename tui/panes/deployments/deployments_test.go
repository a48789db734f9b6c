package deployments_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/panes/deployments"
	"github.com/jig-dev/jig/tui/tuitest"
)

func setup(t *testing.T) (*deployments.Model, *tuitest.Engine, *common.Context) {
	t.Helper()
	ctx := tuitest.Context()
	eng := tuitest.NewEngine(tuitest.Status(), 10)
	m := deployments.New(ctx, eng)
	m.SetSize(100, 20)
	return m, eng, ctx
}

func keys(m *deployments.Model, ks ...string) {
	for _, k := range ks {
		tuitest.Feed(m, 3, tuitest.Key(k))
	}
}

func TestTable(t *testing.T) {
	m, _, _ := setup(t)
	v := m.View()
	for _, want := range []string{"NAME", "READY", "PORTS", "P99", "TRAFFIC", "norm", "2/2", "in-process", "index", "50001-50003", "encoder", "1/2", "degraded", "external", "42 req/s", "P50", "up 1m"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if !strings.Contains(v, "› norm") {
		t.Error("first row should be selected")
	}
}

func TestSelectionFollowsNameAcrossRefresh(t *testing.T) {
	m, _, ctx := setup(t)
	keys(m, "j", "j")
	if d, _, _ := m.Selected(); d != "encoder" {
		t.Fatalf("selected %q", d)
	}
	slices.Reverse(ctx.Status.Deployments)
	m.Update(common.StatusMsg{Status: ctx.Status})
	if d, _, _ := m.Selected(); d != "encoder" || !strings.Contains(m.View(), "› encoder") {
		t.Errorf("selection moved to %q after the status reordered", d)
	}
}

func TestReplicaDetailAndActions(t *testing.T) {
	m, eng, _ := setup(t)
	keys(m, "j", "j", "enter", "j")
	v := m.View()
	for _, want := range []string{"encoder", "examples/encoder", "ready 1/2", "reload", "REPLICA", "ADDRESS", "PID", "RESTARTS", "5001", "127.0.0.1:50012", "index out of range"} {
		if !strings.Contains(v, want) {
			t.Errorf("detail lacks %q:\n%s", want, v)
		}
	}
	keys(m, "K")
	if !m.Capturing() || !strings.Contains(m.View(), "Kill replica encoder/rep-1?") {
		t.Fatalf("K should ask for confirmation:\n%s", m.View())
	}
	keys(m, "n")
	if m.Capturing() || len(eng.Calls()) != 0 {
		t.Fatalf("n must cancel: %v", eng.Calls())
	}
	msgs := tuitest.Feed(m, 2, tuitest.Key("K"), tuitest.Key("y"))
	keys(m, "R", "y", "r", "y")
	want := []string{"kill encoder 0 1", "restart-replica encoder 0 1", "restart encoder"}
	if got := eng.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
	var done bool
	for _, msg := range msgs {
		if d, ok := msg.(common.ActionDoneMsg); ok && d.Label == "kill replica encoder/rep-1" && d.Err == nil {
			done = true
		}
	}
	if !done {
		t.Errorf("no ActionDoneMsg for the kill in %v", msgs)
	}
	keys(m, "esc")
	if _, _, detail := m.Selected(); detail {
		t.Error("esc should go back to the list")
	}
}

func TestFilter(t *testing.T) {
	m, _, _ := setup(t)
	keys(m, "/")
	if !m.Capturing() {
		t.Fatal("filter should capture keys")
	}
	for _, k := range tuitest.Type("idx") {
		m.Update(k)
	}
	if !strings.Contains(m.View(), "No deployment matches") {
		t.Error("no row should match idx")
	}
	keys(m, "backspace", "backspace", "n", "d", "enter")
	v := m.View()
	if !strings.Contains(v, "index") || strings.Contains(v, "encoder") || !strings.Contains(v, `filter "ind"`) {
		t.Errorf("filter ind:\n%s", v)
	}
	keys(m, "esc")
	if !strings.Contains(m.View(), "encoder") {
		t.Error("esc should clear the filter")
	}
}

func TestNarrowTerminalDropsColumns(t *testing.T) {
	m, _, _ := setup(t)
	m.SetSize(80, 16)
	v := m.View()
	if strings.Contains(v, "P50") || !strings.Contains(v, "P99") || !strings.Contains(v, "NAME") {
		t.Errorf("at 80 columns P50 goes first, P99 stays:\n%s", v)
	}
	for _, r := range strings.Split(v, "\n") {
		if common.Width(r) != 80 {
			t.Fatalf("row width %d: %q", common.Width(r), r)
		}
	}
}

// TestFailedBuildIsNotPlainReady: after a failed reload build the
// deployment still serves (ready, the previous binary) and the table says
// so, until a build succeeds.
func TestFailedBuildIsNotPlainReady(t *testing.T) {
	m, _, _ := setup(t)
	m.Update(common.EventsMsg{Other: []events.Event{events.Update{Time: tuitest.T0, Kind: events.Build, Deployment: "norm", Outcome: events.Failure, Output: "undefined: embedd"}}})
	v := m.View()
	if !strings.Contains(v, "old build") {
		t.Errorf("a failed build shows as plain ready:\n%s", v)
	}
	keys(m, "enter")
	if v := m.View(); !strings.Contains(v, "build failed at 15:04:05, serving the previous build: undefined: embedd") {
		t.Errorf("detail:\n%s", v)
	}
	keys(m, "esc")
	m.Update(common.EventsMsg{Other: []events.Event{events.Update{Time: tuitest.T0, Kind: events.Reload, Deployment: "norm", Outcome: events.Succeeded}}})
	if v := m.View(); strings.Contains(v, "old build") {
		t.Errorf("a successful reload clears it:\n%s", v)
	}
}

// TestExtraWidthGoesToTraffic: on a wide screen the sparkline grows, not
// the USES column.
func TestExtraWidthGoesToTraffic(t *testing.T) {
	m, _, _ := setup(t)
	m.SetSize(200, 20)
	for _, l := range strings.Split(m.View(), "\n") {
		if strings.Contains(l, "› norm") {
			if n := strings.Count(l, "▁") + strings.Count(l, "▂") + strings.Count(l, "▃") + strings.Count(l, "▄") + strings.Count(l, "▅") + strings.Count(l, "▆") + strings.Count(l, "▇") + strings.Count(l, "█"); n < 30 {
				t.Errorf("sparkline of %d cells at 200 columns:\n%s", n, l)
			}
		}
	}
}
