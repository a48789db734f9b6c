// Package deployments is the Deployments pane: one row per deployment
// with its replicas, ports, state and request statistics, and a replica
// detail view with restart and kill actions.
package deployments

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/status"
	"github.com/jig-dev/jig/tui/common"
)

// Actions are the engine operations this pane starts.
type Actions interface {
	RestartDeployment(ctx context.Context, name string) error
	KillReplica(ctx context.Context, name string, shard, replica int) error
	RestartReplica(ctx context.Context, name string, shard, replica int) error
}

// Model is the Deployments pane.
type Model struct {
	ctx  *common.Context
	act  Actions
	keys KeyMap
	w, h int

	// The selection is kept by name, not index, so it stays on the same
	// deployment when the status refreshes or the filter changes.
	selected string
	top      int
	detail   bool
	replica  string // selected replica name in the detail view
	repTop   int

	filter  common.Filter
	confirm common.Confirm

	// failed holds the last failed build or reload per deployment, until
	// one succeeds: the deployment is then ready with its previous binary,
	// which the table must not show as plain "ready".
	failed map[string]events.Update
}

// New returns the Deployments pane.
func New(ctx *common.Context, act Actions) *Model {
	return &Model{ctx: ctx, act: act, keys: DefaultKeyMap(), filter: common.NewFilter(), failed: map[string]events.Update{}}
}

// Title implements common.Pane.
func (m *Model) Title() string { return "Deployments" }

// ShortTitle implements common.Pane.
func (m *Model) ShortTitle() string { return "Deploy" }

// Init implements common.Pane.
func (m *Model) Init() tea.Cmd { return nil }

// SetSize implements common.Pane.
func (m *Model) SetSize(w, h int) { m.w, m.h = w, h; m.filter.SetWidth(w) }

// Capturing implements common.Pane.
func (m *Model) Capturing() bool { return m.filter.Typing() || m.confirm.Open() }

// Selected returns the selected deployment's name and, in the detail view,
// the selected replica.
func (m *Model) Selected() (deployment, replica string, detail bool) {
	return m.selected, m.replica, m.detail
}

// rows returns the deployments passing the filter.
func (m *Model) rows() []status.Deployment {
	all := m.ctx.Status.Deployments
	if !m.filter.Active() {
		return all
	}
	out := make([]status.Deployment, 0, len(all))
	for _, d := range all {
		if m.filter.Match(d.Name, d.Uses, string(d.State)) {
			out = append(out, d)
		}
	}
	return out
}

// cursor returns the index of the selection in rows (selecting the first
// row when the selection vanished).
func (m *Model) cursor(rows []status.Deployment) int {
	i := slices.IndexFunc(rows, func(d status.Deployment) bool { return d.Name == m.selected })
	if i < 0 && len(rows) > 0 {
		i = 0
		m.selected = rows[0].Name
	}
	return i
}

func (m *Model) current() (status.Deployment, bool) {
	rows := m.rows()
	i := m.cursor(rows)
	if i < 0 {
		return status.Deployment{}, false
	}
	return rows[i], true
}

func (m *Model) currentReplica(d status.Deployment) (status.Replica, int, bool) {
	i := slices.IndexFunc(d.ReplicaStatus, func(r status.Replica) bool { return r.Name == m.replica })
	if i < 0 && len(d.ReplicaStatus) > 0 {
		i = 0
		m.replica = d.ReplicaStatus[0].Name
	}
	if i < 0 {
		return status.Replica{}, -1, false
	}
	return d.ReplicaStatus[i], i, true
}

// Update implements common.Pane.
func (m *Model) Update(in tea.Msg) tea.Cmd {
	if ev, ok := in.(common.EventsMsg); ok {
		m.track(ev.Other)
		return nil
	}
	msg, ok := in.(tea.KeyMsg)
	if !ok {
		return nil
	}
	if m.confirm.Open() {
		return m.confirm.Update(msg)
	}
	if m.filter.Typing() {
		return m.filter.Update(msg)
	}
	k := m.keys
	if key.Matches(msg, k.Filter) && !m.detail {
		return m.filter.Start()
	}
	d, ok := m.current()
	if !ok {
		if key.Matches(msg, k.Back) {
			m.filter.Clear()
		}
		return nil
	}
	if m.detail {
		return m.detailKey(msg, d)
	}
	rows := m.rows()
	i := m.cursor(rows)
	switch {
	case key.Matches(msg, k.Up):
		m.selected = rows[max(0, i-1)].Name
	case key.Matches(msg, k.Down):
		m.selected = rows[min(len(rows)-1, i+1)].Name
	case key.Matches(msg, common.TopKey):
		m.selected = rows[0].Name
	case key.Matches(msg, common.BottomKey):
		m.selected = rows[len(rows)-1].Name
	case key.Matches(msg, k.Open):
		m.detail = true
		m.replica = ""
	case key.Matches(msg, k.Back):
		m.filter.Clear()
	case key.Matches(msg, k.Restart):
		m.askRestart(d)
	}
	return nil
}

func (m *Model) detailKey(msg tea.KeyMsg, d status.Deployment) tea.Cmd {
	k := m.keys
	r, i, ok := m.currentReplica(d)
	switch {
	case key.Matches(msg, k.Back):
		m.detail = false
	case key.Matches(msg, k.Restart):
		m.askRestart(d)
	case !ok:
	case key.Matches(msg, k.Up):
		m.replica = d.ReplicaStatus[max(0, i-1)].Name
	case key.Matches(msg, k.Down):
		m.replica = d.ReplicaStatus[min(len(d.ReplicaStatus)-1, i+1)].Name
	case key.Matches(msg, common.TopKey):
		m.replica = d.ReplicaStatus[0].Name
	case key.Matches(msg, common.BottomKey):
		m.replica = d.ReplicaStatus[len(d.ReplicaStatus)-1].Name
	case key.Matches(msg, k.RestartReplica):
		label := fmt.Sprintf("restart replica %s/%s", d.Name, r.Name)
		name, shard, rep := d.Name, r.Shard, r.Replica
		m.confirm.Ask(fmt.Sprintf("Restart replica %s/%s?", d.Name, r.Name), tea.Batch(
			common.Toast(label+"…", false),
			common.Action(m.ctx.Base, label, func(ctx context.Context) error { return m.act.RestartReplica(ctx, name, shard, rep) }),
		))
	case key.Matches(msg, k.KillReplica):
		label := fmt.Sprintf("kill replica %s/%s", d.Name, r.Name)
		name, shard, rep := d.Name, r.Shard, r.Replica
		m.confirm.Ask(fmt.Sprintf("Kill replica %s/%s? (it is restarted after a backoff)", d.Name, r.Name), tea.Batch(
			common.Toast(label+"…", false),
			common.Action(m.ctx.Base, label, func(ctx context.Context) error { return m.act.KillReplica(ctx, name, shard, rep) }),
		))
	}
	return nil
}

func (m *Model) askRestart(d status.Deployment) {
	label := "restart " + d.Name
	name := d.Name
	m.confirm.Ask(fmt.Sprintf("Restart deployment %s, one replica at a time?", d.Name), tea.Batch(
		common.Toast(label+"…", false),
		common.Action(m.ctx.Base, label, func(ctx context.Context) error { return m.act.RestartDeployment(ctx, name) }),
	))
}

// ports summarises the worker ports of a deployment: "5001-5004",
// "5001,5003", "in-process".
func ports(d status.Deployment) string {
	ps := d.Ports()
	var live []int
	for _, p := range ps {
		if p > 0 {
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		if d.InProcess {
			return "in-process"
		}
		return "-"
	}
	slices.Sort(live)
	contiguous := true
	for i := 1; i < len(live); i++ {
		if live[i] != live[i-1]+1 {
			contiguous = false
		}
	}
	if len(live) == 1 {
		return fmt.Sprint(live[0])
	}
	if contiguous {
		return fmt.Sprintf("%d-%d", live[0], live[len(live)-1])
	}
	s := make([]string, len(live))
	for i, p := range live {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ",")
}

// track follows build and reload outcomes per deployment.
func (m *Model) track(evs []events.Event) {
	for _, e := range evs {
		u, ok := e.(events.Update)
		if !ok || u.Deployment == "" || (u.Kind != events.Build && u.Kind != events.Reload) {
			continue
		}
		switch u.Outcome {
		case events.Failure:
			m.failed[u.Deployment] = u
		case events.Succeeded:
			delete(m.failed, u.Deployment)
		}
	}
}

// stateText is a deployment's state as the table shows it: "ready" with a
// failed build or reload since the last good one is "old build" (it
// serves the previous binary).
func (m *Model) stateText(d status.Deployment) (string, bool) {
	if _, bad := m.failed[d.Name]; bad && d.State == events.Ready {
		return "old build", true
	}
	return string(d.State), false
}

// Click selects the deployment (or, in the detail view, the replica)
// under the mouse; clicking the selected deployment opens it.
func (m *Model) Click(_, row int) tea.Cmd {
	if m.confirm.Open() || m.filter.Typing() {
		return nil
	}
	if d, ok := m.current(); ok && m.detail {
		// title, endpoints, stats, blank, header
		if i := m.repTop + row - 5; row >= 5 && i < len(d.ReplicaStatus) {
			m.replica = d.ReplicaStatus[i].Name
		}
		return nil
	}
	rows := m.rows()
	i := m.top + row - 3 // gateway line, blank, header
	if row < 3 || i >= len(rows) {
		return nil
	}
	if rows[i].Name == m.selected {
		m.detail, m.replica = true, ""
		return nil
	}
	m.selected = rows[i].Name
	return nil
}
