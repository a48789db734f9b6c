package executors_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// words is a test generator executor: /words yields the words of a text
// (untyped), /typed the same on typed documents, /plain is a batch handler.
// When gate is set, each word waits for a value from it first, so tests
// can tell that items leave one by one, as produced.
type words struct {
	executors.Base
	gate    chan struct{}
	stopped chan bool // receives true when a generator saw yield return false
}

type wordIn struct {
	Text string `doc:"text"`
}

type wordOut struct {
	Text  string `doc:"text"`
	Index int    `doc:"index"`
}

func (w *words) Endpoints(r *executors.Router) {
	r.On("/words", executors.Generator(w.Words))
	r.On("/typed", executors.TypedGenerator(w.Typed))
	r.On("/plain", func(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
		return nil, nil
	})
}

func (w *words) Words(ctx context.Context, doc *docarray.Document, p executors.Params) iter.Seq2[*docarray.Document, error] {
	return func(yield func(*docarray.Document, error) bool) {
		for _, word := range strings.Fields(doc.Text) {
			if w.gate != nil {
				<-w.gate
			}
			switch word {
			case "boom":
				yield(nil, executors.Errorf("Boom", "exploded at %s", word))
				return
			case "panic":
				panic("generator panicked on purpose")
			}
			d := docarray.New(p.String("prefix", "") + word)
			if !yield(d, nil) {
				if w.stopped != nil {
					w.stopped <- true
				}
				return
			}
		}
	}
}

func (w *words) Typed(ctx context.Context, doc wordIn, p executors.Params) iter.Seq2[wordOut, error] {
	return func(yield func(wordOut, error) bool) {
		for i, word := range strings.Fields(doc.Text) {
			if !yield(wordOut{Text: word, Index: i}, nil) {
				return
			}
		}
	}
}

func init() {
	executors.Register("TestWords", func() executors.Executor { return &words{} })
}

func newWords(t *testing.T, w *words) *executors.Instance {
	t.Helper()
	spec, err := executors.NewSpec("TestWords", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = "words"
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if w != nil {
		ex := inst.Executor().(*words)
		ex.gate, ex.stopped = w.gate, w.stopped
	}
	t.Cleanup(func() { inst.Close() })
	return inst
}

func streamReq(endpoint, text string, params map[string]any) *jinapb.SingleDocumentRequestProto {
	req := &jinapb.SingleDocumentRequestProto{
		Header:   &jinapb.HeaderProto{RequestId: "rid", ExecEndpoint: proto.String(endpoint)},
		Document: (&docarray.Document{ID: "in", Text: text}).ToProto(),
	}
	if params != nil {
		req.Parameters, _ = structpb.NewStruct(params)
	}
	return req
}

func collect(t *testing.T, inst *executors.Instance, req *jinapb.SingleDocumentRequestProto) []*jinapb.SingleDocumentRequestProto {
	t.Helper()
	var out []*jinapb.SingleDocumentRequestProto
	if err := inst.StreamDoc(context.Background(), req, func(it *jinapb.SingleDocumentRequestProto) error {
		out = append(out, it)
		return nil
	}); err != nil {
		t.Fatalf("StreamDoc: %v", err)
	}
	return out
}

func itemText(t *testing.T, it *jinapb.SingleDocumentRequestProto) string {
	t.Helper()
	if st := it.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
		t.Fatalf("item has error status: %s", st.GetDescription())
	}
	d, err := docarray.DocFromProto(it.GetDocument())
	if err != nil {
		t.Fatal(err)
	}
	if d.ID == "" {
		t.Errorf("yielded document %q has no id", d.Text)
	}
	return d.Text
}

func TestStreamDocYieldsInOrderWithParameters(t *testing.T) {
	inst := newWords(t, nil)
	items := collect(t, inst, streamReq("/words", "a b c", map[string]any{"words": map[string]any{"prefix": ">"}}))
	var got []string
	for _, it := range items {
		got = append(got, itemText(t, it))
		if it.GetHeader().GetRequestId() != "rid" {
			t.Errorf("item request_id %q, want rid", it.GetHeader().GetRequestId())
		}
	}
	if strings.Join(got, ",") != ">a,>b,>c" {
		t.Fatalf("items %v, want >a >b >c", got)
	}
}

// TestStreamDocSendsEachItemBeforeTheNextIsProduced holds the generator
// before every word: an item must reach send while the generator still
// waits, i.e. nothing is buffered until the end.
func TestStreamDocSendsEachItemBeforeTheNextIsProduced(t *testing.T) {
	gate := make(chan struct{})
	inst := newWords(t, &words{gate: gate})
	got := make(chan string, 3)
	done := make(chan error, 1)
	go func() {
		done <- inst.StreamDoc(context.Background(), streamReq("/words", "x y z", nil), func(it *jinapb.SingleDocumentRequestProto) error {
			d, _ := docarray.DocFromProto(it.GetDocument())
			got <- d.Text
			return nil
		})
	}()
	for _, want := range []string{"x", "y", "z"} {
		select {
		case gate <- struct{}{}: // let the generator produce one word
		case <-time.After(30 * time.Second):
			t.Fatalf("the generator never asked for %q", want)
		}
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("item %q, want %q", g, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("item %q was produced but never sent: the stream is buffered", want)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestStreamDocStopsGeneratorWhenSendFails(t *testing.T) {
	stopped := make(chan bool, 1)
	inst := newWords(t, &words{stopped: stopped})
	gone := errors.New("client went away")
	n := 0
	err := inst.StreamDoc(context.Background(), streamReq("/words", "a b c d", nil), func(*jinapb.SingleDocumentRequestProto) error {
		n++
		return gone
	})
	if !errors.Is(err, gone) {
		t.Fatalf("err %v, want the send error", err)
	}
	if n != 1 || !<-stopped {
		t.Fatalf("send called %d times; the generator must stop after the failed send", n)
	}
}

func TestStreamDocErrors(t *testing.T) {
	inst := newWords(t, nil)
	for _, tc := range []struct {
		text, name, arg string
		before          int
	}{
		{"a boom c", "Boom", "exploded at boom", 1},
		{"a b panic", "Panic", "generator panicked on purpose", 2},
	} {
		items := collect(t, inst, streamReq("/words", tc.text, nil))
		if len(items) != tc.before+1 {
			t.Fatalf("%q: %d items, want %d then the error", tc.text, len(items), tc.before)
		}
		last := items[len(items)-1].GetHeader().GetStatus()
		if last.GetCode() != jinapb.StatusProto_ERROR || last.GetException().GetName() != tc.name ||
			!strings.Contains(strings.Join(last.GetException().GetArgs(), " "), tc.arg) || last.GetException().GetExecutor() != "words" {
			t.Fatalf("%q: last item status %v, want %s(%s) from executor words", tc.text, last, tc.name, tc.arg)
		}
	}
}

// TestStreamDocOnNonGenerator mirrors Jina's worker: the request comes
// back once with ValueError('endpoint must be generator'); an endpoint
// nobody serves passes the request through.
func TestStreamDocOnNonGenerator(t *testing.T) {
	inst := newWords(t, nil)
	items := collect(t, inst, streamReq("/plain", "a b", nil))
	if len(items) != 1 {
		t.Fatalf("%d items, want 1", len(items))
	}
	st := items[0].GetHeader().GetStatus()
	if st.GetException().GetName() != "ValueError" || st.GetException().GetArgs()[0] != "endpoint must be generator" {
		t.Fatalf("status %v, want ValueError endpoint must be generator", st)
	}
	req := streamReq("/nobody", "a b", nil)
	items = collect(t, inst, req)
	if len(items) != 1 || !proto.Equal(items[0], req) {
		t.Fatalf("unserved endpoint: got %v, want the request back", items)
	}
}

func TestTypedGeneratorAndDiscovery(t *testing.T) {
	inst := newWords(t, nil)
	items := collect(t, inst, streamReq("/typed", "p q", nil))
	if len(items) != 2 {
		t.Fatalf("%d items, want 2", len(items))
	}
	d, err := docarray.DocFromProto(items[1].GetDocument())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := d.Field("index"); d.Text != "q" || toInt(v) != 1 {
		t.Fatalf("second item %+v (index %v), want q at index 1", d, v)
	}
	eps := inst.Endpoints()
	s := eps.GetSchemas().GetFields()
	for ep, want := range map[string]bool{"/words": true, "/typed": true} {
		entry := s[ep].GetStructValue().GetFields()
		if entry["is_generator"].GetBoolValue() != want || entry["is_singleton_doc"].GetBoolValue() != want {
			t.Errorf("%s: is_generator %v is_singleton_doc %v, want %v", ep, entry["is_generator"], entry["is_singleton_doc"], want)
		}
	}
	if s["/typed"].GetStructValue().GetFields()["input"] == nil {
		t.Errorf("/typed publishes no input schema")
	}
	if !inst.IsGenerator("/words") || inst.IsGenerator("/plain") {
		t.Errorf("IsGenerator(/words)=%v IsGenerator(/plain)=%v", inst.IsGenerator("/words"), inst.IsGenerator("/plain"))
	}
}

// TestGeneratorAsBatch: a generator endpoint sent an ordinary request
// answers everything each document yields, in order.
func TestGeneratorAsBatch(t *testing.T) {
	inst := newWords(t, nil)
	resp := inst.Process(context.Background(), request("/words", nil, "a b", "c"))
	var got []string
	for _, d := range respDocs(t, resp) {
		got = append(got, d.Text)
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("docs %v, want a b c", got)
	}
	resp = inst.Process(context.Background(), request("/words", nil, "a boom"))
	if st := resp.GetHeader().GetStatus(); st.GetException().GetName() != "Boom" {
		t.Fatalf("status %v, want Boom", st)
	}
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return -1
}
