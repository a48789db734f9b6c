package gateway

import (
	"errors"
	"io"
	"sync"
)

// bodyBufs are the buffers request bodies are read into (parse).
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// readBody reads the whole body (within its limits: the reader enforces
// them) into a pooled buffer, to be given back with putBody. On a read
// error the buffer holds what was read before it.
func readBody(lb *limitedBody) (*[]byte, error) {
	bp := bodyBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if n := lb.held / BodyCost; lb.known && int64(cap(b)) < n+1 {
		b = make([]byte, 0, n+1) // the Content-Length, and room to see EOF
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lb.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			*bp = b
			if errors.Is(err, io.EOF) {
				return bp, nil
			}
			return bp, err
		}
	}
}

// putBody gives a body's buffer back (not a huge one).
func putBody(bp *[]byte) {
	if cap(*bp) <= maxPooled {
		*bp = (*bp)[:0]
		bodyBufs.Put(bp)
	}
}

// errReader returns err, for decodeRequestBody to meet a read error where
// it happened.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
