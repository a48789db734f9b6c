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
	"github.com/jig-dev/jig/internal/bareraft"
)

// bare is a hashicorp/raft member built the way NewNode builds one, the
// benchmark baseline internal/bareraft hands out (see there).
type bare struct {
	raft *raft.Raft
	tr   *raft.NetworkTransport
	wal  *raftwal.WAL
	meta *metadb.BoltMetaDB

	once sync.Once
	err  error
}

func init() { bareraft.Register(startBare) }

// startBare implements bareraft.Starter with Node's transport, stores and
// raft.Config.
func startBare(bc bareraft.Config, fsm raft.FSM) (*bareraft.Member, error) {
	cfg := Config{ID: bc.ID, Dir: bc.Dir, Listener: bc.Listener, BindAddr: bc.BindAddr, Peers: bc.Peers, Knobs: bc.Knobs, Logger: bc.Logger}
	b, err := newBare(cfg, fsm)
	if err != nil {
		return nil, err
	}
	return &bareraft.Member{Raft: b.raft, Addr: string(b.tr.LocalAddr()), Shutdown: b.shutdown}, nil
}

// newBare starts a bare member. It uses cfg's ID, Dir, Listener (or
// BindAddr), Peers (their RaftAddr: a bare member has no address book)
// and RAFT knobs; Instance, Forwarder and Join are ignored. It bootstraps
// the cluster with Peers when Dir holds no state.
func newBare(cfg Config, fsm raft.FSM) (b *bare, err error) {
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
	b = &bare{}
	defer func() {
		if err != nil {
			if b.tr == nil {
				lis.Close()
			}
			b.shutdown()
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
	logs := newLogCache(b.wal) // as NewNode's
	hasState, err := raft.HasExistingState(logs, b.wal, snaps)
	if err != nil {
		return b, fmt.Errorf("bare raft: read state: %w", err)
	}
	rc := cfg.raftConfig()
	rc.Logger = newHCLog(logger, "raft")
	if b.raft, err = raft.NewRaft(rc, fsm, logs, b.wal, snaps, b.tr); err != nil {
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
		if err := b.raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return b, fmt.Errorf("bare raft: bootstrap: %w", err)
		}
	}
	return b, nil
}

// shutdown stops the member and closes its transport and stores, as
// Node.Shutdown does. It is safe to call more than once.
func (b *bare) shutdown() error {
	b.once.Do(func() {
		var errs []error
		if b.raft != nil {
			if err := b.raft.Shutdown().Error(); err != nil {
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
