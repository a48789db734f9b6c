package consensus

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"

	"github.com/hashicorp/raft"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/jig-dev/jig/consensus/clusterconf"
)

// Bare is a hashicorp/raft member built the way NewNode builds one — the
// raft.Config of the same knobs, the same TCP transport (stream layer,
// pool and timeout) and the same raft-wal log and stable store and file
// snapshot store under Dir — around a caller's state machine instead of
// the executor FSM, and with none of Node's layers (forwarding, reads,
// peer announcements, catch-up, stats). It is the baseline the benchmarks
// hold jig's consensus layer to (docs/ARCHITECTURE.md, quality bars:
// stateful writes ≥ 0.8× a bare hashicorp/raft cluster with the same store
// and transport). Replicas use Node.
type Bare struct {
	// Raft is the member; apply writes to it with Raft.Apply.
	Raft *raft.Raft

	tr   *raft.NetworkTransport
	wal  *raftwal.WAL
	meta *metadb.BoltMetaDB

	once sync.Once
	err  error
}

// NewBare starts a bare member. It uses cfg's ID, Dir, Listener (or
// BindAddr), Peers (their RaftAddr: a bare member has no address book)
// and RAFT knobs; Instance, Forwarder and Join are ignored. It bootstraps
// the cluster with Peers when Dir holds no state.
func NewBare(cfg Config, fsm raft.FSM) (b *Bare, err error) {
	cfg.setDefaults()
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	lis := cfg.Listener
	switch {
	case cfg.ID == "" || cfg.Dir == "":
		err = errors.New("bare raft: config needs ID and Dir")
	case fsm == nil:
		err = errors.New("bare raft: no state machine")
	case lis == nil && cfg.BindAddr == "":
		err = errors.New("bare raft: config needs Listener or BindAddr")
	}
	if err == nil {
		err = clusterconf.ValidatePeers(cfg.Peers)
	}
	if err == nil && lis == nil {
		lis, err = net.Listen("tcp", cfg.BindAddr)
	}
	if err != nil {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
		return nil, err
	}
	b = &Bare{}
	defer func() {
		if err != nil {
			if b.tr == nil {
				lis.Close()
			}
			b.Shutdown()
		}
	}()
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return b, fmt.Errorf("bare raft: %w", err)
	}
	if b.tr, err = newTransport(lis, &cfg, nil, logger); err != nil {
		return b, err
	}
	if b.wal, b.meta, err = openWAL(&cfg, logger); err != nil {
		return b, err
	}
	snaps, err := openSnapshots(&cfg, logger)
	if err != nil {
		return b, err
	}
	hasState, err := raft.HasExistingState(b.wal, b.wal, snaps)
	if err != nil {
		return b, fmt.Errorf("bare raft: read state: %w", err)
	}
	rc := cfg.raftConfig()
	rc.Logger = newHCLog(logger, "raft")
	if b.Raft, err = raft.NewRaft(rc, fsm, b.wal, b.wal, snaps, b.tr); err != nil {
		return b, fmt.Errorf("bare raft: start: %w", err)
	}
	if !hasState {
		conf := raft.Configuration{}
		for _, p := range cfg.Peers {
			addr := p.RaftAddr
			if p.ID == cfg.ID {
				addr = string(b.tr.LocalAddr())
			}
			conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(addr)})
		}
		if err := b.Raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return b, fmt.Errorf("bare raft: bootstrap: %w", err)
		}
	}
	return b, nil
}

// Addr is the member's RAFT transport address.
func (b *Bare) Addr() string { return string(b.tr.LocalAddr()) }

// Shutdown stops the member and closes its transport and stores, as
// Node.Shutdown does. It is safe to call more than once.
func (b *Bare) Shutdown() error {
	b.once.Do(func() {
		var errs []error
		if b.Raft != nil {
			if err := b.Raft.Shutdown().Error(); err != nil {
				errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
			}
		}
		if b.tr != nil {
			b.tr.CloseStreams()
			if err := b.tr.Close(); err != nil {
				errs = append(errs, fmt.Errorf("raft transport: %w", err))
			}
		}
		if b.wal != nil {
			if err := b.wal.Close(); err != nil {
				errs = append(errs, fmt.Errorf("raft wal: %w", err))
			}
			if err := b.meta.Close(); err != nil {
				errs = append(errs, fmt.Errorf("raft wal meta store: %w", err))
			}
		}
		b.err = errors.Join(errs...)
	})
	return b.err
}

// NopFSM is a state machine that applies nothing and snapshots nothing:
// with it, a Bare cluster measures RAFT itself.
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
