package consensus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// Node is one RAFT member: the replica of a stateful deployment shard.
// Create it with NewNode after the executor instance, hand it to the worker
// (worker.Options.Writes, and Reads for the read side), and call Shutdown
// after the worker has stopped. All methods are safe for concurrent use.
type Node struct {
	cfg    Config
	id     string
	logger *slog.Logger
	inst   StateMachine
	raft   *raft.Raft
	fsm    *fsm

	raftAddr  string
	netTrans  *raft.NetworkTransport // nil with a caller's transport
	wal       *raftwal.WAL           // nil with a caller's stores
	walMeta   *metadb.BoltMetaDB     // closed by us: WAL.Close leaves it open
	snaps     raft.SnapshotStore
	logs      raft.LogStore
	tmpDir    string
	forwarder Forwarder
	group     groupCommit    // writes waiting to be appended, see commit
	ownFwd    *GRPCForwarder // the default forwarder, closed on Shutdown

	static map[string]Peer // Config.Peers by ID, this node's address fixed

	observer *raft.Observer
	obsCh    chan raft.Observation
	stop     chan struct{} // closed by Shutdown
	wg       sync.WaitGroup
	caughtUp chan struct{} // see CaughtUp

	leaderMu sync.Mutex
	leaderCh chan struct{} // closed and replaced on every leader/state change

	subsMu sync.Mutex
	subs   map[*subscriber]struct{}

	watches watchStop // ends jig.RaftAdmin/Watch streams (admin_watch.go)

	forwardedWrites atomic.Uint64
	forwardedReads  atomic.Uint64
	failedWrites    atomic.Uint64
	leaderReads     atomic.Uint64
	droppedEvents   atomic.Uint64

	snapMu   sync.Mutex
	snapInfo SnapshotInfo // latest snapshot in the store

	shutdownOnce sync.Once
	shutdownErr  error
	closed       atomic.Bool
}

// NewNode starts a RAFT member: it opens (or creates) the stores under
// cfg.Dir, binds the transport, restores the latest snapshot into the
// executor, and bootstraps the cluster with cfg.Peers if this node has no
// persisted state (and cfg.Join is not set). It returns once the node runs;
// a leader is elected in the background (see Leader, Subscribe).
func NewNode(cfg Config) (_ *Node, err error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	logger = logger.With("raft_id", cfg.ID)
	// Not the named result: the cleanups below need n after a failed
	// return has set the result to nil.
	n := &Node{
		cfg:      cfg,
		id:       cfg.ID,
		logger:   logger,
		inst:     cfg.Instance,
		static:   map[string]Peer{},
		stop:     make(chan struct{}),
		leaderCh: make(chan struct{}),
		subs:     map[*subscriber]struct{}{},
	}
	// Undo what was opened if a later step fails.
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()
	if cfg.Listener != nil {
		cleanup = append(cleanup, func() { cfg.Listener.Close() })
	}

	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("raft dir: %w", err)
		}
		n.tmpDir = filepath.Join(cfg.Dir, "tmp")
		// Leftovers of a crash during a snapshot or restore.
		if err := os.RemoveAll(n.tmpDir); err != nil {
			return nil, fmt.Errorf("raft dir: clean tmp: %w", err)
		}
		if err := os.MkdirAll(n.tmpDir, 0o700); err != nil {
			return nil, fmt.Errorf("raft dir: %w", err)
		}
	} else if n.tmpDir, err = os.MkdirTemp("", "jig-raft-"+sanitize(cfg.ID)+"-"); err != nil {
		return nil, fmt.Errorf("raft tmp dir: %w", err)
	} else {
		dir := n.tmpDir
		cleanup = append(cleanup, func() { os.RemoveAll(dir) })
	}

	// Transport.
	trans := cfg.Transport
	if trans == nil {
		lis := cfg.Listener
		if lis == nil {
			if lis, err = net.Listen("tcp", cfg.BindAddr); err != nil {
				return nil, fmt.Errorf("raft transport: listen on %s: %w", cfg.BindAddr, err)
			}
			cleanup = append(cleanup, func() { lis.Close() })
		}
		if n.netTrans, err = newTransport(lis, &cfg, addressBook{n}, logger); err != nil {
			return nil, err
		}
		cleanup = append(cleanup, func() { n.netTrans.Close() })
		trans = n.netTrans
	}
	n.raftAddr = string(trans.LocalAddr())

	// The address book: Config.Peers, with this node's own entry completed.
	for _, p := range cfg.Peers {
		if p.ID == n.id && (p.RaftAddr == "" || strings.HasSuffix(p.RaftAddr, ":0")) {
			p.RaftAddr = n.raftAddr
		}
		n.static[p.ID] = p
	}
	if _, ok := n.static[n.id]; !ok {
		n.static[n.id] = Peer{ID: n.id, RaftAddr: n.raftAddr}
	}
	for _, p := range n.static {
		if p.RaftAddr == "" {
			return nil, fmt.Errorf("config: peer %s has no raft address", p.ID)
		}
	}

	// Stores.
	logs, stable, snaps := cfg.LogStore, cfg.StableStore, cfg.SnapshotStore
	if logs == nil || stable == nil {
		var repaired bool
		if n.wal, n.walMeta, repaired, err = n.openCheckedWAL(); err != nil {
			return nil, err
		}
		if repaired {
			// Rebuilt empty: the leader adds what it has, never bootstrap.
			cfg.Join, n.cfg.Join = true, true
		}
		cleanup = append(cleanup, func() { n.wal.Close(); n.walMeta.Close() })
		if logs == nil {
			logs = newLogCache(n.wal)
		}
		if stable == nil {
			stable = n.wal
		}
	}
	if snaps == nil {
		if snaps, err = openSnapshots(&cfg, logger); err != nil {
			return nil, err
		}
	}
	if n.wal == nil {
		// A caller's store: checked, not repaired.
		if err := checkLog(cfg.Dir, logs); err != nil {
			return nil, err
		}
	}
	n.snaps, n.logs = snaps, logs
	n.refreshSnapshotInfo()

	n.fsm = newFSM(cfg.Instance, logger, n.tmpDir)
	n.fsm.onPersist = func(string) { n.refreshSnapshotInfo() }
	rc := cfg.raftConfig()
	rc.Logger = newHCLog(logger, "raft")
	if !n.fsm.canSnapshot {
		// Said once here rather than by raft at every SnapshotInterval.
		logger.Warn("executor has no Snapshot/Restore: automatic snapshots are off, the RAFT log is never compacted and grows with every write; a new replica replays the whole log",
			"executor", cfg.Instance.Name(), "jtype", cfg.Instance.JType())
		rc.SnapshotThreshold = math.MaxUint64
	}

	hasState, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return nil, fmt.Errorf("raft: read state: %w", err)
	}
	if n.raft, err = newRaft(rc, n.fsm, logs, stable, snaps, trans, cfg.Dir); err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { n.raft.Shutdown().Error() })

	n.obsCh = make(chan raft.Observation, 64)
	n.observer = raft.NewObserver(n.obsCh, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.RaftState:
			return true
		}
		return false
	})
	n.raft.RegisterObserver(n.observer)
	n.wg.Add(1)
	go n.observe()
	cleanup = append(cleanup, func() {
		n.raft.DeregisterObserver(n.observer)
		close(n.stop)
		n.wg.Wait()
	})

	switch {
	case hasState:
		logger.Info("raft node restarted from persisted state", "addr", n.raftAddr, "last_index", n.raft.LastIndex())
	case cfg.Join:
		logger.Info("raft node waiting to be added by the leader", "addr", n.raftAddr)
	default:
		conf := raft.Configuration{}
		for _, p := range cfg.Peers {
			conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(n.static[p.ID].RaftAddr)})
		}
		if err := n.raft.BootstrapCluster(conf).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return nil, fmt.Errorf("raft: bootstrap: %w", err)
		}
		logger.Info("raft cluster bootstrapped", "addr", n.raftAddr, "members", len(conf.Servers))
	}

	n.forwarder = cfg.Forwarder
	if n.forwarder == nil {
		n.ownFwd = NewGRPCForwarder(cfg.ForwardDialOptions...)
		n.forwarder = n.ownFwd
	}
	n.caughtUp = make(chan struct{})
	if hasState || cfg.Join {
		n.wg.Add(1)
		go n.catchUp(n.raft.LastIndex())
	} else {
		close(n.caughtUp) // a new cluster: nothing to catch up with
	}
	return n, nil
}

// newRaft is raft.NewRaft that reports a panic (a store that failed in a
// way checkLog did not catch) as a *StoreError instead of crashing.
func newRaft(rc *raft.Config, fsm raft.FSM, logs raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore, trans raft.Transport, dir string) (r *raft.Raft, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, &StoreError{Dir: dir, Reason: fmt.Errorf("raft: start: panic: %v", p)}
		}
	}()
	if r, err = raft.NewRaft(rc, fsm, logs, stable, snaps, trans); err != nil {
		return nil, fmt.Errorf("raft: start: %w", err)
	}
	return r, nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == os.PathSeparator {
			return '_'
		}
		return r
	}, s)
}

// ID returns the node's server ID.
func (n *Node) ID() string { return n.id }

// RaftAddr returns the address the RAFT transport listens on (the bound
// port when Config.BindAddr had port 0).
func (n *Node) RaftAddr() string { return n.raftAddr }

// Raft exposes the underlying hashicorp/raft node for diagnostics. Do not
// Apply to it directly: entries must be written by this package.
func (n *Node) Raft() *raft.Raft { return n.raft }

// Shutdown stops the node: RAFT, the observer, the transport (listener and
// connections), the stores and the default forwarder. It does not close
// the executor instance. It is idempotent and safe to call concurrently;
// pending writes fail with ErrShutdown (UNAVAILABLE).
func (n *Node) Shutdown() error {
	n.shutdownOnce.Do(func() {
		n.closed.Store(true)
		var errs []error
		// raft closes a transport implementing raft.WithClose (ours does,
		// closing the listener and the accepted connections).
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
		}
		n.group.close() // after raft answered what it will
		n.raft.DeregisterObserver(n.observer)
		close(n.stop)
		n.wg.Wait()
		if n.netTrans != nil {
			n.netTrans.CloseStreams() // pooled outbound connections
			if err := n.netTrans.Close(); err != nil {
				errs = append(errs, fmt.Errorf("raft transport: %w", err))
			}
		}
		if n.wal != nil {
			if err := n.wal.Close(); err != nil {
				errs = append(errs, fmt.Errorf("raft wal: %w", err))
			}
			if err := n.walMeta.Close(); err != nil {
				errs = append(errs, fmt.Errorf("raft wal meta store: %w", err))
			}
		}
		if n.ownFwd != nil {
			if err := n.ownFwd.Close(); err != nil {
				errs = append(errs, fmt.Errorf("forwarder: %w", err))
			}
		}
		n.closeSubscribers()
		n.signalLeaderChange()
		if n.cfg.Dir == "" {
			os.RemoveAll(n.tmpDir)
		}
		n.shutdownErr = errors.Join(errs...)
		n.logger.Info("raft node shut down")
	})
	return n.shutdownErr
}

// peer looks a member up by ID: Config.Peers first (the engine's current
// view), then members announced through the log.
func (n *Node) peer(id string) (Peer, bool) {
	if p, ok := n.static[id]; ok {
		return p, true
	}
	if n.fsm != nil {
		return n.fsm.peer(id)
	}
	return Peer{}, false
}

// self is this node's own Peer.
func (n *Node) self() Peer { return n.static[n.id] }

// leaderChanged returns a channel closed at the next leader or state
// change.
func (n *Node) leaderChanged() <-chan struct{} {
	n.leaderMu.Lock()
	defer n.leaderMu.Unlock()
	return n.leaderCh
}

func (n *Node) signalLeaderChange() {
	n.leaderMu.Lock()
	close(n.leaderCh)
	n.leaderCh = make(chan struct{})
	n.leaderMu.Unlock()
}

// leaderPoll is the fallback poll interval while waiting for a leader, in
// case an observation was dropped (raft never blocks on observers).
const leaderPoll = 20 * time.Millisecond

// currentLeader returns the leader as this node sees it (ok false when
// none is known).
func (n *Node) currentLeader() (Peer, bool) {
	if n.raft.State() == raft.Leader {
		return n.self(), true
	}
	addr, id := n.raft.LeaderWithID()
	if id == "" || string(id) == n.id {
		return Peer{}, false // no leader, or we just stepped down
	}
	if p, ok := n.peer(string(id)); ok {
		return p, true
	}
	return Peer{ID: string(id), RaftAddr: string(addr)}, true
}

// waitLeader returns the current leader, waiting up to LeaderWaitTimeout
// (and ctx) while there is none. If not is set, a leader with that ID does
// not count (it just failed us) for one HeartbeatTimeout: long enough for
// a dead leader to be noticed, after which a leader that is still the same
// is retried rather than waited out (our view may have been stale). Either
// way the wait for some leader goes on for the whole LeaderWaitTimeout: an
// election that follows a dead leader takes longer than one heartbeat.
func (n *Node) waitLeader(ctx context.Context, not string) (Peer, error) {
	// The common case, a known leader, without the timers below: this runs
	// for every write and leader read.
	if not == "" && !n.closed.Load() {
		if p, ok := n.currentLeader(); ok {
			return p, nil
		}
	}
	limit := n.cfg.LeaderWaitTimeout
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	var sameAgain <-chan time.Time
	if not != "" {
		t := time.NewTimer(min(n.cfg.HeartbeatTimeout, limit))
		defer t.Stop()
		sameAgain = t.C
	}
	poll := time.NewTicker(leaderPoll)
	defer poll.Stop()
	for {
		changed := n.leaderChanged()
		if n.closed.Load() || n.raft.State() == raft.Shutdown {
			return Peer{}, ErrShutdown
		}
		if p, ok := n.currentLeader(); ok && p.ID != not {
			return p, nil
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-sameAgain:
			not, sameAgain = "", nil // the next leader seen counts, even the same one
		case <-n.stop:
			return Peer{}, ErrShutdown
		case <-ctx.Done():
			return Peer{}, fmt.Errorf("%w: waiting for a leader: %w", ErrNoLeader, ctx.Err())
		case <-deadline.C:
			return Peer{}, fmt.Errorf("%w after %s", ErrNoLeader, limit)
		}
	}
}

// await waits for a raft future, or ctx. The helper goroutine ends when
// raft resolves the future, which it does for every future at shutdown at
// the latest.
func await(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// remaining is the time left before ctx's deadline, at most limit.
func remaining(ctx context.Context, limit time.Duration) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(min(time.Until(d), limit), time.Millisecond)
	}
	return limit
}
