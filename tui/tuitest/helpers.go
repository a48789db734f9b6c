package tuitest

import (
	"reflect"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/themes"
	"github.com/jig-dev/jig/tui/common"
)

// Context returns a pane context with the fixed clock, the fixture status
// and colourless dark styles.
func Context() *common.Context {
	ctx := common.NewContext(themes.NewStyles(themes.Dark(), true), Clock)
	ctx.Status = Status()
	ctx.Width, ctx.Height = 100, 30
	return ctx
}

// Key returns the key message for a key name as bubbletea spells it:
// "j", "enter", "esc", "ctrl+s", "shift+tab", "alt+enter", "up"...
func Key(name string) tea.KeyMsg {
	alt := false
	if strings.HasPrefix(name, "alt+") && len(name) > 4 {
		alt, name = true, name[4:]
	}
	for t, n := range keyNames() {
		if n == name {
			return tea.KeyMsg{Type: t, Alt: alt}
		}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(name), Alt: alt}
}

func keyNames() map[tea.KeyType]string {
	return map[tea.KeyType]string{
		tea.KeyEnter: "enter", tea.KeyEsc: "esc", tea.KeyTab: "tab", tea.KeyShiftTab: "shift+tab",
		tea.KeyUp: "up", tea.KeyDown: "down", tea.KeyLeft: "left", tea.KeyRight: "right",
		tea.KeyPgUp: "pgup", tea.KeyPgDown: "pgdown", tea.KeyHome: "home", tea.KeyEnd: "end",
		tea.KeyBackspace: "backspace", tea.KeySpace: " ", tea.KeyCtrlC: "ctrl+c", tea.KeyCtrlS: "ctrl+s",
		tea.KeyCtrlR: "ctrl+r", tea.KeyCtrlT: "ctrl+t", tea.KeyCtrlK: "ctrl+k", tea.KeyCtrlU: "ctrl+u",
		tea.KeyCtrlD: "ctrl+d",
	}
}

// Type returns one key message per rune of s.
func Type(s string) []tea.Msg {
	out := make([]tea.Msg, 0, len(s))
	for _, r := range s {
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

// Run executes cmd and the commands it produces (batches and sequences
// included), collecting their messages. A command still blocked after
// wait (a tick, a cursor blink) is abandoned.
func Run(cmd tea.Cmd, wait time.Duration) []tea.Msg {
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-ch:
	case <-time.After(wait):
		return nil
	}
	switch m := msg.(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range m {
			out = append(out, Run(c, wait)...)
		}
		return out
	}
	// tea.Sequence yields an unexported []tea.Cmd type; run its commands
	// in order.
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
		var out []tea.Msg
		for i := range v.Len() {
			c, _ := v.Index(i).Interface().(tea.Cmd)
			out = append(out, Run(c, wait)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

// Updater is anything with a pane-style Update.
type Updater interface {
	Update(tea.Msg) tea.Cmd
}

// FeedWait bounds each command Feed runs: engine actions and fakes
// answer at once, while cursor blinks and ticks (which would loop) are
// abandoned.
const FeedWait = 150 * time.Millisecond

// Feed sends msgs to p, runs the resulting commands and feeds their
// messages back, up to depth rounds; it returns every message produced.
func Feed(p Updater, depth int, msgs ...tea.Msg) []tea.Msg {
	var all []tea.Msg
	for range depth {
		var next []tea.Msg
		for _, m := range msgs {
			next = append(next, Run(p.Update(m), FeedWait)...)
		}
		if len(next) == 0 {
			break
		}
		all = append(all, next...)
		msgs = next
	}
	return all
}

// LogLines returns the fixture's log events as display lines (without
// sanitising: panes are given what the bridge would give them in tests
// that do not care).
func LogLines() []common.LogLine {
	var out []common.LogLine
	for _, e := range History() {
		if l, ok := e.(events.Log); ok {
			out = append(out, common.LogLine{Time: l.Time, Source: l.Source, Level: l.Level, Text: common.Sanitize(l.String())})
		}
	}
	return out
}

// OtherEvents returns the fixture's non-log events.
func OtherEvents() []events.Event {
	var out []events.Event
	for _, e := range History() {
		if _, ok := e.(events.Log); !ok {
			out = append(out, e)
		}
	}
	return out
}
