package worker

import (
	"context"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// streamService implements jina.JinaSingleDocumentRequestRPC/stream_doc on
// a worker: one document in, the documents its generator endpoint yields
// streamed back one message each, as they are produced.
type streamService struct {
	jinapb.UnimplementedJinaSingleDocumentRequestRPCServer
	s *Server
}

var _ jinapb.JinaSingleDocumentRequestRPCServer = (*streamService)(nil)

// registerStreamDoc adds stream_doc to the worker's gRPC server.
func registerStreamDoc(s *Server) {
	jinapb.RegisterJinaSingleDocumentRequestRPCServer(s.grpc, &streamService{s: s})
}

// StreamDoc implements jina.JinaSingleDocumentRequestRPC/stream_doc.
func (v *streamService) StreamDoc(req *jinapb.SingleDocumentRequestProto, stream grpc.ServerStreamingServer[jinapb.SingleDocumentRequestProto]) error {
	return v.s.StreamDoc(stream.Context(), req, stream.Send)
}

// StreamDoc serves one stream_doc request without the network (the engine
// calls it for in-process replicas), sending each item with send as the
// executor yields it (see executors.Instance.StreamDoc). Generator
// endpoints are reads: they run on this replica, never through RAFT;
// stream_doc on a write endpoint of a replicated deployment is refused.
// The error is send's, or the caller's cancellation, as a gRPC status.
func (s *Server) StreamDoc(ctx context.Context, req *jinapb.SingleDocumentRequestProto, send func(*jinapb.SingleDocumentRequestProto) error) error {
	if req == nil {
		return status.Error(codes.InvalidArgument, "empty request")
	}
	ep := req.GetHeader().GetExecEndpoint()
	if ep == "" {
		ep = executors.DefaultEndpoint
	}
	if s.inst.IsWrite(ep) && s.opts.Writes != nil {
		return status.Errorf(codes.FailedPrecondition, "endpoint %s is a replicated write endpoint: it cannot stream", ep)
	}
	err := s.inst.StreamDoc(ctx, req, send)
	if cerr := ctx.Err(); cerr != nil {
		return status.FromContextError(cerr).Err()
	}
	return err
}
