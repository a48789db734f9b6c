package request

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/tui/common"
)

// The Response view shows a result three ways: as results (each returned
// document with its matches in a table of rank, score, text and id), as
// one document's JSON (enter on a row), or as the raw JSON of the whole
// response (v). Embeddings and tensors are collapsed to their dtype and
// shape in the first two (x expands them), and / searches the lines shown.
type respMode int

const (
	respResults respMode = iota
	respDoc
	respRaw
)

// respState is the Response view's state.
type respState struct {
	mode respMode
	// cur is the selected row of the results (a document or a match).
	cur int
	// doc is the document shown in respDoc, expand shows its arrays.
	doc    *docarray.Document
	expand bool
	search common.Filter
	// hit is the line of the current search hit (-1: none yet).
	hit int
}

func newRespState() respState { return respState{search: common.NewFilter(), hit: -1} }

// resultRow is one selectable row of the results view.
type resultRow struct {
	doc   *docarray.Document
	query int // index of the returned document
	match int // rank-1 of the match; -1 for the document itself
}

// resultRows lists the documents and their matches in order.
func resultRows(docs docarray.DocList) []resultRow {
	var out []resultRow
	for i, d := range docs {
		out = append(out, resultRow{doc: d, query: i, match: -1})
		for j, mt := range d.Matches {
			out = append(out, resultRow{doc: mt, query: i, match: j})
		}
	}
	return out
}

// scoreName picks the score shown for matches: the one most of them
// carry, by name order on ties (cosine before euclidean, say).
func scoreName(ms docarray.DocList) string {
	count := map[string]int{}
	for _, m := range ms {
		for k := range m.Scores {
			count[k]++
		}
	}
	names := make([]string, 0, len(count))
	for k := range count {
		names = append(names, k)
	}
	slices.Sort(names)
	best := ""
	for _, n := range names {
		if best == "" || count[n] > count[best] {
			best = n
		}
	}
	return best
}

var matchCols = []common.Column{
	{Title: "RANK", Width: 4, Right: true},
	{Title: "SCORE", Width: 10, Right: true},
	{Title: "TEXT", Width: 30, Min: 10, Flex: true},
	{Title: "ID", Width: 24, Min: 8, Flex: true, Drop: 1},
}

// oneLine makes a text fit one table cell.
func oneLine(s string) string {
	return common.Sanitize(strings.Join(strings.Fields(s), " "))
}

// docLabel is what a document row shows: its text, else what it holds.
func docLabel(d *docarray.Document) string {
	switch {
	case d.Text != "":
		return oneLine(d.Text)
	case d.URL != "":
		return d.URL
	case d.Tensor != nil:
		return "tensor " + arrayDesc(d.Tensor)
	case len(d.Blob) > 0:
		return fmt.Sprintf("blob of %d bytes", len(d.Blob))
	}
	return "-"
}

// resultLines renders the results view; rowAt maps each selectable
// row's index to its line.
func (m *Model) resultLines(r *Result) (lines []string, rowAt []int) {
	st := m.styles()
	// The documents come right after the outcome (and the error, if
	// any): they are what a search is sent for. The route and handler
	// results follow.
	lines = m.respHead(r)
	if r.Err != nil || r.Resp == nil {
		return lines, nil
	}
	lines = append(lines, m.errorSection(r.Resp)...)
	defer func() {
		lines = append(lines, m.routeSection(r.Resp)...)
		lines = append(lines, m.handlerSection(r.Resp)...)
	}()
	docs := r.Resp.Docs
	title := fmt.Sprintf("Documents (%d)", len(docs))
	if r.Resp.Returned > len(docs) {
		title = fmt.Sprintf("Documents (the first %s of %s)", thousands(len(docs)), thousands(r.Resp.Returned))
	}
	lines = append(lines, "", st.Header.Render(title)+st.Faint.Render("  enter JSON · v raw · / search"))
	if len(docs) == 0 {
		lines = append(lines, st.Faint.Render("no documents returned"))
		return lines, nil
	}
	tw := max(20, m.w-4)
	widths := common.Layout(matchCols, tw)
	rows := resultRows(docs)
	for i, row := range rows {
		sel := i == m.resp.cur
		if row.match < 0 {
			d := row.doc
			info := fmt.Sprintf("  id %s", d.ID)
			if n := len(d.Matches); n > 0 {
				info += fmt.Sprintf(" · %d matches", n)
			} else {
				info += " · no matches"
			}
			text := fmt.Sprintf("#%d %s", row.query+1, docLabel(d))
			mark := "  "
			if sel {
				mark = "› "
			}
			line := mark + common.Truncate(text, max(10, m.w-2-common.Width(info))) + info
			if sel {
				line = st.Selected.Render(common.Fit(ansi.Strip(line), m.w))
			} else {
				line = st.Bold.Render(mark+common.Truncate(text, max(10, m.w-2-common.Width(info)))) + st.Faint.Render(info)
			}
			rowAt = append(rowAt, len(lines))
			lines = append(lines, line)
			if len(d.Matches) > 0 {
				cols := slices.Clone(matchCols)
				if name := scoreName(d.Matches); name != "" {
					cols[1].Title = common.Truncate(strings.ToUpper(name), widths[1])
				}
				lines = append(lines, "  "+common.HeaderRow(cols, widths, st.Header))
			}
			continue
		}
		mt := row.doc
		score := "-"
		if s, ok := mt.Scores[scoreName(docs[row.query].Matches)]; ok {
			score = strconv.FormatFloat(s.Value, 'f', 4, 64)
		}
		cells := []common.Cell{
			common.C(strconv.Itoa(row.match+1), st.Secondary),
			common.C(score, st.Accent),
			common.C(docLabel(mt), st.Primary),
			common.C(mt.ID, st.Faint),
		}
		rowAt = append(rowAt, len(lines))
		lines = append(lines, "  "+common.Row(matchCols, widths, cells, sel, st.Selected, tw))
	}
	return lines, rowAt
}

// docLines renders one document's JSON, arrays collapsed unless
// expanded.
func (m *Model) docLines(d *docarray.Document) []string {
	st := m.styles()
	head := st.Header.Render("Document "+common.Sanitize(d.ID)) + st.Faint.Render("  esc back · x expand arrays · / search")
	if m.resp.expand {
		head = st.Header.Render("Document "+common.Sanitize(d.ID)) + st.Faint.Render("  esc back · x collapse arrays · / search")
		return append([]string{head}, prettyJSON(d)...)
	}
	return append([]string{head}, prettyJSON(collapsed(d))...)
}

// dtypeNames names numpy dtype strings.
var dtypeNames = map[string]string{
	"<f2": "float16", "<f4": "float32", "<f8": "float64",
	"<i2": "int16", "<i4": "int32", "<i8": "int64", "|i1": "int8",
	"<u2": "uint16", "<u4": "uint32", "<u8": "uint64", "|u1": "uint8", "|b1": "bool",
}

// arrayDesc describes an array by dtype and shape: "float32 [128]".
func arrayDesc(a *docarray.NdArray) string {
	dt := dtypeNames[a.Dtype]
	if dt == "" {
		dt = a.Dtype
	}
	dims := make([]string, len(a.Shape))
	for i, s := range a.Shape {
		dims[i] = strconv.Itoa(s)
	}
	return dt + " [" + strings.Join(dims, "×") + "]"
}

// collapsed returns d as JSON values with its embedding and tensor (and
// those of its chunks and matches) replaced by their description.
func collapsed(d *docarray.Document) any {
	b, err := json.Marshal(d)
	if err != nil {
		return d
	}
	var v map[string]any
	if json.Unmarshal(b, &v) != nil {
		return d
	}
	collapseInto(v, d)
	return v
}

func collapseInto(v map[string]any, d *docarray.Document) {
	if d.Embedding != nil {
		if _, ok := v["embedding"]; ok {
			v["embedding"] = "‹" + arrayDesc(d.Embedding) + "›"
		}
	}
	if d.Tensor != nil {
		if _, ok := v["tensor"]; ok {
			v["tensor"] = "‹" + arrayDesc(d.Tensor) + "›"
		}
	}
	for key, list := range map[string]docarray.DocList{"chunks": d.Chunks, "matches": d.Matches} {
		vs, _ := v[key].([]any)
		for i, sub := range list {
			if i < len(vs) {
				if sv, ok := vs[i].(map[string]any); ok {
					collapseInto(sv, sub)
				}
			}
		}
	}
}

// respLines is what the Response view shows now, and the line of each
// selectable row (results view only).
func (m *Model) respLines() (lines []string, rowAt []int) {
	r := m.last
	switch {
	case m.resp.mode == respDoc && m.resp.doc != nil:
		return m.docLines(m.resp.doc), nil
	case m.resp.mode == respRaw || r.Err != nil || r.Resp == nil:
		return m.responseLines(r, true), nil
	}
	return m.resultLines(r)
}

// searchHits lists the lines containing the search text.
func searchHits(lines []string, pat string) []int {
	if pat == "" {
		return nil
	}
	var out []int
	for i, l := range lines {
		if common.MatchAny(pat, ansi.Strip(l)) {
			out = append(out, i)
		}
	}
	return out
}

// highlight marks every occurrence of pat in line (smart case), drawing
// the line plain around them.
func highlight(line, pat string, hl lipgloss.Style) string {
	plain := ansi.Strip(line)
	if !common.MatchAny(pat, plain) {
		return line
	}
	return common.Highlight(plain, pat, lipgloss.NewStyle(), hl)
}

// respView draws the Response view h rows high.
func (m *Model) respView(h int) string {
	st := m.styles()
	lines, rowAt := m.respLines()
	foot := ""
	pat := m.resp.search.Value()
	if m.resp.search.Typing() || pat != "" {
		hits := searchHits(lines, pat)
		info := st.Faint.Render(fmt.Sprintf("  %d lines match · n/N next/previous · esc clears", len(hits)))
		if m.resp.search.Typing() {
			foot = m.resp.search.View() + info
		} else {
			foot = st.Accent.Render("/"+pat) + info
		}
		h--
	}
	if m.resp.mode == respResults && len(rowAt) > 0 {
		m.resp.cur = min(max(0, m.resp.cur), len(rowAt)-1)
		line := rowAt[m.resp.cur]
		// Keep the selected row visible, with the table's header when it
		// is the first match.
		if line < m.respScroll+1 {
			m.respScroll = max(0, line-2)
		}
		if line >= m.respScroll+h {
			m.respScroll = line - h + 1
		}
	}
	if m.resp.hit >= 0 && m.resp.hit < len(lines) && (m.resp.hit < m.respScroll || m.resp.hit >= m.respScroll+h) {
		m.respScroll = max(0, m.resp.hit-h/2)
	}
	m.respScroll = min(m.respScroll, max(0, len(lines)-h))
	lines = slices.Clone(lines[m.respScroll:min(len(lines), m.respScroll+h)])
	for i, l := range lines {
		if pat != "" {
			l = highlight(l, pat, st.Match)
		}
		lines[i] = ansi.Truncate(l, m.w, "…")
	}
	if foot != "" {
		for len(lines) < h {
			lines = append(lines, "")
		}
		lines = append(lines, ansi.Truncate(foot, m.w, "…"))
	}
	return strings.Join(lines, "\n")
}

// respKey handles a key in the Response view.
func (m *Model) respKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	rs := &m.resp
	if rs.search.Typing() {
		cmd := rs.search.Update(msg)
		rs.hit = -1
		if hits := m.currentHits(); len(hits) > 0 {
			rs.hit = hits[0]
		}
		return cmd
	}
	switch {
	case msg.String() == "/":
		return rs.search.Start()
	case msg.String() == "n" || msg.String() == "N":
		hits := m.currentHits()
		if len(hits) == 0 {
			return nil
		}
		i := slices.Index(hits, rs.hit)
		if msg.String() == "n" {
			i = (i + 1) % len(hits)
		} else {
			i = (i - 1 + len(hits)) % len(hits)
		}
		rs.hit = hits[i]
		return nil
	case msg.String() == "esc":
		switch {
		case rs.search.Active():
			rs.search.Clear()
			rs.hit = -1
		case rs.mode == respDoc:
			rs.mode = respResults
			m.respScroll = 0
		case rs.mode == respRaw:
			rs.mode = respResults
			m.respScroll = 0
		}
		return nil
	case msg.String() == "v":
		if rs.mode == respRaw {
			rs.mode = respResults
		} else {
			rs.mode = respRaw
		}
		m.respScroll, rs.hit = 0, -1
		return nil
	case msg.String() == "x" && rs.mode == respDoc:
		rs.expand = !rs.expand
		return nil
	case key.Matches(msg, k.Edit) && msg.String() == "enter" && rs.mode == respResults:
		if m.last == nil || m.last.Resp == nil {
			return nil
		}
		rows := resultRows(m.last.Resp.Docs)
		if rs.cur < len(rows) {
			rs.doc = rows[rs.cur].doc
			rs.mode = respDoc
			m.respScroll, rs.hit = 0, -1
		}
		return nil
	}
	if rs.mode == respResults && m.last != nil && m.last.Resp != nil {
		n := len(resultRows(m.last.Resp.Docs))
		page := max(1, m.h-3)
		switch {
		case key.Matches(msg, k.Up):
			rs.cur--
		case key.Matches(msg, k.Down):
			rs.cur++
		case key.Matches(msg, k.PageUp):
			rs.cur -= page
		case key.Matches(msg, k.PageDown):
			rs.cur += page
		case msg.String() == "g" || msg.String() == "home":
			rs.cur, m.respScroll = 0, 0
		case msg.String() == "G" || msg.String() == "end":
			rs.cur = n - 1
		}
		rs.cur = min(max(0, rs.cur), max(0, n-1))
		return nil
	}
	m.responseKey(msg)
	return nil
}

// currentHits are the search hits of the lines shown now.
func (m *Model) currentHits() []int {
	if m.last == nil {
		return nil
	}
	lines, _ := m.respLines()
	return searchHits(lines, m.resp.search.Value())
}
