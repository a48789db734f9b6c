package consensus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// Actions for the engine and the TUI: snapshots, leadership, membership.

// Barrier waits until every entry committed before the call has been
// applied to this replica's executor. It must run on the leader
// (ErrNotLeader otherwise).
func (n *Node) Barrier(ctx context.Context) error {
	if n.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	if err := await(ctx, n.raft.Barrier(remaining(ctx, n.cfg.ApplyTimeout))); err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	return nil
}

// Leader returns the current leader as this node sees it; ok is false
// during elections.
func (n *Node) Leader() (leader Peer, ok bool) { return n.currentLeader() }

// IsLeader reports whether this node is the leader.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Member is one server of the RAFT configuration.
type Member struct {
	Peer
	// Voter is false for non-voting members (none today; raft's staging
	// suffrage).
	Voter bool `json:"voter"`
}

// Configuration returns the latest RAFT configuration (committed or not),
// with worker addresses where known.
func (n *Node) Configuration() ([]Member, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	var out []Member
	for _, s := range f.Configuration().Servers {
		p, ok := n.peer(string(s.ID))
		if !ok {
			p = Peer{ID: string(s.ID)}
		}
		p.RaftAddr = string(s.Address)
		out = append(out, Member{Peer: p, Voter: s.Suffrage == raft.Voter})
	}
	return out, nil
}

// SnapshotInfo describes a stored snapshot.
type SnapshotInfo struct {
	ID    string    `json:"id"`
	Index uint64    `json:"index"`
	Term  uint64    `json:"term"`
	Size  int64     `json:"size"`
	Time  time.Time `json:"time"`
}

// Snapshot takes a snapshot now (the TUI's snapshot action) and returns
// what was stored. It fails with ErrSnapshotUnsupported for executors
// without Snapshot/Restore, and with raft.ErrNothingNewToSnapshot (wrapped)
// when nothing was applied since the last one.
func (n *Node) Snapshot(ctx context.Context) (SnapshotInfo, error) {
	if !n.fsm.canSnapshot {
		return SnapshotInfo{}, ErrSnapshotUnsupported
	}
	f := n.raft.Snapshot()
	if err := await(ctx, f); err != nil {
		if strings.Contains(err.Error(), raft.ErrNothingNewToSnapshot.Error()) {
			return SnapshotInfo{}, fmt.Errorf("snapshot: %w", raft.ErrNothingNewToSnapshot)
		}
		return SnapshotInfo{}, fmt.Errorf("snapshot: %w", err)
	}
	meta, rc, err := f.Open()
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot: open: %w", err)
	}
	rc.Close()
	n.refreshSnapshotInfo()
	return SnapshotInfo{ID: meta.ID, Index: meta.Index, Term: meta.Term, Size: meta.Size, Time: snapshotTime(meta.ID)}, nil
}

// refreshSnapshotInfo caches the newest snapshot of the store for Stats.
func (n *Node) refreshSnapshotInfo() {
	list, err := n.snaps.List()
	if err != nil || len(list) == 0 {
		return
	}
	m := list[0]
	n.snapMu.Lock()
	n.snapInfo = SnapshotInfo{ID: m.ID, Index: m.Index, Term: m.Term, Size: m.Size, Time: snapshotTime(m.ID)}
	n.snapMu.Unlock()
}

// TransferLeadership hands leadership to the member with ID to, or to the
// most up-to-date follower when to is "". It must run on the leader
// (ErrNotLeader otherwise) and returns once the transfer is done.
func (n *Node) TransferLeadership(ctx context.Context, to string) error {
	if n.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	var f raft.Future
	if to == "" {
		f = n.raft.LeadershipTransfer()
	} else {
		members, err := n.Configuration()
		if err != nil {
			return err
		}
		var target *Member
		for i := range members {
			if members[i].ID == to {
				target = &members[i]
			}
		}
		if target == nil {
			return fmt.Errorf("transfer leadership: %w: %s", ErrUnknownPeer, to)
		}
		if to == n.id {
			return nil
		}
		addr := target.RaftAddr
		if p, ok := n.peer(to); ok && p.RaftAddr != "" {
			addr = p.RaftAddr
		}
		f = n.raft.LeadershipTransferToServer(raft.ServerID(to), raft.ServerAddress(addr))
	}
	if err := await(ctx, f); err != nil {
		return fmt.Errorf("transfer leadership: %w", err)
	}
	return nil
}

// AddVoter adds a member (a replica started with Config.Join) to the
// cluster. It must run on the leader (ErrNotLeader otherwise). The peer's
// addresses are first announced through the log, so every member can
// forward to it once it leads; then raft replicates the log (or a
// snapshot) to it.
func (n *Node) AddVoter(ctx context.Context, p Peer) error {
	if n.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	if p.ID == "" || p.RaftAddr == "" {
		return fmt.Errorf("add voter: peer needs an id and a raft address: %+v", p)
	}
	data, err := json.Marshal(peerEntry{Peer: p})
	if err != nil {
		return fmt.Errorf("add voter: %w", err)
	}
	if _, _, err := n.applyLocal(ctx, raft.Log{Data: data, Extensions: []byte(extPeer)}); err != nil {
		return fmt.Errorf("add voter %s: announce: %w", p.ID, err)
	}
	f := n.raft.AddVoter(raft.ServerID(p.ID), raft.ServerAddress(p.RaftAddr), 0, remaining(ctx, n.cfg.ApplyTimeout))
	if err := await(ctx, f); err != nil {
		return fmt.Errorf("add voter %s: %w", p.ID, err)
	}
	n.logger.Info("voter added", "id", p.ID, "raft", p.RaftAddr, "worker", p.WorkerAddr)
	return nil
}

// RemoveServer removes a member from the cluster (scale-down). It must run
// on the leader (ErrNotLeader otherwise). The removed member no longer gets
// entries and never starts an election (raft only lets members of the
// configuration run), so it is harmless until its owner shuts it down;
// removing the leader itself makes it shut its RAFT node down once the
// change commits, and the others elect a new leader.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	if n.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	members, err := n.Configuration()
	if err != nil {
		return err
	}
	found := false
	for _, m := range members {
		found = found || m.ID == id
	}
	if !found {
		return fmt.Errorf("remove server: %w: %s", ErrUnknownPeer, id)
	}
	f := n.raft.RemoveServer(raft.ServerID(id), 0, remaining(ctx, n.cfg.ApplyTimeout))
	if err := await(ctx, f); err != nil {
		return fmt.Errorf("remove server %s: %w", id, err)
	}
	n.logger.Info("server removed", "id", id)
	return nil
}
