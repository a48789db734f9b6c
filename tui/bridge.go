package tui

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/tui/common"
)

// bridge moves engine events into the UI in batches.
//
// Bubble Tea renders after every message and Program.Send blocks until
// the event loop takes the message, so one message per log line would
// make the UI fall behind at a few thousand lines per second (k9s #1019,
// bubbletea #1208). The bridge instead:
//
//   - drains the bus subscription continuously in its own goroutine, so
//     the engine never waits (the bus drops for slow subscribers anyway);
//   - converts logs to display lines there (control sequences stripped,
//     multi-line messages split), off the UI goroutine;
//   - every interval (50 ms) hands the accumulated batch to the UI as ONE
//     common.EventsMsg through a one-slot channel. If the UI has not taken
//     the previous batch yet, it keeps accumulating instead of blocking;
//   - bounds what it holds: beyond maxPending log lines the oldest are
//     dropped (the UI ring would evict them anyway) and counted.
//
// The UI side is a re-armed command (bubbletea's examples/realtime): next
// waits for a batch, the root handles it and asks for the next one. It
// works the same inside tea.Program and teatest, needs no *tea.Program,
// and returns when the context ends, so no goroutine outlives the program.
type bridge struct {
	ctx context.Context
	out chan common.EventsMsg
}

// Bridge tuning.
const (
	subscriptionBuffer = 65536 // events the bus buffers for us (absorbs bursts)
	// dedupWindow is how many events after subscribing are checked against
	// the tail of Recent: an event published between Subscribe and Recent
	// is in both.
	dedupWindow = 64
)

// startBridge subscribes to bus and starts the batching goroutine. It
// stops, closing the subscription, when ctx is done.
func startBridge(ctx context.Context, bus *events.Bus, interval time.Duration, maxPending int) *bridge {
	b := &bridge{ctx: ctx, out: make(chan common.EventsMsg, 1)}
	if bus == nil {
		return b
	}
	sub := bus.Subscribe(subscriptionBuffer)
	recent := bus.Recent()
	go b.run(sub, recent, interval, maxPending)
	return b
}

// next returns the command that waits for the next batch.
func (b *bridge) next() tea.Cmd {
	return func() tea.Msg {
		select {
		case m, ok := <-b.out:
			if !ok {
				return nil
			}
			return bridgeMsg{m}
		case <-b.ctx.Done():
			return nil
		}
	}
}

// batch accumulates events between flushes.
type batch struct {
	logs    []common.LogLine
	other   []events.Event
	dropped uint64
	history bool
	max     int
}

func (p *batch) empty() bool { return len(p.logs) == 0 && len(p.other) == 0 && p.dropped == 0 }

func (p *batch) add(e events.Event) {
	if a, ok := e.(events.Access); ok {
		// The access log is shown with the logs, as the gateway's lines.
		e = accessLog(a)
	}
	if l, ok := e.(events.Log); ok {
		p.logs = appendLog(p.logs, l)
		if n := len(p.logs); n > 2*p.max {
			// Keep the newest max lines; copying only when twice over keeps
			// the cost amortised O(1) per line.
			p.dropped += uint64(n - p.max)
			p.logs = append(p.logs[:0], p.logs[n-p.max:]...)
		}
		return
	}
	p.other = append(p.other, e)
}

// msg trims the batch to its bound and returns it as a message. It may be
// called again for the same batch when the UI was busy, so the trim is
// done in place and counted once.
func (p *batch) msg() common.EventsMsg {
	if n := len(p.logs); n > p.max {
		p.dropped += uint64(n - p.max)
		p.logs = p.logs[n-p.max:]
	}
	return common.EventsMsg{Logs: p.logs, Other: p.other, Dropped: p.dropped, History: p.history}
}

func (b *bridge) run(sub *events.Subscription, recent []events.Event, interval time.Duration, maxPending int) {
	defer close(b.out)
	defer sub.Close()
	pending := &batch{max: maxPending, history: true}
	seen := map[string]bool{}
	for i, e := range recent {
		pending.add(e)
		if i >= len(recent)-dedupWindow {
			seen[fingerprint(e)] = true
		}
	}
	checked := 0
	var lastDropped uint64
	tick := time.NewTicker(interval)
	defer tick.Stop()
	c := sub.C
	for {
		select {
		case <-b.ctx.Done():
			return
		case e, ok := <-c:
			if !ok {
				c = nil // the bus closed; flush what we have, then idle
				continue
			}
			if checked < dedupWindow && len(seen) > 0 {
				checked++
				if fp := fingerprint(e); seen[fp] {
					delete(seen, fp)
					continue
				}
			}
			pending.add(e)
		case <-tick.C:
			if d := sub.Dropped(); d != lastDropped {
				pending.dropped += d - lastDropped
				lastDropped = d
			}
			if pending.empty() {
				continue
			}
			select {
			case b.out <- pending.msg():
				pending = &batch{max: maxPending, logs: make([]common.LogLine, 0, len(pending.logs))}
			default:
				// The UI is still busy with the previous batch: keep
				// accumulating rather than block the drain.
			}
		}
	}
}

// appendLog converts one log event to display lines: control sequences
// stripped, one line per line of a multi-line message.
func appendLog(dst []common.LogLine, l events.Log) []common.LogLine {
	// A trailing newline (common in child-process output) is not an empty
	// line; attributes go on the message's last line.
	text := strings.TrimRight(l.Message, "\r\n")
	if len(l.Attrs) > 0 {
		l.Message = text
		text = l.String()
	}
	if strings.IndexByte(text, '\n') < 0 {
		return append(dst, common.LogLine{Time: l.Time, Source: common.Sanitize(l.Source), Level: l.Level, Text: common.Sanitize(text)})
	}
	src := common.Sanitize(l.Source)
	for _, part := range strings.Split(text, "\n") {
		dst = append(dst, common.LogLine{Time: l.Time, Source: src, Level: l.Level, Text: common.Sanitize(part)})
	}
	return dst
}

// fingerprint identifies an event well enough to spot the same event
// delivered by both Recent and the subscription.
func fingerprint(e events.Event) string {
	if l, ok := e.(events.Log); ok {
		return fmt.Sprintf("L%d|%s|%s", l.Time.UnixNano(), l.Source, l.Message)
	}
	return fmt.Sprintf("%T%d|%v", e, e.When().UnixNano(), e)
}

// accessLog turns an access record into the gateway's log line, the
// most telling fields first so that a narrow screen keeps them:
// "access /search ok 12.0ms 2→2 docs req 6f1c2a0b · norm/rep-1 index/shard-0/rep-0",
// after "(+431 not logged, limit 20/s)" when the rate limit left some out.
// A failed request is a warning. When the engine's rate limit left
// requests out, the line says how many and what the limit is.
func accessLog(a events.Access) events.Log {
	var b strings.Builder
	b.WriteString("access ")
	if a.Skipped > 0 {
		// First, so that a narrow screen shows it: the lines in view
		// are a sample.
		fmt.Fprintf(&b, "(+%d not logged, limit %d/s) ", a.Skipped, a.Limit)
	}
	fmt.Fprintf(&b, "%s %s %s %d→%d docs", a.Endpoint, a.Status, common.Duration(a.Latency), a.Docs, a.DocsOut)
	if a.RequestID != "" {
		b.WriteString(" req " + a.RequestID)
	}
	if len(a.Replicas) > 0 {
		b.WriteString(" · " + strings.Join(a.Replicas, " "))
	}
	level := slog.LevelInfo
	if a.Status != "ok" {
		level = slog.LevelWarn
	}
	return events.Log{Time: a.Time, Source: "gateway", Level: level, Message: b.String()}
}
