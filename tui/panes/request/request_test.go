package request_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/panes/request"
	"github.com/jig-dev/jig/tui/tuitest"
)

func TestParseParameters(t *testing.T) {
	p, err := request.ParseParameters(`{"top_k": 3, "ratio": 0.5, "nested": {"a": [1, "x"]}}`)
	if err != nil || p["top_k"] != int64(3) || p["ratio"] != 0.5 {
		t.Fatalf("JSON: %v %v", p, err)
	}
	p, err = request.ParseParameters("top_k: 3\nindex:\n  exact: true\n")
	if err != nil || p["top_k"] != int64(3) || p["index"].(map[string]any)["exact"] != true {
		t.Fatalf("YAML: %v %v", p, err)
	}
	if p, err := request.ParseParameters("  \n"); err != nil || p != nil {
		t.Errorf("blank: %v %v", p, err)
	}
	for text, want := range map[string]string{
		"{\n  \"a\": 1,\n  \"b\" 2\n}": "JSON line 3 col",
		`{"a": 1} {"b": 2}`:            "text after the object",
		"a: [1, 2\nb: 3":               "YAML line",
		"- 1\n- 2":                     "YAML line 1: parameters must be a mapping",
	} {
		_, err := request.ParseParameters(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseParameters(%q) = %v, want %q", text, err, want)
		}
	}
}

func TestParseDocLines(t *testing.T) {
	docs, err := request.ParseDocLines("hello\n\n{\"text\": \"json doc\", \"tags\": {\"k\": 1}}\n  spaced  ")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 || docs[0].Text != "hello" || docs[1].Text != "json doc" || docs[1].Tags["k"] == nil || docs[2].Text != "  spaced  " {
		t.Fatalf("docs = %+v", docs)
	}
	for _, d := range docs {
		if d.ID == "" {
			t.Error("every document gets an id")
		}
	}
	if _, err := request.ParseDocLines("ok\n{\"text\": 1}"); err == nil || !strings.Contains(err.Error(), "docs line 2") {
		t.Errorf("bad JSON line: %v", err)
	}
	if got := request.Template([]request.Field{{Name: "price", Type: "number"}, {Name: "text", Type: "string"}}); got != `{"price": 0, "text": ""}` {
		t.Errorf("Template = %s", got)
	}
}

func TestReadJSONL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "docs.jsonl")
	os.WriteFile(path, []byte("{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n{bad\n"), 0o600)
	if _, err := request.ReadJSONL(path); err == nil || !strings.Contains(err.Error(), "docs.jsonl:4") {
		t.Fatalf("want a located error, got %v", err)
	}
	os.WriteFile(path, []byte("{\"text\": \"a\"}\n{\"text\": \"b\"}\n"), 0o600)
	docs, err := request.ReadJSONL(path)
	if err != nil || len(docs) != 2 || docs[1].Text != "b" {
		t.Fatalf("%v %v", docs, err)
	}
}

func TestCopyCommands(t *testing.T) {
	d := request.Draft{Addr: "127.0.0.1:12345", Endpoint: "/search", Target: "index", Mode: request.ModeLines,
		Lines: "hello world\nit's me", Params: "top_k: 3", RequestSize: 10}
	post, err := request.JigPost(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `jig post 127.0.0.1:12345 --on /search --text 'hello world' --text 'it'\''s me' --parameters '{"top_k":3}' --request-size 10 --target index`
	if post != want {
		t.Errorf("jig post:\n got %s\nwant %s", post, want)
	}
	grpcurl, err := request.Grpcurl(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = `grpcurl -plaintext -d '{"header":{"execEndpoint":"/search","targetExecutor":"index"},"parameters":{"top_k":3},"data":{"docs":{}}}' 127.0.0.1:12345 jina.JinaSingleDataRequestRPC/process_single_data`
	if grpcurl != want {
		t.Errorf("grpcurl:\n got %s\nwant %s", grpcurl, want)
	}
	d.Mode, d.N, d.Params, d.Target, d.RequestSize = request.ModeGenerate, 5, "", "", 0
	if post, _ := request.JigPost(d); post != "jig post 127.0.0.1:12345 --on /search --n 5" {
		t.Errorf("generate: %s", post)
	}
	d.Mode, d.File = request.ModeFile, "my docs.jsonl"
	if post, _ := request.JigPost(d); post != "jig post 127.0.0.1:12345 --on /search --data 'my docs.jsonl'" {
		t.Errorf("file: %s", post)
	}
	d.Mode, d.Lines = request.ModeLines, "plain\n{\"text\": \"j\"}"
	if post, _ := request.JigPost(d); !strings.Contains(post, `--data <(printf '%s\n' '{"text":"plain"}' '{"text": "j"}')`) {
		t.Errorf("JSON lines: %s", post)
	}
}

type clip struct{ got []string }

func (c *clip) copy(s string) error { c.got = append(c.got, s); return nil }

func setup(t *testing.T, s *tuitest.Sender) (*request.Model, *clip) {
	t.Helper()
	ctx := tuitest.Context()
	c := &clip{}
	m := request.New(ctx, s, c.copy)
	m.SetSize(100, 24)
	tuitest.Feed(m, 3, common.StatusMsg{Status: ctx.Status})
	return m, c
}

func press(m *request.Model, ks ...string) []any {
	var out []any
	for _, k := range ks {
		for _, msg := range tuitest.Feed(m, 4, tuitest.Key(k)) {
			out = append(out, msg)
		}
	}
	return out
}

func TestDiscoveryFillsEndpoints(t *testing.T) {
	s := &tuitest.Sender{EndpointList: []request.Endpoint{
		{Name: "/index", Write: true},
		{Name: "/search", Fields: []request.Field{{Name: "price", Type: "number"}, {Name: "text", Type: "string"}}},
	}}
	m, _ := setup(t, s)
	if m.Addr() != "127.0.0.1:12345" {
		t.Fatalf("address should follow the status: %q", m.Addr())
	}
	// /search is preferred over the write endpoint /index.
	if len(m.Endpoints()) != 2 || m.Draft().Endpoint != "/search" {
		t.Fatalf("endpoints %v, selected %q", m.Endpoints(), m.Draft().Endpoint)
	}
	v := m.View()
	if !strings.Contains(v, "fields: price, text") {
		t.Errorf("schema fields should be offered:\n%s", v)
	}
	press(m, "j", "l") // endpoint field, next choice (wraps around)
	if m.Draft().Endpoint != "/index" {
		t.Errorf("l should pick the next endpoint: %q", m.Draft().Endpoint)
	}
	press(m, "h", "ctrl+t", "esc")
	if !strings.Contains(m.Draft().Lines, `{"price": 0, "text": ""}`) {
		t.Errorf("ctrl+t should insert a template: %q", m.Draft().Lines)
	}
	// Editing a chosen endpoint types at its end, not where the cursor
	// was before the choice.
	press(m, "esc", "k", "k", "enter", "/", "x", "esc")
	if got := m.Draft().Endpoint; got != "/search/x" {
		t.Errorf("typing after choosing an endpoint: %q, want /search/x", got)
	}
}

func TestTypingIsCaptured(t *testing.T) {
	m, _ := setup(t, &tuitest.Sender{})
	press(m, "enter") // edit the address
	if !m.Capturing() {
		t.Fatal("editing must capture keys")
	}
	press(m, "end", "q", "1", "t", "?")
	if m.Addr() != "127.0.0.1:12345q1t?" {
		t.Errorf("address = %q", m.Addr())
	}
	press(m, "esc")
	if m.Capturing() {
		t.Error("esc stops editing")
	}
}

func TestParametersValidatedAsYouType(t *testing.T) {
	m, _ := setup(t, &tuitest.Sender{})
	press(m, "j", "j", "j", "j", "enter") // parameters
	for _, k := range []string{"{", "\"", "a", "\"", ":"} {
		press(m, k)
	}
	if m.ParamsError() == "" || !strings.Contains(m.View(), "✗ JSON line 1") {
		t.Errorf("invalid JSON should show inline: %q\n%s", m.ParamsError(), m.View())
	}
	press(m, " ", "1", "}")
	if m.ParamsError() != "" {
		t.Errorf("valid JSON: %q", m.ParamsError())
	}
	press(m, "esc")
}

func TestSendShowsResponseAndHistory(t *testing.T) {
	s := &tuitest.Sender{}
	m, c := setup(t, s)
	m.SetDraft(request.Draft{Addr: "127.0.0.1:12345", Endpoint: "/index", Mode: request.ModeLines, Lines: "hello\nworld", Params: "top_k: 2"})
	press(m, "ctrl+s")
	reqs := s.Requests()
	if len(reqs) != 1 || len(reqs[0].Docs) != 2 || reqs[0].Parameters["top_k"] != int64(2) || reqs[0].Endpoint != "/index" {
		t.Fatalf("sent %+v", reqs)
	}
	if m.Tab() != "Response" || m.Last() == nil || !m.Last().OK() {
		t.Fatalf("tab %s last %+v", m.Tab(), m.Last())
	}
	v := m.View()
	for _, want := range []string{"✓ OK", "2 docs in → 2 docs out", "Route", "gateway", "norm", "index", "2.0ms", "Results", `"count": 2`, "Documents (2)", "#1 HELLO"} {
		if !strings.Contains(v, want) && !strings.Contains(strings.Join(strings.Fields(v), " "), want) {
			t.Errorf("response lacks %q:\n%s", want, v)
		}
	}
	press(m, "v") // raw JSON
	if v := m.View(); !strings.Contains(v, `"text": "HELLO"`) {
		t.Errorf("raw view lacks the JSON:\n%s", v)
	}
	press(m, "v")
	press(m, "]")
	if m.Tab() != "History" || !strings.Contains(m.View(), "/index") {
		t.Fatalf("history:\n%s", m.View())
	}
	press(m, "enter")
	if len(s.Requests()) != 2 || len(m.History()) != 2 {
		t.Errorf("enter in history re-runs: %d sent", len(s.Requests()))
	}
	press(m, "c")
	if len(c.got) != 1 || !strings.HasPrefix(c.got[0], "jig post 127.0.0.1:12345 --on /index --text hello --text world") {
		t.Errorf("clipboard: %q", c.got)
	}
	if !m.Capturing() || !strings.Contains(m.CopyText(), "grpcurl -plaintext") {
		t.Errorf("copy modal: %q", m.CopyText())
	}
	press(m, "esc")
	if m.Capturing() {
		t.Error("esc closes the modal")
	}
}

func TestExecutorErrorAndTransportError(t *testing.T) {
	s := &tuitest.Sender{Fail: &request.Exception{Name: "ValueError", Args: []string{"bad doc"}, Executor: "index", Stacks: []string{"main.go:12"}}}
	m, _ := setup(t, s)
	press(m, "ctrl+s")
	v := m.View()
	for _, want := range []string{"✗ ValueError in index", "Error", "ValueError raised by index", "bad doc", "main.go:12"} {
		if !strings.Contains(v, want) {
			t.Errorf("lacks %q:\n%s", want, v)
		}
	}
	s.Fail, s.Err = nil, errors.New("connection refused")
	msgs := press(m, "ctrl+s")
	if !strings.Contains(m.View(), "✗ connection refused") {
		t.Errorf("transport error:\n%s", m.View())
	}
	var toast bool
	for _, msg := range msgs {
		if tm, ok := msg.(common.ToastMsg); ok && tm.Err {
			toast = true
		}
	}
	if !toast {
		t.Error("a failed request raises an error toast")
	}
}

func TestBadInputIsNotSent(t *testing.T) {
	s := &tuitest.Sender{}
	m, _ := setup(t, s)
	m.SetDraft(request.Draft{Addr: "127.0.0.1:1", Endpoint: "/x", Params: "{bad", Mode: request.ModeLines, Lines: "a"})
	press(m, "ctrl+s")
	if len(s.Requests()) != 0 || !strings.Contains(m.View(), "fix the parameters first") {
		t.Errorf("sent with bad parameters:\n%s", m.View())
	}
	m.SetDraft(request.Draft{Addr: "127.0.0.1:1", Endpoint: "/x", Mode: request.ModeGenerate, N: 0})
	press(m, "ctrl+s")
	if len(s.Requests()) != 0 {
		t.Error("sent with N=0")
	}
	m.SetDraft(request.Draft{Addr: "127.0.0.1:1", Endpoint: "/x", Mode: request.ModeGenerate, N: 3, RequestSize: 2})
	press(m, "ctrl+s")
	if r := s.Requests(); len(r) != 1 || r[0].Docs != nil || r[0].Generate != 3 || r[0].RequestSize != 2 {
		t.Errorf("generated: %+v", r)
	} else if docs := slices.Collect(r[0].All()); len(docs) != 3 || docs[2].Text != "doc 2" {
		t.Errorf("generated docs: %v", docs)
	}
	m.SetDraft(request.Draft{Addr: "127.0.0.1:1", Endpoint: "/x", Mode: request.ModeGenerate, N: request.MaxGenerate + 1})
	press(m, "ctrl+s")
	if len(s.Requests()) != 1 || !strings.Contains(m.View(), "from 1 to 10,000,000") {
		t.Errorf("more than MaxGenerate documents must not be sent:\n%s", m.View())
	}
}

func TestDefaultParamsFromParametersPane(t *testing.T) {
	m, _ := setup(t, &tuitest.Sender{})
	m.Update(common.DefaultParamsMsg{Text: "top_k: 5"})
	if m.Draft().Params != "top_k: 5" {
		t.Errorf("defaults should fill empty parameters: %q", m.Draft().Params)
	}
	m.Update(common.DefaultParamsMsg{Text: "top_k: 7"})
	if m.Draft().Params != "top_k: 7" {
		t.Errorf("new defaults replace untouched defaults: %q", m.Draft().Params)
	}
}

// TestLargeGeneratedRequestIsBounded sends more generated documents than
// a response keeps: they are made lazily and batched, the response keeps
// MaxKeptDocs of them and counts the rest, the history does not hold the
// documents, and copying gives `jig post --n` with no inlined documents,
// in a dialog that fits the screen.
func TestLargeGeneratedRequestIsBounded(t *testing.T) {
	s := &tuitest.Sender{}
	m, c := setup(t, s)
	m.SetSize(80, 24)
	const n = 3*request.MaxKeptDocs + 7
	m.SetDraft(request.Draft{Addr: "127.0.0.1:12345", Endpoint: "/index", Mode: request.ModeGenerate, N: n})
	press(m, "ctrl+s")
	r := s.Requests()
	if len(r) != 1 || r[0].Docs != nil || r[0].Generate != n || r[0].RequestSize != request.AutoRequestSize {
		t.Fatalf("sent %+v", r)
	}
	last := m.Last()
	if last == nil || !last.OK() || len(last.Resp.Docs) != request.MaxKeptDocs || last.Resp.Returned != n || last.Sent != n || last.Req.Docs != nil {
		t.Fatalf("last = %+v", last)
	}
	if v := m.View(); !strings.Contains(v, "3,007 docs in → 3,007 docs out") {
		t.Errorf("counts:\n%s", v)
	}
	press(m, "c")
	if len(c.got) != 1 || c.got[0] != "jig post 127.0.0.1:12345 --on /index --n 3007" {
		t.Errorf("clipboard %q", c.got)
	}
	if txt := m.CopyText(); strings.Contains(txt, "doc 1") || !strings.Contains(txt, "3,007 generated documents are too many to inline") {
		t.Errorf("copy must not inline generated documents:\n%s", txt)
	}
	if v := m.View(); strings.Count(v, "\n")+1 != 24 || !strings.Contains(v, "╰") {
		t.Errorf("the copy dialog must fit 80×24 with its bottom border:\n%s", v)
	}
	press(m, "esc")
}

// TestCopyDialogFitsLongCommands copies 100 long typed lines (inlined in
// both commands) into a 60×15 screen: the dialog stays on screen, every
// line within the width, with a count of what it left out.
func TestCopyDialogFitsLongCommands(t *testing.T) {
	m, _ := setup(t, &tuitest.Sender{})
	m.SetSize(60, 15)
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = strings.Repeat("long text ", 8)
	}
	m.SetDraft(request.Draft{Addr: "127.0.0.1:12345", Endpoint: "/index", Mode: request.ModeLines, Lines: strings.Join(lines, "\n")})
	press(m, "c")
	v := m.View()
	rows := strings.Split(v, "\n")
	if len(rows) != 15 || !strings.Contains(v, "╰") || !strings.Contains(v, "more lines") {
		t.Fatalf("dialog:\n%s", v)
	}
	for _, r := range rows {
		if w := ansi.StringWidth(r); w > 60 {
			t.Errorf("row %d wide: %q", w, r)
		}
	}
}

// blockingSender generates documents until its context ends, like a
// client streaming a huge request to a slow flow.
type blockingSender struct {
	tuitest.Sender
	consumed atomic.Int64
}

func (b *blockingSender) Send(ctx context.Context, addr string, req request.Request) (*request.Response, error) {
	for range req.All() {
		if b.consumed.Add(1)%100 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	return &request.Response{}, nil
}

// TestCancelStopsGenerating presses esc while a request of MaxGenerate
// documents is being made: the generation stops (the sender saw far
// fewer documents), the pane says it was cancelled and is free to send
// again.
func TestCancelStopsGenerating(t *testing.T) {
	b := &blockingSender{}
	ctx := tuitest.Context()
	m := request.New(ctx, b, nil)
	m.SetSize(100, 24)
	tuitest.Feed(m, 3, common.StatusMsg{Status: ctx.Status})
	m.SetDraft(request.Draft{Addr: "127.0.0.1:12345", Endpoint: "/index", Mode: request.ModeGenerate, N: request.MaxGenerate})
	cmd := m.Update(tuitest.Key("ctrl+s"))
	done := make(chan []tea.Msg)
	go func() { done <- tuitest.Run(cmd, 30*time.Second) }()
	waitfor.True(t, "the sender to consume a document", 10*time.Second, func() bool { return b.consumed.Load() > 0 })
	m.Update(tuitest.Key("esc"))
	if !strings.Contains(m.View(), "cancelling") {
		t.Errorf("esc should show the cancel:\n%s", m.View())
	}
	msgs := <-done
	for _, msg := range msgs {
		m.Update(msg)
	}
	if got := b.consumed.Load(); got >= request.MaxGenerate {
		t.Fatalf("generation ran to the end (%d documents) after cancel", got)
	}
	last := m.Last()
	if last == nil || !errors.Is(last.Err, context.Canceled) {
		t.Fatalf("last = %+v", last)
	}
	if v := m.View(); strings.Contains(v, "sending") || strings.Contains(v, "cancelling") {
		t.Errorf("still sending after the cancel ended:\n%s", v)
	}
}

// withMatches makes the fake sender answer like a search: each document
// gets three matches with cosine scores and an embedding.
func withMatches(req request.Request, resp *request.Response) {
	for _, d := range resp.Docs {
		d.Embedding = docarray.NewFloat32([]float32{0.1, 0.2, 0.3, 0.4})
		for i := range 3 {
			mt := &docarray.Document{ID: fmt.Sprintf("m%d-%s", i, d.Text), Text: fmt.Sprintf("match %d of %s", i, d.Text),
				Embedding: docarray.NewFloat32(make([]float32, 128))}
			mt.SetScore("cosine", 0.9-float64(i)/10)
			d.Matches = append(d.Matches, mt)
		}
	}
}

// TestResultsView reads a search response as tables of matches, opens
// one match's JSON with its embedding collapsed, expands it, searches,
// and toggles the raw JSON.
func TestResultsView(t *testing.T) {
	s := &tuitest.Sender{Respond: withMatches}
	m, _ := setup(t, s)
	m.SetSize(100, 40)
	m.SetDraft(request.Draft{Addr: "127.0.0.1:12345", Endpoint: "/search", Mode: request.ModeLines, Lines: "apple\npear"})
	press(m, "ctrl+s")
	v := m.View()
	for _, want := range []string{"#1 APPLE", "3 matches", "RANK", "COSINE", "match 0 of APPLE", "0.9000", "0.7000", "m2-PEAR"} {
		if !strings.Contains(v, want) {
			t.Errorf("results lack %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "0.1, 0.2") {
		t.Errorf("results must not show embeddings:\n%s", v)
	}
	press(m, "j", "j", "enter") // the second match of apple
	v = m.View()
	if !strings.Contains(v, `"text": "match 1 of APPLE"`) || !strings.Contains(v, "‹float32 [128]›") || strings.Contains(v, "0, 0, 0") {
		t.Errorf("document JSON with a collapsed embedding:\n%s", v)
	}
	press(m, "x")
	if v := m.View(); !strings.Contains(v, "… 128 numbers]") {
		t.Errorf("x expands arrays:\n%s", v)
	}
	press(m, "esc")
	if v := m.View(); !strings.Contains(v, "RANK") {
		t.Errorf("esc goes back to the results:\n%s", v)
	}
	press(m, "/")
	if !m.Capturing() {
		t.Fatal("typing a search captures keys")
	}
	press(m, "p", "e", "a", "r", "enter")
	v = m.View()
	if !strings.Contains(v, "/pear") || !strings.Contains(v, "lines match") {
		t.Errorf("search footer:\n%s", v)
	}
	press(m, "esc", "v")
	if v := m.View(); !strings.Contains(v, `"matches": [`) {
		t.Errorf("raw JSON:\n%s", v)
	}
}

// TestComposeErrorClearsWhenFixed: the error that stopped a send goes
// away as soon as the problem is fixed, without sending again.
func TestComposeErrorClearsWhenFixed(t *testing.T) {
	s := &tuitest.Sender{}
	m, _ := setup(t, s)
	m.SetDraft(request.Draft{Addr: "127.0.0.1:1", Endpoint: "/x", Params: "{bad", Mode: request.ModeLines, Lines: "a"})
	press(m, "ctrl+s")
	if !strings.Contains(m.View(), "fix the parameters first") {
		t.Fatalf("no error:\n%s", m.View())
	}
	press(m, "j", "j", "j", "j", "enter", "ctrl+a", "ctrl+k")
	if p := m.Draft().Params; p != "" {
		t.Fatalf("parameters not emptied: %q", p)
	}
	if v := m.View(); strings.Contains(v, "fix the parameters first") {
		t.Errorf("the error stays after the parameters were emptied:\n%s", v)
	}
	press(m, "esc")
}

// TestHistoryRowsNavigate: in the History view g and G go to the first
// and last request, and a click selects the row under it (without
// sending it again).
func TestHistoryRowsNavigate(t *testing.T) {
	s := &tuitest.Sender{}
	m, _ := setup(t, s)
	for _, ep := range []string{"/a", "/b", "/c"} {
		m.SetDraft(request.Draft{Addr: "127.0.0.1:12345", Endpoint: ep, Mode: request.ModeLines, Lines: "x"})
		press(m, "ctrl+s")
	}
	press(m, "]")
	if m.Tab() != "History" || len(m.History()) != 3 {
		t.Fatalf("tab %s, %d in history", m.Tab(), len(m.History()))
	}
	press(m, "G")
	if m.HistoryCursor() != 2 {
		t.Errorf("G: row %d", m.HistoryCursor())
	}
	press(m, "g")
	if m.HistoryCursor() != 0 {
		t.Errorf("g: row %d", m.HistoryCursor())
	}
	m.Click(3, 2+1) // view bar, header, rows
	if m.HistoryCursor() != 1 {
		t.Errorf("click on the second row: row %d", m.HistoryCursor())
	}
	m.Click(3, 1) // the header selects nothing
	if m.HistoryCursor() != 1 || len(s.Requests()) != 3 {
		t.Errorf("click on the header: row %d, %d sent", m.HistoryCursor(), len(s.Requests()))
	}
}

// TestNoPhantomCharacterAfterChoosingEndpoint: choosing /count (after
// /search was matched as a completion) and editing it showed "/counth":
// the text box still held the match for /search and drew its 7th
// character as the completion at the cursor.
func TestNoPhantomCharacterAfterChoosingEndpoint(t *testing.T) {
	s := &tuitest.Sender{EndpointList: []request.Endpoint{{Name: "/count"}, {Name: "/search"}}}
	m, _ := setup(t, s)
	if m.Draft().Endpoint != "/search" {
		t.Fatalf("selected %q", m.Draft().Endpoint)
	}
	press(m, "j", "h", "enter") // the endpoint field, /count, edit
	line := endpointLine(t, m.View())
	if strings.Contains(line, "/counth") || !strings.Contains(line, "/count") {
		t.Errorf("editing /count shows %q", line)
	}
	press(m, "s") // typing still completes from the endpoints
	if line := endpointLine(t, m.View()); !strings.Contains(line, "/counts") {
		t.Errorf("after typing s: %q", line)
	}
}

// endpointLine is the Endpoint row of the view, without styling.
func endpointLine(t *testing.T, v string) string {
	t.Helper()
	for _, l := range strings.Split(ansi.Strip(v), "\n") {
		if strings.Contains(l, "Endpoint") {
			return strings.TrimSpace(l)
		}
	}
	t.Fatalf("no Endpoint row:\n%s", v)
	return ""
}
