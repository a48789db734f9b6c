package consensus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// Self-repair of a damaged RAFT store. A replica whose log cannot be read
// is safe to rebuild from the others only when they hold a healthy quorum:
// a leader elected without this replica has every committed entry (RAFT's
// leader completeness: the majority that elected it overlaps every
// majority that acknowledged a write, and none of its logs is damaged).
// The damaged folder is renamed, never deleted, so nothing is lost if the
// judgement was wrong. Without a leader, rebuilding could drop writes only
// this replica's log holds, so the node refuses to start and says how to
// repair it.

// RepairLogMessage is the message of the warning a node logs when it has
// repaired its store (attributes dir, moved_to, reason, leader): the engine
// recognises it in a child replica's log to publish a repair event.
const RepairLogMessage = "RAFT store repaired: the damaged store was moved aside and this replica rejoins empty, restored from the leader's snapshot and log"

// Repair describes a store a node repaired (see Config.OnRepair).
type Repair struct {
	// Dir is the node's RAFT folder; MovedTo holds the damaged store.
	Dir, MovedTo string
	// Reason is why the store could not be read; Leader the member that
	// restores it.
	Reason, Leader string
}

// Keys of hashicorp/raft's stable store (unexported there). A rebuilt
// replica keeps its term and vote so it cannot vote twice in one term.
var (
	keyCurrentTerm  = []byte("CurrentTerm")
	keyLastVoteTerm = []byte("LastVoteTerm")
	keyLastVoteCand = []byte("LastVoteCand")
)

// PeerStats asks a member's worker for its RAFT stats.
func (f *GRPCForwarder) PeerStats(ctx context.Context, p Peer) (Stats, error) {
	if p.WorkerAddr == "" {
		return Stats{}, ErrUnknownPeer
	}
	c, err := f.conn(p.WorkerAddr)
	if err != nil {
		return Stats{}, err
	}
	return NewAdminClient(c).Stats(ctx)
}

// peerStatser is implemented by forwarders that can ask a member for its
// stats (GRPCForwarder).
type peerStatser interface {
	PeerStats(ctx context.Context, p Peer) (Stats, error)
}

// openCheckedWAL opens the WAL under n.cfg.Dir and reads its whole log. A
// damaged store is repaired (see above) unless NoRepair is set; repaired
// reports that the node now starts empty and must join, not bootstrap.
func (n *Node) openCheckedWAL() (wal *raftwal.WAL, meta *metadb.BoltMetaDB, repaired bool, err error) {
	cfg := &n.cfg
	wal, meta, err = openWAL(cfg, n.logger)
	if err == nil {
		if err = checkLog(cfg.Dir, wal); err == nil {
			return wal, meta, false, nil
		}
	}
	var se *StoreError
	if !errors.As(err, &se) {
		return nil, nil, false, err
	}
	// Term and vote survive if only the log segments are damaged.
	var term, voteTerm uint64
	var voteCand []byte
	if wal != nil {
		term, _ = wal.GetUint64(keyCurrentTerm)
		voteTerm, _ = wal.GetUint64(keyLastVoteTerm)
		voteCand, _ = wal.Get(keyLastVoteCand)
		wal.Close()
		meta.Close()
	}
	if cfg.NoRepair {
		se.Repair = n.repairHint()
		return nil, nil, false, se
	}
	n.logger.Error("RAFT log store cannot be read; looking for a leader among the other replicas to restore it from",
		"dir", cfg.Dir, "reason", se.Reason.Error(), "wait", cfg.RepairWait)
	leader, ok := n.healthyLeader()
	if !ok {
		se.Repair = fmt.Sprintf("no other replica reported itself RAFT leader within %s, so rebuilding this replica could lose acknowledged writes; %s", cfg.RepairWait, n.repairHint())
		return nil, nil, false, se
	}
	aside, err := moveAside(cfg.Dir)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w; moving it aside failed: %w", se, err)
	}
	if wal, meta, err = openWAL(cfg, n.logger); err != nil {
		return nil, nil, false, fmt.Errorf("raft store rebuilt after damage (old one in %s): %w", aside, err)
	}
	if term > 0 {
		err = errors.Join(wal.SetUint64(keyCurrentTerm, term), wal.SetUint64(keyLastVoteTerm, voteTerm), wal.Set(keyLastVoteCand, voteCand))
		if err != nil {
			wal.Close()
			meta.Close()
			return nil, nil, false, fmt.Errorf("raft store rebuilt after damage: keep term: %w", err)
		}
	}
	n.logger.Warn(RepairLogMessage, "dir", cfg.Dir, "moved_to", aside, "reason", se.Reason.Error(), "leader", leader, "term", term)
	if cfg.OnRepair != nil {
		cfg.OnRepair(Repair{Dir: cfg.Dir, MovedTo: aside, Reason: se.Reason.Error(), Leader: leader})
	}
	return wal, meta, true, nil
}

// repairHint is the action that repairs a damaged store by hand.
func (n *Node) repairHint() string {
	return fmt.Sprintf("start the other replicas so they elect a leader (this replica then repairs itself), or, if the data of this replica is not needed, move the folder aside (mv %s %s.damaged) and start it again", n.cfg.Dir, n.cfg.Dir)
}

// healthyLeader waits up to RepairWait for another member to report
// itself leader.
func (n *Node) healthyLeader() (string, bool) {
	ps, ok := n.cfg.Forwarder.(peerStatser)
	if !ok {
		f := NewGRPCForwarder()
		defer f.Close()
		ps = f
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RepairWait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, p := range n.cfg.Peers {
			if p.ID == n.id {
				continue
			}
			qctx, qcancel := context.WithTimeout(ctx, time.Second)
			st, err := ps.PeerStats(qctx, p)
			qcancel()
			if err == nil && st.State == "Leader" {
				return p.ID, true
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return "", false
		}
	}
}

// moveAside renames the store (wal and snapshots) of dir into a new
// sibling folder dir.damaged-<UTC time> and returns its path.
func moveAside(dir string) (string, error) {
	aside := fmt.Sprintf("%s.damaged-%s", dir, time.Now().UTC().Format("20060102T150405.000"))
	if err := os.MkdirAll(aside, 0o700); err != nil {
		return "", err
	}
	for _, sub := range []string{"wal", "snapshots"} {
		if err := os.Rename(filepath.Join(dir, sub), filepath.Join(aside, sub)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return aside, nil
}
