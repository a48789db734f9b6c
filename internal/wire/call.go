package wire

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// CallStream is the server side of a JinaRPC/Call stream.
type CallStream = grpc.BidiStreamingServer[jinapb.DataRequestProto, jinapb.DataRequestProto]

// ServeCall serves a JinaRPC/Call stream, the same way on the gateway and
// on a bare worker: requests are handled concurrently, at most prefetch at
// a time (DefaultPrefetch when 0; the stream stops reading while that
// many are in flight, so a fast client cannot start unbounded work), and
// answered as they finish, so a slow request does not hold back the
// others. A request whose handling fails is answered with fail(req, err)
// and the stream goes on. Answers are sent one at a time; after a send
// fails no more are attempted and that error ends the stream once every
// handler has returned. ServeCall returns when the client has closed its
// side and every answer is sent, or at the first receive error.
func ServeCall(stream CallStream, prefetch int,
	handle func(context.Context, *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error),
	fail func(*jinapb.DataRequestProto, error) *jinapb.DataRequestProto,
) error {
	if prefetch <= 0 {
		prefetch = DefaultPrefetch
	}
	ctx := stream.Context()
	sem := make(chan struct{}, prefetch)
	var (
		wg      sync.WaitGroup
		sendMu  sync.Mutex
		sendErr error
	)
	defer wg.Wait()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			wg.Wait()
			sendMu.Lock()
			defer sendMu.Unlock()
			return sendErr
		}
		if err != nil {
			return err
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp, err := handle(ctx, req)
			if err != nil {
				resp = fail(req, err)
			}
			sendMu.Lock()
			defer sendMu.Unlock()
			if sendErr == nil {
				sendErr = stream.Send(resp)
			}
		}()
	}
}
