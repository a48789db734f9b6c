package replica

import (
	"context"
	"errors"
	"io"

	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// StreamConn is implemented by the Conns of every kind of replica: it
// forwards jina.JinaSingleDocumentRequestRPC/stream_doc, calling send with
// each item as the replica produces it (never buffered). Errors are gRPC
// status errors (codes.Unavailable when the replica cannot be reached), or
// the error send returned.
type StreamConn interface {
	StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error
}

var (
	_ StreamConn = (*GRPCConn)(nil)
	_ StreamConn = localConn{}
	_ StreamConn = processConn{}
	_ StreamConn = unavailableConn{}
)

// StreamDoc implements StreamConn over gRPC. The call is cancelled when it
// returns, so a failing send stops the worker's generator too.
func (c *GRPCConn) StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := jinapb.NewJinaSingleDocumentRequestRPCClient(c.cc).StreamDoc(ctx, req)
	if err != nil {
		return err
	}
	for {
		item, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := send(item); err != nil {
			return err
		}
	}
}

// StreamDoc implements StreamConn on the in-process server: no network,
// items go to send as the executor yields them.
func (c localConn) StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error {
	srv, _ := c.server()
	if srv == nil || !c.r.Ready() {
		return status.Errorf(codes.Unavailable, "%s is not running", c.r)
	}
	return srv.StreamDoc(ctx, req, send)
}

// StreamDoc implements StreamConn on a child-process replica.
func (c processConn) StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error {
	conn, err := c.get()
	if err != nil {
		return err
	}
	return conn.StreamDoc(ctx, req, send)
}

// StreamDoc implements StreamConn for an external worker not yet connected.
func (c unavailableConn) StreamDoc(context.Context, *jinapb.SingleDocumentRequestProto, func(*jinapb.SingleDocumentRequestProto) error) error {
	return status.Errorf(codes.Unavailable, "external worker %s is not connected", c.addr)
}
