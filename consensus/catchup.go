package consensus

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// A replica that restarts from its persisted log, or joins an existing
// cluster, holds stale state until the leader has told it what is
// committed and it has applied that: its executor starts from the last
// snapshot alone. hashicorp/raft re-applies the log after the snapshot only
// once the leader's commit index reaches the follower, and the leader backs
// off replication to a peer it could not reach, for up to about ten seconds.
// Local reads in that window would answer from old (often empty) state, so
// the worker reports NOT_SERVING until CaughtUp is closed and the engine
// routes reads elsewhere. A member of a freshly bootstrapped cluster has
// nothing to catch up with and is caught up at once.

// leaderCommitter is implemented by forwarders that can ask the leader's
// worker for its commit index (GRPCForwarder, through jig.RaftAdmin/Stats).
type leaderCommitter interface {
	LeaderCommit(ctx context.Context, leader Peer) (uint64, error)
}

// LeaderCommit asks the leader's worker for its RAFT commit index.
func (f *GRPCForwarder) LeaderCommit(ctx context.Context, leader Peer) (uint64, error) {
	if leader.WorkerAddr == "" {
		return 0, ErrUnknownPeer
	}
	c, err := f.conn(leader.WorkerAddr)
	if err != nil {
		return 0, err
	}
	s, err := NewAdminClient(c).Stats(ctx)
	if err != nil {
		return 0, err
	}
	return s.CommitIndex, nil
}

// CaughtUp returns a channel closed once this replica has applied
// everything the leader had committed when the replica first heard from
// it (at once for a member of a freshly bootstrapped cluster), or after
// Config.CatchUpTimeout, whichever comes first; or at Shutdown.
func (n *Node) CaughtUp() <-chan struct{} { return n.caughtUp }

// catchUp closes n.caughtUp when the replica has caught up; it runs on
// n.wg until then or until the node stops. startLast is the last index of
// the persisted log, the target when the leader cannot be asked.
func (n *Node) catchUp(startLast uint64) {
	defer n.wg.Done()
	defer close(n.caughtUp)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.CatchUpTimeout)
	defer cancel()
	go func() { // the owner's stop ends the wait
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	target, err := n.catchUpTarget(ctx, startLast)
	if err == nil {
		err = n.waitApplied(ctx, target)
	}
	switch {
	case err == nil:
		n.logger.Info("caught up with the leader", "index", target, "took", time.Since(start).Round(time.Millisecond))
	case errors.Is(err, context.Canceled):
		// shutting down
	default:
		n.logger.Warn("serving before catching up with the leader: local reads may be stale",
			"target_index", target, "applied_index", n.fsm.seen.Load(), "waited", time.Since(start).Round(time.Millisecond), "err", err)
	}
}

// catchUpTarget waits for a leader and returns the index to reach: the
// leader's commit index, or startLast when it cannot be had.
func (n *Node) catchUpTarget(ctx context.Context, startLast uint64) (uint64, error) {
	for {
		changed := n.leaderChanged()
		if n.raft.State() == raft.Leader {
			// A leader has every committed entry in its log and applies
			// them all, its new term's no-op included, before it serves.
			return n.raft.LastIndex(), nil
		}
		if leader, ok := n.currentLeader(); ok {
			if lc, ok := n.forwarder.(leaderCommitter); ok {
				qctx, cancel := context.WithTimeout(ctx, n.cfg.HeartbeatTimeout*3)
				idx, err := lc.LeaderCommit(qctx, leader)
				cancel()
				if err == nil {
					return idx, nil
				}
				n.logger.Debug("cannot ask the leader for its commit index", "leader", leader.ID, "err", err)
			}
			return startLast, nil
		}
		select {
		case <-changed:
		case <-time.After(leaderPoll):
		case <-ctx.Done():
			return startLast, ctx.Err()
		}
	}
}

// waitApplied waits until the executor reflects every entry up to target:
// raft has handed them all to the FSM (or restored a snapshot covering
// them) and the FSM has finished the last one that reaches it. Entries the
// FSM never sees (configuration changes, a new term's no-op) are skipped
// by looking the log up backwards from target.
func (n *Node) waitApplied(ctx context.Context, target uint64) error {
	tick := time.NewTicker(leaderPoll)
	defer tick.Stop()
	for n.raft.AppliedIndex() < target {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// An entry at or below the snapshot raft restored (at start, or
	// installed by the leader) reached the executor through Restore, not
	// Apply: seen never gets there, and nothing is missing.
	last := n.lastFSMEntry(target)
	for n.fsm.seen.Load() < last && last > n.lastSnapshotIndex() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// lastSnapshotIndex is the index of the latest snapshot raft took,
// restored or installed (0 if none).
func (n *Node) lastSnapshotIndex() uint64 {
	idx, _ := strconv.ParseUint(n.raft.Stats()["last_snapshot_index"], 10, 64)
	return idx
}

// lastFSMEntry returns the index of the last entry at or before target that
// raft passes to the FSM, or 0 when there is none in the log (compacted
// into a snapshot, which raft restored before advancing its applied index).
func (n *Node) lastFSMEntry(target uint64) uint64 {
	logs := n.logs
	first, err := logs.FirstIndex()
	if err != nil {
		return 0
	}
	var l raft.Log
	for i := target; i >= max(first, 1); i-- {
		if err := logs.GetLog(i, &l); err != nil {
			return 0
		}
		if l.Type == raft.LogCommand {
			return i
		}
	}
	return 0
}
