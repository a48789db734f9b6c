package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeStream is an in-memory Call stream: Recv takes requests from in
// (io.EOF when it is closed), Send puts answers on out.
type fakeStream struct {
	grpc.ServerStream // nil: only the methods below are used
	ctx               context.Context
	in                chan *jinapb.DataRequestProto
	out               chan *jinapb.DataRequestProto
	sendErr           error
}

func newFakeStream(ctx context.Context, n int) *fakeStream {
	return &fakeStream{ctx: ctx, in: make(chan *jinapb.DataRequestProto, n), out: make(chan *jinapb.DataRequestProto, n)}
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func (f *fakeStream) Recv() (*jinapb.DataRequestProto, error) {
	select {
	case r, ok := <-f.in:
		if !ok {
			return nil, io.EOF
		}
		return r, nil
	case <-f.ctx.Done():
		return nil, status.FromContextError(f.ctx.Err()).Err()
	}
}

func (f *fakeStream) Send(r *jinapb.DataRequestProto) error {
	if f.sendErr != nil {
		return f.sendErr
	}
	f.out <- r
	return nil
}

func req(id string) *jinapb.DataRequestProto {
	return &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: id}}
}

func TestServeCallBoundsRequestsInFlight(t *testing.T) {
	const prefetch, total = 3, 12
	s := newFakeStream(context.Background(), total)
	for i := range total {
		s.in <- req(fmt.Sprint("r", i))
	}
	close(s.in)
	var cur, maxCur atomic.Int32
	entered := make(chan struct{}, total)
	release := make(chan struct{})
	handle := func(ctx context.Context, r *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		n := cur.Add(1)
		for m := maxCur.Load(); n > m && !maxCur.CompareAndSwap(m, n); m = maxCur.Load() {
		}
		entered <- struct{}{}
		<-release
		cur.Add(-1)
		return r, nil
	}
	done := make(chan error, 1)
	go func() { done <- ServeCall(s, prefetch, handle, nil) }()
	for range prefetch {
		<-entered
	}
	got := map[string]bool{}
	for range total {
		release <- struct{}{}
		got[(<-s.out).GetHeader().GetRequestId()] = true
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != total {
		t.Fatalf("answered %d distinct requests, want %d", len(got), total)
	}
	if m := maxCur.Load(); m > prefetch {
		t.Fatalf("%d requests in flight at once, the bound is %d", m, prefetch)
	}
}

func TestServeCallAnswersFailuresAndGoesOn(t *testing.T) {
	s := newFakeStream(context.Background(), 3)
	for _, id := range []string{"a", "bad", "c"} {
		s.in <- req(id)
	}
	close(s.in)
	handle := func(ctx context.Context, r *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		if r.GetHeader().GetRequestId() == "bad" {
			return nil, status.Error(codes.Unavailable, "down")
		}
		return r, nil
	}
	fail := func(r *jinapb.DataRequestProto, err error) *jinapb.DataRequestProto {
		return Failed(r, &jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: status.Convert(err).Message()})
	}
	if err := ServeCall(s, 0, handle, fail); err != nil {
		t.Fatal(err)
	}
	close(s.out)
	got := map[string]*jinapb.StatusProto{}
	for r := range s.out {
		got[r.GetHeader().GetRequestId()] = r.GetHeader().GetStatus()
	}
	if len(got) != 3 || got["bad"].GetDescription() != "down" || got["a"] != nil || got["c"] != nil {
		t.Fatalf("answers: %v", got)
	}
}

func TestServeCallReturnsTheSendError(t *testing.T) {
	s := newFakeStream(context.Background(), 2)
	s.in <- req("a")
	s.in <- req("b")
	close(s.in)
	s.sendErr = errors.New("client gone")
	var handled atomic.Int32
	handle := func(ctx context.Context, r *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		handled.Add(1)
		return r, nil
	}
	if err := ServeCall(s, 1, handle, nil); !errors.Is(err, s.sendErr) {
		t.Fatalf("ServeCall = %v, want the send error", err)
	}
	if n := handled.Load(); n != 2 {
		t.Fatalf("%d requests handled before ServeCall returned, want 2", n)
	}
}

func TestServeCallEndsWithTheStream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := newFakeStream(ctx, 1)
	cancel()
	err := ServeCall(s, 1, func(context.Context, *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		t.Error("no request was sent")
		return nil, nil
	}, nil)
	if status.Code(err) != codes.Canceled {
		t.Fatalf("ServeCall = %v, want CANCELLED", err)
	}
}
