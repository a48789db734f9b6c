// Package request is the Request pane: compose a request (endpoint from
// discovery, documents as text lines, N generated or a JSONL file,
// parameters as JSON or YAML validated as you type, target executor,
// request size), send it with the client as a command, and read the
// returned documents, per-executor route timings and errors. Sent requests
// are kept in a history to re-run, and any request can be copied as a
// `jig post` or grpcurl command.
package request

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/jig-dev/jig/themes"
	"github.com/jig-dev/jig/tui/common"
)

// HistorySize is how many sent requests the history keeps.
const HistorySize = 100

// SendTimeout bounds one send from the pane, unless it is large (more
// than AutoRequestSize generated documents), which esc cancels instead.
const SendTimeout = time.Minute

type tab int

const (
	tabCompose tab = iota
	tabResponse
	tabHistory
	numTabs
)

// String is the tab's title.
func (t tab) String() string { return [...]string{"Compose", "Response", "History"}[t] }

type field int

const (
	fAddr field = iota
	fEndpoint
	fMode
	fDocs
	fParams
	fTarget
	fSize
	numFields
)

// Model is the Request pane.
type Model struct {
	ctx    *common.Context
	sender Sender
	clip   func(string) error
	keys   KeyMap
	w, h   int
	tab    tab

	focus   field
	editing bool

	addr       textinput.Model
	addrEdited bool // the user typed an address: stop following the status
	endpoint   textinput.Model
	// endpointAuto is true while the endpoint was picked by the pane, not
	// the user, so better information (discovery) may replace it.
	endpointAuto bool
	endpoints    []Endpoint
	discovered   string // address the endpoints came from
	discErr      string
	mode         DocsMode
	lines        textarea.Model
	n            textinput.Model
	file         textinput.Model
	params       textarea.Model
	paramsErr    string
	// paramsDefault is true while the parameters are the defaults from the
	// Parameters pane, so new defaults replace them.
	paramsDefault bool
	target        textinput.Model
	size          textinput.Model
	sizeErr       string
	composeErr    string

	gen     int
	sending bool
	cancel  context.CancelFunc
	// progress counts the documents of the send in flight: sent, returned
	// (written by the sending goroutine, read by View).
	progress *progress
	// cancelled is set by esc until the cancelled send has stopped.
	cancelled bool

	last       *Result
	respScroll int
	resp       respState // the Response view (results.go)

	history []*Result // newest first
	histCur int
	nextID  int

	copyText string // the copy modal's content; "" when closed

	streamStart time.Time // when the current stream started (stream.go)

	// persist saves the history between runs (SetPersist); nil: don't.
	persist func([]Saved) tea.Cmd
}

// Result is one sent request and its outcome (a history entry).
type Result struct {
	ID      int
	At      time.Time
	Addr    string
	Draft   Draft
	Req     Request
	Resp    *Response
	Err     error
	Latency time.Duration
	// Sent is the number of documents the request had: Req keeps only a
	// few of them once sent (see keepRequest).
	Sent int
	gen  int
	json []string // pretty-printed returned documents, built once
}

// progress is a send's running count of documents.
type progress struct{ sent, returned atomic.Int64 }

// OK reports whether the request succeeded end to end.
func (r *Result) OK() bool { return r.Err == nil && r.Resp != nil && r.Resp.Error == nil }

// Messages of the pane's commands.
type (
	endpointsMsg struct {
		addr string
		eps  []Endpoint
		err  error
	}
	responseMsg struct{ res *Result }
	// progressMsg redraws the progress of send gen while it runs.
	progressMsg struct{ gen int }
	copyMsg     struct {
		text string
		err  error
	}
)

// New returns the Request pane. sender may be nil (sending then reports
// that no client is configured); clip copies text to the clipboard (nil:
// only show the commands).
func New(ctx *common.Context, sender Sender, clip func(string) error) *Model {
	m := &Model{ctx: ctx, sender: sender, clip: clip, keys: DefaultKeyMap(), resp: newRespState()}
	input := func(placeholder string) textinput.Model {
		in := textinput.New()
		in.Prompt = ""
		in.Placeholder = placeholder
		in.Cursor.SetMode(cursor.CursorStatic)
		return in
	}
	area := func(placeholder string) textarea.Model {
		ta := textarea.New()
		ta.Prompt = ""
		ta.Placeholder = placeholder
		ta.ShowLineNumbers = true
		ta.CharLimit = 0
		ta.MaxHeight = 0
		ta.Cursor.SetMode(cursor.CursorStatic)
		return ta
	}
	m.addr = input("host:port of the gateway")
	m.endpoint = input("/endpoint")
	m.endpoint.ShowSuggestions = true
	m.endpoint.SetValue("/")
	m.endpointAuto = true
	m.lines = area("one document per line: plain text, or JSON {\"text\": ..., \"tags\": {...}}")
	m.lines.SetValue("hello world")
	m.n = input("number of documents")
	m.n.SetValue("10")
	m.file = input("path/to/docs.jsonl")
	m.params = area(`parameters as JSON {"top_k": 3} or YAML top_k: 3`)
	m.target = input("regex of executor names (empty: whole flow)")
	m.size = input("0")
	m.size.SetValue("0")
	if ctx.DefaultParams != "" {
		m.params.SetValue(ctx.DefaultParams)
		m.paramsDefault = true
	}
	m.restyle()
	m.validate()
	return m
}

// restyle applies the theme to the text areas, which keep their own
// styles.
func (m *Model) restyle() {
	st := m.ctx.Styles
	s := textarea.Style{
		Base: lipgloss.NewStyle(), CursorLine: lipgloss.NewStyle(), CursorLineNumber: st.Accent,
		EndOfBuffer: st.Faint, LineNumber: st.Faint, Placeholder: st.Faint, Prompt: st.Faint, Text: st.Primary,
	}
	for _, ta := range []*textarea.Model{&m.lines, &m.params} {
		ta.FocusedStyle = s
		ta.BlurredStyle = s
		ta.BlurredStyle.Text = st.Secondary
	}
	for _, in := range []*textinput.Model{&m.addr, &m.endpoint, &m.n, &m.file, &m.target, &m.size} {
		in.PlaceholderStyle = st.Faint
		in.TextStyle = st.Primary
		in.CompletionStyle = st.Faint
	}
}

// Title implements common.Pane.
func (m *Model) Title() string { return "Request" }

// ShortTitle implements common.Pane.
func (m *Model) ShortTitle() string { return "Request" }

// Capturing implements common.Pane.
func (m *Model) Capturing() bool {
	return m.editing || m.copyText != "" || (m.tab == tabResponse && m.resp.search.Typing())
}

// Init implements common.Pane.
func (m *Model) Init() tea.Cmd { return nil }

// SetSize implements common.Pane.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = w, h
	fw := m.fieldWidth()
	for _, in := range []*textinput.Model{&m.addr, &m.endpoint, &m.n, &m.file, &m.target, &m.size} {
		in.Width = max(5, fw-1)
	}
	m.lines.SetWidth(fw)
	m.params.SetWidth(fw)
	dh, ph := m.areaHeights()
	m.lines.SetHeight(dh)
	m.params.SetHeight(ph)
}

const labelWidth = 14

func (m *Model) fieldWidth() int { return max(10, m.w-labelWidth-1) }

// areaHeights shares the rows left by the one-line fields between the
// documents and parameters editors.
func (m *Model) areaHeights() (docs, params int) {
	// tabs, addr, endpoint, mode, target, size, params error, footer
	avail := max(2, m.h-8)
	if m.mode != ModeLines {
		return 1, max(1, avail-1)
	}
	docs = max(1, avail/2)
	return docs, max(1, avail-docs)
}

// Addr is the address requests go to.
func (m *Model) Addr() string { return strings.TrimSpace(m.addr.Value()) }

// Last returns the last response received (nil before the first).
func (m *Model) Last() *Result { return m.last }

// History returns the sent requests, newest first.
func (m *Model) History() []*Result { return m.history }

// HistoryCursor is the selected row of the History view.
func (m *Model) HistoryCursor() int { return m.histCur }

// Tab returns the name of the visible view (Compose, Response, History).
func (m *Model) Tab() string { return m.tab.String() }

// ParamsError is the live validation error of the parameters ("" if valid).
func (m *Model) ParamsError() string { return m.paramsErr }

// Endpoints returns the discovered endpoints.
func (m *Model) Endpoints() []Endpoint { return m.endpoints }

// SetDraft loads a draft into the composer.
func (m *Model) SetDraft(d Draft) {
	m.addr.SetValue(d.Addr)
	m.addrEdited = d.Addr != ""
	m.endpoint.SetValue(d.Endpoint)
	m.endpointAuto = false
	m.mode = d.Mode
	m.lines.SetValue(d.Lines)
	m.n.SetValue(strconv.Itoa(d.N))
	m.file.SetValue(d.File)
	m.params.SetValue(d.Params)
	m.paramsDefault = false
	m.target.SetValue(d.Target)
	m.size.SetValue(strconv.Itoa(d.RequestSize))
	m.SetSize(m.w, m.h)
	m.validate()
}

// Draft returns the composer's content.
func (m *Model) Draft() Draft {
	n, _ := strconv.Atoi(strings.TrimSpace(m.n.Value()))
	size, _ := strconv.Atoi(strings.TrimSpace(m.size.Value()))
	return Draft{
		Addr: m.Addr(), Endpoint: strings.TrimSpace(m.endpoint.Value()), Target: strings.TrimSpace(m.target.Value()),
		Mode: m.mode, Lines: m.lines.Value(), N: n, File: strings.TrimSpace(m.file.Value()),
		Params: m.params.Value(), RequestSize: size,
	}
}

// validate checks the fields that can be checked as you type.
func (m *Model) validate() {
	m.paramsErr = ""
	if _, err := ParseParameters(m.params.Value()); err != nil {
		m.paramsErr = err.Error()
	}
	m.sizeErr = ""
	if v := strings.TrimSpace(m.size.Value()); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			m.sizeErr = "request size must be a whole number ≥ 0"
		}
	}
	if m.mode == ModeGenerate {
		if n, err := strconv.Atoi(strings.TrimSpace(m.n.Value())); err != nil || n < 1 || n > MaxGenerate {
			m.sizeErr = fmt.Sprintf("the number of documents must be a whole number from 1 to %s", thousands(MaxGenerate))
		}
	}
}

// Update implements common.Pane.
func (m *Model) Update(in tea.Msg) tea.Cmd {
	switch msg := in.(type) {
	case common.StatusMsg:
		m.autoEndpoint()
		if a := m.ctx.Status.Addresses.GRPC; !m.addrEdited && a != "" && m.addr.Value() != a {
			m.addr.SetValue(a)
			return m.discover()
		}
	case common.DefaultParamsMsg:
		if m.paramsDefault || strings.TrimSpace(m.params.Value()) == "" {
			m.params.SetValue(msg.Text)
			m.paramsDefault = true
			m.validate()
		}
	case common.ThemeChangedMsg:
		m.restyle()
	case endpointsMsg:
		if msg.addr != m.Addr() {
			return nil // an answer for an address the user has left
		}
		m.discovered = msg.addr
		m.discErr = ""
		if msg.err != nil {
			m.discErr = msg.err.Error()
		}
		m.endpoints = msg.eps
		m.syncSuggestions()
		m.autoEndpoint()
	case responseMsg:
		return m.received(msg.res)
	case streamMsg:
		return m.streamed(msg) // generator endpoints (stream.go)

	case progressMsg:
		if msg.gen == m.gen && m.sending {
			return progressTick(m.gen)
		}
	case copyMsg:
		if msg.err != nil {
			return common.Toast("copy: "+msg.err.Error(), true)
		}
		m.copyText = msg.text
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

// endpointNames lists discovered endpoints, falling back on what the
// status knows the deployments serve (the gateway may not answer
// discovery, but the engine knows).
func (m *Model) endpointNames() []string {
	var out []string
	for _, e := range m.endpoints {
		out = append(out, e.Name)
	}
	if len(out) == 0 {
		seen := map[string]bool{}
		for _, d := range m.ctx.Status.Deployments {
			for _, e := range d.Endpoints {
				if !seen[e] {
					seen[e] = true
					out = append(out, e)
				}
			}
		}
		slices.Sort(out)
	}
	return out
}

func (m *Model) syncSuggestions() { m.endpoint.SetSuggestions(m.endpointNames()) }

// autoEndpoint picks an endpoint unless the user chose one: /search, else
// /default, else the first that no deployment writes with, so that a
// stray send never starts with /clear or /delete.
func (m *Model) autoEndpoint() {
	names := m.endpointNames()
	if !m.endpointAuto || len(names) == 0 || slices.Contains(names, strings.TrimSpace(m.endpoint.Value())) {
		return
	}
	m.endpoint.SetValue(preferredEndpoint(names, m.writeEndpoints()))
}

// writeEndpoints lists the endpoints some deployment marks as writes.
func (m *Model) writeEndpoints() map[string]bool {
	out := map[string]bool{}
	for _, e := range m.endpoints {
		if e.Write {
			out[e.Name] = true
		}
	}
	if m.ctx == nil {
		return out
	}
	for _, d := range m.ctx.Status.Deployments {
		for _, e := range d.WriteEndpoints {
			out[e] = true
		}
	}
	return out
}

func preferredEndpoint(names []string, writes map[string]bool) string {
	for _, want := range []string{"/search", "/default"} {
		if slices.Contains(names, want) {
			return want
		}
	}
	for _, n := range names {
		if !writes[n] {
			return n
		}
	}
	return names[0]
}

// fields returns the schema fields of the selected endpoint.
func (m *Model) fields() []Field {
	ep := strings.TrimSpace(m.endpoint.Value())
	for _, e := range m.endpoints {
		if e.Name == ep {
			return e.Fields
		}
	}
	return nil
}

func (m *Model) discover() tea.Cmd {
	addr := m.Addr()
	if m.sender == nil || addr == "" {
		return nil
	}
	s, base := m.sender, m.ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, 5*time.Second)
		defer cancel()
		eps, err := s.Endpoints(ctx, addr)
		return endpointsMsg{addr: addr, eps: eps, err: err}
	}
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if m.copyText != "" {
		switch msg.String() {
		case "esc", "enter", "q", "c":
			m.copyText = ""
		}
		return nil
	}
	if key.Matches(msg, k.Send) {
		m.stopEditing()
		return m.sendDraft()
	}
	if m.editing {
		return m.editKey(msg)
	}
	switch {
	case key.Matches(msg, k.PrevTab):
		m.tab = (m.tab + numTabs - 1) % numTabs
		return nil
	case key.Matches(msg, k.NextTab):
		m.tab = (m.tab + 1) % numTabs
		return nil
	case key.Matches(msg, k.Copy):
		return m.copyCmd(m.Draft())
	case key.Matches(msg, k.Discover):
		return m.discover()
	case msg.String() == "esc" && m.sending:
		m.cancel()
		m.cancelled = true
		return nil
	}
	switch m.tab {
	case tabResponse:
		if key.Matches(msg, k.CopyTrace) && !m.resp.search.Active() {
			return m.copyTrace()
		}
		return m.respKey(msg)
	case tabHistory:
		return m.historyKey(msg)
	}
	return m.composeKey(msg)
}

func (m *Model) composeKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Up):
		m.focus = (m.focus + numFields - 1) % numFields
	case key.Matches(msg, k.Down):
		m.focus = (m.focus + 1) % numFields
	case key.Matches(msg, k.Left):
		m.cycle(-1)
	case key.Matches(msg, k.Right):
		m.cycle(1)
	case key.Matches(msg, k.Template):
		return m.insertTemplate()
	case key.Matches(msg, k.Edit):
		if m.focus == fMode {
			m.cycle(1)
			return nil
		}
		return m.startEditing()
	}
	return nil
}

// cycle changes the value of a choice field: endpoint, docs mode, target.
func (m *Model) cycle(d int) {
	switch m.focus {
	case fEndpoint:
		names := m.endpointNames()
		if len(names) == 0 {
			return
		}
		i := slices.Index(names, strings.TrimSpace(m.endpoint.Value()))
		if i < 0 {
			i = map[bool]int{true: -1, false: 0}[d > 0]
		}
		m.endpoint.SetValue(names[(i+d+len(names))%len(names)])
		m.endpointAuto = false
	case fMode:
		m.mode = DocsMode((int(m.mode) + d + 3) % 3)
		m.SetSize(m.w, m.h)
		m.validate()
		m.recheck()
	case fTarget:
		choices := []string{""}
		for _, dep := range m.ctx.Status.Deployments {
			choices = append(choices, dep.Name)
		}
		i := slices.Index(choices, strings.TrimSpace(m.target.Value()))
		if i < 0 {
			i = 0
		}
		m.target.SetValue(choices[(i+d+len(choices))%len(choices)])
	}
}

func (m *Model) insertTemplate() tea.Cmd {
	fs := m.fields()
	if len(fs) == 0 {
		return common.Toast("this endpoint publishes no input schema", false)
	}
	m.mode = ModeLines
	v := strings.TrimRight(m.lines.Value(), "\n")
	if v != "" {
		v += "\n"
	}
	m.lines.SetValue(v + Template(fs))
	m.SetSize(m.w, m.h)
	m.focus = fDocs
	return m.startEditing()
}

func (m *Model) startEditing() tea.Cmd {
	m.editing = true
	// A one-line field is edited from its end, whatever set its value
	// (h/l cycling, discovery), as in any text box.
	edit := func(in *textinput.Model) tea.Cmd {
		in.CursorEnd()
		return in.Focus()
	}
	switch m.focus {
	case fAddr:
		return edit(&m.addr)
	case fEndpoint:
		// The text box matches completions only when it handles a key or
		// gets new suggestions, not on SetValue: refresh them for the
		// value chosen with h/l (or loaded), or the old match is drawn
		// at the cursor (/search's "h" after /count: "/counth").
		m.syncSuggestions()
		return edit(&m.endpoint)
	case fDocs:
		switch m.mode {
		case ModeGenerate:
			return edit(&m.n)
		case ModeFile:
			return edit(&m.file)
		}
		return m.lines.Focus()
	case fParams:
		return m.params.Focus()
	case fTarget:
		return edit(&m.target)
	case fSize:
		return edit(&m.size)
	}
	m.editing = false
	return nil
}

func (m *Model) stopEditing() {
	if !m.editing {
		return
	}
	m.editing = false
	for _, in := range []*textinput.Model{&m.addr, &m.endpoint, &m.n, &m.file, &m.target, &m.size} {
		in.Blur()
	}
	m.lines.Blur()
	m.params.Blur()
}

func (m *Model) editKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	single := m.focus != fParams && !(m.focus == fDocs && m.mode == ModeLines)
	switch {
	case key.Matches(msg, k.Done) || (single && msg.String() == "enter"):
		m.stopEditing()
		if m.focus == fAddr && m.addr.Value() != m.discovered {
			m.addrEdited = true
			return m.discover()
		}
		return nil
	case key.Matches(msg, k.Template):
		m.stopEditing()
		return m.insertTemplate()
	case key.Matches(msg, k.NextField) && !(m.focus == fEndpoint && m.endpoint.CurrentSuggestion() != "" && m.endpoint.CurrentSuggestion() != m.endpoint.Value()):
		m.stopEditing()
		m.focus = (m.focus + 1) % numFields
		if m.focus == fMode {
			m.focus++
		}
		return m.startEditing()
	case key.Matches(msg, k.PrevField):
		m.stopEditing()
		m.focus = (m.focus + numFields - 1) % numFields
		if m.focus == fMode {
			m.focus--
		}
		return m.startEditing()
	}
	var cmd tea.Cmd
	switch m.focus {
	case fAddr:
		m.addr, cmd = m.addr.Update(msg)
		m.addrEdited = true
	case fEndpoint:
		m.endpoint, cmd = m.endpoint.Update(msg)
		m.endpointAuto = false
	case fDocs:
		switch m.mode {
		case ModeGenerate:
			m.n, cmd = m.n.Update(msg)
		case ModeFile:
			m.file, cmd = m.file.Update(msg)
		default:
			m.lines, cmd = m.lines.Update(msg)
		}
	case fParams:
		before := m.params.Value()
		m.params, cmd = m.params.Update(msg)
		if m.params.Value() != before {
			m.paramsDefault = false
		}
	case fTarget:
		m.target, cmd = m.target.Update(msg)
	case fSize:
		m.size, cmd = m.size.Update(msg)
	}
	m.validate()
	m.recheck()
	return cmd
}

// recheck clears the composer's error once what it complained about is
// fixed (an error that stays after the fix reads as a new problem).
func (m *Model) recheck() {
	if m.composeErr != "" {
		m.composeErr = m.composeProblem(m.Draft())
	}
}

// sendDraft builds the request and sends it.
func (m *Model) sendDraft() tea.Cmd {
	m.validate()
	d := m.Draft()
	m.composeErr = m.composeProblem(d)
	if m.composeErr != "" {
		m.tab = tabCompose
		return nil
	}
	return m.send(d)
}

// composeProblem is what stops d from being sent ("" if nothing).
func (m *Model) composeProblem(d Draft) string {
	switch {
	case m.paramsErr != "":
		return "fix the parameters first: " + m.paramsErr
	case m.sizeErr != "":
		return m.sizeErr
	case d.Addr == "":
		return "no address: the gateway has no gRPC port yet, or type one"
	case d.Endpoint == "":
		return "pick an endpoint"
	}
	return ""
}

// send starts sending d as a command; documents from a file are read in
// the command, off the UI goroutine, and generated ones are made as the
// client sends them. Cancelling stops both; once a large send has ended
// its memory is handed back to the system at once, so cancelling a
// million documents shows in the process's RSS, not minutes later.
func (m *Model) send(d Draft) tea.Cmd {
	if cmd := m.maybeStream(d); cmd != nil { // generator endpoints (stream.go)
		return cmd
	}
	if m.sending {
		m.cancel()
	}
	m.gen++
	m.sending = true
	m.cancelled = false
	// A large send (a million generated documents take minutes) has no
	// deadline: it shows its progress and esc stops it.
	ctx, cancel := context.WithCancel(m.ctx.Base)
	if !d.large() {
		ctx, cancel = context.WithTimeout(m.ctx.Base, SendTimeout)
	}
	m.cancel = cancel
	prog := &progress{}
	m.progress = prog
	gen, sender, now := m.gen, m.sender, m.ctx.Now
	m.nextID++
	id := m.nextID
	return tea.Batch(func() tea.Msg {
		defer cancel()
		res := &Result{ID: id, Addr: d.Addr, Draft: d, gen: gen}
		req, err := buildRequest(d)
		if err != nil {
			res.Err = err
			res.At = now()
			return responseMsg{res}
		}
		req.Progress = func(sent, returned int) {
			prog.sent.Store(int64(sent))
			prog.returned.Store(int64(returned))
		}
		res.Sent = req.Count()
		res.Req = keepRequest(req)
		if sender == nil {
			res.Err = fmt.Errorf("no client configured")
			res.At = now()
			return responseMsg{res}
		}
		// The pane's clock times the request (fixed in tests, so frames
		// are stable).
		start := now()
		res.Resp, res.Err = sender.Send(ctx, d.Addr, req)
		res.At = now()
		res.Latency = res.At.Sub(start)
		if req.Count() > MaxKeptDocs {
			req = Request{}
			debug.FreeOSMemory()
		}
		return responseMsg{res}
	}, progressTick(gen))
}

// large reports whether the draft generates more documents than one
// request carries.
func (d Draft) large() bool { return d.Mode == ModeGenerate && d.N > AutoRequestSize }

// progressTick redraws a running send's progress a few times a second.
func progressTick(gen int) tea.Cmd {
	return tea.Tick(250*time.Millisecond, func(time.Time) tea.Msg { return progressMsg{gen} })
}

// keepRequest is what the history keeps of a sent request: without its
// documents when they are many (the draft says how to make them again).
func keepRequest(r Request) Request {
	r.Progress = nil
	if len(r.Docs) > MaxKeptDocs {
		r.Docs = nil
	}
	return r
}

// buildRequest turns a draft into a request. Generated documents are not
// made here but as they are sent; a request of more than AutoRequestSize
// documents with no request size goes in batches of AutoRequestSize.
func buildRequest(d Draft) (Request, error) {
	req := Request{Endpoint: d.Endpoint, Target: d.Target, RequestSize: d.RequestSize}
	var err error
	switch d.Mode {
	case ModeGenerate:
		if d.N < 1 || d.N > MaxGenerate {
			return req, fmt.Errorf("the number of documents must be from 1 to %d", MaxGenerate)
		}
		req.Generate = d.N
	case ModeFile:
		if d.File == "" {
			return req, fmt.Errorf("no JSONL file given")
		}
		req.Docs, err = ReadJSONL(d.File)
	default:
		req.Docs, err = ParseDocLines(d.Lines)
	}
	if err != nil {
		return req, err
	}
	if req.RequestSize <= 0 && req.Count() > AutoRequestSize {
		req.RequestSize = AutoRequestSize
	}
	req.Parameters, err = ParseParameters(d.Params)
	return req, err
}

func (m *Model) received(res *Result) tea.Cmd {
	m.history = append([]*Result{res}, m.history...)
	if len(m.history) > HistorySize {
		m.history = m.history[:HistorySize]
	}
	var save tea.Cmd
	if m.persist != nil {
		save = m.persist(m.saved())
	}
	if res.gen != m.gen {
		return save // a newer send replaced this one
	}
	m.sending = false
	m.cancelled = false
	m.progress = nil
	m.last = res
	m.respScroll = 0
	m.resp.mode, m.resp.cur, m.resp.doc, m.resp.hit = respResults, 0, nil, -1
	m.resp.search.Clear()
	m.histCur = 0
	m.tab = tabResponse
	if res.Err != nil {
		return tea.Batch(save, common.Toast("request failed: "+res.Err.Error(), true))
	}
	return save
}

func (m *Model) responseKey(msg tea.KeyMsg) {
	k := m.keys
	page := max(1, m.h-3)
	switch {
	case key.Matches(msg, k.Up):
		m.respScroll--
	case key.Matches(msg, k.Down):
		m.respScroll++
	case key.Matches(msg, k.PageUp):
		m.respScroll -= page
	case key.Matches(msg, k.PageDown):
		m.respScroll += page
	case msg.String() == "g" || msg.String() == "home":
		m.respScroll = 0
	case msg.String() == "G" || msg.String() == "end":
		m.respScroll = 1 << 30
	}
	m.respScroll = max(0, m.respScroll)
}

func (m *Model) historyKey(msg tea.KeyMsg) tea.Cmd {
	if len(m.history) == 0 {
		return nil
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Up):
		m.histCur = max(0, m.histCur-1)
	case key.Matches(msg, k.Down):
		m.histCur = min(len(m.history)-1, m.histCur+1)
	case key.Matches(msg, common.TopKey):
		m.histCur = 0
	case key.Matches(msg, common.BottomKey):
		m.histCur = len(m.history) - 1
	case key.Matches(msg, k.Rerun):
		return m.send(m.history[m.histCur].Draft)
	case key.Matches(msg, k.Load):
		m.SetDraft(m.history[m.histCur].Draft)
		m.tab = tabCompose
	}
	return nil
}

// Click selects the clicked row of the History view (row 0 is the view
// bar, row 1 the table header). A click only selects: re-running, which
// sends the request again, stays on enter.
func (m *Model) Click(_, row int) tea.Cmd {
	if m.tab != tabHistory || m.editing || m.copyText != "" || len(m.history) == 0 {
		return nil
	}
	top := common.Scroll(0, m.histCur, m.h-2, len(m.history)) // as historyView
	if i := top + row - 2; row >= 2 && i < len(m.history) {
		m.histCur = i
	}
	return nil
}

// MaxInlineDocs is the largest number of documents a copied grpcurl
// command embeds; beyond it only the jig post command is offered (it
// makes generated documents itself and reads files by name).
const MaxInlineDocs = 100

// copyTrace copies the last response's trace id to the clipboard.
func (m *Model) copyTrace() tea.Cmd {
	if m.last == nil || m.last.Resp == nil || m.last.Resp.TraceID == "" {
		return common.Toast("no trace id: the response was not traced", true)
	}
	id, clip := m.last.Resp.TraceID, m.clip
	return func() tea.Msg {
		if clip == nil {
			return common.ToastMsg{Text: "trace id " + id}
		}
		if err := clip(id); err != nil {
			return common.ToastMsg{Text: "clipboard failed: " + err.Error(), Err: true}
		}
		return common.ToastMsg{Text: "copied trace id " + id}
	}
}

// maxInlineFile is the largest JSONL file embedded in a grpcurl command.
const maxInlineFile = 256 << 10

// copyCmd builds the commands (reading the JSONL file if needed) in a
// command, off the UI's update loop, copies the jig post one to the
// clipboard, and opens the modal showing both so they can also be
// selected with the mouse. Documents are inlined in the grpcurl command
// only when they are few (MaxInlineDocs).
func (m *Model) copyCmd(d Draft) tea.Cmd {
	clip := m.clip
	return func() tea.Msg {
		post, err := JigPost(d)
		if err != nil {
			return copyMsg{err: err}
		}
		grpcurl, err := grpcurlFor(d)
		if err != nil {
			return copyMsg{err: err}
		}
		note := "Select a command with the mouse (shift+drag in some terminals)."
		if clip != nil {
			if err := clip(post); err != nil {
				note = "Clipboard failed (" + err.Error() + "); select a command with the mouse."
			} else {
				note = "The jig post command is on your clipboard (OSC 52)."
			}
		}
		return copyMsg{text: post + "\x00" + grpcurl + "\x00" + note}
	}
}

// grpcurlFor is the grpcurl command of d, or a line saying why there is
// none when the documents are too many to inline.
func grpcurlFor(d Draft) (string, error) {
	tooMany := func(n string) (string, error) {
		return "(not built: " + n + " are too many to inline in a command; use the jig post command above)", nil
	}
	switch d.Mode {
	case ModeGenerate:
		if d.N > MaxInlineDocs {
			return tooMany(thousands(d.N) + " generated documents")
		}
	case ModeFile:
		if fi, err := os.Stat(d.File); err == nil && fi.Size() > maxInlineFile {
			return tooMany(fmt.Sprintf("the documents of a %.1f MB file", float64(fi.Size())/(1<<20)))
		}
	}
	docs, err := copyDocs(d)
	if err != nil {
		return "", err
	}
	if len(docs) > MaxInlineDocs {
		return tooMany(thousands(len(docs)) + " documents")
	}
	return Grpcurl(d, docs)
}

// thousands formats n with thousands separators: 1,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// CopyText returns the commands shown by the copy modal ("" when closed).
func (m *Model) CopyText() string { return strings.ReplaceAll(m.copyText, "\x00", "\n") }

var _ common.Pane = (*Model)(nil)

// styles is a shorthand.
func (m *Model) styles() *themes.Styles { return m.ctx.Styles }
