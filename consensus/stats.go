package consensus

import (
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Stats is a point-in-time view of a node for the TUI's Consensus pane
// and the engine's metrics. Reading it is cheap: no network I/O, and the
// snapshot store is listed only after a new snapshot appeared.
type Stats struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	// State is "Leader", "Follower", "Candidate" or "Shutdown".
	State string `json:"state"`
	Term  uint64 `json:"term"`
	// Leader is the leader as this node sees it (empty ID during
	// elections); LeaderAddr is its RAFT address.
	LeaderID     string `json:"leader_id"`
	LeaderAddr   string `json:"leader_addr"`
	LeaderWorker string `json:"leader_worker"`
	// LastLogIndex is the last entry in the log (or snapshot),
	// CommitIndex the last committed one, AppliedIndex the last one handed
	// to the executor.
	LastLogIndex uint64 `json:"last_log_index"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// LastContact is the time since this node last heard from the leader:
	// 0 on the leader, -1 if never.
	LastContact time.Duration `json:"last_contact"`
	// LastSnapshot is the newest snapshot in this node's store (zero if
	// none).
	LastSnapshot SnapshotInfo `json:"last_snapshot"`
	// Peers is the number of other voters in the configuration (raft's
	// num_peers); Voters counts this node too when it is a voter.
	Peers  int `json:"peers"`
	Voters int `json:"voters"`

	// Applies counts write entries applied to this replica's executor
	// (every replica applies every write).
	Applies uint64 `json:"applies"`
	// ForwardedWrites and ForwardedReads count requests this node sent to
	// the leader; LeaderReads counts leader reads it served as leader.
	ForwardedWrites uint64 `json:"forwarded_writes"`
	ForwardedReads  uint64 `json:"forwarded_reads"`
	LeaderReads     uint64 `json:"leader_reads"`
	// FailedWrites counts ApplyWrite calls that returned an error.
	FailedWrites uint64 `json:"failed_writes"`
	// Restores counts snapshots restored into the executor.
	Restores uint64 `json:"restores"`
	// LastRestore is when the last one happened (zero if never).
	LastRestore time.Time `json:"last_restore"`
	// SnapshotsSupported is false for executors without Snapshot/Restore
	// (the log then grows forever).
	SnapshotsSupported bool `json:"snapshots_supported"`
	// DroppedEvents counts Subscribe events dropped because a subscriber
	// was slow.
	DroppedEvents uint64 `json:"dropped_events"`
}

// Stats returns the node's current numbers.
func (n *Node) Stats() Stats {
	r := n.raft
	s := Stats{
		ID:                 n.id,
		RaftAddr:           n.raftAddr,
		State:              r.State().String(),
		Term:               r.CurrentTerm(),
		LastLogIndex:       r.LastIndex(),
		CommitIndex:        r.CommitIndex(),
		AppliedIndex:       r.AppliedIndex(),
		Applies:            n.fsm.applies.Load(),
		ForwardedWrites:    n.forwardedWrites.Load(),
		ForwardedReads:     n.forwardedReads.Load(),
		LeaderReads:        n.leaderReads.Load(),
		FailedWrites:       n.failedWrites.Load(),
		Restores:           n.fsm.restores.Load(),
		SnapshotsSupported: n.fsm.canSnapshot,
		DroppedEvents:      n.droppedEvents.Load(),
	}
	if ns := n.fsm.lastRestored.Load(); ns > 0 {
		s.LastRestore = time.Unix(0, ns)
	}
	if p, ok := n.currentLeader(); ok {
		s.LeaderID, s.LeaderAddr, s.LeaderWorker = p.ID, p.RaftAddr, p.WorkerAddr
	}
	switch last := r.LastContact(); {
	case r.State() == raft.Leader:
		s.LastContact = 0
	case last.IsZero():
		s.LastContact = -1
	default:
		s.LastContact = time.Since(last)
	}
	// The store's newest snapshot changes when this node persists one or
	// installs one from the leader; raft's own counter says when to look.
	if idx, err := strconv.ParseUint(r.Stats()["last_snapshot_index"], 10, 64); err == nil {
		n.snapMu.Lock()
		stale := idx != n.snapInfo.Index
		n.snapMu.Unlock()
		if stale {
			n.refreshSnapshotInfo()
		}
	}
	n.snapMu.Lock()
	s.LastSnapshot = n.snapInfo
	n.snapMu.Unlock()
	if f := r.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			if srv.Suffrage != raft.Voter {
				continue
			}
			s.Voters++
			if string(srv.ID) != n.id {
				s.Peers++
			}
		}
	}
	return s
}

// Event is a leadership or state change of a node, for the engine's event
// stream.
type Event struct {
	Time time.Time `json:"time"`
	// Node is the ID of the node that observed the change.
	Node string `json:"node"`
	// State is the node's RAFT state after the change.
	State string `json:"state"`
	Term  uint64 `json:"term"`
	// Leader is the leader after the change (empty ID: none known).
	Leader Peer `json:"leader"`
}

type subscriber struct {
	ch   chan Event
	once sync.Once
}

func (s *subscriber) close() { s.once.Do(func() { close(s.ch) }) }

// Subscribe returns a channel of leadership and state changes (raft
// observations) with room for buf events, and a function that ends the
// subscription. Events are dropped, never blocking RAFT, when the channel
// is full (Stats.DroppedEvents). The channel is closed by cancel or by
// Shutdown.
func (n *Node) Subscribe(buf int) (events <-chan Event, cancel func()) {
	s := &subscriber{ch: make(chan Event, max(buf, 1))}
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	if n.closed.Load() {
		s.close()
		return s.ch, func() {}
	}
	n.subs[s] = struct{}{}
	return s.ch, func() {
		n.subsMu.Lock()
		delete(n.subs, s)
		n.subsMu.Unlock()
		s.close()
	}
}

func (n *Node) closeSubscribers() {
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	for s := range n.subs {
		s.close()
		delete(n.subs, s)
	}
}

// observe turns raft observations into leader-change signals (for
// requests waiting for a leader) and Events. It is owned by the node and
// stops when Shutdown closes n.stop.
func (n *Node) observe() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case o := <-n.obsCh:
			n.signalLeaderChange()
			ev := Event{Time: time.Now(), Node: n.id, Term: n.raft.CurrentTerm()}
			switch d := o.Data.(type) {
			case raft.RaftState:
				ev.State = d.String()
			default:
				ev.State = n.raft.State().String()
			}
			if p, ok := n.currentLeader(); ok {
				ev.Leader = p
			}
			n.publish(ev)
		}
	}
}

func (n *Node) publish(ev Event) {
	n.subsMu.Lock()
	defer n.subsMu.Unlock()
	for s := range n.subs {
		select {
		case s.ch <- ev:
		default:
			n.droppedEvents.Add(1)
		}
	}
}
