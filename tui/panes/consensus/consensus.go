// Package consensus is the Consensus pane: for every shard of every
// stateful deployment, each replica's RAFT role, term, log indexes (as
// bars), last contact and last snapshot, with snapshot, leadership
// transfer, kill and restart actions.
package consensus

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/status"
	"github.com/jig-dev/jig/tui/common"
)

// Actions are the engine operations this pane starts.
type Actions interface {
	RaftSnapshot(ctx context.Context, name string, shard, replica int) error
	TransferLeadership(ctx context.Context, name string, shard int) error
	KillReplica(ctx context.Context, name string, shard, replica int) error
	RestartReplica(ctx context.Context, name string, shard, replica int) error
}

// Model is the Consensus pane.
type Model struct {
	ctx  *common.Context
	act  Actions
	keys KeyMap
	w, h int

	// selected is "<deployment>/<replica name>", stable across refreshes.
	selected string
	top      int
	confirm  common.Confirm
	// elected remembers the last leader change per "<deployment>/<shard>".
	elected map[string]events.Leader
}

// New returns the Consensus pane.
func New(ctx *common.Context, act Actions) *Model {
	return &Model{ctx: ctx, act: act, keys: DefaultKeyMap(), elected: map[string]events.Leader{}}
}

// Title implements common.Pane.
func (m *Model) Title() string { return "Consensus" }

// ShortTitle implements common.Pane.
func (m *Model) ShortTitle() string { return "Raft" }

// Init implements common.Pane.
func (m *Model) Init() tea.Cmd { return nil }

// SetSize implements common.Pane.
func (m *Model) SetSize(w, h int) { m.w, m.h = w, h }

// Capturing implements common.Pane.
func (m *Model) Capturing() bool { return m.confirm.Open() }

// shard is one RAFT group: a shard of a stateful deployment.
type shard struct {
	order    int // the deployment's position in the status
	dep      status.Deployment
	index    int
	replicas []status.Replica
}

// line is one row of the pane: a shard header or a replica.
type line struct {
	shard   *shard
	replica *status.Replica // nil for the header
}

func (l line) id() string {
	if l.replica == nil {
		return ""
	}
	return l.shard.dep.Name + "/" + l.replica.Name
}

// shards groups the replicas of stateful deployments by shard.
func (m *Model) shards() []*shard {
	var out []*shard
	for di, d := range m.ctx.Status.Deployments {
		if !d.Stateful {
			continue
		}
		by := map[int]*shard{}
		for _, r := range d.ReplicaStatus {
			s := by[r.Shard]
			if s == nil {
				s = &shard{order: di, dep: d, index: r.Shard}
				by[r.Shard] = s
				out = append(out, s)
			}
			s.replicas = append(s.replicas, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].order != out[j].order {
			return out[i].order < out[j].order
		}
		return out[i].index < out[j].index
	})
	return out
}

func (m *Model) lines() []line {
	var out []line
	for _, s := range m.shards() {
		out = append(out, line{shard: s})
		for i := range s.replicas {
			out = append(out, line{shard: s, replica: &s.replicas[i]})
		}
	}
	return out
}

// cursor returns the selected line index, selecting the first replica
// when the selection vanished; -1 when there is none.
func (m *Model) cursor(ls []line) int {
	i := slices.IndexFunc(ls, func(l line) bool { return l.replica != nil && l.id() == m.selected })
	if i < 0 {
		i = slices.IndexFunc(ls, func(l line) bool { return l.replica != nil })
		if i >= 0 {
			m.selected = ls[i].id()
		}
	}
	return i
}

// Update implements common.Pane.
func (m *Model) Update(in tea.Msg) tea.Cmd {
	switch msg := in.(type) {
	case common.EventsMsg:
		for _, e := range msg.Other {
			if l, ok := e.(events.Leader); ok {
				m.elected[fmt.Sprintf("%s/%d", l.Deployment, l.Shard)] = l
			}
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if m.confirm.Open() {
		return m.confirm.Update(msg)
	}
	ls := m.lines()
	i := m.cursor(ls)
	if i < 0 {
		return nil
	}
	k := m.keys
	cur := ls[i]
	name, sh, rep := cur.shard.dep.Name, cur.replica.Shard, cur.replica.Replica
	who := fmt.Sprintf("%s/%s", name, cur.replica.Name)
	ask := func(prompt, label string, fn func(ctx context.Context) error) {
		m.confirm.Ask(prompt, tea.Batch(common.Toast(label+"…", false), common.Action(m.ctx.Base, label, fn)))
	}
	switch {
	case key.Matches(msg, k.Up):
		for j := i - 1; j >= 0; j-- {
			if ls[j].replica != nil {
				m.selected = ls[j].id()
				break
			}
		}
	case key.Matches(msg, k.Down):
		for j := i + 1; j < len(ls); j++ {
			if ls[j].replica != nil {
				m.selected = ls[j].id()
				break
			}
		}
	case key.Matches(msg, common.TopKey), key.Matches(msg, common.BottomKey):
		top := key.Matches(msg, common.TopKey)
		for n := range ls {
			j := n
			if !top {
				j = len(ls) - 1 - n
			}
			if ls[j].replica != nil {
				m.selected = ls[j].id()
				break
			}
		}
	case key.Matches(msg, k.Snapshot):
		ask(fmt.Sprintf("Take a RAFT snapshot of %s now?", who), "snapshot "+who,
			func(ctx context.Context) error { return m.act.RaftSnapshot(ctx, name, sh, rep) })
	case key.Matches(msg, k.Transfer):
		ask(fmt.Sprintf("Transfer leadership of %s shard %d to another replica?", name, sh),
			fmt.Sprintf("transfer leadership %s/shard-%d", name, sh),
			func(ctx context.Context) error { return m.act.TransferLeadership(ctx, name, sh) })
	case key.Matches(msg, k.Kill):
		ask(fmt.Sprintf("Kill replica %s? (a new election starts if it leads)", who), "kill replica "+who,
			func(ctx context.Context) error { return m.act.KillReplica(ctx, name, sh, rep) })
	case key.Matches(msg, k.Restart):
		ask(fmt.Sprintf("Restart replica %s?", who), "restart replica "+who,
			func(ctx context.Context) error { return m.act.RestartReplica(ctx, name, sh, rep) })
	}
	return nil
}

var cols = []common.Column{
	{Title: "REPLICA", Width: 14},
	{Title: "ROLE", Width: 9},
	{Title: "TERM", Width: 5, Right: true},
	{Title: "LOG (applied/commit/last)", Width: 30, Min: 10, Flex: true},
	{Title: "INDEXES", Width: 17, Right: true, Drop: 2},
	{Title: "CONTACT", Width: 7, Right: true},
	{Title: "SNAPSHOT", Width: 14, Drop: 1},
}

// View implements common.Pane.
func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	st := m.ctx.Styles
	ls := m.lines()
	if len(ls) == 0 {
		return common.Block(common.Lines(
			st.Bold.Render("Consensus"),
			"",
			st.Faint.Render("No stateful deployments. Mark a deployment `stateful: true` in the flow"),
			st.Faint.Render("to replicate its write endpoints with RAFT; its replicas show up here."),
		), m.w, m.h)
	}
	legend := st.Bold.Render("Consensus") + st.Faint.Render(" · log: ") +
		st.Success.Render("█") + st.Faint.Render(" applied ") +
		st.Accent.Render("▓") + st.Faint.Render(" committed ") +
		st.Warning.Render("░") + st.Faint.Render(" appended")
	widths := common.Layout(cols, m.w)
	out := []string{legend, common.HeaderRow(cols, widths, st.Header)}
	bodyH := max(1, m.h-len(out))
	cur := m.cursor(ls)
	m.top = common.Scroll(m.top, cur, bodyH, len(ls))
	if cur >= 0 && m.top > 0 && m.top == cur && ls[cur-1].replica == nil {
		m.top-- // keep the shard header of the selected replica visible
	}
	now := m.ctx.Now()
	for i := m.top; i < min(len(ls), m.top+bodyH); i++ {
		l := ls[i]
		if l.replica == nil {
			out = append(out, m.header(l.shard))
			continue
		}
		r := l.replica
		rs := r.Raft
		if rs == nil {
			// No RAFT view yet: show the replica's own state in the role column.
			rs = &status.Raft{State: status.Role(r.State)}
		}
		lo, hi := barRange(l.shard)
		barW := widths[3]
		contact := "-"
		if rs.State == status.Follower {
			contact = common.Duration(rs.LastContact)
		}
		snap := "-"
		if rs.LastSnapshotIndex > 0 {
			snap = fmt.Sprintf("#%d %s", rs.LastSnapshotIndex, common.Ago(rs.LastSnapshot, now))
		}
		plainBar, styledBar := logBar(rs, lo, hi, barW, m.ctx)
		cells := []common.Cell{
			common.C(r.Name, st.Bold),
			common.C(string(rs.State), st.State(string(rs.State))),
			common.C(fmt.Sprint(rs.Term), st.Primary),
			{Text: plainBar, Raw: styledBar},
			common.C(fmt.Sprintf("%d/%d/%d", rs.AppliedIndex, rs.CommitIndex, rs.LastIndex), st.Secondary),
			common.C(contact, st.Secondary),
			common.C(snap, st.Secondary),
		}
		out = append(out, common.Row(cols, widths, cells, i == cur, st.Selected, m.w))
	}
	view := common.Block(strings.Join(out, "\n"), m.w, m.h)
	if m.confirm.Open() {
		view = common.Overlay(view, m.confirm.View(st), m.w, m.h)
	}
	return view
}

func (m *Model) header(s *shard) string {
	st := m.ctx.Styles
	leader, term := "", uint64(0)
	for _, r := range s.replicas {
		if r.Raft != nil {
			term = max(term, r.Raft.Term)
			if r.Raft.State == status.Leader {
				leader = r.Name
			}
		}
	}
	parts := []string{st.Bold.Render(fmt.Sprintf("%s shard %d", s.dep.Name, s.index))}
	if leader != "" {
		parts = append(parts, st.Success.Render("leader "+leader))
	} else {
		parts = append(parts, st.Error.Render("no leader"))
	}
	parts = append(parts, st.Secondary.Render(fmt.Sprintf("term %d", term)),
		st.Secondary.Render(fmt.Sprintf("%d replicas", len(s.replicas))))
	// The last leader change, as it applies to what the status shows: an
	// election only while there is a leader, else how long there has
	// been none (when the engine said so).
	if e, ok := m.elected[fmt.Sprintf("%s/%d", s.dep.Name, s.index)]; ok {
		switch {
		case leader != "" && e.Replica != "":
			parts = append(parts, st.Faint.Render("elected "+common.Ago(e.Time, m.ctx.Now())+" ago"))
		case leader == "" && e.Replica == "":
			parts = append(parts, st.Error.Render("for "+common.Ago(e.Time, m.ctx.Now())))
		}
	}
	return strings.Join(parts, st.Faint.Render(" · "))
}

// barRange is the index range the shard's log bars span. Scaled from 0,
// a replica a few hundred entries behind a log of a million draws the
// same full bar as the leader; so the range starts below the most
// lagging replica's applied index by as much as it lags, which draws that
// replica half full and the leader full. When every replica has applied
// everything, lo == hi and every bar is full, which is the truth.
func barRange(s *shard) (lo, hi uint64) {
	lo = math.MaxUint64
	for _, o := range s.replicas {
		if o.Raft != nil {
			hi = max(hi, o.Raft.LastIndex)
			lo = min(lo, o.Raft.AppliedIndex)
		}
	}
	if lo == math.MaxUint64 || lo >= hi {
		return hi, hi
	}
	lag := hi - lo
	return lo - min(lo, lag), hi
}

// logBar draws a replica's log as one bar over the index range [lo, hi]
// (barRange): applied (█), committed but not applied (▓), appended but
// not committed (░). It returns the plain and the styled form.
func logBar(r *status.Raft, lo, hi uint64, w int, ctx *common.Context) (string, string) {
	if w <= 0 {
		return "", ""
	}
	cells := func(v uint64) int {
		switch {
		case hi == 0:
			return 0
		case lo >= hi:
			if v >= hi {
				return w
			}
			return 0
		case v <= lo:
			return 0
		}
		return int(min(uint64(w), (v-lo)*uint64(w)/(hi-lo)))
	}
	a := cells(r.AppliedIndex)
	c := max(a, cells(r.CommitIndex))
	l := max(c, cells(r.LastIndex))
	plain := strings.Repeat("█", a) + strings.Repeat("▓", c-a) + strings.Repeat("░", l-c) + strings.Repeat(" ", w-l)
	st := ctx.Styles
	styled := st.Success.Render(strings.Repeat("█", a)) + st.Accent.Render(strings.Repeat("▓", c-a)) +
		st.Warning.Render(strings.Repeat("░", l-c)) + strings.Repeat(" ", w-l)
	return plain, styled
}

// Click selects the replica on the clicked row of the pane (row 0 is the
// legend, row 1 the header); a shard header selects nothing.
func (m *Model) Click(_, row int) tea.Cmd {
	if m.confirm.Open() {
		return nil
	}
	ls := m.lines()
	i := m.top + row - 2
	if row < 2 || i >= len(ls) || ls[i].replica == nil {
		return nil
	}
	m.selected = ls[i].id()
	return nil
}
