package router

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestTimeoutNamesEachAddressOnce: one replica retried three times is one
// address in the error, not four.
func TestTimeoutNamesEachAddressOnce(t *testing.T) {
	c := newConn("slow").with(block)
	d := deployment("enc", c)
	d.Retries = 3
	d.TimeoutSend = 20 * time.Millisecond
	_, err := d.Send(context.Background(), newReq("/x", nil, "hi"))
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err %v", err)
	}
	msg := status.Convert(err).Message()
	if n := strings.Count(msg, "127.0.0.1:slow"); n != 1 || c.calls.Load() != 4 {
		t.Fatalf("%d calls; the address appears %d times in %q", c.calls.Load(), n, msg)
	}
}
