package request_test

import (
	"context"
	"iter"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/tui/common"
	"github.com/jig-dev/jig/tui/panes/request"
	"github.com/jig-dev/jig/tui/tuitest"
)

// streamSender streams the words of each input text, one per value on
// gate, and fails on the word "boom".
type streamSender struct {
	*tuitest.Sender
	gate chan struct{}
}

func (s *streamSender) StreamDoc(ctx context.Context, addr string, req request.Request, doc *docarray.Document) iter.Seq2[*docarray.Document, error] {
	return func(yield func(*docarray.Document, error) bool) {
		for _, w := range strings.Fields(doc.Text) {
			select {
			case <-s.gate:
			case <-ctx.Done():
				return
			}
			if w == "boom" {
				yield(nil, &request.ExecutorFailure{Exception: request.Exception{Name: "Boom", Executor: "gen"}})
				return
			}
			if !yield(docarray.New("tok:"+w), nil) {
				return
			}
		}
	}
}

// next runs cmd (a stream's wait) and returns its message.
func next(t *testing.T, cmd tea.Cmd) tea.Msg {
	t.Helper()
	if cmd == nil {
		t.Fatal("no command to wait for the stream")
	}
	got := make(chan tea.Msg, 1)
	go func() { got <- cmd() }()
	select {
	case msg := <-got:
		return msg
	case <-time.After(30 * time.Second):
		t.Fatal("the stream's next event never came")
	}
	return nil
}

// TestStreamShowsItemsAsTheyArrive: with a generator endpoint chosen, the
// Response tab shows each item before the next one exists.
func TestStreamShowsItemsAsTheyArrive(t *testing.T) {
	s := &streamSender{Sender: &tuitest.Sender{EndpointList: []request.Endpoint{{Name: "/gen", Generator: true}, {Name: "/index"}}}, gate: make(chan struct{})}
	ctx := tuitest.Context()
	m := request.New(ctx, s, nil)
	m.SetSize(100, 40)
	tuitest.Feed(m, 3, common.StatusMsg{Status: ctx.Status}) // discovers the endpoints
	m.SetDraft(request.Draft{Addr: "127.0.0.1:12345", Endpoint: "/gen", Mode: request.ModeLines, Lines: "alpha beta gamma"})
	cmd := m.Update(tuitest.Key("ctrl+s"))
	if m.Tab() != "Response" {
		t.Fatalf("tab %s, want Response while streaming", m.Tab())
	}
	for i, w := range []string{"alpha", "beta", "gamma"} {
		s.gate <- struct{}{}
		cmd = m.Update(next(t, cmd))
		docs := m.Last().Resp.Docs
		if len(docs) != i+1 || docs[i].Text != "tok:"+w {
			t.Fatalf("after %q: docs %v", w, docs)
		}
		if v := m.View(); !strings.Contains(v, "tok:"+w) {
			t.Fatalf("the view lacks %q:\n%s", "tok:"+w, v)
		}
	}
	if cmd = m.Update(next(t, cmd)); cmd != nil || !m.Last().OK() || len(m.History()) != 1 {
		t.Fatalf("after the end: cmd %v ok %v history %d", cmd != nil, m.Last().OK(), len(m.History()))
	}
	if len(s.Requests()) != 0 {
		t.Fatalf("a generator endpoint was posted instead of streamed: %v", s.Requests())
	}

	// An executor error ends the stream and is shown.
	m.SetDraft(request.Draft{Addr: "127.0.0.1:12345", Endpoint: "/gen", Mode: request.ModeLines, Lines: "one boom"})
	cmd = m.Update(tuitest.Key("ctrl+s"))
	for range 2 {
		s.gate <- struct{}{}
		cmd = m.Update(next(t, cmd))
	}
	m.Update(next(t, cmd))
	if e := m.Last().Resp.Error; e == nil || e.Name != "Boom" || len(m.Last().Resp.Docs) != 1 {
		t.Fatalf("error %+v docs %v", e, m.Last().Resp.Docs)
	}
	if v := m.View(); !strings.Contains(v, "Boom") {
		t.Fatalf("the view lacks the error:\n%s", v)
	}

	// Ordinary endpoints are still posted.
	m.SetDraft(request.Draft{Addr: "127.0.0.1:12345", Endpoint: "/index", Mode: request.ModeLines, Lines: "x"})
	press(m, "ctrl+s")
	if len(s.Requests()) != 1 {
		t.Fatalf("/index was not posted: %v", s.Requests())
	}
}
