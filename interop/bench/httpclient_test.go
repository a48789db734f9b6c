package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// captureRequests accepts connections on 127.0.0.1 and, for every request,
// records its raw bytes and answers with respond.
func captureRequests(t *testing.T, respond func(n int, w *bufio.Writer)) (addr string, got chan []byte) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got = make(chan []byte, 16)
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		n := 0
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			// One connection at a time: the clients here send in turn.
			br := bufio.NewReader(c)
			for {
				var raw bytes.Buffer
				req, err := http.ReadRequest(bufio.NewReader(io.TeeReader(br, &raw)))
				if err != nil {
					break
				}
				io.Copy(io.Discard, req.Body)
				got <- raw.Bytes()
				w := bufio.NewWriter(c)
				respond(n, w)
				n++
				w.Flush()
			}
			c.Close()
		}
	}()
	return l.Addr().String(), got
}

// The load generator's requests are byte for byte what net/http's Client
// sends, and its answers are read as net/http reads them: fixed length,
// chunked, Connection: close (a new connection next time), error statuses.
func TestHTTPConnSendsWhatNetHTTPSends(t *testing.T) {
	answers := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthird",
		"HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\nnope",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfifth",
	}
	addr, got := captureRequests(t, func(n int, w *bufio.Writer) { w.WriteString(answers[n%len(answers)]) })
	p, err := newPayload(2)
	if err != nil {
		t.Fatal(err)
	}
	body := p.httpBody(nil, "id-1")

	// What net/http sends (the first answer serves it).
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+benchEndpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	tr.CloseIdleConnections()
	want := <-got

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := newHTTPConn(addr)
	defer h.close()
	for i, a := range []struct {
		body, err string
	}{{"second", ""}, {"third", ""}, {"", "HTTP 400: nope"}, {"fifth", ""}} {
		b, err := h.post(ctx, body, true)
		if a.err != "" {
			if err == nil || !strings.Contains(err.Error(), a.err) {
				t.Fatalf("answer %d: error %v, want %q", i+2, err, a.err)
			}
		} else if err != nil || string(b) != a.body {
			t.Fatalf("answer %d: %q, %v; want %q", i+2, b, err, a.body)
		}
		if sent := <-got; !bytes.Equal(sent, want) {
			t.Fatalf("request %d:\n%q\nnet/http sends\n%q", i+2, sent, want)
		}
	}
}
