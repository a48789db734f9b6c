package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// httpConn is one kept-alive HTTP/1.1 connection of the load generator,
// used by one goroutine at a time: each request is written with one
// syscall and its answer parsed (net/http's ReadResponse: Content-Length
// or chunked bodies, Connection: close) and read to the end in the
// caller's goroutine. net/http's Client hands every request to a writer
// and a reader goroutine of the connection and reads through 4 KiB
// buffers: ~90 µs of client CPU per 1-document request and ~0.5 ms per
// 100-document one on the 2-core machine, CPU the servers measured would
// otherwise get. The bytes on the wire are the ones net/http's Client
// sends (TestHTTPConnSendsWhatNetHTTPSends).
type httpConn struct {
	addr string
	// head is the request up to the Content-Length value.
	head []byte
	c    net.Conn
	br   *bufio.Reader
	wbuf []byte
	// deadline, when set, bounds every request (else ctx's deadline, else
	// a minute from each request).
	deadline time.Time
}

// httpBuffer is the read buffer: a 100-document answer in a few reads.
const httpBuffer = 256 << 10

func newHTTPConn(addr string) *httpConn {
	head := "POST " + benchEndpoint + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: "
	return &httpConn{addr: addr, head: []byte(head)}
}

// tail follows the Content-Length value (the headers net/http's Client
// adds after it: the request's own, then Accept-Encoding).
const httpTail = "\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n"

// post sends body to POST /bench and reads the answer, which must be
// 200 OK; with keep, the answer's body is returned.
func (h *httpConn) post(ctx context.Context, body []byte, keep bool) ([]byte, error) {
	fresh := h.c == nil
	if fresh {
		d := net.Dialer{Timeout: 5 * time.Second}
		c, err := d.DialContext(ctx, "tcp", h.addr)
		if err != nil {
			return nil, err
		}
		h.c = c
		if h.br == nil {
			h.br = bufio.NewReaderSize(c, httpBuffer)
		} else {
			h.br.Reset(c)
		}
	}
	// The deadline bounds a request whose server stopped answering: the
	// window's, set once per connection, else one per request.
	if h.deadline.IsZero() || fresh {
		dl, ok := h.deadline, !h.deadline.IsZero()
		if !ok {
			dl, ok = ctx.Deadline()
		}
		if !ok {
			dl = time.Now().Add(time.Minute)
		}
		h.c.SetDeadline(dl)
	}
	w := append(h.wbuf[:0], h.head...)
	w = strconv.AppendInt(w, int64(len(body)), 10)
	w = append(w, httpTail...)
	w = append(w, body...)
	h.wbuf = w
	out, err := h.roundTrip(w, keep)
	if err != nil {
		h.close()
	}
	return out, err
}

func (h *httpConn) roundTrip(req []byte, keep bool) ([]byte, error) {
	if _, err := h.c.Write(req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b []byte
	if resp.StatusCode != http.StatusOK || keep {
		b, err = io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			if len(b) > 300 {
				b = b[:300]
			}
			return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
		}
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return nil, err
	}
	if resp.Close {
		h.close() // the server ends the connection: dial again next time
	}
	return b, nil
}

func (h *httpConn) close() {
	if h.c != nil {
		h.c.Close()
		h.c = nil
	}
}
