package engine_test

import (
	"bufio"
	"context"
	"errors"
	"iter"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

// engGates hold EngStream's generator before each word until the test
// lets it go, so the tests can tell that every item crosses the gateway
// before the next one is produced. One gate per input text, so that a
// stream of one test can never take another's turn.
var engGates sync.Map // text -> chan struct{}

func gateOf(text string) chan struct{} {
	g, _ := engGates.LoadOrStore(text, make(chan struct{}))
	return g.(chan struct{})
}

// engStream yields the words of a text on /stream, one per gate value;
// "boom" makes it fail.
type engStream struct{ executors.Base }

func (s *engStream) Endpoints(r *executors.Router) {
	r.On("/stream", executors.Generator(s.Stream))
}

func (s *engStream) Stream(ctx context.Context, doc *docarray.Document, p executors.Params) iter.Seq2[*docarray.Document, error] {
	return func(yield func(*docarray.Document, error) bool) {
		gate := gateOf(doc.Text)
		for _, w := range strings.Fields(doc.Text) {
			select {
			case <-gate:
			case <-ctx.Done():
				return
			}
			if w == "boom" {
				yield(nil, executors.Errorf("Boom", "no %s", w))
				return
			}
			if !yield(docarray.New(p.String("prefix", "")+w), nil) {
				return
			}
		}
	}
}

// release lets the generator of text produce n words (or gives up when
// ctx ends).
func release(ctx context.Context, text string, n int) {
	gate := gateOf(text)
	for range n {
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			return
		}
	}
}

func init() {
	executors.Register("EngStream", func() executors.Executor { return &engStream{} })
}

const streamFlow = `
jtype: Flow
with: {protocol: [grpc, http]}
executors:
  - {name: first, uses: EngTagger}
  - {name: gen, uses: EngStream, replicas: 2, needs: [first]}
`

// TestStreamDocThroughGateway streams through both gateways with the Go
// client: items arrive in order, one at a time (the generator is held
// until the previous item was received), the generator deployment is found
// behind a non-generator one, and discovery marks the endpoint.
func TestStreamDocThroughGateway(t *testing.T) {
	eng := startFlow(t, streamFlow)
	for _, addr := range []string{"grpc://" + eng.Addresses().GRPC, "http://" + eng.Addresses().HTTP} {
		t.Run(addr[:strings.Index(addr, ":")], func(t *testing.T) {
			c, err := client.New(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			eps, err := c.Endpoints(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !eps.IsGenerator("/stream") {
				t.Fatalf("discovery does not mark /stream a generator: %v", eps.Schemas)
			}
			type item struct {
				d   *docarray.Document
				err error
			}
			text := "alpha beta gamma " + addr // a gate of its own
			gate := gateOf(text)
			got := make(chan item)
			go func() {
				defer close(got)
				for d, err := range c.StreamDoc(ctx, "/stream", docarray.New(text), client.Parameters(map[string]any{"gen": map[string]any{"prefix": "~"}})) {
					got <- item{d, err}
				}
			}()
			for _, want := range strings.Fields(text) {
				// The generator produces the next word only now: receiving
				// it proves the previous one was not held back.
				select {
				case gate <- struct{}{}:
				case <-ctx.Done():
					t.Fatalf("generator never asked for %q", want)
				}
				it, ok := <-got
				if !ok || it.err != nil {
					t.Fatalf("want %q: ok %v err %v", want, ok, it.err)
				}
				if strings.HasPrefix(addr, "grpc") {
					want = "~" + want // parameters travel over gRPC only, as in Jina
				}
				if it.d.Text != want || it.d.ID == "" {
					t.Fatalf("item %+v, want text %q with an id", it.d, want)
				}
			}
			if it, ok := <-got; ok {
				t.Fatalf("item after the last one: %+v", it)
			}
		})
	}
}

func TestStreamDocExecutorError(t *testing.T) {
	eng := startFlow(t, streamFlow)
	for _, addr := range []string{"grpc://" + eng.Addresses().GRPC, "http://" + eng.Addresses().HTTP} {
		c, err := client.New(addr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var got []string
		var last error
		text := "ok boom never " + addr
		go release(ctx, text, 2)
		for d, err := range c.StreamDoc(ctx, "/stream", docarray.New(text)) {
			if err != nil {
				last = err
				break
			}
			got = append(got, d.Text)
		}
		cancel()
		c.Close()
		var ee *client.ExecutorError
		if !errors.As(last, &ee) || ee.Status.Exception == nil || ee.Status.Exception.Name != "Boom" || ee.Status.Exception.Executor != "gen" {
			t.Fatalf("%s: error %v, want Boom from gen", addr, last)
		}
		if strings.Join(got, ",") != "ok" {
			t.Fatalf("%s: items before the error %v, want [ok]", addr, got)
		}
	}
}

// TestStreamDocHTTPWireForm checks the bytes Jina's HTTP client parses:
// it splits on "event: " and cuts 14 bytes ("update\r\ndata: ") before
// the JSON.
func TestStreamDocHTTPWireForm(t *testing.T) {
	eng := startFlow(t, streamFlow)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go release(ctx, "x y", 2)
	req, _ := http.NewRequest("GET", "http://"+eng.Addresses().HTTP+"/stream?text=x%20y&id=in1", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("status %d content-type %q", resp.StatusCode, ct)
	}
	var body strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Split(bufio.ScanBytes)
	for sc.Scan() {
		body.WriteString(sc.Text())
	}
	events := strings.Split(body.String(), "event: ")[1:]
	if len(events) != 3 || events[2] != "end\r\n\r\n" {
		t.Fatalf("events %q, want two updates and an end", events)
	}
	for i, want := range []string{"x", "y"} {
		ev := events[i]
		if !strings.HasPrefix(ev, "update\r\ndata: ") || !strings.HasSuffix(ev, "\r\n\r\n") {
			t.Fatalf("event %q is not in Jina's form", ev)
		}
		d := &docarray.Document{}
		if err := d.UnmarshalJSON([]byte(strings.TrimSpace(ev[14:]))); err != nil || d.Text != want {
			t.Fatalf("event %q: doc %+v err %v, want text %q", ev, d, err, want)
		}
	}
	// Non-generator endpoints have no GET route.
	r2, err := http.Get("http://" + eng.Addresses().HTTP + "/index?text=a")
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusNotFound {
		t.Fatalf("GET of a non-generator endpoint: %d, want 404", r2.StatusCode)
	}
}
