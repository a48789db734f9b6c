package logs_test

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/panes/logs"
	"github.com/jig-dev/jig/tui/tuitest"
	"github.com/muesli/termenv"
)

func newPane(t *testing.T, capacity int) *logs.Model {
	t.Helper()
	m := logs.New(tuitest.Context(), capacity)
	m.SetSize(100, 12)
	return m
}

func lines(n int, src string) []common.LogLine {
	out := make([]common.LogLine, n)
	for i := range out {
		out[i] = common.LogLine{Time: tuitest.T0, Source: src, Level: slog.LevelInfo, Text: fmt.Sprintf("line %d", i)}
	}
	return out
}

func press(m *logs.Model, keys ...string) {
	for _, k := range keys {
		m.Update(tuitest.Key(k))
	}
}

func TestShowsLinesAndFollows(t *testing.T) {
	m := newPane(t, 0)
	m.Update(common.EventsMsg{Logs: tuitest.LogLines()})
	v := m.View()
	for _, want := range []string{"● following", "8 lines", "slow request endpoint=/search", "encoder/rep-1", "ERR", "panic: runtime error index out of range"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "\x1b]52") {
		t.Error("escape sequence reached the view")
	}
	if got := strings.Count(v, "\n") + 1; got != 12 {
		t.Errorf("view has %d rows, want 12", got)
	}
}

func TestRingIsBounded(t *testing.T) {
	m := newPane(t, 100)
	m.Append(lines(250, "engine"))
	if m.Len() != 100 {
		t.Fatalf("Len = %d, want 100", m.Len())
	}
	v := m.View()
	if !strings.Contains(v, "line 249") || strings.Contains(v, "line 149\n") {
		t.Errorf("view should end at the newest line:\n%s", v)
	}
}

func TestFilterIsLiveAndCommits(t *testing.T) {
	m := newPane(t, 0)
	m.Append(tuitest.LogLines())
	press(m, "/")
	if !m.Capturing() {
		t.Fatal("typing a filter must capture keys")
	}
	for _, msg := range tuitest.Type("raft") {
		m.Update(msg)
	}
	if m.Visible() != 1 || m.Filter() != "raft" {
		t.Fatalf("live filter: visible %d filter %q", m.Visible(), m.Filter())
	}
	press(m, "enter")
	if m.Capturing() || m.Filter() != "raft" || !strings.Contains(m.View(), `filter "raft"`) {
		t.Fatalf("enter should keep the filter and release keys: %q", m.Filter())
	}
	// Lines arriving later are filtered too.
	m.Append([]common.LogLine{{Source: "index/rep-1", Text: "raft: heartbeat"}, {Source: "x", Text: "other"}})
	if m.Visible() != 2 {
		t.Errorf("visible = %d after append, want 2", m.Visible())
	}
	press(m, "esc")
	if m.Filter() != "" || m.Visible() != m.Len() {
		t.Errorf("esc should clear: filter %q, %d/%d", m.Filter(), m.Visible(), m.Len())
	}
}

func TestFilterSmartCaseAndInverse(t *testing.T) {
	m := newPane(t, 0)
	m.Append(tuitest.LogLines())
	m.SetFilter("SLOW")
	if m.Visible() != 0 {
		t.Errorf("upper-case filter is case-sensitive: %d", m.Visible())
	}
	m.SetFilter("slow")
	if m.Visible() != 1 {
		t.Errorf("slow: %d", m.Visible())
	}
	m.SetFilter("!gateway")
	if m.Visible() != 6 {
		t.Errorf("!gateway: %d (want 8 - 2 gateway lines)", m.Visible())
	}
}

func TestSourceAndLevelFilters(t *testing.T) {
	m := newPane(t, 0)
	m.Append(tuitest.LogLines())
	// s, l and w mean one thing each in the workbench (s snapshots in
	// Consensus, l moves right): here they do nothing.
	press(m, "s", "l")
	if m.Visible() != 8 || !strings.Contains(m.View(), "all sources · level all") {
		t.Errorf("s and l must not filter the logs: %d visible\n%s", m.Visible(), m.View())
	}
	press(m, "S")
	if !m.Capturing() || !strings.Contains(m.View(), "Show logs from") {
		t.Fatal("S should open the source picker")
	}
	press(m, "down", "enter") // first source in sorted order: "encoder" (a deployment prefix)
	if m.Visible() != 1 || !strings.Contains(m.View(), "source encoder") {
		t.Errorf("picked encoder: %d visible\n%s", m.Visible(), m.View())
	}
	press(m, "S", "up", "enter") // back to "all sources"
	if m.Visible() != 8 {
		t.Errorf("picker all: %d", m.Visible())
	}
	m.SetSource("norm")
	if m.Visible() != 2 {
		t.Errorf("deployment prefix norm: %d (norm/rep-0 and norm/rep-1)", m.Visible())
	}
	m.SetSource("")
	press(m, "L", "L") // info+ then warn+
	if m.Visible() != 3 || !strings.Contains(m.View(), "level warn+") {
		t.Errorf("warn+: %d", m.Visible())
	}
}

func TestScrollPausesAndResumes(t *testing.T) {
	m := newPane(t, 0)
	m.Append(lines(100, "engine"))
	press(m, "k")
	if m.Following() {
		t.Fatal("scrolling up must pause following")
	}
	before := m.View()
	m.Append(lines(5, "engine"))
	after := m.View()
	if !strings.Contains(after, "+6 new") { // the line below the view when it paused, and 5 more
		t.Errorf("paused view should count new lines:\n%s", after)
	}
	// The lines on screen stay put while paused.
	if strings.SplitN(before, "\n", 2)[1] != strings.SplitN(after, "\n", 2)[1] {
		t.Error("paused view moved when lines arrived")
	}
	press(m, "G")
	if !m.Following() {
		t.Error("G resumes following")
	}
	press(m, "pgup", "f")
	if !m.Following() {
		t.Error("f resumes following")
	}
	press(m, "f")
	if m.Following() {
		t.Error("f pauses when following")
	}
	press(m, "pgdown", "pgdown", "pgdown", "pgdown", "pgdown", "pgdown", "pgdown", "pgdown", "pgdown", "pgdown", "pgdown", "pgdown")
	if !m.Following() {
		t.Error("scrolling to the bottom resumes following")
	}
	press(m, "g")
	if m.Following() || !strings.Contains(m.View(), "line 0") {
		t.Error("g shows the oldest line")
	}
}

func TestWrap(t *testing.T) {
	m := newPane(t, 0)
	m.Append([]common.LogLine{{Time: tuitest.T0, Source: "engine", Text: strings.Repeat("word ", 40) + "END"}})
	if strings.Contains(m.View(), "END") {
		t.Fatal("long line should be cut without wrap")
	}
	press(m, "w")
	if !strings.Contains(m.View(), "END") || !strings.Contains(m.View(), "wrap") {
		t.Errorf("wrapped view should show the end:\n%s", m.View())
	}
}

func TestClear(t *testing.T) {
	m := newPane(t, 0)
	m.Append(lines(10, "engine"))
	press(m, "C")
	if m.Len() != 0 || !strings.Contains(m.View(), "No log lines yet") {
		t.Errorf("clear: %d lines", m.Len())
	}
	m.Append(lines(3, "engine"))
	if m.Len() != 3 {
		t.Errorf("after clear and append: %d", m.Len())
	}
}

func TestResizeReflows(t *testing.T) {
	m := newPane(t, 0)
	m.Append(lines(50, "engine"))
	for _, s := range [][2]int{{80, 10}, {140, 30}, {40, 5}} {
		m.SetSize(s[0], s[1])
		v := m.View()
		rows := strings.Split(v, "\n")
		if len(rows) != s[1] {
			t.Errorf("%v: %d rows", s, len(rows))
		}
		for _, r := range rows {
			if w := common.Width(r); w != s[0] {
				t.Errorf("%v: row width %d: %q", s, w, r)
				break
			}
		}
	}
}

// TestFilterHighlightsMatches: the text filter marks what it matched in
// each line shown (reverse video, which even a colourless terminal
// draws), and only that.
func TestFilterHighlightsMatches(t *testing.T) {
	m := newPane(t, 0)
	m.Append(tuitest.LogLines())
	if v := m.View(); strings.Contains(v, "\x1b[7m") {
		t.Fatalf("nothing is highlighted without a filter:\n%q", v)
	}
	prev := lipgloss.ColorProfile()
	lipgloss.SetColorProfile(termenv.ANSI)
	defer lipgloss.SetColorProfile(prev)
	m.SetFilter("slow")
	v := m.View()
	if !strings.Contains(v, "request endpoint=/search") || !regexp.MustCompile(`\x1b\[[0-9;]*7[0-9;]*mslow\x1b`).MatchString(v) {
		t.Errorf("the match should be highlighted:\n%q", v)
	}
}
