package consensus

import (
	"context"
	"fmt"

	"github.com/jig-dev/jig/consensus/clusterconf"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Consistency says how fresh a read must be (clusterconf.Consistency).
type Consistency = clusterconf.Consistency

// The read consistencies; clusterconf documents them.
const (
	ConsistencyLocal  = clusterconf.ConsistencyLocal
	ConsistencyLeader = clusterconf.ConsistencyLeader
)

// ParseConsistency parses "local" (or "") and "leader", as given to
// `--read-consistency`.
func ParseConsistency(s string) (Consistency, error) { return clusterconf.ParseConsistency(s) }

// Read serves a read request with the given consistency. A request that
// was forwarded by another member (HopsFromContext > 0) is always a leader
// read. A request for a write endpoint is handed to ApplyWrite, so Read
// never bypasses the log. Errors carry gRPC statuses like ApplyWrite's.
func (n *Node) Read(ctx context.Context, req *jinapb.DataRequestProto, c Consistency) (*jinapb.DataRequestProto, error) {
	ep := executors.Endpoint(req)
	if n.inst.IsWrite(ep) {
		return n.ApplyWrite(ctx, req)
	}
	if ep == executors.DryRunEndpoint || (c != ConsistencyLeader && HopsFromContext(ctx) == 0) {
		return n.local(ctx, req)
	}
	resp, err := n.route(ctx, req, &n.forwardedReads, isUnavailable, func(ctx context.Context) (*jinapb.DataRequestProto, error) {
		if err := n.verifyLeaderRead(ctx); err != nil {
			return nil, err
		}
		n.leaderReads.Add(1)
		return n.local(ctx, req)
	})
	if err != nil {
		return nil, withStatus(err)
	}
	return resp, nil
}

// isUnavailable: reads are idempotent, so any UNAVAILABLE is worth
// another try against the (new) leader.
func isUnavailable(err error) bool { return status.Code(err) == codes.Unavailable }

// verifyLeaderRead confirms leadership with a quorum and waits until every
// entry committed before the call is applied here.
func (n *Node) verifyLeaderRead(ctx context.Context) error {
	if err := await(ctx, n.raft.VerifyLeader()); err != nil {
		return fmt.Errorf("leader read: verify leadership: %w", err)
	}
	if err := await(ctx, n.raft.Barrier(remaining(ctx, n.cfg.ApplyTimeout))); err != nil {
		return fmt.Errorf("leader read: barrier: %w", err)
	}
	return nil
}

// local processes a request on this replica's executor. Like the worker,
// it reports a cancelled or expired caller as a gRPC error rather than as
// an executor error.
func (n *Node) local(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	resp := n.inst.Process(ctx, req)
	if err := ctx.Err(); err != nil && resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
		return nil, status.FromContextError(err).Err()
	}
	return resp, nil
}

// Reads serves a worker's read requests through a Node with a default
// consistency; it implements worker.ReadHandler. Forwarded requests are
// leader reads whatever the default.
type Reads struct {
	Node        *Node
	Consistency Consistency
}

// Read implements worker.ReadHandler.
func (r Reads) Read(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	return r.Node.Read(ctx, req, r.Consistency)
}
