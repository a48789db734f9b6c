package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/proto/jinapb"
)

// bodyOf builds a request body of about n bytes holding one document whose
// text is tag followed by padding.
func bodyOf(tag string, n int) string {
	const frame = `{"data": [{"text": "%s%s"}]}`
	pad := n - len(frame) + 4 - len(tag)
	return fmt.Sprintf(frame, tag, strings.Repeat("x", max(pad, 0)))
}

// onlyReader hides a reader's length, so net/http sends it chunked
// (Content-Length unknown to the gateway).
type onlyReader struct{ io.Reader }

type answer struct {
	code       int
	retryAfter string
	body       map[string]any
	err        error
}

func post(client *http.Client, url string, body io.Reader) answer {
	resp, err := client.Post(url, "application/json", body)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	a := answer{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	a.err = json.NewDecoder(resp.Body).Decode(&a.body)
	return a
}

// TestHTTPBodyBudgetRefusesPastIt: while one request holds most of the
// gateway's body budget, others whose bodies do not fit (known length or
// chunked) answer 503 with Retry-After without reaching the backend; once
// the first is answered its share is back and they go through.
func TestHTTPBodyBudgetRefusesPastIt(t *testing.T) {
	b := newBackend()
	entered, release := make(chan struct{}), make(chan struct{})
	b.setRoute(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		if docs := reqDocs(t, req); len(docs) == 1 && strings.HasPrefix(docs[0].Text, "hold") {
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return echoRoute(ctx, req)
	})
	budget := NewBodyBudget(40 << 10) // bodies up to 10 KiB
	srv := httptest.NewServer(NewHTTP(b, HTTPOptions{Budget: budget}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	// On any failure below, let the held request end, so srv.Close (which
	// waits for requests in flight) returns.
	letGo := sync.OnceFunc(func() { close(release) })
	defer letGo()
	held := make(chan answer, 1)
	go func() { held <- post(client, srv.URL+"/search", strings.NewReader(bodyOf("hold", 6<<10))) }()
	<-entered
	if got := budget.InUse(); got < BodyCost*6<<10 {
		t.Fatalf("a request being served holds %d bytes of the budget, want %d for its body", got, BodyCost*6<<10)
	}
	for name, body := range map[string]func() io.Reader{
		"known length": func() io.Reader { return strings.NewReader(bodyOf("b", 5<<10)) },
		"chunked":      func() io.Reader { return onlyReader{strings.NewReader(bodyOf("c", 5<<10))} },
	} {
		a := post(client, srv.URL+"/search", body())
		if a.err != nil || a.code != http.StatusServiceUnavailable || a.retryAfter == "" || get(a.body, "error", "code") != "RESOURCE_EXHAUSTED" {
			t.Fatalf("%s body past the budget: %d Retry-After %q error %v %v", name, a.code, a.retryAfter, get(a.body, "error"), a.err)
		}
		if msg, _ := get(a.body, "error", "message").(string); !strings.Contains(msg, "http_body_budget") {
			t.Fatalf("%s: the message does not name the setting: %q", name, msg)
		}
	}
	if n := len(b.requests()); n != 1 {
		t.Fatalf("%d requests reached the backend, want only the held one", n)
	}
	// A small body still fits beside the held one.
	if a := post(client, srv.URL+"/search", strings.NewReader(bodyOf("small", 512))); a.err != nil || a.code != 200 {
		t.Fatalf("small body: %d %v %v", a.code, a.body, a.err)
	}
	letGo()
	if a := <-held; a.err != nil || a.code != 200 {
		t.Fatalf("held request: %d %v %v", a.code, a.body, a.err)
	}
	for name, body := range map[string]io.Reader{
		"known length": strings.NewReader(bodyOf("b", 5<<10)),
		"chunked":      onlyReader{strings.NewReader(bodyOf("c", 5<<10))},
	} {
		if a := post(client, srv.URL+"/search", body); a.err != nil || a.code != 200 || get(a.body, "data", 0, "text") == nil {
			t.Fatalf("%s body after the budget freed: %d %v %v", name, a.code, a.body, a.err)
		}
	}
	if got := budget.InUse(); got != 0 {
		t.Fatalf("%d bytes of the budget still taken with no request in flight", got)
	}
}

// TestHTTPBodyOverBudgetIs413: a body larger than the whole budget can
// never fit, so it is too large (413), not "busy" (503).
func TestHTTPBodyOverBudgetIs413(t *testing.T) {
	h := NewHTTP(newBackend(), HTTPOptions{Budget: NewBodyBudget(4 << 10)})
	res := do(t, h, "POST", "/search", bodyOf("big", 2<<10))
	if res.code != http.StatusRequestEntityTooLarge || !strings.Contains(res.raw, fmt.Sprintf("%d bytes", 4<<10/BodyCost)) {
		t.Fatalf("%d %s", res.code, res.raw)
	}
}

// TestHTTPDrippedBodyIsCutOff: a client that sends headers and then drips
// its body a byte at a time gets 408 and its connection closed once the
// body deadline passes, instead of holding the connection forever.
func TestHTTPDrippedBodyIsCutOff(t *testing.T) {
	b := newBackend()
	srv := httptest.NewServer(NewHTTP(b, HTTPOptions{BodyTimeout: 200 * time.Millisecond}))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "POST /search HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"data\": [{\"text\": \""); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the dripper: one byte every 20 ms until stopped or cut off
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	// A failsafe only: without a body deadline the answer never comes.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a dripped body: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestTimeout || get(body, "error", "code") != "DEADLINE_EXCEEDED" || !resp.Close {
		t.Fatalf("%d close=%v %v", resp.StatusCode, resp.Close, body)
	}
	if len(b.requests()) != 0 {
		t.Fatal("a dripped request reached the backend")
	}
}

// TestHTTPBodyDeadlineLiftedAfterBody: a request whose body arrived in
// time is not cut by the body deadline while the flow works on it.
func TestHTTPBodyDeadlineLiftedAfterBody(t *testing.T) {
	b := newBackend()
	grace := 50 * time.Millisecond
	b.setRoute(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		select { // outlast the body deadline, unless the request is cancelled
		case <-time.After(10 * grace):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return echoRoute(ctx, req)
	})
	srv := httptest.NewServer(NewHTTP(b, HTTPOptions{BodyTimeout: grace}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	for i := range 2 { // the second reuses the kept-alive connection
		if a := post(client, srv.URL+"/search", strings.NewReader(`{"data": [{"text": "a"}]}`)); a.err != nil || a.code != 200 {
			t.Fatalf("%d: %d %v %v", i, a.code, a.body, a.err)
		}
	}
}

// TestHTTPStreamedSingleDocument: "data" as one document is decoded by
// copying its tokens; strings, numbers, nesting and null survive exactly.
func TestHTTPStreamedSingleDocument(t *testing.T) {
	b := newBackend()
	h := NewHTTP(b, HTTPOptions{})
	body := `{"header": {"request_id": "r1"}, "data": {"id": "one", "text": "é \"q\" <x>\n", ` +
		`"tags": {"a": [1, 2.50, {"b": null, "c": true, "d": []}], "e": {}}, "embedding": [1.0, 2.0]}, "parameters": {"k": 1}}`
	res := do(t, h, "POST", "/foo", body)
	if res.code != 200 {
		t.Fatalf("%d %s", res.code, res.raw)
	}
	docs := reqDocs(t, b.last(t))
	if len(docs) != 1 || docs[0].ID != "one" || docs[0].Text != "é \"q\" <x>\n" {
		t.Fatalf("docs %+v", docs)
	}
	tags, _ := json.Marshal(docs[0].Tags)
	if string(tags) != `{"a":[1,2.5,{"b":null,"c":true,"d":[]}],"e":{}}` {
		t.Fatalf("tags %s", tags)
	}
	if b.last(t).GetHeader().GetRequestId() != "r1" || b.last(t).GetParameters().AsMap()["k"] != 1.0 {
		t.Fatalf("header/parameters %v", b.last(t))
	}
	for _, bad := range []string{`{"data": {"text": "a"`, `{"data": {"text": "a"}`, `{"data": {"text": }}`, `{"data": "x"}`} {
		if res := do(t, h, "POST", "/foo", bad); res.code != 400 {
			t.Fatalf("%s: %d %s", bad, res.code, res.raw)
		}
	}
}

// TestHTTPStreamedManyDocuments: a list is decoded one document at a time,
// in order, in both spellings of the other keys.
func TestHTTPStreamedManyDocuments(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"parameters": {}, "data": [`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id": "d%d", "embedding": [%d.0, 0.5]}`, i, i)
	}
	sb.WriteString(`], "targetExecutor": "enc", "header": {"requestId": "r2"}}`)
	b := newBackend()
	budget := NewBodyBudget(4 << 20)
	srv := httptest.NewServer(NewHTTP(b, HTTPOptions{Budget: budget}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	a := post(client, srv.URL+"/index", onlyReader{strings.NewReader(sb.String())})
	if a.err != nil || a.code != 200 {
		t.Fatalf("%d %v %v", a.code, a.body, a.err)
	}
	docs := reqDocs(t, b.last(t))
	if len(docs) != 1000 || docs[999].ID != "d999" || b.last(t).GetHeader().GetTargetExecutor() != "enc" || b.last(t).GetHeader().GetRequestId() != "r2" {
		t.Fatalf("%d docs, header %v", len(docs), b.last(t).GetHeader())
	}
	if l, _ := get(a.body, "data").([]any); len(l) != 1000 || get(a.body, "data", 999, "id") != "d999" {
		t.Fatalf("answer has %d docs", len(l))
	}
	if budget.InUse() != 0 {
		t.Fatalf("budget still holds %d bytes", budget.InUse())
	}
}
