package consensus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/executors"
	"google.golang.org/grpc"
)

// Peer is one member of a shard's RAFT cluster.
type Peer struct {
	// ID is the RAFT server ID, the replica id as a string ("0", "1", ...).
	ID string `json:"id"`
	// RaftAddr is the host:port of the member's RAFT transport.
	RaftAddr string `json:"raft"`
	// WorkerAddr is the host:port of the member's worker (the gRPC server
	// speaking Jina's worker protocol); followers forward writes and leader
	// reads there.
	WorkerAddr string `json:"worker"`
}

// ParsePeers decodes a JSON list of peers, as given to `--raft-peers`:
// [{"id":"0","raft":"127.0.0.1:7000","worker":"127.0.0.1:7100"}, ...].
func ParsePeers(s string) ([]Peer, error) {
	var peers []Peer
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&peers); err != nil {
		return nil, fmt.Errorf("peers: want a JSON list of {\"id\",\"raft\",\"worker\"}: %w", err)
	}
	if err := validatePeers(peers); err != nil {
		return nil, err
	}
	return peers, nil
}

func validatePeers(peers []Peer) error {
	seen := map[string]bool{}
	for i, p := range peers {
		if p.ID == "" {
			return fmt.Errorf("peers[%d]: empty id", i)
		}
		if seen[p.ID] {
			return fmt.Errorf("peers[%d]: duplicate id %q", i, p.ID)
		}
		seen[p.ID] = true
	}
	return nil
}

// Defaults of the RAFT knobs. They suit replicas on one machine (loopback,
// round trips of tens of microseconds, an fsync per batch); see the Config
// fields for the trade-offs.
const (
	DefaultHeartbeatTimeout   = 300 * time.Millisecond
	DefaultElectionTimeout    = 500 * time.Millisecond
	DefaultLeaderLeaseTimeout = 150 * time.Millisecond
	DefaultCommitTimeout      = 20 * time.Millisecond
	DefaultSnapshotInterval   = 60 * time.Second
	DefaultSnapshotThreshold  = 4096
	DefaultTrailingLogs       = 2048
	DefaultApplyTimeout       = 10 * time.Second
	DefaultLeaderWaitTimeout  = 5 * time.Second
	DefaultCatchUpTimeout     = 30 * time.Second
	DefaultMaxAppendEntries   = 256
	DefaultMaxForwardHops     = 3
	DefaultTransportTimeout   = 10 * time.Second
	DefaultTransportMaxPool   = 3
	DefaultSnapshotRetain     = 3
	DefaultWALSegmentSize     = 64 << 20
	DefaultRepairWait         = 20 * time.Second
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
	// Instance is the executor every committed write is applied to.
	Instance *executors.Instance
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

	// HeartbeatTimeout is how long a follower goes without contact from
	// the leader before it starts an election. The leader heartbeats every
	// HeartbeatTimeout/10; a follower checks for contact on a timer
	// randomised between 1x and 2x, so a crashed leader is noticed after
	// 1x to 3x HeartbeatTimeout (about 1.5x on average), and the vote takes
	// a few ms on loopback. Lower values fail over sooner; too low and a
	// stalled process (a loaded CI machine, -race) triggers needless
	// elections. 300ms (raft's default, 1s, is meant for real networks):
	// new leaders typically within 0.5-0.9s, always under 3x
	// ElectionTimeout, while tolerating stalls of a few hundred ms.
	HeartbeatTimeout time.Duration
	// ElectionTimeout is how long a candidate waits for votes before it
	// starts a new round (randomised between 1x and 2x); it only matters
	// after a split vote, which randomisation makes rare with a handful of
	// replicas. Must be >= HeartbeatTimeout. Default 500ms.
	ElectionTimeout time.Duration
	// LeaderLeaseTimeout is how long a leader keeps leading without
	// hearing from a quorum before it steps down; it bounds how long a
	// partitioned leader accepts writes that cannot commit. Must be <=
	// HeartbeatTimeout. Default 150ms.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout is how long the leader waits without new entries
	// before it sends an AppendEntries anyway, which is how followers learn
	// the commit index on an idle cluster: it bounds the staleness of local
	// reads on followers when nothing else is written. Lower values cost
	// idle RPCs (1/CommitTimeout per follower and second). Default 20ms
	// (raft: 50ms).
	CommitTimeout time.Duration
	// SnapshotInterval is how often raft checks whether to snapshot
	// (randomised between 1x and 2x, so replicas do not snapshot together).
	// Default 60s.
	SnapshotInterval time.Duration
	// SnapshotThreshold is how many entries must have been applied since
	// the last snapshot for a periodic check to take one. Snapshots pause
	// writes while the executor writes its state, so lower values trade
	// write latency spikes for a shorter log to replay. Default 4096 (jig
	// entries are batches of documents, heavier than raft's typical keys).
	SnapshotThreshold uint64
	// TrailingLogs is how many entries are kept after a snapshot, so a
	// follower that lags by less catches up from the log instead of a full
	// snapshot. Default 2048.
	TrailingLogs uint64
	// ApplyTimeout bounds one write on the leader, from submission to the
	// leader's executor response; the caller's context bounds it further.
	// A write that times out may still be applied later (ErrOutcomeUnknown,
	// DEADLINE_EXCEEDED). Default 10s. Jina hard-coded 1s.
	ApplyTimeout time.Duration
	// LeaderWaitTimeout bounds how long a request waits for a leader to be
	// known (during an election) before it fails with ErrNoLeader
	// (UNAVAILABLE); the caller's context bounds it further. Default 5s,
	// several election rounds.
	LeaderWaitTimeout time.Duration
	// CatchUpTimeout bounds how long a restarted or joining replica waits
	// to catch up with the leader (see Node.CaughtUp) before it serves
	// anyway, possibly stale, with a warning. Default 30s: hashicorp/raft
	// backs off replication to a peer it could not reach for up to about
	// 10s, so a replica that was down for a while needs that long.
	CatchUpTimeout time.Duration
	// MaxAppendEntries is the most entries sent in one AppendEntries RPC;
	// with concurrent writers, larger batches raise throughput (one fsync
	// per batch) at the cost of larger messages. 1..1024, default 256
	// (raft: 64).
	MaxAppendEntries int
	// MaxForwardHops bounds how many times a request is forwarded between
	// members while leadership moves; it stops forwarding loops between
	// members with different views of the leader. Default 3.
	MaxForwardHops int
	// TransportTimeout is the I/O deadline of RAFT RPCs (scaled up for
	// snapshot transfers). Default 10s.
	TransportTimeout time.Duration
	// TransportMaxPool is how many idle connections per peer the RAFT
	// transport keeps. Default 3.
	TransportMaxPool int
	// SnapshotRetain is how many snapshots the file store keeps. Default 3.
	SnapshotRetain int
	// WALSegmentSize is the size of raft-wal's segment files, which are
	// preallocated: smaller segments waste less disk for small logs, larger
	// ones rotate less often. Default 64 MiB.
	WALSegmentSize int

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
	if err := validatePeers(c.Peers); err != nil {
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

// knobs maps the normalised names accepted by SetKnobs to the fields.
func (c *Config) knobs() map[string]any {
	return map[string]any{
		"heartbeattimeout":   &c.HeartbeatTimeout,
		"electiontimeout":    &c.ElectionTimeout,
		"leaderleasetimeout": &c.LeaderLeaseTimeout,
		"committimeout":      &c.CommitTimeout,
		"snapshotinterval":   &c.SnapshotInterval,
		"snapshotthreshold":  &c.SnapshotThreshold,
		"trailinglogs":       &c.TrailingLogs,
		"applytimeout":       &c.ApplyTimeout,
		"leaderwaittimeout":  &c.LeaderWaitTimeout,
		"catchuptimeout":     &c.CatchUpTimeout,
		"maxappendentries":   &c.MaxAppendEntries,
		"maxforwardhops":     &c.MaxForwardHops,
		"transporttimeout":   &c.TransportTimeout,
		"transportmaxpool":   &c.TransportMaxPool,
		"snapshotretain":     &c.SnapshotRetain,
		"walsegmentsize":     &c.WALSegmentSize,
	}
}

// SetKnobs sets RAFT knobs from a JSON object, as given to `--raft-config`
// (Jina's raft_configuration): keys are the Config field names in
// PascalCase or snake_case ("HeartbeatTimeout", "heartbeat_timeout");
// durations are Go duration strings ("750ms", "10s") or numbers of
// milliseconds (unlike Jina, snapshot_interval is in milliseconds too:
// write "10s" to be explicit). Unknown keys and wrong types are errors.
func (c *Config) SetKnobs(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("raft config: want a JSON object: %w", err)
	}
	fields := c.knobs()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic error for several bad keys
	for _, k := range keys {
		v := raw[k]
		f, ok := fields[strings.ReplaceAll(strings.ToLower(k), "_", "")]
		if !ok {
			return fmt.Errorf("raft config: unknown key %q (known: %s)", k, strings.Join(KnobNames(), ", "))
		}
		var err error
		switch p := f.(type) {
		case *time.Duration:
			*p, err = parseDuration(v)
		case *int:
			err = json.Unmarshal(v, p)
		case *uint64:
			err = json.Unmarshal(v, p)
		}
		if err != nil {
			return fmt.Errorf("raft config: %s: %w", k, err)
		}
	}
	return nil
}

// KnobNames lists the keys SetKnobs accepts, in snake_case.
func KnobNames() []string {
	return []string{
		"heartbeat_timeout", "election_timeout", "leader_lease_timeout", "commit_timeout",
		"snapshot_interval", "snapshot_threshold", "trailing_logs", "apply_timeout",
		"leader_wait_timeout", "max_append_entries", "max_forward_hops", "transport_timeout",
		"transport_max_pool", "snapshot_retain", "wal_segment_size",
	}
}

func parseDuration(v json.RawMessage) (time.Duration, error) {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, err
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("want a duration such as \"500ms\": %w", err)
		}
		return d, nil
	}
	var ms float64
	if err := json.Unmarshal(v, &ms); err != nil {
		return 0, fmt.Errorf("want a duration string or milliseconds, got %s", v)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}
