package consensus_test

import (
	"context"
	"testing"
	"time"

	"github.com/jig-dev/jig/consensus"
)

// TestAdminWatchPushesLeaderChanges follows a follower over
// jig.RaftAdmin/Watch: the first message is its state now, a leadership
// transfer arrives as it happens, and stopping the follower's server
// (before its node) ends the stream instead of holding the graceful stop.
func TestAdminWatchPushesLeaderChanges(t *testing.T) {
	c := newCluster(t, 3, "ConsensusTestKV", consensus.ConsistencyLocal, nil)
	old := c.leader()
	f := c.follower()
	evs := make(chan consensus.Event, 256)
	watched := make(chan error, 1)
	go func() {
		watched <- consensus.NewAdminClient(f.conn).Watch(context.Background(), func(ev consensus.Event) { evs <- ev })
	}()
	next := func() consensus.Event {
		t.Helper()
		select {
		case ev := <-evs:
			return ev
		case <-time.After(15 * time.Second):
			t.Fatal("no event from Watch")
			return consensus.Event{}
		}
	}
	first := next()
	if first.Node != f.peer.ID || first.State != "Follower" || first.Term == 0 {
		t.Fatalf("first event %+v, want follower %s's current state", first, f.peer.ID)
	}
	// The leader may not be known yet at the first event; it arrives.
	for ev := first; ev.Leader.ID != old.peer.ID; ev = next() {
	}
	if err := old.node.TransferLeadership(ctxFor(t, 10*time.Second), ""); err != nil {
		t.Fatal(err)
	}
	for ev := next(); ev.Leader.ID == old.peer.ID || ev.Leader.ID == ""; ev = next() {
	}
	// No deadline: if the open stream held the graceful stop, this would
	// hang (and the test time out).
	f.srv.Stop(context.Background())
	select {
	case err := <-watched:
		if err == nil {
			t.Fatal("Watch ended without an error")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Watch still open after the server stopped")
	}
}
