package teatest_test

import (
	"testing"
	"time"

	"github.com/jig-dev/jig/tui"
	"github.com/jig-dev/jig/tui/panes/request"
)

// TestTraceWaterfall: a traced response shows its trace id, the Jaeger
// link and the span waterfall (indented by depth) in the Response view,
// and y copies the trace id.
func TestTraceWaterfall(t *testing.T) {
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	copied := make(chan string, 4)
	a := start(t, 110, 40, func(o *tui.Options) {
		o.Clipboard = func(s string) error { copied <- s; return nil }
	})
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	a.sender.Respond = func(_ request.Request, r *request.Response) {
		r.TraceID, r.TraceURL = id, "http://127.0.0.1:16686/trace/"+id
		r.Spans = []request.Span{
			{Name: "gateway /search", Start: ms(0), End: ms(10)},
			{Name: "deployment index", Depth: 1, Start: ms(1), End: ms(9)},
			{Name: "call index/rep-1", Depth: 2, Start: ms(1), End: ms(9)},
			{Name: "executor index /search", Depth: 3, Start: ms(2), End: ms(8), Failed: true},
		}
	}
	a.keys("5")
	a.waitFor(t, "fields: price, text")
	a.keys("ctrl+s")
	a.waitFor(t, "Trace "+id)
	a.waitForAny(t, "16686/trace/"+id)
	a.waitForAny(t, "   executor index /search")
	a.keys("y")
	select {
	case got := <-copied:
		if got != id {
			t.Errorf("copied %q, want the trace id", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("y copied nothing")
	}
	a.waitFor(t, "copied")
	a.quit(t)
}
