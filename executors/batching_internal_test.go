package executors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// fakeHandler records the batches it sees and answers each document with
// its text upper-cased; a document "bad" fails the whole batch.
type fakeHandler struct {
	mu      sync.Mutex
	batches [][]string
	results bool
	drop    bool // return one document less than given
}

func (f *fakeHandler) process(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	docs, err := RequestDocs(req)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.batches = append(f.batches, docs.Texts())
	f.mu.Unlock()
	resp := wire.Shallow(req)
	for _, d := range docs {
		if d.Text == "bad" {
			resp.Header = proto.CloneOf(req.GetHeader())
			resp.Header.Status = ErrorStatus(Errorf("ValueError", "bad doc"), "fake", "")
			return resp, nil
		}
		d.Text = strings.ToUpper(d.Text)
	}
	if f.drop {
		docs = docs[1:]
	}
	if err := SetRequestDocs(resp, docs); err != nil {
		return nil, err
	}
	if f.results {
		if resp.Parameters, err = MergeResults(req.GetParameters(), "fake", Results{"n": len(docs)}); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

func (f *fakeHandler) sizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int, len(f.batches))
	for i, b := range f.batches {
		out[i] = len(b)
	}
	return out
}

func batchReq(endpoint string, params map[string]any, texts ...string) *jinapb.DataRequestProto {
	docs := make(docarray.DocList, len(texts))
	for i, t := range texts {
		docs[i] = &docarray.Document{ID: "id-" + t, Text: t}
	}
	req := &jinapb.DataRequestProto{
		Header: &jinapb.HeaderProto{RequestId: "req-" + strings.Join(texts, "+"), ExecEndpoint: proto.String(endpoint)},
		Data:   &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: docs.ToProto()}},
	}
	if params != nil {
		req.Parameters, _ = structpb.NewStruct(params)
	}
	return req
}

func newTestBatcher(f *fakeHandler, cfg BatchConfig) *Batcher {
	return NewBatcher("fake", func(ep string) (BatchConfig, bool) { return cfg, ep == "/embed" }, f.process)
}

// texts returns the texts of a successful response, failing the test
// otherwise.
func texts(t *testing.T, resp *jinapb.DataRequestProto, err error) []string {
	t.Helper()
	if err != nil {
		t.Fatalf("process: %v", err)
	}
	if st := resp.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
		t.Fatalf("status: %s", st.GetDescription())
	}
	docs, err := RequestDocs(resp)
	if err != nil {
		t.Fatal(err)
	}
	return docs.Texts()
}

func TestBatcherMergesUpToPreferredSize(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := &fakeHandler{}
	// The timeout is far away: batches form by size alone, so their
	// number does not depend on scheduling.
	b := newTestBatcher(f, BatchConfig{PreferredBatchSize: 10, Timeout: int(time.Hour / time.Millisecond)})
	defer b.Close(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			text := fmt.Sprint("doc", i)
			resp, err := b.Process(context.Background(), batchReq("/embed", nil, text))
			if err != nil {
				errs <- err
				return
			}
			docs, _ := RequestDocs(resp)
			if len(docs) != 1 || docs[0].Text != strings.ToUpper(text) || docs[0].ID != "id-"+text || resp.GetHeader().GetRequestId() != "req-"+text {
				errs <- fmt.Errorf("caller %s got %v (request %s)", text, docs.Texts(), resp.GetHeader().GetRequestId())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := f.sizes(); !slices.Equal(got, []int{10, 10, 10, 10, 10}) {
		t.Errorf("batch sizes %v, want five batches of 10", got)
	}
}

func TestBatcherTimeoutFlushesPartialBatches(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := &fakeHandler{}
	b := newTestBatcher(f, BatchConfig{PreferredBatchSize: 1000, Timeout: 1})
	defer b.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// One at a time: each can only complete through the timeout.
	for _, text := range []string{"a", "b", "c"} {
		resp, err := b.Process(ctx, batchReq("/embed", nil, text))
		if got := texts(t, resp, err); !slices.Equal(got, []string{strings.ToUpper(text)}) {
			t.Errorf("%s: got %v", text, got)
		}
	}
	if got := f.sizes(); !slices.Equal(got, []int{1, 1, 1}) {
		t.Errorf("batch sizes %v", got)
	}
}

func TestBatcherNeverSplitsARequest(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := &fakeHandler{}
	b := newTestBatcher(f, BatchConfig{PreferredBatchSize: 2, Timeout: 0})
	defer b.Close(context.Background())
	resp, err := b.Process(context.Background(), batchReq("/embed", nil, "a", "b", "c"))
	if got := texts(t, resp, err); !slices.Equal(got, []string{"A", "B", "C"}) {
		t.Errorf("got %v", got)
	}
	if got := f.sizes(); !slices.Equal(got, []int{3}) {
		t.Errorf("batch sizes %v", got)
	}
}

func TestBatcherErrorFailsOnlyItsBatch(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := &fakeHandler{}
	b := newTestBatcher(f, BatchConfig{PreferredBatchSize: 2, Timeout: int(time.Hour / time.Millisecond)})
	defer b.Close(context.Background())
	// Different parameters never share a batch: group 1 holds the bad
	// document, group 2 does not.
	type result struct {
		text string
		resp *jinapb.DataRequestProto
		err  error
	}
	results := make(chan result, 4)
	var wg sync.WaitGroup
	for _, c := range []struct {
		group int
		text  string
	}{{1, "bad"}, {1, "x"}, {2, "y"}, {2, "z"}} {
		wg.Go(func() {
			resp, err := b.Process(context.Background(), batchReq("/embed", map[string]any{"group": c.group}, c.text))
			results <- result{c.text, resp, err}
		})
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil {
			t.Fatalf("%s: %v", r.text, r.err)
		}
		st := r.resp.GetHeader().GetStatus()
		failed := st.GetCode() == jinapb.StatusProto_ERROR
		if wantFail := r.text == "bad" || r.text == "x"; failed != wantFail {
			t.Errorf("%s: failed=%v (%s), want %v", r.text, failed, st.GetDescription(), wantFail)
		}
		if failed {
			if st.GetException().GetName() != "ValueError" {
				t.Errorf("%s: exception %v", r.text, st.GetException())
			}
			// A failed caller gets its own documents back, untouched.
			docs, _ := RequestDocs(r.resp)
			if !slices.Equal(docs.Texts(), []string{r.text}) || r.resp.GetHeader().GetRequestId() != "req-"+r.text {
				t.Errorf("%s: failed response carries %v / %s", r.text, docs.Texts(), r.resp.GetHeader().GetRequestId())
			}
		} else if docs, _ := RequestDocs(r.resp); !slices.Equal(docs.Texts(), []string{strings.ToUpper(r.text)}) {
			t.Errorf("%s: got %v", r.text, docs.Texts())
		}
	}
}

func TestBatcherTransportErrorReachesEveryCaller(t *testing.T) {
	defer goleak.VerifyNone(t)
	boom := errors.New("unavailable")
	var calls int
	b := NewBatcher("fake", func(string) (BatchConfig, bool) { return BatchConfig{PreferredBatchSize: 2, Timeout: 60_000}, true },
		func(context.Context, *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
			calls++
			return nil, boom
		})
	defer b.Close(context.Background())
	var wg sync.WaitGroup
	for _, text := range []string{"a", "b"} {
		wg.Go(func() {
			if _, err := b.Process(context.Background(), batchReq("/embed", nil, text)); !errors.Is(err, boom) {
				t.Errorf("%s: err %v", text, err)
			}
		})
	}
	wg.Wait()
	if calls != 1 {
		t.Errorf("process called %d times, want once for the batch", calls)
	}
}

func TestBatcherCancelledCallerLeavesTheQueue(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := &fakeHandler{}
	b := newTestBatcher(f, BatchConfig{PreferredBatchSize: 2, Timeout: int(time.Hour / time.Millisecond)})
	defer b.Close(context.Background())
	queued := make(chan struct{}, 3)
	b.onQueued = func() { queued <- struct{}{} }

	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := b.Process(ctx, batchReq("/embed", nil, "gone"))
		gone <- err
	}()
	<-queued
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}

	var wg sync.WaitGroup
	for _, text := range []string{"b", "c"} {
		wg.Go(func() {
			resp, err := b.Process(context.Background(), batchReq("/embed", nil, text))
			if got := texts(t, resp, err); !slices.Equal(got, []string{strings.ToUpper(text)}) {
				t.Errorf("%s: got %v", text, got)
			}
		})
	}
	wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.batches) != 1 || len(f.batches[0]) != 2 || slices.Contains(f.batches[0], "gone") {
		t.Errorf("batches %v, want one batch of b and c", f.batches)
	}
}

func TestBatcherCloseDrainsTheQueue(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := &fakeHandler{}
	b := newTestBatcher(f, BatchConfig{PreferredBatchSize: 100, Timeout: int(time.Hour / time.Millisecond)})
	queued := make(chan struct{}, 3)
	b.onQueued = func() { queued <- struct{}{} }
	var wg sync.WaitGroup
	for _, text := range []string{"a", "b", "c"} {
		wg.Go(func() {
			resp, err := b.Process(context.Background(), batchReq("/embed", nil, text))
			if got := texts(t, resp, err); !slices.Equal(got, []string{strings.ToUpper(text)}) {
				t.Errorf("%s: got %v", text, got)
			}
		})
	}
	for range 3 {
		<-queued
	}
	b.Close(context.Background())
	wg.Wait()
	if got := f.sizes(); !slices.Equal(got, []int{3}) {
		t.Errorf("batch sizes %v, want the three queued requests in one batch", got)
	}
	// After Close requests are processed one by one.
	resp, err := b.Process(context.Background(), batchReq("/embed", nil, "late"))
	if got := texts(t, resp, err); !slices.Equal(got, []string{"LATE"}) {
		t.Errorf("after close: %v", got)
	}
}

func TestBatcherResultsBytesAndUnbatchedEndpoints(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := &fakeHandler{results: true}
	b := newTestBatcher(f, BatchConfig{PreferredBatchSize: 2, Timeout: int(time.Hour / time.Millisecond)})
	defer b.Close(context.Background())

	asBytes := batchReq("/embed", nil, "a")
	raw, err := docarray.DocList{{ID: "id-a", Text: "a"}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	asBytes.Data.Documents = &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: raw}
	var wg sync.WaitGroup
	for _, req := range []*jinapb.DataRequestProto{asBytes, batchReq("/embed", nil, "b")} {
		wg.Go(func() {
			resp, err := b.Process(context.Background(), req)
			if err != nil {
				t.Error(err)
				return
			}
			_, wasBytes := req.Data.Documents.(*jinapb.DataRequestProto_DataContentProto_DocsBytes)
			if _, isBytes := resp.Data.Documents.(*jinapb.DataRequestProto_DataContentProto_DocsBytes); isBytes != wasBytes {
				t.Errorf("docs_bytes in %v, out %v", wasBytes, isBytes)
			}
			n := resp.GetParameters().GetFields()[ResultsKey].GetStructValue().GetFields()["fake"].GetStructValue().GetFields()["n"].GetNumberValue()
			if n != 2 {
				t.Errorf("results of the batch should reach every caller, got n=%v", n)
			}
		})
	}
	wg.Wait()

	// Endpoints without batching go straight through.
	resp, err := b.Process(context.Background(), batchReq("/other", nil, "x"))
	if got := texts(t, resp, err); !slices.Equal(got, []string{"X"}) {
		t.Errorf("unbatched: %v", got)
	}
}

func TestBatcherRejectsAChangedDocumentCount(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := &fakeHandler{drop: true}
	b := newTestBatcher(f, BatchConfig{PreferredBatchSize: 2, Timeout: int(time.Hour / time.Millisecond)})
	defer b.Close(context.Background())
	var wg sync.WaitGroup
	for _, text := range []string{"a", "b"} {
		wg.Go(func() {
			resp, err := b.Process(context.Background(), batchReq("/embed", nil, text))
			if err != nil {
				t.Error(err)
				return
			}
			st := resp.GetHeader().GetStatus()
			if st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetName() != "BadResult" || !strings.Contains(st.GetDescription(), "returned 1 documents for a batch of 2") {
				t.Errorf("%s: status %v", text, st)
			}
		})
	}
	wg.Wait()
}

func TestBatcherCloseCancelsWhenOutOfTime(t *testing.T) {
	defer goleak.VerifyNone(t)
	started := make(chan struct{})
	b := NewBatcher("fake", func(string) (BatchConfig, bool) { return BatchConfig{Timeout: 0}, true },
		func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
			close(started)
			<-ctx.Done() // a handler that only stops when cancelled
			return nil, ctx.Err()
		})
	res := make(chan error, 1)
	go func() {
		_, err := b.Process(context.Background(), batchReq("/embed", nil, "slow"))
		res <- err
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time left: a kill, not a drain
	b.Close(ctx)
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Errorf("caller of a cancelled batch: %v", err)
	}
}
