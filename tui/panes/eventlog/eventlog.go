// Package eventlog is the Events pane: a timeline of builds, reloads,
// restarts, reconciles, state changes and leader elections with their
// outcome, duration and trigger files; enter shows the full record,
// including the compiler output of a failed build.
//
// (It is not called "events" so it does not shadow engine/events.)
package eventlog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/tui/common"
)

// DefaultCapacity is how many events the timeline keeps.
const DefaultCapacity = 1000

// KeyMap is the Events pane's key map.
type KeyMap struct {
	Up, Down, Top, Open, Back, Filter key.Binding
}

// DefaultKeyMap returns the pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:     common.Binding("↑/k", "up", "up", "k"),
		Down:   common.Binding("↓/j", "down", "down", "j"),
		Top:    common.Binding("g", "newest", "g", "home"),
		Open:   common.Binding("enter", "details/output", "enter", "l", "right"),
		Back:   common.Binding("esc", "back", "esc", "h", "left"),
		Filter: common.Binding("/", "filter", "/"),
	}
}

// record is one row of the timeline.
type record struct {
	id         int
	time       time.Time
	kind       string // build, reload, restart, reconcile, replica, deployment, leader
	deployment string
	subject    string // the replica or shard concerned
	outcome    string
	duration   time.Duration
	trigger    []string
	detail     string // reason, error or compiler output (sanitised, multi-line)
	running    bool   // an update that started and has not finished
}

// Model is the Events pane.
type Model struct {
	ctx  *common.Context
	keys KeyMap
	w, h int
	cap  int

	records []*record // oldest first
	nextID  int

	selected int // record id
	top      int
	detail   bool
	scroll   int
	filter   common.Filter
}

// New returns the Events pane keeping at most capacity events.
func New(ctx *common.Context, capacity int) *Model {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Model{ctx: ctx, keys: DefaultKeyMap(), cap: capacity, filter: common.NewFilter(), selected: -1}
}

// Title implements common.Pane.
func (m *Model) Title() string { return "Events" }

// ShortTitle implements common.Pane.
func (m *Model) ShortTitle() string { return "Events" }

// Init implements common.Pane.
func (m *Model) Init() tea.Cmd { return nil }

// SetSize implements common.Pane.
func (m *Model) SetSize(w, h int) { m.w, m.h = w, h; m.filter.SetWidth(w) }

// Capturing implements common.Pane.
func (m *Model) Capturing() bool { return m.filter.Typing() }

// Len is the number of events held.
func (m *Model) Len() int { return len(m.records) }

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.keys
	if m.detail {
		return []key.Binding{k.Up, k.Down, k.Back}
	}
	return []key.Binding{k.Open, k.Filter}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.keys
	return [][]key.Binding{{k.Up, k.Down, k.Top}, {k.Open, k.Back, k.Filter}}
}

// Add ingests engine events (non-log ones; others are ignored).
func (m *Model) Add(evs []events.Event) {
	for _, e := range evs {
		m.add(e)
	}
	if over := len(m.records) - m.cap; over > 0 {
		m.records = append(m.records[:0], m.records[over:]...)
	}
}

func (m *Model) add(e events.Event) {
	r := &record{time: e.When()}
	switch e := e.(type) {
	case events.Update:
		// An outcome closes the matching "started" row instead of adding
		// a second one, so a reload reads as one line: started → ok, 2.1s.
		if e.Outcome != events.Started {
			for i := len(m.records) - 1; i >= max(0, len(m.records)-50); i-- {
				o := m.records[i]
				if o.running && o.kind == string(e.Kind) && o.deployment == e.Deployment {
					o.running = false
					o.outcome = string(e.Outcome)
					o.duration = e.Duration
					if len(e.Trigger) > 0 {
						o.trigger = sanitizeAll(e.Trigger)
					}
					o.detail = common.SanitizeLines(e.Output)
					return
				}
			}
		}
		r.kind, r.deployment, r.outcome = string(e.Kind), e.Deployment, string(e.Outcome)
		r.duration, r.trigger, r.detail = e.Duration, sanitizeAll(e.Trigger), common.SanitizeLines(e.Output)
		r.running = e.Outcome == events.Started
	case events.ReplicaState:
		r.kind, r.deployment, r.subject = "replica", e.Deployment, e.Replica
		r.outcome, r.detail = string(e.State), common.SanitizeLines(e.Reason)
	case events.DeploymentState:
		r.kind, r.deployment = "deployment", e.Deployment
		r.outcome, r.detail = string(e.State), common.SanitizeLines(e.Reason)
	case events.Leader:
		r.kind, r.deployment, r.subject = "leader", e.Deployment, fmt.Sprintf("shard-%d", e.Shard)
		r.outcome = e.Replica
		if r.outcome == "" {
			r.outcome = "none"
		}
		r.detail = fmt.Sprintf("term %d", e.Term)
	default:
		return
	}
	r.id = m.nextID
	m.nextID++
	m.records = append(m.records, r)
}

// visible returns the records passing the filter, newest first.
func (m *Model) visible() []*record {
	out := make([]*record, 0, len(m.records))
	for i := len(m.records) - 1; i >= 0; i-- {
		r := m.records[i]
		if !m.filter.Active() || m.filter.Match(r.kind, r.deployment, r.subject, r.outcome, r.detail, strings.Join(r.trigger, " ")) {
			out = append(out, r)
		}
	}
	return out
}

func (m *Model) cursor(rs []*record) int {
	i := slices.IndexFunc(rs, func(r *record) bool { return r.id == m.selected })
	if i < 0 && len(rs) > 0 {
		i = 0
		m.selected = rs[0].id
	}
	return i
}

// Update implements common.Pane.
func (m *Model) Update(in tea.Msg) tea.Cmd {
	switch msg := in.(type) {
	case common.EventsMsg:
		m.Add(msg.Other)
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if m.filter.Typing() {
		return m.filter.Update(msg)
	}
	k := m.keys
	if m.detail {
		switch {
		case key.Matches(msg, k.Back):
			m.detail, m.scroll = false, 0
		case key.Matches(msg, k.Up):
			m.scroll = max(0, m.scroll-1)
		case key.Matches(msg, k.Down):
			m.scroll++
		case key.Matches(msg, common.TopKey):
			m.scroll = 0
		case key.Matches(msg, common.BottomKey):
			m.scroll = 1 << 20 // the view clamps it
		}
		return nil
	}
	rs := m.visible()
	i := m.cursor(rs)
	switch {
	case key.Matches(msg, k.Filter):
		return m.filter.Start()
	case key.Matches(msg, k.Back):
		m.filter.Clear()
	case i < 0:
	case key.Matches(msg, k.Up):
		m.selected = rs[max(0, i-1)].id
	case key.Matches(msg, k.Down):
		m.selected = rs[min(len(rs)-1, i+1)].id
	case key.Matches(msg, k.Top):
		m.selected = rs[0].id
	case key.Matches(msg, common.BottomKey):
		m.selected = rs[len(rs)-1].id
	case key.Matches(msg, k.Open):
		m.detail, m.scroll = true, 0
	}
	return nil
}

var cols = []common.Column{
	{Title: "TIME", Width: 8},
	{Title: "KIND", Width: 10},
	{Title: "DEPLOYMENT", Width: 18, Min: 8},
	{Title: "OUTCOME", Width: 10},
	{Title: "TOOK", Width: 7, Right: true, Drop: 1},
	{Title: "TRIGGER / DETAIL", Width: 20, Min: 10, Flex: true},
}

func (r *record) outcomeText() string {
	if r.running {
		return "running"
	}
	return r.outcome
}

func (r *record) what() string {
	if r.subject != "" && r.deployment != "" {
		return r.deployment + "/" + r.subject
	}
	if r.deployment == "" {
		return "(flow)"
	}
	return r.deployment
}

// View implements common.Pane.
func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	rs := m.visible()
	cur := m.cursor(rs)
	if m.detail && cur >= 0 {
		return m.detailView(rs[cur])
	}
	m.detail = false
	st := m.ctx.Styles
	widths := common.Layout(cols, m.w)
	out := []string{
		st.Bold.Render("Events") + st.Faint.Render(fmt.Sprintf(" · %d events · newest first", len(m.records))),
		common.HeaderRow(cols, widths, st.Header),
	}
	extra := 0
	if m.filter.Typing() || m.filter.Active() {
		extra = 1
	}
	bodyH := max(1, m.h-len(out)-extra)
	if len(rs) == 0 {
		msg := "No events yet: builds, reloads, restarts and elections show up here."
		if len(m.records) > 0 {
			msg = "No event matches the filter (esc clears it)."
		}
		out = append(out, "  "+st.Faint.Render(msg))
	}
	m.top = common.Scroll(m.top, cur, bodyH, len(rs))
	if m.top > 0 {
		// Newer rows arrive at the top, out of sight while the user reads
		// further down: say how many are there.
		out[0] += st.Warning.Render(fmt.Sprintf(" · ↑ %d newer above (g: newest)", m.top))
	}
	for i := m.top; i < min(len(rs), m.top+bodyH); i++ {
		r := rs[i]
		detail := strings.Join(r.trigger, " ")
		if d := firstLine(r.detail); d != "" {
			if detail != "" {
				detail += " · "
			}
			detail += d
		}
		took := "-"
		if r.duration > 0 {
			took = common.Duration(r.duration)
		}
		oc := r.outcomeText()
		ocStyle := st.State(oc)
		if oc == "running" {
			ocStyle = st.Warning
		}
		cells := []common.Cell{
			common.C(r.time.Format("15:04:05"), st.Faint),
			common.C(r.kind, st.Accent),
			common.C(r.what(), st.Bold),
			common.C(oc, ocStyle),
			common.C(took, st.Secondary),
			common.C(detail, st.Secondary),
		}
		out = append(out, common.Row(cols, widths, cells, i == cur, st.Selected, m.w))
	}
	body := common.Block(strings.Join(out, "\n"), m.w, m.h-extra)
	if m.filter.Typing() {
		body += "\n" + m.filter.View()
	} else if m.filter.Active() {
		body += "\n" + st.Accent.Render(fmt.Sprintf("filter %q", m.filter.Value())) + st.Faint.Render(" (/ edits, esc clears)")
	}
	return common.Block(body, m.w, m.h)
}

func (m *Model) detailView(r *record) string {
	st := m.ctx.Styles
	head := []string{
		st.Bold.Render(r.kind+" · "+r.what()) + st.Faint.Render(" · ") + st.State(r.outcomeText()).Render(r.outcomeText()),
		st.Secondary.Render("time     ") + r.time.Format("2006-01-02 15:04:05.000"),
	}
	if r.duration > 0 {
		head = append(head, st.Secondary.Render("took     ")+common.Duration(r.duration))
	}
	if len(r.trigger) > 0 {
		head = append(head, st.Secondary.Render("trigger  ")+strings.Join(r.trigger, ", "))
	}
	label := "detail"
	if r.kind == string(events.Build) {
		label = "compiler output"
	}
	head = append(head, "", st.Header.Render(label))
	var body []string
	if r.detail == "" {
		body = []string{st.Faint.Render("(none)")}
	} else {
		for _, l := range strings.Split(r.detail, "\n") {
			for _, w := range common.Wrap(l, m.w) {
				if r.outcome == string(events.Failure) {
					body = append(body, st.Error.Render(w))
				} else {
					body = append(body, w)
				}
			}
		}
	}
	bodyH := max(1, m.h-len(head))
	m.scroll = min(m.scroll, max(0, len(body)-bodyH))
	body = body[m.scroll:min(len(body), m.scroll+bodyH)]
	return common.Block(strings.Join(append(head, body...), "\n"), m.w, m.h)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// sanitizeAll sanitises file names (reload triggers): a file name may hold
// escape sequences, and the watcher reports whatever it finds.
func sanitizeAll(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = common.Sanitize(n)
	}
	return out
}

// Click selects the event under the mouse; clicking the selected one
// opens its details.
func (m *Model) Click(_, row int) tea.Cmd {
	if m.detail || m.filter.Typing() {
		return nil
	}
	rs := m.visible()
	i := m.top + row - 2 // title, header
	if row < 2 || i >= len(rs) {
		return nil
	}
	if rs[i].id == m.selected {
		m.detail, m.scroll = true, 0
		return nil
	}
	m.selected = rs[i].id
	return nil
}
