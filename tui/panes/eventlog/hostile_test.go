package eventlog_test

import (
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/tui/panes/eventlog"
	"github.com/jig-dev/jig/tui/tuitest"
)

// TestHostileTextIsNotExecuted: escape sequences in what the Events pane
// shows (a trigger file's name, compiler output, a replica's failure
// reason) never reach the terminal, in the list or in the detail view.
func TestHostileTextIsNotExecuted(t *testing.T) {
	m := eventlog.New(tuitest.Context(), 0)
	m.SetSize(120, 20)
	m.Add([]events.Event{
		events.Update{Time: tuitest.T0, Kind: events.Reload, Deployment: "enc", Outcome: events.Failure,
			Trigger: []string{"evil\x1b]52;c;cm0gLXJmIH4=\x07.go"},
			Output:  "main.go:1: \x1b[2J\x1b]8;;http://x\x1b\\click\x1b]8;;\x1b\\"},
		events.ReplicaState{Time: tuitest.T0, Deployment: "enc", Replica: "rep-0", State: events.Failed, Reason: "exit \x1b]0;pwned\x07\x9b2J"},
	})
	views := []string{m.View()}
	m.Update(tuitest.Key("j"))
	m.Update(tuitest.Key("enter"))
	views = append(views, m.View())
	for i, v := range views {
		for _, bad := range []string{"\x1b]", "\x07", "\x9b", "\u009b", "\x1b[2J", "]52;", "]8;;"} {
			if strings.Contains(v, bad) {
				t.Errorf("view %d contains %q:\n%q", i, bad, v)
			}
		}
	}
	if !strings.Contains(views[0], "evil") || !strings.Contains(strings.Join(views, ""), "click") {
		t.Fatalf("the text itself must still show:\n%s\n%s", views[0], views[1])
	}
}
