package request

import (
	"context"
	"fmt"
	"iter"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/executors/docarray"
)

// StreamSender is implemented by Senders that can call generator endpoints
// (Endpoint.Generator) with stream_doc: one input document, the documents
// it yields coming back one by one. When the chosen endpoint is a
// generator, the pane streams each input document in turn and shows every
// item in the Response tab the moment it arrives.
type StreamSender interface {
	// StreamDoc sends doc to req.Endpoint (with req's parameters and
	// target) and yields each returned document as it arrives. An
	// executor's failure ends the sequence with an *ExecutorFailure.
	StreamDoc(ctx context.Context, addr string, req Request, doc *docarray.Document) iter.Seq2[*docarray.Document, error]
}

// ExecutorFailure is the error a StreamSender yields when an executor
// answered with an ERROR status (shown like Response.Error).
type ExecutorFailure struct{ Exception }

func (e *ExecutorFailure) Error() string {
	return fmt.Sprintf("%s raised by %s", e.Name, e.Executor)
}

// streamMsg is one event of a stream: an item, or the end (done).
type streamMsg struct {
	gen  int
	doc  *docarray.Document
	done bool
	err  error
	next tea.Cmd // waits for the following event
}

// isGenerator reports whether discovery says endpoint streams.
func (m *Model) isGenerator(endpoint string) bool {
	for _, e := range m.endpoints {
		if e.Name == endpoint {
			return e.Generator
		}
	}
	return false
}

// maybeStream starts d as a stream when its endpoint is a generator and
// the sender can stream; it returns nil otherwise (send posts as usual).
func (m *Model) maybeStream(d Draft) tea.Cmd {
	ss, ok := m.sender.(StreamSender)
	if !ok || !m.isGenerator(d.Endpoint) {
		return nil
	}
	req, err := buildRequest(d)
	if err != nil || d.Mode == ModeFile {
		return nil // let send report the error / read the file off the UI goroutine
	}
	if m.sending {
		m.cancel()
	}
	m.gen++
	m.sending = true
	ctx, cancel := context.WithTimeout(m.ctx.Base, SendTimeout)
	m.cancel = cancel
	m.nextID++
	res := &Result{ID: m.nextID, Addr: d.Addr, Draft: d, Req: req, gen: m.gen, At: m.ctx.Now(), Resp: &Response{Requests: len(req.Docs)}}
	// The result is on screen from the start and grows as items arrive.
	m.last, m.respScroll, m.tab = res, 0, tabResponse
	docs := req.Docs
	if len(docs) == 0 {
		docs = docarray.DocList{&docarray.Document{ID: docarray.NewID()}}
	}
	events := make(chan streamMsg)
	gen := m.gen
	go func() { // ends when the stream does; cancel (esc, a new send) ends it early
		defer cancel()
		defer close(events)
		for _, in := range docs {
			for doc, err := range ss.StreamDoc(ctx, d.Addr, req, in) {
				select {
				case events <- streamMsg{gen: gen, doc: doc, err: err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}
	}()
	var wait tea.Cmd
	wait = func() tea.Msg {
		ev, ok := <-events
		if !ok {
			return streamMsg{gen: gen, done: true}
		}
		ev.next = wait
		return ev
	}
	m.streamStart = time.Now()
	return wait
}

// streamed handles one stream event: an item is appended to the shown
// result, the end (or an error) finishes it and files it in the history.
func (m *Model) streamed(msg streamMsg) tea.Cmd {
	res := m.last
	if res == nil || msg.gen != res.gen {
		if msg.done {
			return nil
		}
		return msg.next // a replaced stream: drain it
	}
	res.Latency = time.Since(m.streamStart)
	if msg.doc != nil {
		res.Resp.Docs = append(res.Resp.Docs, msg.doc)
		res.json = nil // re-render the documents
	}
	if msg.err != nil {
		if f, ok := msg.err.(*ExecutorFailure); ok {
			e := f.Exception
			res.Resp.Error = &e
		} else {
			res.Err = msg.err
		}
	}
	if !msg.done {
		return msg.next
	}
	m.sending = false
	m.history = append([]*Result{res}, m.history...)
	if len(m.history) > HistorySize {
		m.history = m.history[:HistorySize]
	}
	return nil
}
