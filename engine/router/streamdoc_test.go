package router

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// streamConn is a scripted replica.StreamConn: it sends items (words) and
// then returns err.
type streamConn struct {
	name  string
	items []string
	err   error
	calls atomic.Int64
}

func (c *streamConn) Process(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return req, nil
}

func (c *streamConn) Endpoints(context.Context) (*jinapb.EndpointsProto, error) {
	return &jinapb.EndpointsProto{Endpoints: []string{executors.DefaultEndpoint}}, nil
}

func (c *streamConn) StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error {
	c.calls.Add(1)
	for _, w := range c.items {
		if err := send(&jinapb.SingleDocumentRequestProto{Document: docarray.New(c.name + ":" + w).ToProto()}); err != nil {
			return err
		}
	}
	return c.err
}

func streamDep(conns ...*streamConn) *Deployment {
	var ts []*Target
	for _, c := range conns {
		ts = append(ts, &Target{Name: c.name, Address: c.name, Conn: c, Ready: func() bool { return true }})
	}
	return &Deployment{Name: "gen", Shards: []*Pool{NewPool(ts...)}, Retries: 2}
}

func streamAll(d *Deployment) ([]string, error) {
	var got []string
	err := d.StreamDoc(context.Background(), &jinapb.SingleDocumentRequestProto{Header: &jinapb.HeaderProto{ExecEndpoint: proto.String("/gen")}},
		func(it *jinapb.SingleDocumentRequestProto) error {
			doc, err := docarray.DocFromProto(it.GetDocument())
			if err != nil {
				return err
			}
			got = append(got, doc.Text)
			return nil
		})
	return got, err
}

// TestStreamDocRetriesBeforeTheFirstItem: an unreachable replica is
// replaced by another as long as nothing was forwarded.
func TestStreamDocRetriesBeforeTheFirstItem(t *testing.T) {
	down := &streamConn{name: "down", err: status.Error(codes.Unavailable, "gone")}
	up := &streamConn{name: "up", items: []string{"a", "b"}}
	for _, d := range []*Deployment{streamDep(down, up), streamDep(up, down)} { // whichever the pool picks first
		got, err := streamAll(d)
		if err != nil || len(got) != 2 || got[0] != "up:a" || got[1] != "up:b" {
			t.Fatalf("got %v %v, want the items of the reachable replica", got, err)
		}
	}
	if down.calls.Load() == 0 {
		t.Fatal("the pool never picked the unreachable replica: the retry was not exercised")
	}
}

// TestStreamDocNoRetryAfterAnItem: once an item was forwarded a failure
// ends the stream (the items cannot be taken back), naming the deployment.
func TestStreamDocNoRetryAfterAnItem(t *testing.T) {
	broken := &streamConn{name: "broken", items: []string{"a"}, err: status.Error(codes.Unavailable, "connection reset")}
	got, err := streamAll(streamDep(broken))
	if len(got) != 1 || status.Code(err) != codes.Unavailable || broken.calls.Load() != 1 {
		t.Fatalf("got %v err %v calls %d", got, err, broken.calls.Load())
	}
	if st := status.Convert(err); !strings.Contains(st.Message(), "deployment gen") {
		t.Errorf("error %q does not name the deployment", st.Message())
	}
	// A send error (the client went away) is returned as it is.
	gone := errors.New("client gone")
	d := streamDep(&streamConn{name: "ok", items: []string{"a", "b"}})
	err = d.StreamDoc(context.Background(), &jinapb.SingleDocumentRequestProto{}, func(*jinapb.SingleDocumentRequestProto) error { return gone })
	if !errors.Is(err, gone) {
		t.Fatalf("send error: %v", err)
	}
}

// TestHoldDelaysDrain: a held stream keeps Drain waiting until released.
func TestHoldDelaysDrain(t *testing.T) {
	r, _ := testFlow(t, "executors:\n  - {name: a, uses: RouterNop}\n")
	release := r.Hold()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Drain(ctx); err == nil {
		t.Fatal("Drain returned while a stream was held")
	}
	release()
	if err := r.Drain(context.Background()); err != nil {
		t.Fatalf("Drain after release: %v", err)
	}
}
