package consensus

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// The admin service lets the engine (and operators, with grpcurl) watch and
// steer a replica's RAFT node over the worker's own gRPC port, whether the
// replica runs in the engine's process or as a child process:
//
//	jig.RaftAdmin/Stats              Empty  -> Struct (Stats as JSON)
//	jig.RaftAdmin/Snapshot           Empty  -> Struct {index, term, id}
//	jig.RaftAdmin/TransferLeadership Struct {to}              -> Empty
//	jig.RaftAdmin/AddVoter           Struct {id, raft, worker} -> Empty
//	jig.RaftAdmin/RemoveServer       Struct {id}              -> Empty
//	jig.RaftAdmin/Watch              Empty  -> stream Struct (Events as JSON)
//
// Messages are well-known protobuf types, so no generated code is needed
// and grpcurl works through reflection of those types.
const adminService = "jig.RaftAdmin"

type adminServer struct{ n *Node }

// RegisterAdmin serves jig.RaftAdmin for n on s.
func RegisterAdmin(s *grpc.Server, n *Node) {
	s.RegisterService(&adminDesc, &adminServer{n})
}

func unary[In any](name string, h func(*adminServer, context.Context, *In) (any, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(In)
			if err := dec(in); err != nil {
				return nil, err
			}
			call := func(ctx context.Context, req any) (any, error) { return h(srv.(*adminServer), ctx, req.(*In)) }
			if ic == nil {
				return call(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + adminService + "/" + name}, call)
		},
	}
}

var adminDesc = grpc.ServiceDesc{
	ServiceName: adminService,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		unary("Stats", func(a *adminServer, ctx context.Context, _ *emptypb.Empty) (any, error) {
			return toStruct(a.n.Stats())
		}),
		unary("Snapshot", func(a *adminServer, ctx context.Context, _ *emptypb.Empty) (any, error) {
			info, err := a.n.Snapshot(ctx)
			if err != nil {
				return nil, adminError(err)
			}
			return toStruct(info)
		}),
		unary("TransferLeadership", func(a *adminServer, ctx context.Context, in *structpb.Struct) (any, error) {
			if err := a.n.TransferLeadership(ctx, in.GetFields()["to"].GetStringValue()); err != nil {
				return nil, adminError(err)
			}
			return &emptypb.Empty{}, nil
		}),
		unary("AddVoter", func(a *adminServer, ctx context.Context, in *structpb.Struct) (any, error) {
			f := in.GetFields()
			p := Peer{ID: f["id"].GetStringValue(), RaftAddr: f["raft"].GetStringValue(), WorkerAddr: f["worker"].GetStringValue()}
			if err := a.n.AddVoter(ctx, p); err != nil {
				return nil, adminError(err)
			}
			return &emptypb.Empty{}, nil
		}),
		unary("RemoveServer", func(a *adminServer, ctx context.Context, in *structpb.Struct) (any, error) {
			if err := a.n.RemoveServer(ctx, in.GetFields()["id"].GetStringValue()); err != nil {
				return nil, adminError(err)
			}
			return &emptypb.Empty{}, nil
		}),
	},
	Streams:  adminStreams, // admin_watch.go
	Metadata: "jig/raft_admin",
}

func adminError(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	return Status(err).Err()
}

// toStruct renders v through its JSON form.
func toStruct(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, status.Errorf(codes.Internal, "encode: %v", err)
	}
	return structpb.NewStruct(m)
}

// AdminClient calls jig.RaftAdmin on a replica's worker.
type AdminClient struct{ cc grpc.ClientConnInterface }

// NewAdminClient returns a client over an existing connection to a worker.
func NewAdminClient(cc grpc.ClientConnInterface) *AdminClient { return &AdminClient{cc} }

func (c *AdminClient) call(ctx context.Context, method string, in, out any) error {
	return c.cc.Invoke(ctx, "/"+adminService+"/"+method, in, out)
}

// Stats returns the replica's RAFT stats.
func (c *AdminClient) Stats(ctx context.Context) (Stats, error) {
	out := &structpb.Struct{}
	if err := c.call(ctx, "Stats", &emptypb.Empty{}, out); err != nil {
		return Stats{}, err
	}
	var s Stats
	b, _ := out.MarshalJSON()
	if err := json.Unmarshal(b, &s); err != nil {
		return Stats{}, fmt.Errorf("decode raft stats: %w", err)
	}
	return s, nil
}

// Snapshot asks the replica to snapshot now.
func (c *AdminClient) Snapshot(ctx context.Context) (SnapshotInfo, error) {
	out := &structpb.Struct{}
	if err := c.call(ctx, "Snapshot", &emptypb.Empty{}, out); err != nil {
		return SnapshotInfo{}, err
	}
	var s SnapshotInfo
	b, _ := out.MarshalJSON()
	err := json.Unmarshal(b, &s)
	return s, err
}

// TransferLeadership asks the replica (the leader) to hand leadership to
// member to ("" for any).
func (c *AdminClient) TransferLeadership(ctx context.Context, to string) error {
	in, _ := structpb.NewStruct(map[string]any{"to": to})
	return c.call(ctx, "TransferLeadership", in, &emptypb.Empty{})
}

// AddVoter asks the replica (the leader) to add p to the cluster.
func (c *AdminClient) AddVoter(ctx context.Context, p Peer) error {
	in, _ := structpb.NewStruct(map[string]any{"id": p.ID, "raft": p.RaftAddr, "worker": p.WorkerAddr})
	return c.call(ctx, "AddVoter", in, &emptypb.Empty{})
}

// RemoveServer asks the replica (the leader) to remove member id.
func (c *AdminClient) RemoveServer(ctx context.Context, id string) error {
	in, _ := structpb.NewStruct(map[string]any{"id": id})
	return c.call(ctx, "RemoveServer", in, &emptypb.Empty{})
}
