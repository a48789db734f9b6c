package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/consensus/clusterconf"
	"google.golang.org/grpc"
)

// Peer is one member of a shard's RAFT cluster (clusterconf.Peer).
type Peer = clusterconf.Peer

// ParsePeers decodes a JSON list of peers, as given to `--raft-peers`.
func ParsePeers(s string) ([]Peer, error) { return clusterconf.ParsePeers(s) }

// Defaults of the RAFT knobs (clusterconf holds them, with the trade-offs).
const (
	DefaultHeartbeatTimeout   = clusterconf.DefaultHeartbeatTimeout
	DefaultElectionTimeout    = clusterconf.DefaultElectionTimeout
	DefaultLeaderLeaseTimeout = clusterconf.DefaultLeaderLeaseTimeout
	DefaultCommitTimeout      = clusterconf.DefaultCommitTimeout
	DefaultSnapshotInterval   = clusterconf.DefaultSnapshotInterval
	DefaultSnapshotThreshold  = clusterconf.DefaultSnapshotThreshold
	DefaultTrailingLogs       = clusterconf.DefaultTrailingLogs
	DefaultApplyTimeout       = clusterconf.DefaultApplyTimeout
	DefaultLeaderWaitTimeout  = clusterconf.DefaultLeaderWaitTimeout
	DefaultCatchUpTimeout     = clusterconf.DefaultCatchUpTimeout
	DefaultMaxAppendEntries   = clusterconf.DefaultMaxAppendEntries
	DefaultMaxForwardHops     = clusterconf.DefaultMaxForwardHops
	DefaultTransportTimeout   = clusterconf.DefaultTransportTimeout
	DefaultTransportMaxPool   = clusterconf.DefaultTransportMaxPool
	DefaultSnapshotRetain     = clusterconf.DefaultSnapshotRetain
	DefaultWALSegmentSize     = clusterconf.DefaultWALSegmentSize
	// DefaultRepairWait is Config.RepairWait's default.
	DefaultRepairWait = 20 * time.Second
)

// Config configures a Node. ID, Dir, Peers (or Join) and Instance are
// required; every knob left zero takes its Default* value.
type Config struct {
	// ID is this member's RAFT server ID: the replica id as a string. It
	// must appear in Peers unless Join is set.
	ID string
	// Dir holds the node's state: Dir/wal (raft-wal log and stable store)
	// and Dir/snapshots (file snapshot store). The engine passes
	// <workspace>/raft/<shard>/<replica>/. It is created with mode 0700.
	// Deleting it while the node is stopped wipes the replica; it then
	// catches up from the leader (snapshot + log) when restarted.
	Dir string
	// BindAddr is the host:port the RAFT TCP transport listens on, e.g.
	// 127.0.0.1:7000. Port 0 picks a free port; (*Node).RaftAddr reports
	// it. It must not be an unspecified address (0.0.0.0), because it is
	// also the address other members dial. Ignored when Listener is set.
	BindAddr string
	// Listener, when set, is an already bound TCP listener for the RAFT
	// transport (instead of BindAddr), so a caller can reserve every
	// member's port before building Peers. The node closes it.
	Listener net.Listener
	// Peers is the full intended membership of the shard, this node
	// included, identical on every member (it is what the cluster is
	// bootstrapped with). It is also the address book: members are dialled
	// by ID through it, so changing ports across restarts only needs new
	// Peers on every member. This node's own entry may leave RaftAddr
	// empty (or use port 0): it gets the bound address.
	Peers []Peer
	// Join says this node joins an existing cluster (a replica added by
	// scale-up): it never bootstraps and waits for the leader's AddVoter.
	// Bootstrapping a node that was not part of the initial membership
	// would give it a first log entry that differs from the cluster's.
	Join bool
	// Instance is the executor every committed write is applied to
	// (an *executors.Instance).
	Instance StateMachine
	// Logger receives the node's logs and those of hashicorp/raft and
	// raft-wal (adapted from hclog); nil discards them.
	Logger *slog.Logger
	// Forwarder sends writes and leader reads to the leader's worker. Nil
	// uses a GRPCForwarder that the node closes on Shutdown.
	Forwarder Forwarder
	// NoRepair turns self-repair off. By default a node whose RAFT log
	// under Dir cannot be read asks the other Peers (through their
	// workers) for a leader; when one answers within RepairWait, the
	// damaged folder is renamed to Dir.damaged-<time> (kept, never
	// deleted) and the node rejoins empty, restored by the leader with a
	// snapshot and the log. Without a leader NewNode fails with a
	// *StoreError naming the folder and the repair. With NoRepair it
	// fails at once.
	NoRepair bool
	// OnRepair, when set, is called once the node has repaired its store
	// (before NewNode returns).
	OnRepair func(Repair)
	// RepairWait bounds how long a damaged node waits for another member
	// to report itself leader before giving up. Default 20s: in a full
	// restart the others are starting at the same time.
	RepairWait time.Duration
	// ForwardDialOptions are added to that default forwarder's
	// connections (the flow's credentials for the leader's worker).
	ForwardDialOptions []grpc.DialOption `json:"-"`
	// TransportSecret, when set, is required from every RAFT transport
	// connection (an HMAC challenge, transport_auth.go); every member of
	// a cluster must have the same.
	TransportSecret []byte `json:"-"`

	// Knobs are the tunable RAFT parameters (clusterconf.Knobs); zero ones
	// take their defaults.
	clusterconf.Knobs

	// Transport, LogStore, StableStore and SnapshotStore replace the TCP
	// transport, raft-wal stores and file snapshot store (tests use raft's
	// in-memory ones). The caller owns what it provides; raft closes a
	// transport implementing raft.WithClose when it shuts down.
	Transport     raft.Transport
	LogStore      raft.LogStore
	StableStore   raft.StableStore
	SnapshotStore raft.SnapshotStore
}

// DefaultConfig returns a Config with every knob at its default; fill in
// ID, Dir, BindAddr, Peers and Instance.
func DefaultConfig() Config {
	c := Config{}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	setDur := func(p *time.Duration, d time.Duration) {
		if *p <= 0 {
			*p = d
		}
	}
	setDur(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	setDur(&c.ElectionTimeout, max(DefaultElectionTimeout, c.HeartbeatTimeout))
	setDur(&c.LeaderLeaseTimeout, min(DefaultLeaderLeaseTimeout, c.HeartbeatTimeout))
	setDur(&c.CommitTimeout, DefaultCommitTimeout)
	setDur(&c.SnapshotInterval, DefaultSnapshotInterval)
	setDur(&c.ApplyTimeout, DefaultApplyTimeout)
	setDur(&c.LeaderWaitTimeout, DefaultLeaderWaitTimeout)
	setDur(&c.CatchUpTimeout, DefaultCatchUpTimeout)
	setDur(&c.TransportTimeout, DefaultTransportTimeout)
	setDur(&c.RepairWait, DefaultRepairWait)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = DefaultTrailingLogs
	}
	if c.MaxAppendEntries <= 0 {
		c.MaxAppendEntries = DefaultMaxAppendEntries
	}
	if c.MaxForwardHops <= 0 {
		c.MaxForwardHops = DefaultMaxForwardHops
	}
	if c.TransportMaxPool <= 0 {
		c.TransportMaxPool = DefaultTransportMaxPool
	}
	if c.SnapshotRetain <= 0 {
		c.SnapshotRetain = DefaultSnapshotRetain
	}
	if c.WALSegmentSize <= 0 {
		c.WALSegmentSize = DefaultWALSegmentSize
	}
}

// validate checks what raft.ValidateConfig does not.
func (c *Config) validate() error {
	switch {
	case c.ID == "":
		return errors.New("config: empty ID")
	case c.Instance == nil:
		return errors.New("config: no executor Instance")
	case c.Dir == "" && (c.LogStore == nil || c.StableStore == nil || c.SnapshotStore == nil):
		return errors.New("config: empty Dir")
	case c.Transport == nil && c.Listener == nil && c.BindAddr == "":
		return errors.New("config: empty BindAddr")
	}
	if err := clusterconf.ValidatePeers(c.Peers); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if !c.Join && !slices.ContainsFunc(c.Peers, func(p Peer) bool { return p.ID == c.ID }) {
		return fmt.Errorf("config: ID %q is not in Peers (set Join for a replica added later)", c.ID)
	}
	return nil
}

// raftConfig is the hashicorp/raft configuration the knobs describe; the
// bare-raft benchmark uses it too, so both run with the same settings.
func (c *Config) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.ID)
	rc.HeartbeatTimeout = c.HeartbeatTimeout
	rc.ElectionTimeout = c.ElectionTimeout
	rc.LeaderLeaseTimeout = c.LeaderLeaseTimeout
	rc.CommitTimeout = c.CommitTimeout
	rc.SnapshotInterval = c.SnapshotInterval
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.TrailingLogs = c.TrailingLogs
	rc.MaxAppendEntries = c.MaxAppendEntries
	// A leader that removes itself shuts down rather than lingering as a
	// follower outside the configuration. (Removed followers never start
	// elections either: raft only lets members of the configuration run.)
	rc.ShutdownOnRemove = true
	// go-metrics' legacy names cost a map lookup per call; the engine
	// publishes its own metrics from Stats.
	rc.NoLegacyTelemetry = true
	return rc
}

// SetKnobs sets RAFT knobs from a JSON object, as given to
// `--raft-config` (clusterconf.Knobs.Set).
func (c *Config) SetKnobs(data []byte) error { return c.Knobs.Set(data) }

// KnobNames lists the keys SetKnobs accepts, in snake_case.
func KnobNames() []string { return clusterconf.KnobNames() }
