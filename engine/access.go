package engine

import (
	"sync"
	"time"

	"github.com/jig-dev/jig/engine/events"
)

// AccessLogLimit is the most access-log events the engine publishes per
// second. A flow under load serves thousands of requests a second: every
// one of them on the bus would evict the rest of its history and flood
// the workbench, so the excess is counted (events.Access.Skipped) and the
// next published record says how many were left out.
const AccessLogLimit = 20

// accessLog rate-limits access records onto the bus.
type accessLog struct {
	bus   *events.Bus
	limit int

	mu      sync.Mutex
	window  time.Time // start of the current one-second window
	n       int       // records published in the window
	skipped int       // records not published since the last one that was
}

func newAccessLog(bus *events.Bus, limit int) *accessLog {
	return &accessLog{bus: bus, limit: limit}
}

// record publishes a, unless limit records were already published in the
// current second.
func (l *accessLog) record(a events.Access) {
	l.mu.Lock()
	if a.Time.Sub(l.window) >= time.Second {
		l.window, l.n = a.Time, 0
	}
	if l.n >= l.limit {
		l.skipped++
		l.mu.Unlock()
		return
	}
	l.n++
	a.Skipped, a.Limit = l.skipped, l.limit
	l.skipped = 0
	l.mu.Unlock()
	l.bus.Publish(a)
}
