package engine

import (
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/events"
)

// TestAccessLogLimit publishes at most the limit per second and reports
// the requests it left out on the next record.
func TestAccessLogLimit(t *testing.T) {
	bus := events.NewBus(100)
	defer bus.Close()
	sub := bus.Subscribe(100)
	l := newAccessLog(bus, 3)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		l.record(events.Access{Time: t0.Add(time.Duration(i) * time.Millisecond), RequestID: "r"})
	}
	l.record(events.Access{Time: t0.Add(1500 * time.Millisecond), RequestID: "late"})
	var got []events.Access
	for len(got) < 4 {
		got = append(got, (<-sub.C).(events.Access))
	}
	if got[2].Skipped != 0 || got[3].RequestID != "late" || got[3].Skipped != 7 || got[3].Limit != 3 {
		t.Errorf("records %+v", got)
	}
	select {
	case e := <-sub.C:
		t.Errorf("more than the limit: %+v", e)
	default:
	}
}
