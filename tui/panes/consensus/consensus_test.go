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

// TestShownRight: a stateless flow offers no RAFT actions; a shard
// without a leader says since when instead of "elected … ago"; log bars
// show a lagging replica shorter than the leader.
func TestShownRight(t *testing.T) {
	ctx := tuitest.Context()
	st := ctx.Status
	for i := range st.Deployments {
		st.Deployments[i].Stateful = false
	}
	m := consensus.New(ctx, tuitest.NewEngine(st, 1))
	if h := m.ShortHelp(); len(h) != 0 {
		t.Errorf("a stateless flow's footer offers %v", h)
	}

	ctx = tuitest.Context()
	m = consensus.New(ctx, tuitest.NewEngine(ctx.Status, 1))
	m.SetSize(100, 16)
	if len(m.ShortHelp()) == 0 {
		t.Error("a stateful flow offers the RAFT actions")
	}
	// Bars: the fixture's replicas are at applied 117 and 110 of 120,
	// so they must differ.
	var bars []string
	for _, l := range strings.Split(m.View(), "\n") {
		if strings.Contains(l, "Leader") || strings.Contains(l, "Follower") {
			bars = append(bars, strings.TrimRight(strings.Map(func(r rune) rune {
				if r == '█' {
					return r
				}
				return ' '
			}, l), " "))
		}
	}
	if len(bars) < 2 || bars[0] == bars[1] {
		t.Errorf("log bars do not show the lag: %q", bars)
	}
	// No leader any more.
	for i := range ctx.Status.Deployments {
		for j := range ctx.Status.Deployments[i].ReplicaStatus {
			if r := ctx.Status.Deployments[i].ReplicaStatus[j].Raft; r != nil && r.State == "Leader" {
				r.State = "Candidate"
			}
		}
	}
	m.Update(common.EventsMsg{Other: []events.Event{events.Leader{Time: tuitest.T0, Deployment: "index", Replica: "rep-0", Term: 3}}})
	if v := m.View(); strings.Contains(v, "elected") || !strings.Contains(v, "no leader") {
		t.Errorf("without a leader:\n%s", v)
	}
	m.Update(common.EventsMsg{Other: []events.Event{events.Leader{Time: tuitest.T0, Deployment: "index", Term: 4}}})
	if v := m.View(); !strings.Contains(v, "no leader · term") || !strings.Contains(v, "for 1m") {
		t.Errorf("leaderless since:\n%s", v)
	}
}
