package router

import (
	"context"
	"slices"
	"testing"

	"github.com/jig-dev/jig/engine/events"
)

// TestAccessLog: every routed request is reported once, with its
// endpoint, request id, document counts, status and the replicas that
// answered; an executor failure is reported as "error".
func TestAccessLog(t *testing.T) {
	r, conns := testFlow(t, linear)
	var got []events.Access
	r.AccessLog = func(a events.Access) { got = append(got, a) }
	if _, err := r.Route(context.Background(), newReq("/x", nil, "hi", "there")); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d access records", len(got))
	}
	a := got[0]
	if a.Endpoint != "/x" || a.RequestID != "req-1" || a.Docs != 2 || a.DocsOut != 2 || a.Status != "ok" || a.Latency <= 0 {
		t.Errorf("record %+v", a)
	}
	if want := []string{"a/a", "b/b", "c/c"}; !slices.Equal(a.Replicas, want) {
		t.Errorf("replicas %v, want %v", a.Replicas, want)
	}
	conns["b"].with(fail("b"))
	if _, err := r.Route(context.Background(), newReq("/x", nil, "hi")); err != nil {
		t.Fatal(err)
	}
	if a := got[len(got)-1]; a.Status != "error" || !slices.Equal(a.Replicas, []string{"a/a", "b/b"}) {
		t.Errorf("failed request: %+v", a)
	}
}
