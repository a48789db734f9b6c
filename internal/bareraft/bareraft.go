// Package bareraft is the benchmark baseline for jig's consensus layer: a
// hashicorp/raft member built exactly as consensus.Node builds its own —
// the raft.Config of the same knobs, the same TCP transport (stream layer,
// pool and timeout), the same raft-wal log (behind the same log cache) and
// stable store and file snapshot store — around a caller's state machine, with none of Node's
// layers (forwarding, reads, peer announcements, catch-up, stats). The
// benchmarks hold jig to it (stateful writes ≥ 0.8× a bare cluster with
// the same store and transport).
//
// It is internal: benchmark scaffolding, not part of consensus' API. The
// consensus package provides the construction (so the baseline cannot
// drift from Node's) and registers it when it is linked; callers import
// consensus (internal/bench and consensus' own tests do).
package bareraft

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/consensus/clusterconf"
)

// Config says which member to start. Zero knobs take their defaults.
type Config struct {
	// ID and Dir are the member's RAFT id and state folder.
	ID, Dir string
	// Listener is the bound RAFT transport listener (the member closes
	// it); without it BindAddr is listened on.
	Listener net.Listener
	BindAddr string
	// Peers is the membership the cluster is bootstrapped with (their
	// RaftAddr: a bare member has no address book).
	Peers []clusterconf.Peer
	// Knobs are the RAFT knobs, as a stateful deployment's.
	Knobs clusterconf.Knobs
	// Logger receives raft's logs; nil discards them.
	Logger *slog.Logger
}

// Member is one started bare member.
type Member struct {
	// Raft is the member; apply writes to it with Raft.Apply.
	Raft *raft.Raft
	// Addr is the member's RAFT transport address.
	Addr string
	// Shutdown stops the member and closes its transport and stores, as
	// consensus.Node.Shutdown does; safe to call more than once.
	Shutdown func() error
}

// Starter builds a member; consensus provides it.
type Starter func(cfg Config, fsm raft.FSM) (*Member, error)

var (
	mu      sync.Mutex
	starter Starter
)

// Register is called by the consensus package (in init) with its member
// construction.
func Register(s Starter) {
	mu.Lock()
	defer mu.Unlock()
	starter = s
}

// Start starts a bare member with fsm; it bootstraps the cluster with
// cfg.Peers when cfg.Dir holds no state.
func Start(cfg Config, fsm raft.FSM) (*Member, error) {
	mu.Lock()
	s := starter
	mu.Unlock()
	if s == nil {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
		return nil, errors.New("bare raft: the consensus package is not linked into this program (import it)")
	}
	return s(cfg, fsm)
}

// NopFSM is a state machine that applies nothing and snapshots nothing:
// with it, a bare cluster measures RAFT itself.
type NopFSM struct{}

// Apply implements raft.FSM.
func (NopFSM) Apply(*raft.Log) any { return nil }

// Snapshot implements raft.FSM.
func (NopFSM) Snapshot() (raft.FSMSnapshot, error) { return nopSnapshot{}, nil }

// Restore implements raft.FSM.
func (NopFSM) Restore(rc io.ReadCloser) error { return rc.Close() }

type nopSnapshot struct{}

func (nopSnapshot) Persist(s raft.SnapshotSink) error { return s.Close() }
func (nopSnapshot) Release()                          {}
