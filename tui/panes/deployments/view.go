package deployments

import (
	"fmt"
	"strings"

	"github.com/jig-dev/jig/engine/status"
	"github.com/jig-dev/jig/tui/common"
)

// listCols are the deployment table's columns. When the terminal is
// narrow, P50 goes first, then SHARDS, PORTS, USES and the sparkline.
var listCols = []common.Column{
	{Title: "NAME", Width: 14},
	{Title: "USES", Width: 22, Min: 10, Flex: true, Fixed: true, Drop: 2},
	{Title: "READY", Width: 5, Right: true},
	{Title: "SHARDS", Width: 6, Right: true, Drop: 4},
	{Title: "PORTS", Width: 11, Drop: 3},
	{Title: "STATE", Width: 9},
	{Title: "REQ/S", Width: 6, Right: true},
	{Title: "P50", Width: 7, Right: true, Drop: 5},
	{Title: "P99", Width: 7, Right: true},
	{Title: "ERR", Width: 5, Right: true},
	{Title: "TRAFFIC", Width: 12, Min: 8, Flex: true, Drop: 1},
}

var replicaCols = []common.Column{
	{Title: "REPLICA", Width: 15},
	{Title: "STATE", Width: 9},
	{Title: "ADDRESS", Width: 21, Drop: 2},
	{Title: "PID", Width: 7, Right: true, Drop: 3},
	{Title: "RESTARTS", Width: 8, Right: true},
	{Title: "SINCE", Width: 5, Right: true, Drop: 1},
	{Title: "LAST ERROR", Width: 20, Min: 10, Flex: true},
}

// View implements common.Pane.
func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	var view string
	if d, ok := m.current(); ok && m.detail {
		view = m.detailView(d)
	} else {
		m.detail = false
		view = m.listView()
	}
	if m.confirm.Open() {
		view = common.Overlay(view, m.confirm.View(m.ctx.Styles), m.w, m.h)
	}
	return view
}

func (m *Model) gatewayLine() string {
	st := m.ctx.Styles
	s := m.ctx.Status
	g := s.Gateway
	// The addresses are in the status bar; this line is about traffic.
	parts := []string{st.Bold.Render("Gateway")}
	parts = append(parts,
		common.Rate(g.Rate)+st.Secondary.Render(" req/s"),
		st.Secondary.Render("p50 ")+common.Duration(g.P50)+st.Secondary.Render(" p99 ")+common.Duration(g.P99),
		common.Count(g.Requests)+st.Secondary.Render(" requests"))
	if g.Errors > 0 {
		parts = append(parts, st.Error.Render(fmt.Sprintf("%s errors", common.Count(g.Errors))))
	}
	if !s.Started.IsZero() {
		parts = append(parts, st.Secondary.Render("up ")+common.Ago(s.Started, m.ctx.Now()))
	}
	return strings.Join(parts, st.Faint.Render(" · "))
}

func (m *Model) listView() string {
	st := m.ctx.Styles
	out := []string{m.gatewayLine(), ""}
	rows := m.rows()
	widths := common.Layout(listCols, m.w)
	out = append(out, common.HeaderRow(listCols, widths, st.Header))
	bodyH := m.h - len(out)
	if m.filter.Typing() || m.filter.Active() {
		bodyH--
	}
	if len(rows) == 0 {
		msg := "No deployments yet: the flow is starting."
		if len(m.ctx.Status.Deployments) > 0 {
			msg = "No deployment matches the filter (esc clears it)."
		}
		out = append(out, "  "+st.Faint.Render(msg))
	}
	cur := m.cursor(rows)
	m.top = common.Scroll(m.top, cur, bodyH, len(rows))
	sparkW := widths[len(widths)-1]
	for i := m.top; i < min(len(rows), m.top+bodyH); i++ {
		d := rows[i]
		ready := fmt.Sprintf("%d/%d", d.Ready, d.Replicas*max(1, d.Shards))
		readyStyle := st.Success
		if d.Ready < d.Replicas*max(1, d.Shards) {
			readyStyle = st.Warning
		}
		errStyle := st.Primary
		if d.Stats.Errors > 0 {
			errStyle = st.Error
		}
		uses := d.Uses
		if d.External {
			uses = "external " + uses
		}
		cells := []common.Cell{
			common.C(d.Name, st.Bold),
			common.C(uses, st.Secondary),
			common.C(ready, readyStyle),
			common.C(fmt.Sprint(max(1, d.Shards)), st.Primary),
			common.C(ports(d), st.Secondary),
			stateCell(m, d),
			common.C(common.Rate(d.Stats.Rate), st.Primary),
			common.C(common.Duration(d.Stats.P50), st.Primary),
			common.C(common.Duration(d.Stats.P99), st.Primary),
			common.C(common.Count(d.Stats.Errors), errStyle),
			{Text: common.Sparkline(d.Stats.RateHistory, sparkW), Style: st.Bar},
		}
		out = append(out, common.Row(listCols, widths, cells, i == cur, st.Selected, m.w))
	}
	body := common.Block(strings.Join(out, "\n"), m.w, m.h-boolInt(m.filter.Typing() || m.filter.Active()))
	if m.filter.Typing() {
		body += "\n" + m.filter.View()
	} else if m.filter.Active() {
		body += "\n" + st.Accent.Render(fmt.Sprintf("filter %q", m.filter.Value())) + st.Faint.Render(" (/ edits, esc clears)")
	}
	return common.Block(body, m.w, m.h)
}

func (m *Model) detailView(d status.Deployment) string {
	st := m.ctx.Styles
	flags := []string{}
	if d.Stateful {
		flags = append(flags, "stateful")
	}
	if d.Reload {
		flags = append(flags, "reload")
	}
	if d.External {
		flags = append(flags, "external")
	}
	if d.InProcess {
		flags = append(flags, "in-process")
	}
	title := st.Bold.Render(d.Name) + st.Faint.Render(" · ") + st.Secondary.Render(d.Uses) +
		st.Faint.Render(" · ") + stateCell(m, d).Style.Render(stateCell(m, d).Text) +
		st.Faint.Render(" · ") + fmt.Sprintf("ready %d/%d", d.Ready, d.Replicas*max(1, d.Shards)) +
		st.Faint.Render(fmt.Sprintf(" · %d shard(s) × %d replica(s)", max(1, d.Shards), d.Replicas))
	if len(flags) > 0 {
		title += st.Faint.Render(" · " + strings.Join(flags, ", "))
	}
	eps := "endpoints: " + strings.Join(d.Endpoints, " ")
	if len(d.WriteEndpoints) > 0 {
		eps += "  writes: " + strings.Join(d.WriteEndpoints, " ")
	}
	stats := fmt.Sprintf("%s req/s · p50 %s · p99 %s · %s requests · %s errors · %d in flight",
		common.Rate(d.Stats.Rate), common.Duration(d.Stats.P50), common.Duration(d.Stats.P99),
		common.Count(d.Stats.Requests), common.Count(d.Stats.Errors), d.Stats.InFlight)
	out := []string{title, st.Secondary.Render(eps), st.Secondary.Render(stats), ""}
	if u, bad := m.failed[d.Name]; bad {
		out[3] = st.Warning.Render(common.Truncate(fmt.Sprintf("%s failed at %s, serving the previous build: %s (4 Events shows the output)",
			u.Kind, u.Time.Format("15:04:05"), firstMessage(u.Output)), m.w))
	}
	widths := common.Layout(replicaCols, m.w)
	out = append(out, common.HeaderRow(replicaCols, widths, st.Header))
	r, cur, ok := m.currentReplica(d)
	errLines := 0
	if ok && r.LastError != "" {
		errLines = 3
	}
	bodyH := max(1, m.h-len(out)-errLines)
	m.repTop = common.Scroll(m.repTop, cur, bodyH, len(d.ReplicaStatus))
	now := m.ctx.Now()
	for i := m.repTop; i < min(len(d.ReplicaStatus), m.repTop+bodyH); i++ {
		rep := d.ReplicaStatus[i]
		pid := "-"
		if rep.PID > 0 {
			pid = fmt.Sprint(rep.PID)
		}
		addr := rep.Address
		if addr == "" {
			addr = "in-process"
		}
		restartStyle := st.Primary
		if rep.Restarts > 0 {
			restartStyle = st.Warning
		}
		cells := []common.Cell{
			common.C(rep.Name, st.Bold),
			common.C(string(rep.State), st.State(string(rep.State))),
			common.C(addr, st.Secondary),
			common.C(pid, st.Secondary),
			common.C(fmt.Sprint(rep.Restarts), restartStyle),
			common.C(common.Ago(rep.Since, now), st.Secondary),
			common.C(firstLine(rep.LastError), st.Error),
		}
		out = append(out, common.Row(replicaCols, widths, cells, i == cur, st.Selected, m.w))
	}
	if len(d.ReplicaStatus) == 0 {
		out = append(out, "  "+st.Faint.Render("No replicas."))
	}
	body := common.Block(strings.Join(out, "\n"), m.w, m.h-errLines)
	if errLines > 0 {
		lines := common.Wrap(common.Sanitize(strings.ReplaceAll(r.LastError, "\n", " ")), m.w-2)
		if len(lines) > errLines-1 {
			lines = lines[:errLines-1]
		}
		body += "\n" + st.Header.Render(r.Name+" last error:") + "\n" + st.Error.Render(strings.Join(lines, "\n"))
	}
	return common.Block(body, m.w, m.h)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return common.Sanitize(s)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stateCell is the STATE cell of d (see Model.stateText).
func stateCell(m *Model, d status.Deployment) common.Cell {
	text, stale := m.stateText(d)
	if stale {
		return common.C(text, m.ctx.Styles.Warning)
	}
	return common.C(text, m.ctx.Styles.State(text))
}

// firstMessage is the first line of a build's output that says what went
// wrong (go build starts with a "# package" header line).
func firstMessage(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "# ") {
			return l
		}
	}
	return firstLine(out)
}
