package consensus

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
)

// ApplyWrite replicates a write request through the RAFT log and returns
// the leader's executor response; it implements worker.WriteApplier. On
// the leader it appends the request (bounded by ApplyTimeout and ctx); on a
// follower it forwards the request to the leader's worker, waiting for a
// leader during elections. Errors carry gRPC statuses (see Status): not
// leader / no leader / leadership lost / shutdown are UNAVAILABLE,
// timeouts DEADLINE_EXCEEDED.
func (n *Node) ApplyWrite(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.cfg.ApplyTimeout+n.cfg.LeaderWaitTimeout)
		defer cancel()
	}
	var data []byte
	resp, err := n.route(ctx, req, &n.forwardedWrites, notDelivered, func(ctx context.Context) (*jinapb.DataRequestProto, error) {
		if data == nil {
			var err error
			if data, err = proto.Marshal(req); err != nil {
				return nil, fmt.Errorf("%w: marshal request: %w", ErrBadEntry, err)
			}
		}
		end := n.fsm.lend(data, req)
		resp, err := n.applyLocal(ctx, raft.Log{Data: data})
		end()
		if err != nil {
			return nil, err
		}
		out, ok := resp.(*jinapb.DataRequestProto)
		if !ok {
			return nil, fmt.Errorf("apply: unexpected FSM response %T", resp)
		}
		return out, nil
	})
	if err != nil {
		n.failedWrites.Add(1)
		return nil, withStatus(err)
	}
	return resp, nil
}

// applyLocal appends an entry on the leader and waits until it is applied
// to the leader's executor, for at most ApplyTimeout and ctx.
func (n *Node) applyLocal(ctx context.Context, l raft.Log) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.ApplyTimeout)
	defer cancel()
	_, span := tracing.Raft(ctx, "raft.apply")
	f := n.raft.ApplyLog(l, remaining(ctx, n.cfg.ApplyTimeout))
	err := await(ctx, f)
	span.Int(tracing.AttrRaftIndex, int64(f.Index())) // 0 when never appended
	span.End(err)
	if err != nil {
		if errors.Is(err, raft.ErrEnqueueTimeout) || errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return nil, fmt.Errorf("apply: %w", err) // never appended
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("apply: %w: %w", ErrOutcomeUnknown, err)
		}
		return nil, fmt.Errorf("apply: %w", err)
	}
	resp := f.Response()
	if err, ok := resp.(error); ok {
		return nil, err
	}
	return resp, nil
}
