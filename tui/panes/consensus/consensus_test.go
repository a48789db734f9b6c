package consensus_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/panes/consensus"
	"github.com/jig-dev/jig/tui/tuitest"
)

func TestRaftTable(t *testing.T) {
	ctx := tuitest.Context()
	m := consensus.New(ctx, tuitest.NewEngine(ctx.Status, 1))
	m.SetSize(100, 16)
	m.Update(common.EventsMsg{Other: []events.Event{events.Leader{Time: tuitest.T0, Deployment: "index", Replica: "rep-0", Term: 3}}})
	v := m.View()
	for _, want := range []string{"index shard 0", "leader rep-0", "term 3", "elected 1m ago", "Leader", "Follower", "117/118/120", "110/118/119", "12.0ms", "#100 1m", "█", "▓"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "norm") || strings.Contains(v, "encoder") {
		t.Error("only stateful deployments belong here")
	}
}

func TestActionsAskFirst(t *testing.T) {
	ctx := tuitest.Context()
	eng := tuitest.NewEngine(ctx.Status, 1)
	m := consensus.New(ctx, eng)
	m.SetSize(100, 16)
	press := func(ks ...string) {
		for _, k := range ks {
			tuitest.Feed(m, 3, tuitest.Key(k))
		}
	}
	press("s")
	if !strings.Contains(m.View(), "Take a RAFT snapshot of index/rep-0 now?") {
		t.Fatalf("no confirmation:\n%s", m.View())
	}
	press("y", "j", "T", "y", "j", "K", "y", "R", "esc", "k", "R", "y")
	want := []string{"snapshot index 0 0", "transfer index 0", "kill index 0 2", "restart-replica index 0 1"}
	if got := eng.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func TestNoStatefulDeployments(t *testing.T) {
	ctx := tuitest.Context()
	for i := range ctx.Status.Deployments {
		ctx.Status.Deployments[i].Stateful = false
	}
	m := consensus.New(ctx, tuitest.NewEngine(ctx.Status, 1))
	m.SetSize(80, 10)
	if !strings.Contains(m.View(), "No stateful deployments") {
		t.Error(m.View())
	}
	m.Update(tuitest.Key("s")) // nothing selected: no panic, no question
	if m.Capturing() {
		t.Error("no confirmation without a replica")
	}
}
