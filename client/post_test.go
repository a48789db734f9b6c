package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestBatching(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol)
		for _, tc := range []struct {
			n, size int
			want    []int // documents per request
		}{
			{0, 100, []int{0}},
			{1, 100, []int{1}},
			{99, 100, []int{99}},
			{100, 100, []int{100}},
			{101, 100, []int{100, 1}},
			{250, 100, []int{100, 100, 50}},
			{250, 0, []int{250}},
			{250, -1, []int{250}},
		} {
			t.Run(fmt.Sprintf("n=%d,size=%d", tc.n, tc.size), func(t *testing.T) {
				f.rec.reset()
				var indexes, sizes []int
				docs, _, err := c.Post(testCtx(t), "/echo", gen(tc.n), client.RequestSize(tc.size), client.Ordered(true),
					client.OnDone(func(r *client.Response) {
						indexes = append(indexes, r.Index)
						sizes = append(sizes, len(r.Docs))
						if n := r.Results()["exec"].(map[string]any)["n"]; n != float64(len(r.Docs)) {
							t.Errorf("request %d: executor saw %v docs, returned %d", r.Index, n, len(r.Docs))
						}
					}))
				if err != nil {
					t.Fatal(err)
				}
				if got := ids(docs); !slices.Equal(got, seqIDs(tc.n)) {
					t.Fatalf("ids %v", got)
				}
				for i, d := range docs {
					if want := fmt.Sprintf("DOC %d", i); d.Text != want {
						t.Fatalf("doc %d text %q, want %q", i, d.Text, want)
					}
				}
				if !slices.Equal(sizes, tc.want) {
					t.Errorf("response sizes %v, want %v", sizes, tc.want)
				}
				if want := seqInts(len(tc.want)); !slices.Equal(indexes, want) {
					t.Errorf("indexes %v, want %v", indexes, want)
				}
				var got []int
				reqIDs := map[string]bool{}
				for _, s := range f.rec.all() {
					got = append(got, s.ndocs)
					reqIDs[s.id] = true
					if s.endpoint != "/echo" {
						t.Errorf("endpoint %q", s.endpoint)
					}
				}
				sort.Sort(sort.Reverse(sort.IntSlice(got)))
				if !slices.Equal(got, tc.want) {
					t.Errorf("server saw requests of %v docs, want %v", got, tc.want)
				}
				if len(reqIDs) != len(tc.want) {
					t.Errorf("request ids not unique: %v", reqIDs)
				}
			})
		}
	})
}

func seqInts(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestEmptyEndpointIsDefault(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		f.rec.reset()
		if _, _, err := f.client(t, protocol).Post(testCtx(t), "", gen(1)); err != nil {
			t.Fatal(err)
		}
		if got := f.rec.all()[0].endpoint; got != "/default" {
			t.Fatalf("endpoint %q", got)
		}
	})
}

// TestOrdered uses /order, whose batches finish last-first.
func TestOrdered(t *testing.T) {
	f := newFixture(t)
	const batches, size = 6, 5
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol)
		for _, ordered := range []bool{true, false} {
			t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
				params := map[string]any{"batches": batches, "size": size, "run": fmt.Sprint(protocol, ordered)}
				var arrival []int
				docs, _, err := c.Post(testCtx(t), "/order", gen(batches*size), client.RequestSize(size), client.Prefetch(batches),
					client.Parameters(params), client.Ordered(ordered),
					client.OnAlways(func(r *client.Response, _ error) { arrival = append(arrival, r.Index) }))
				if err != nil {
					t.Fatal(err)
				}
				if ordered {
					if !slices.Equal(ids(docs), seqIDs(batches*size)) {
						t.Fatalf("ids %v", ids(docs))
					}
					if !slices.Equal(arrival, seqInts(batches)) {
						t.Fatalf("indexes %v", arrival)
					}
					return
				}
				got := ids(docs)
				slices.SortFunc(got, func(a, b string) int { return mustAtoi(a) - mustAtoi(b) })
				if !slices.Equal(got, seqIDs(batches*size)) {
					t.Fatalf("ids %v", got)
				}
				t.Logf("unordered arrival: %v", arrival)
			})
		}
	})
}

func TestExecutorError(t *testing.T) {
	f := newFixture(t)
	input := func() docarray.DocList {
		docs := gen(50)
		docs[17].Text = "bad" // in request 1 of 5
		return docs
	}
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol)
		t.Run("stop", func(t *testing.T) {
			_, _, err := c.Post(testCtx(t), "/fail", input(), client.RequestSize(10))
			var ee *client.ExecutorError
			if !errors.As(err, &ee) {
				t.Fatalf("want *ExecutorError, got %T %v", err, err)
			}
			if ee.Name() != "ValueError" || !slices.Equal(ee.Args(), []string{"bad doc 17"}) || ee.Executor() != "exec" || ee.Index != 1 {
				t.Fatalf("got %+v %+v", ee, ee.Status.Exception)
			}
			if want := `request 1: executor "exec" raised ValueError: bad doc 17`; err.Error() != want {
				t.Fatalf("message %q, want %q", err.Error(), want)
			}
			if ee.Status.Code != client.StatusError {
				t.Fatalf("status %v", ee.Status.Code)
			}
		})
		t.Run("continue", func(t *testing.T) {
			f.rec.reset()
			var failed []int
			run := client.Parameters(map[string]any{"run": t.Name()})
			docs, _, err := c.Post(testCtx(t), "/fail", input(), client.RequestSize(10), client.ContinueOnError(true), client.Retries(3), run,
				client.OnError(func(r *client.Response, err error) {
					failed = append(failed, r.Index)
					if r.Status.Code != client.StatusError || r.Status.Exception.Name != "ValueError" {
						t.Errorf("response status %+v", r.Status)
					}
				}))
			var ee *client.ExecutorError
			if !errors.As(err, &ee) || ee.Index != 1 || !strings.HasPrefix(err.Error(), "1 of 5 requests failed; first: request 1:") {
				t.Fatalf("got %v", err)
			}
			if len(docs) != 40 || !slices.Equal(failed, []int{1}) {
				t.Fatalf("%d docs, failed %v", len(docs), failed)
			}
			// Executor errors are never retried.
			if n := f.rec.count("/fail", t.Name()); n != 5 {
				t.Fatalf("server saw %d requests, want 5", n)
			}
		})
		t.Run("stream", func(t *testing.T) {
			var errs, oks int
			for r, err := range c.Stream(testCtx(t), "/fail", slices.Values(input()), client.RequestSize(10), client.ContinueOnError(true)) {
				if err != nil {
					var ee *client.ExecutorError
					if !errors.As(err, &ee) || r == nil || r.Index != 1 {
						t.Fatalf("got %v %+v", err, r)
					}
					errs++
					continue
				}
				oks++
			}
			if errs != 1 || oks != 4 {
				t.Fatalf("%d errors, %d ok", errs, oks)
			}
		})
		t.Run("ordered", func(t *testing.T) {
			var indexes []int
			for r, err := range c.Stream(testCtx(t), "/fail", slices.Values(input()), client.RequestSize(10), client.ContinueOnError(true), client.Ordered(true)) {
				if (err != nil) != (r.Index == 1) {
					t.Fatalf("request %d: %v", r.Index, err)
				}
				indexes = append(indexes, r.Index)
			}
			if !slices.Equal(indexes, seqInts(5)) {
				t.Fatalf("indexes %v", indexes)
			}
		})
	})
}

func TestParametersTargetAndResults(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		f.rec.reset()
		c := f.client(t, protocol)
		params := map[string]any{"k": "v", "n": 3, "exec": map[string]any{"only": true}, "other__x": 1}
		var resp *client.Response
		_, _, err := c.Post(testCtx(t), "/echo", gen(3), client.Parameters(params), client.TargetExecutor("ex.*"),
			client.OnDone(func(r *client.Response) { resp = r }))
		if err != nil {
			t.Fatal(err)
		}
		s := f.rec.all()[0]
		if s.target != "ex.*" || s.params["k"] != "v" || s.params["n"] != float64(3) {
			t.Fatalf("server saw %+v", s)
		}
		res := resp.Results()["exec"].(map[string]any)
		got := res["params"].(map[string]any)
		if got["k"] != "v" || got["only"] != true || got["x"] != nil || res["n"] != float64(3) {
			t.Fatalf("results %v", res)
		}
		if resp.Parameters["k"] != "v" {
			t.Fatalf("parameters %v", resp.Parameters)
		}
		if len(resp.RequestID) != 32 || resp.Status.Code != client.StatusSuccess {
			t.Fatalf("response %+v", resp)
		}
	})
}

// Post returns the executors' results (parameters["__results__"]) with
// the documents, one entry per request, without an OnDone callback.
func TestPostReturnsResults(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol)
		docs, results, err := c.Post(testCtx(t), "/echo", gen(5), client.RequestSize(2), client.Ordered(true),
			client.Parameters(map[string]any{"k": "v"}))
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 5 {
			t.Fatalf("got %d documents, want 5", len(docs))
		}
		got := results["exec"]
		if len(results) != 1 || len(got) != 3 {
			t.Fatalf("results %v: want 3 entries under exec", results)
		}
		for i, want := range []float64{2, 2, 1} { // batches of 2, 2, 1 in input order
			r := got[i].(map[string]any)
			if r["n"] != want || r["params"].(map[string]any)["k"] != "v" {
				t.Fatalf("results[exec][%d] = %v, want n=%v and the parameters", i, r, want)
			}
		}
		// An endpoint whose handler returns no results: none.
		_, results, err = c.Post(testCtx(t), "/fail", gen(2))
		if err != nil || results != nil {
			t.Fatalf("results %v, err %v; want none", results, err)
		}
	})
}

func TestBadOptions(t *testing.T) {
	c := newClient(t, "grpc://127.0.0.1:1")
	for name, opt := range map[string]client.PostOption{
		"target":  client.TargetExecutor("("),
		"retries": client.Retries(-1),
		"params":  client.Parameters(map[string]any{"f": func() {}}),
	} {
		_, _, err := c.Post(context.Background(), "/x", nil, opt)
		if !errors.Is(err, yamlutil.ErrBadInput) {
			t.Errorf("%s: want bad input, got %v", name, err)
		}
	}
	// A document that cannot be encoded names its position.
	bad := gen(3)
	bad[2].Tags = map[string]any{"c": make(chan int)}
	_, _, err := c.Post(context.Background(), "/x", bad)
	if !errors.Is(err, yamlutil.ErrBadInput) || !strings.Contains(err.Error(), `document 2 (id "2")`) {
		t.Errorf("got %v", err)
	}
	_, _, err = c.Post(context.Background(), "/x", docarray.DocList{nil})
	if !errors.Is(err, yamlutil.ErrBadInput) {
		t.Errorf("nil doc: got %v", err)
	}
}

// TestBoundedInFlight checks that at most Prefetch requests are in flight
// (the /gate executor holds requests until Prefetch are in its handler at
// once, so the maximum it sees is exactly the client's bound), and that a
// lazily generated input runs at most about Prefetch requests ahead of
// the consumer.
func TestBoundedInFlight(t *testing.T) {
	const prefetch, size, batches = 4, 5, 40
	forEach(t, func(t *testing.T, protocol string) {
		f := newFixture(t)
		c := f.client(t, protocol)
		var produced, consumed int
		var mu sync.Mutex
		docs := func(yield func(*docarray.Document) bool) {
			for i := range batches * size {
				mu.Lock()
				produced++
				mu.Unlock()
				if !yield(&docarray.Document{ID: fmt.Sprint(i)}) {
					return
				}
			}
		}
		params := map[string]any{"prefetch": prefetch, "batches": batches}
		maxAhead := 0
		for r, err := range c.Stream(testCtx(t), "/gate", docs, client.RequestSize(size), client.Prefetch(prefetch), client.Parameters(params)) {
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			consumed += len(r.Docs)
			maxAhead = max(maxAhead, produced-consumed)
			mu.Unlock()
		}
		if consumed != batches*size {
			t.Fatalf("consumed %d", consumed)
		}
		if got := f.exec.gateMax(); got != prefetch {
			t.Fatalf("server saw up to %d requests at once, want %d", got, prefetch)
		}
		if limit := (prefetch + 2) * size; maxAhead > limit {
			t.Fatalf("generator ran %d docs ahead of the consumer, limit %d", maxAhead, limit)
		}
		t.Logf("generator at most %d docs ahead (%d requests of %d)", maxAhead, maxAhead/size, size)
	})
}

// TestStreamLarge streams 20k generated documents through Stream with a
// small Prefetch; the generator must never run far ahead.
func TestStreamLarge(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol)
		// 40 requests with 4 in flight: the generator's lead is bounded
		// long before the end (more documents per request only add
		// encoding time).
		const n, size, prefetch = 4000, 100, 4
		var produced atomic.Int64
		docs := func(yield func(*docarray.Document) bool) {
			for i := range n {
				produced.Add(1)
				if !yield(&docarray.Document{ID: fmt.Sprint(i), Text: "doc"}) {
					return
				}
			}
		}
		got, maxAhead := 0, 0
		for r, err := range c.Stream(testCtx(t), "/echo", docs, client.RequestSize(size), client.Prefetch(prefetch)) {
			if err != nil {
				t.Fatal(err)
			}
			got += len(r.Docs)
			maxAhead = max(maxAhead, int(produced.Load())-got)
		}
		if got != n || maxAhead > (prefetch+2)*size {
			t.Fatalf("got %d docs, generator up to %d ahead", got, maxAhead)
		}
	})
}

func TestCancelMidStream(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, _, err := c.Post(ctx, "/block", gen(30), client.RequestSize(10), client.Prefetch(2))
			done <- err
		}()
		<-f.exec.started // a request is being processed
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("want context.Canceled, got %v", err)
			}
			t.Logf("returned %s after cancel", time.Since(start))
		case <-time.After(5 * time.Second):
			t.Fatal("Post did not return after cancel")
		}
		drain(f.exec.started)
	})
}

func drain(c chan string) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func TestStreamBreak(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol)
		n := 0
		for _, err := range c.Stream(testCtx(t), "/echo", slices.Values(gen(200)), client.RequestSize(1), client.Prefetch(8)) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 3 {
				break
			}
		}
		if n != 3 {
			t.Fatalf("n=%d", n)
		}
	})
}

func TestTimeout(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		f.rec.reset()
		c := f.client(t, protocol)
		_, _, err := c.Post(testCtx(t), "/block", gen(1), client.Timeout(100*time.Millisecond), client.Retries(2), client.Parameters(map[string]any{"run": t.Name()}))
		if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "request 0:") {
			t.Fatalf("got %v (%v)", err, status.Code(err))
		}
		if n := f.rec.count("/block", t.Name()); n != 1 {
			t.Fatalf("sent %d times; deadlines must not be retried", n)
		}
		drain(f.exec.started)
	})
}

// TestLargeBatch sends an 8 MiB batch over gRPC (4 times grpc-go's
// default message limit). Over HTTP it sends 1 MiB: 8 MiB works too, but
// JSON decoding of 11 MB of base64 takes seconds under -race.
func TestLargeBatch(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		size := 8 << 20
		if protocol == "http" {
			size = 1 << 20
		}
		blob := bytes.Repeat([]byte("0123456789abcdef"), size/16)
		docs, _, err := f.client(t, protocol).Post(testCtx(t), "/echo", docarray.DocList{{ID: "big", Blob: blob}})
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 1 || !bytes.Equal(docs[0].Blob, blob) {
			t.Fatal("blob did not round-trip")
		}
	})
}

func TestCallbacksAndRoutes(t *testing.T) {
	start := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
	f := newFixture(t)
	f.httpHook = func(resp *jinapb.DataRequestProto) {
		resp.Routes = append(resp.Routes, &jinapb.RouteProto{Executor: "exec", StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(time.Millisecond)),
			Status: &jinapb.StatusProto{}})
	}
	c := f.client(t, "http")
	var done, always int
	err := c.PostStream(testCtx(t), "/echo", slices.Values(gen(25)), client.RequestSize(10),
		client.OnDone(func(r *client.Response) {
			done++
			if len(r.Routes) != 1 || !r.Routes[0].Start.Equal(start) || r.Routes[0].End.Sub(r.Routes[0].Start) != time.Millisecond ||
				r.Routes[0].Executor != "exec" || r.Routes[0].Status == nil || r.Routes[0].Status.Code != client.StatusSuccess {
				t.Errorf("routes %+v", r.Routes)
			}
		}),
		client.OnAlways(func(*client.Response, error) { always++ }))
	if err != nil || done != 3 || always != 3 {
		t.Fatalf("err %v, done %d, always %d", err, done, always)
	}
}
