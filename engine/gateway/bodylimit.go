package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// Defaults for the HTTP gateway's body limits (docs/ARCHITECTURE.md "Quality
// bars", README "Reliability"). They bound what hostile or broken clients can
// make the gateway hold: memory (the budget) and connections (the deadline).
const (
	// DefaultBodyBudget is the gateway-wide memory budget for requests in
	// flight: 1 GiB, one body of the default maximum size (256 MiB) at
	// BodyCost, or many smaller ones.
	DefaultBodyBudget = 1 << 30
	// BodyCost is what a request is charged per byte of its body: while
	// it is served the gateway holds its decoded documents, their
	// protobuf and wire forms and the answer (about 4 bytes per body byte
	// measured with 1 KiB text documents, issue 18), so the budget
	// bounds memory rather than raw bytes. The largest body accepted is
	// the budget / BodyCost.
	BodyCost = 4
	// DefaultBodyTimeout is the grace a request body has to arrive, on top
	// of the time its size needs at BodyMinRate.
	DefaultBodyTimeout = 30 * time.Second
	// BodyMinRate is the slowest average upload accepted after the grace:
	// 128 KiB/s, so a 256 MiB body may take 30 s + 34 min, while a body
	// dripped a few bytes at a time is cut off after about 30 s.
	BodyMinRate = 128 << 10
	// bodyChunk is how much of the budget a body of unknown length
	// (chunked transfer encoding) takes at a time as it is read (at most
	// a sixteenth of the budget).
	bodyChunk = 1 << 20
)

// BodyBudget bounds the memory HTTP requests hold at once across a
// gateway, counted as BodyCost bytes per body byte. A request takes its
// share before its body is read (for its Content-Length, or chunk by
// chunk as it is read when the length is unknown) and
// gives it back once its answer is written, since the decoded documents,
// their protobuf form and the answer live as long as the request. A
// request that does not fit is refused at once with 503 and Retry-After
// rather than queued, so the gateway's memory stays bounded whatever the
// number of clients.
type BodyBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
}

// NewBodyBudget returns a budget of limit bytes (<= 0: DefaultBodyBudget).
func NewBodyBudget(limit int64) *BodyBudget {
	if limit <= 0 {
		limit = DefaultBodyBudget
	}
	return &BodyBudget{limit: limit}
}

// Limit returns the budget's size in bytes.
func (b *BodyBudget) Limit() int64 { return b.limit }

// InUse returns the bytes currently taken.
func (b *BodyBudget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// TryAcquire takes n bytes if they fit and reports whether they did.
func (b *BodyBudget) TryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 0 || b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

// Release gives back n bytes taken with TryAcquire.
func (b *BodyBudget) Release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if b.used < 0 {
		panic("gateway: body budget released more than it acquired")
	}
}

// errBudget is returned by a body read that would overrun the budget.
var errBudget = errors.New("gateway: body budget exhausted")

// errBodyTimeout is returned by a body read past its deadline.
var errBodyTimeout = errors.New("gateway: request body arrived too slowly")

// limitedBody reads a request body within the gateway's budget and the
// request's read deadline. It is used by one handler goroutine only.
type limitedBody struct {
	r      io.Reader
	budget *BodyBudget
	// held is what this request has taken from the budget (BodyCost per
	// body byte); read is the body bytes read so far.
	held, read int64
	// known: held was taken up front for the Content-Length.
	known bool

	rc       *http.ResponseController
	start    time.Time
	grace    time.Duration
	deadline time.Time // the one last set on the connection
	timedOut bool
}

// newLimitedBody wraps r's body. The caller must call close when the
// request is answered.
func newLimitedBody(w http.ResponseWriter, r *http.Request, body io.Reader, budget *BodyBudget, grace time.Duration) *limitedBody {
	lb := &limitedBody{r: body, budget: budget, rc: http.NewResponseController(w), start: time.Now(), grace: grace}
	lb.extendDeadline()
	return lb
}

// reserve takes the budget for a body of n bytes up front (a known
// Content-Length).
func (lb *limitedBody) reserve(n int64) bool {
	if !lb.budget.TryAcquire(n * BodyCost) {
		return false
	}
	lb.held, lb.known = n*BodyCost, true
	return true
}

// extendDeadline moves the connection's read deadline to start + grace +
// read/BodyMinRate: a client sending at BodyMinRate or faster never meets
// it, one dripping bytes meets it once the grace is spent. The deadline is
// only moved when it changes by a second or more, to keep timer updates
// off the per-read path.
func (lb *limitedBody) extendDeadline() {
	if lb.grace <= 0 {
		return
	}
	d := lb.start.Add(lb.grace + time.Duration(float64(lb.read)/BodyMinRate*float64(time.Second)))
	if !lb.deadline.IsZero() && d.Sub(lb.deadline) < time.Second {
		return
	}
	lb.deadline = d
	// Fails only for connections without deadlines (HTTP/2 streams of
	// some test transports); the server's own timeouts still apply.
	_ = lb.rc.SetReadDeadline(d)
}

func (lb *limitedBody) Read(p []byte) (int, error) {
	if !lb.known {
		// Unknown length: take the budget a chunk at a time, ahead of
		// the bytes read, and read no further than what is taken.
		if lb.read >= lb.held/BodyCost {
			chunk := min(int64(bodyChunk), max(lb.budget.Limit()/16/BodyCost, 1)) * BodyCost
			if !lb.budget.TryAcquire(chunk) {
				return 0, errBudget
			}
			lb.held += chunk
		}
		if room := lb.held/BodyCost - lb.read; int64(len(p)) > room {
			p = p[:room]
		}
	}
	n, err := lb.r.Read(p)
	lb.read += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		// The whole body is in. Lift the deadline now: net/http reads
		// the connection in the background from here on to notice a
		// client going away, and a deadline passing during a long
		// request would cancel it.
		lb.clearDeadline()
	case err != nil && !lb.deadline.IsZero() && (errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(lb.deadline)):
		lb.timedOut = true
		return n, fmt.Errorf("%w (%v)", errBodyTimeout, err)
	case n > 0:
		lb.extendDeadline()
	}
	return n, err
}

func (lb *limitedBody) clearDeadline() {
	if !lb.deadline.IsZero() && !lb.timedOut {
		_ = lb.rc.SetReadDeadline(time.Time{})
		lb.deadline = time.Time{}
	}
}

// drain reads and discards the rest of a body refused for the budget,
// outside the budget (it holds no memory) but within the read deadline and
// the size limit, so that the client, still sending, reads the 503 and its
// Retry-After instead of a reset connection.
func (lb *limitedBody) drain() {
	lb.known = true
	_, _ = io.Copy(io.Discard, lb)
}

// close gives the request's share of the budget back and lifts the read
// deadline, so a kept-alive connection is not cut by it later.
func (lb *limitedBody) close() {
	if lb.held > 0 {
		lb.budget.Release(lb.held)
		lb.held = 0
	}
	lb.clearDeadline()
}
