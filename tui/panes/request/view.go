package request

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/jig-dev/jig/tui/common"
)

// View implements common.Pane.
func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	var body string
	switch m.tab {
	case tabResponse:
		body = m.responseView(m.h - 1)
	case tabHistory:
		body = m.historyView(m.h - 1)
	default:
		body = m.composeView(m.h - 1)
	}
	view := common.Block(m.tabBar()+"\n"+body, m.w, m.h)
	if m.copyText != "" {
		view = common.Overlay(view, m.copyView(), m.w, m.h)
	}
	return view
}

func (m *Model) tabBar() string {
	st := m.styles()
	var parts []string
	for t := tabCompose; t < numTabs; t++ {
		name := t.String()
		if t == tabHistory && len(m.history) > 0 {
			name += fmt.Sprintf(" (%d)", len(m.history))
		}
		parts = append(parts, st.Tab(name, t == m.tab))
	}
	bar := strings.Join(parts, st.Faint.Render("│"))
	status := ""
	switch {
	case m.sending && m.cancelled:
		status = st.Warning.Render("cancelling…")
	case m.sending:
		status = st.Warning.Render("sending… " + m.progressText() + "(esc cancels)")
	case m.last != nil:
		status = m.summary(m.last)
	}
	gap := m.w - common.Width(bar) - common.Width(status) - 1
	if gap < 1 {
		return bar
	}
	return bar + strings.Repeat(" ", gap) + status
}

// progressText is the running count of a large send ("" for a small one,
// which ends before anyone could read it).
func (m *Model) progressText() string {
	p := m.progress
	if p == nil {
		return ""
	}
	sent, ret := p.sent.Load(), p.returned.Load()
	if sent == 0 && ret == 0 {
		return ""
	}
	return fmt.Sprintf("%s docs answered ", thousands(int(ret)))
}

// summary is the one-line outcome of a result.
func (m *Model) summary(r *Result) string {
	st := m.styles()
	switch {
	case r.Err != nil:
		return st.Error.Render("✗ " + common.Sanitize(r.Err.Error()))
	case r.Resp.Error != nil:
		return st.Error.Render(fmt.Sprintf("✗ %s in %s", r.Resp.Error.Name, r.Resp.Error.Executor)) +
			st.Secondary.Render(" · "+common.Duration(r.Latency))
	}
	return st.Success.Render("✓ OK") + st.Secondary.Render(fmt.Sprintf(" · %s docs · %s", thousands(r.Resp.Returned), common.Duration(r.Latency)))
}

func (m *Model) composeView(h int) string {
	st := m.styles()
	fw := m.fieldWidth()
	var out []string
	label := func(f field, name string) string {
		if f == m.focus && m.tab == tabCompose {
			mark := "›"
			if m.editing {
				mark = "✎"
			}
			return st.Accent.Bold(true).Render(common.Fit(mark+" "+name, labelWidth))
		}
		return st.Secondary.Render(common.Fit("  "+name, labelWidth))
	}
	choice := func(f field, v string) string {
		if f == m.focus && !m.editing {
			return st.Accent.Render("‹ ") + st.Bold.Render(v) + st.Accent.Render(" ›")
		}
		return st.Primary.Render(v)
	}
	row := func(f field, name, value string) {
		out = append(out, label(f, name)+" "+common.Truncate(value, fw))
	}

	row(fAddr, "Address", m.inputView(fAddr, &m.addr))

	ep := m.inputView(fEndpoint, &m.endpoint)
	if !(m.editing && m.focus == fEndpoint) {
		ep = choice(fEndpoint, strings.TrimSpace(m.endpoint.Value()))
	}
	var info []string
	names := m.endpointNames()
	switch {
	case len(m.endpoints) > 0:
		info = append(info, fmt.Sprintf("%d endpoints", len(names)))
	case len(names) > 0:
		info = append(info, fmt.Sprintf("%d endpoints (from the flow status)", len(names)))
	}
	if fs := m.fields(); len(fs) > 0 {
		list, anyRequired := fieldList(fs)
		hint := " (ctrl+t template)"
		if anyRequired {
			hint = " (* required, ctrl+t template)"
		}
		info = append(info, "fields: "+list+hint)
	}
	if m.discErr != "" && len(names) == 0 {
		info = append(info, "discovery: "+common.Sanitize(m.discErr))
	}
	if len(info) > 0 {
		ep += st.Faint.Render("  " + strings.Join(info, " · "))
	}
	row(fEndpoint, "Endpoint", ep)

	modes := make([]string, 3)
	for i := range modes {
		name := DocsMode(i).String()
		if DocsMode(i) == m.mode {
			modes[i] = choice(fMode, name)
		} else {
			modes[i] = st.Faint.Render(name)
		}
	}
	row(fMode, "Docs from", strings.Join(modes, "  "))

	dh, ph := m.areaHeights()
	switch m.mode {
	case ModeGenerate:
		row(fDocs, "Documents", m.inputView(fDocs, &m.n)+st.Faint.Render("  generated: \"doc 0\", \"doc 1\", …"))
	case ModeFile:
		row(fDocs, "JSONL file", m.inputView(fDocs, &m.file))
	default:
		out = append(out, m.areaRows(fDocs, "Documents", m.lines.View(), dh)...)
	}
	out = append(out, m.areaRows(fParams, "Parameters", m.params.View(), ph)...)
	if m.paramsErr != "" {
		out = append(out, strings.Repeat(" ", labelWidth+1)+st.Error.Render("✗ "+m.paramsErr))
	} else {
		out = append(out, strings.Repeat(" ", labelWidth+1)+st.Faint.Render("JSON or YAML · checked as you type"))
	}

	target := strings.TrimSpace(m.target.Value())
	if m.editing && m.focus == fTarget {
		row(fTarget, "Target", m.inputView(fTarget, &m.target))
	} else if target == "" {
		row(fTarget, "Target", choice(fTarget, "whole flow"))
	} else {
		row(fTarget, "Target", choice(fTarget, target))
	}
	size := m.inputView(fSize, &m.size)
	if m.sizeErr != "" {
		size += "  " + st.Error.Render("✗ "+m.sizeErr)
	} else if strings.TrimSpace(m.size.Value()) == "0" {
		size += st.Faint.Render(fmt.Sprintf("  (one request; over %s docs: batches of %s)", thousands(AutoRequestSize), thousands(AutoRequestSize)))
	}
	row(fSize, "Request size", size)

	for len(out) < h-1 {
		out = append(out, "")
	}
	footer := st.Key.Render("ctrl+s") + st.KeyDesc.Render(" send  ") + st.Key.Render("c") + st.KeyDesc.Render(" copy as command  ") +
		st.Key.Render("enter") + st.KeyDesc.Render(" edit  ") + st.Key.Render("h/l") + st.KeyDesc.Render(" change choice")
	if m.composeErr != "" {
		footer = st.Error.Render("✗ " + m.composeErr)
	}
	out = append(out[:h-1], footer)
	return strings.Join(out, "\n")
}

// inputView shows a single-line input: the live input while editing it,
// else its value (or placeholder).
func (m *Model) inputView(f field, in interface {
	View() string
	Value() string
}) string {
	if m.editing && m.focus == f {
		return in.View()
	}
	if v := in.Value(); v != "" {
		return m.styles().Primary.Render(v)
	}
	return m.styles().Faint.Render("-")
}

// areaRows lays a text area out beside its label, h rows high.
func (m *Model) areaRows(f field, name, view string, h int) []string {
	st := m.styles()
	lines := strings.Split(view, "\n")
	out := make([]string, 0, h)
	for i := range h {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		lab := strings.Repeat(" ", labelWidth)
		if i == 0 {
			if f == m.focus && m.tab == tabCompose {
				mark := "›"
				if m.editing {
					mark = "✎"
				}
				lab = st.Accent.Bold(true).Render(common.Fit(mark+" "+name, labelWidth))
			} else {
				lab = st.Secondary.Render(common.Fit("  "+name, labelWidth))
			}
		}
		out = append(out, lab+" "+l)
	}
	return out
}

// responseLines renders a result as lines, for scrolling: with withDocs
// the raw JSON of the returned documents, else only the head (request,
// outcome, route, error, handler results).
func (m *Model) responseLines(r *Result, withDocs bool) []string {
	st := m.styles()
	out := m.respHead(r)
	if r.Err != nil {
		return out
	}
	resp := r.Resp
	out = append(out, m.routeSection(resp)...)
	out = append(out, m.errorSection(resp)...)
	out = append(out, m.handlerSection(resp)...)
	if !withDocs {
		return out
	}
	title := fmt.Sprintf("Documents (%d)", len(resp.Docs))
	if resp.Returned > len(resp.Docs) {
		title = fmt.Sprintf("Documents (the first %s of %s)", thousands(len(resp.Docs)), thousands(resp.Returned))
	}
	out = append(out, "", st.Header.Render(title))
	if r.json == nil {
		b, err := json.MarshalIndent(resp.Docs, "", "  ")
		if err != nil {
			r.json = []string{"cannot show documents: " + err.Error()}
		} else {
			r.json = strings.Split(common.SanitizeLines(compactNumberArrays(string(b))), "\n")
		}
	}
	out = append(out, r.json...)
	return out
}

func prettyJSON(v any) []string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return []string{fmt.Sprint(v)}
	}
	return strings.Split(common.SanitizeLines(compactNumberArrays(string(b))), "\n")
}

// numberArray matches an indented JSON array holding only numbers (an
// embedding or tensor row), one element per line.
var numberArray = regexp.MustCompile(`\[\n(?:[ \t]*-?[0-9][0-9.eE+-]*,?\n)+[ \t]*\]`)

// maxShownNumbers is how many elements of a long number array are shown.
const maxShownNumbers = 8

// compactNumberArrays puts number arrays on one line and shortens long
// ones ("[0.1, 0.2, … 128 numbers]"): a 128-dimensional embedding would
// otherwise take 130 lines of the response view.
func compactNumberArrays(s string) string {
	return numberArray.ReplaceAllStringFunc(s, func(m string) string {
		nums := strings.Fields(strings.NewReplacer("[", " ", "]", " ", ",", " ").Replace(m))
		if len(nums) > maxShownNumbers {
			return "[" + strings.Join(nums[:maxShownNumbers], ", ") + fmt.Sprintf(", … %d numbers]", len(nums))
		}
		return "[" + strings.Join(nums, ", ") + "]"
	})
}

// routeLines draws the route as a waterfall: each executor's bar starts
// at its start time and is as long as its duration, on one time scale.
func (m *Model) routeLines(routes []Route) []string { return m.waterfall(routes, 20) }

// spanLines draws spans as a waterfall; their names (indented by depth)
// get more room than executor names.
func (m *Model) spanLines(spans []Route) []string {
	return m.waterfall(spans, min(36, max(20, m.w/3)))
}

func (m *Model) waterfall(routes []Route, maxName int) []string {
	st := m.styles()
	var t0, t1 time.Time
	nameW := 8
	for _, r := range routes {
		if !r.Start.IsZero() && (t0.IsZero() || r.Start.Before(t0)) {
			t0 = r.Start
		}
		if r.End.After(t1) {
			t1 = r.End
		}
		nameW = max(nameW, common.Width(r.Executor))
	}
	nameW = min(nameW, maxName)
	total := t1.Sub(t0)
	barW := max(10, m.w-nameW-12)
	out := make([]string, 0, len(routes))
	for _, r := range routes {
		d := r.End.Sub(r.Start)
		off, length := 0, 1
		if total > 0 && !r.Start.IsZero() && !r.End.IsZero() {
			off = int(float64(r.Start.Sub(t0)) / float64(total) * float64(barW))
			length = max(1, int(float64(d)/float64(total)*float64(barW)))
			off = min(off, barW-1)
			length = min(length, barW-off)
		}
		bar := strings.Repeat(" ", off) + strings.Repeat("█", length) + strings.Repeat(" ", barW-off-length)
		style := st.Bar
		if r.Failed {
			style = st.Error
		}
		dur := "-"
		if !r.Start.IsZero() && !r.End.IsZero() {
			dur = common.Duration(d)
		}
		out = append(out, "  "+st.Bold.Render(common.Fit(r.Executor, nameW))+" "+style.Render(bar)+" "+common.FitRight(dur, 8))
	}
	return out
}

func (m *Model) responseView(h int) string {
	st := m.styles()
	if m.last == nil {
		msg := "No response yet: compose a request and press ctrl+s."
		if m.sending {
			msg = "Sending…"
		}
		return st.Faint.Render(msg)
	}
	return m.respView(h)
}

var histCols = []common.Column{
	{Title: "TIME", Width: 8},
	{Title: "ENDPOINT", Width: 16, Min: 8, Flex: true},
	{Title: "DOCS", Width: 6, Right: true},
	{Title: "STATUS", Width: 20, Min: 8, Flex: true},
	{Title: "LATENCY", Width: 8, Right: true},
	{Title: "TARGET", Width: 10, Drop: 2},
	{Title: "ADDRESS", Width: 21, Drop: 1},
}

func (m *Model) historyView(h int) string {
	st := m.styles()
	if len(m.history) == 0 {
		return st.Faint.Render("No requests sent yet.")
	}
	widths := common.Layout(histCols, m.w)
	out := []string{common.HeaderRow(histCols, widths, st.Header)}
	top := common.Scroll(0, m.histCur, h-1, len(m.history))
	for i := top; i < min(len(m.history), top+h-1); i++ {
		r := m.history[i]
		status, sst := "OK", st.Success
		switch {
		case r.Err != nil:
			status, sst = common.Sanitize(r.Err.Error()), st.Error
		case r.Resp.Error != nil:
			status, sst = r.Resp.Error.Name+" in "+r.Resp.Error.Executor, st.Error
		}
		docs := thousands(r.Sent)
		target := r.Draft.Target
		if target == "" {
			target = "flow"
		}
		cells := []common.Cell{
			common.C(r.At.Format("15:04:05"), st.Faint),
			common.C(r.Draft.Endpoint, st.Bold),
			common.C(docs, st.Primary),
			common.C(status, sst),
			common.C(common.Duration(r.Latency), st.Primary),
			common.C(target, st.Secondary),
			common.C(r.Addr, st.Secondary),
		}
		out = append(out, common.Row(histCols, widths, cells, i == m.histCur, st.Selected, m.w))
	}
	return strings.Join(out, "\n")
}

func (m *Model) copyView() string {
	st := m.styles()
	parts := strings.SplitN(m.copyText, "\x00", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	w := max(20, m.w-8)
	// The dialog fits the screen: border 2 rows, two titles, a blank and
	// the note; what is left is shared by the two commands, and a command
	// longer than its share is cut with a count of what was left out (the
	// clipboard has the whole jig post command).
	rows := max(2, m.h-2-5)
	wrap := func(s string, n int) string {
		lines := strings.Split(ansi.Wrap(s, w, ""), "\n")
		if len(lines) <= n {
			return strings.Join(lines, "\n")
		}
		rest := len(lines) - n + 1
		return strings.Join(lines[:n-1], "\n") + "\n" + st.Faint.Render(fmt.Sprintf("… %s more lines", thousands(rest)))
	}
	postRows := max(1, min(rows/2, len(strings.Split(ansi.Wrap(parts[0], w, ""), "\n"))))
	note := ansi.Truncate(parts[2]+"  esc closes", w, "…")
	body := strings.Join([]string{
		st.Header.Render("jig post"),
		wrap(parts[0], postRows),
		st.Header.Render("grpcurl"),
		wrap(parts[1], max(1, rows-postRows)),
		st.Faint.Render(note),
	}, "\n")
	return st.Box.Width(w + 2).Render(body)
}

// respHead is the request, its outcome and the document counts.
func (m *Model) respHead(r *Result) []string {
	st := m.styles()
	out := []string{
		st.Bold.Render(fmt.Sprintf("%s %s", r.Draft.Endpoint, r.Addr)) + st.Faint.Render(" · sent "+r.At.Format("15:04:05")),
		m.summary(r),
	}
	if r.Err != nil || r.Resp == nil {
		return out
	}
	resp := r.Resp
	return append(out, st.Secondary.Render(fmt.Sprintf("%s docs in → %s docs out in %s request(s)", thousands(r.Sent), thousands(resp.Returned), thousands(max(1, resp.Requests)))))
}

// routeSection is the timing waterfall: the request's spans when it was
// traced, else the executors' routes.
func (m *Model) routeSection(resp *Response) []string {
	if len(resp.Spans) > 0 || resp.TraceID != "" {
		return m.traceSection(resp)
	}
	if len(resp.Routes) == 0 {
		return nil
	}
	return append([]string{"", m.styles().Header.Render("Route")}, m.routeLines(resp.Routes)...)
}

// errorSection is the executor's error with its stack.
func (m *Model) errorSection(resp *Response) []string {
	e := resp.Error
	if e == nil {
		return nil
	}
	st := m.styles()
	out := []string{"", st.Header.Render("Error"), st.Error.Render(fmt.Sprintf("%s raised by %s", e.Name, e.Executor))}
	for _, a := range e.Args {
		for _, l := range strings.Split(common.SanitizeLines(a), "\n") {
			out = append(out, "  "+st.Error.Render(l))
		}
	}
	for _, s := range e.Stacks {
		for _, l := range strings.Split(common.SanitizeLines(s), "\n") {
			if l != "" {
				out = append(out, "  "+st.Faint.Render(l))
			}
		}
	}
	return out
}

// handlerSection is what the executors' handlers returned (__results__).
func (m *Model) handlerSection(resp *Response) []string {
	res, ok := resp.Parameters["__results__"]
	if !ok {
		return nil
	}
	return append([]string{"", m.styles().Header.Render("Results")}, prettyJSON(res)...)
}

// traceSection is the trace id (y copies it), the Jaeger link when spans
// are exported, and the spans' waterfall, each indented by its depth.
func (m *Model) traceSection(resp *Response) []string {
	st := m.styles()
	out := []string{"", st.Header.Render("Trace") + " " + resp.TraceID + st.Faint.Render("  (y: copy)")}
	if resp.TraceURL != "" {
		out = append(out, "  "+st.Secondary.Render(resp.TraceURL))
	}
	routes := make([]Route, len(resp.Spans))
	for i, s := range resp.Spans {
		routes[i] = Route{Executor: strings.Repeat(" ", min(s.Depth, 6)) + s.Name, Start: s.Start, End: s.End, Failed: s.Failed}
	}
	return append(out, m.spanLines(routes)...)
}
