// Package grpcdecode makes a gRPC server answer INVALID_ARGUMENT, not
// INTERNAL, to a request whose protobuf does not decode. grpc-go turns
// every codec error into INTERNAL ("error unmarshalling request"), which
// tells the client the server failed when its own message was wrong. The
// codec here records the failure instead of returning it, and the
// interceptors turn a recorded failure into INVALID_ARGUMENT before the
// handler sees the message.
package grpcdecode

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
)

// failed maps a message (its pointer) whose decoding failed to the error,
// from the codec to the interceptor that runs right after it on the same
// message.
var failed sync.Map

type codec struct{ base encoding.CodecV2 }

func (c codec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	if err := c.base.Unmarshal(data, v); err != nil {
		failed.Store(v, err)
	}
	return nil
}

func (c codec) Name() string { return c.base.Name() }

// check returns INVALID_ARGUMENT if decoding msg failed.
func check(msg any) error {
	if err, ok := failed.LoadAndDelete(msg); ok {
		return status.Errorf(codes.InvalidArgument, "cannot decode the request: %v", err)
	}
	return nil
}

// ServerOptions are the codec and interceptors; give them to every server
// together (the codec alone would let undecodable messages through).
func ServerOptions() []grpc.ServerOption {
	return ServerOptionsFor(encoding.GetCodecV2(proto.Name))
}

// ServerOptionsFor is ServerOptions around the codec base instead of
// grpc-go's protobuf codec.
func ServerOptionsFor(base encoding.CodecV2) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ForceServerCodecV2(codec{base: base}),
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := check(req); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, checkedStream{ss})
		}),
	}
}

// checkedStream reports a message that did not decode as the error of
// RecvMsg.
type checkedStream struct{ grpc.ServerStream }

func (s checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return check(m)
}
