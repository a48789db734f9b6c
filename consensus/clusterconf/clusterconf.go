// Package clusterconf holds the RAFT cluster settings that travel outside a running
// node — on worker command lines (--raft-peers, --raft-config,
// --read-consistency), in flow files (raft_configuration) and in exports —
// as plain values: a shard's Peers, the Knobs and the read Consistency. It
// does not import hashicorp/raft, so code that only writes or reads these
// settings (the engine's planner, export, a worker built without RAFT
// support) does not link RAFT. consensus.Config embeds Knobs.
package clusterconf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
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
	if err := ValidatePeers(peers); err != nil {
		return nil, err
	}
	return peers, nil
}

// ValidatePeers checks that every peer has an id and no id repeats.
func ValidatePeers(peers []Peer) error {
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
)

// Knobs are the tunable RAFT parameters of a stateful deployment. Zero
// values take the Default* values (consensus applies them); a flow's
// raft_configuration, --raft-config and consensus.Config all carry this
// one struct.
type Knobs struct {
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
}

// knob names one field of Knobs in snake_case, as written in JSON.
type knob struct {
	name string
	ptr  any // *time.Duration, *int or *uint64
}

// fields lists the knobs of k in a fixed order: JSON output and KnobNames
// follow it.
func (k *Knobs) fields() []knob {
	return []knob{
		{"heartbeat_timeout", &k.HeartbeatTimeout},
		{"election_timeout", &k.ElectionTimeout},
		{"leader_lease_timeout", &k.LeaderLeaseTimeout},
		{"commit_timeout", &k.CommitTimeout},
		{"snapshot_interval", &k.SnapshotInterval},
		{"snapshot_threshold", &k.SnapshotThreshold},
		{"trailing_logs", &k.TrailingLogs},
		{"apply_timeout", &k.ApplyTimeout},
		{"leader_wait_timeout", &k.LeaderWaitTimeout},
		{"catch_up_timeout", &k.CatchUpTimeout},
		{"max_append_entries", &k.MaxAppendEntries},
		{"max_forward_hops", &k.MaxForwardHops},
		{"transport_timeout", &k.TransportTimeout},
		{"transport_max_pool", &k.TransportMaxPool},
		{"snapshot_retain", &k.SnapshotRetain},
		{"wal_segment_size", &k.WALSegmentSize},
	}
}

// KnobNames lists the keys Set accepts, in snake_case.
func KnobNames() []string {
	var k Knobs
	var names []string
	for _, f := range k.fields() {
		names = append(names, f.name)
	}
	return names
}

// IsZero reports whether every knob is unset (all defaults).
func (k Knobs) IsZero() bool { return k == Knobs{} }

// JSON renders the knobs that are set (non-zero) as a JSON object with
// snake_case keys, durations as Go duration strings ("750ms"): the text of
// --raft-config, which Set reads back to the same Knobs. All zero: "".
func (k Knobs) JSON() string {
	var b strings.Builder
	for _, f := range k.fields() {
		var v string
		switch p := f.ptr.(type) {
		case *time.Duration:
			if *p != 0 {
				v = `"` + p.String() + `"`
			}
		case *int:
			if *p != 0 {
				v = fmt.Sprint(*p)
			}
		case *uint64:
			if *p != 0 {
				v = fmt.Sprint(*p)
			}
		}
		if v == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(`"` + f.name + `":` + v)
	}
	if b.Len() == 0 {
		return ""
	}
	b.WriteByte('}')
	return b.String()
}

// Set sets knobs from a JSON object, as given to `--raft-config` (Jina's
// raft_configuration): keys are the field names in PascalCase or
// snake_case ("HeartbeatTimeout", "heartbeat_timeout"); durations are Go
// duration strings ("750ms", "10s") or numbers of milliseconds (unlike
// Jina, snapshot_interval is in milliseconds too: write "10s" to be
// explicit). Unknown keys and wrong types are errors; knobs the object
// does not name keep their values.
func (k *Knobs) Set(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("raft config: want a JSON object: %w", err)
	}
	byName := map[string]any{}
	for _, f := range k.fields() {
		byName[strings.ReplaceAll(f.name, "_", "")] = f.ptr
	}
	keys := make([]string, 0, len(raw))
	for key := range raw {
		keys = append(keys, key)
	}
	sort.Strings(keys) // deterministic error for several bad keys
	for _, key := range keys {
		v := raw[key]
		f, ok := byName[strings.ReplaceAll(strings.ToLower(key), "_", "")]
		if !ok {
			return fmt.Errorf("raft config: unknown key %q (known: %s)", key, strings.Join(KnobNames(), ", "))
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
			return fmt.Errorf("raft config: %s: %w", key, err)
		}
	}
	return nil
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

// Consistency says how fresh a read of a stateful replica must be.
type Consistency int

const (
	// ConsistencyLocal serves the read from this replica's executor: no
	// network hop and available without a leader, but possibly stale. A
	// follower lags the leader by the time it takes to learn the commit
	// index (about CommitTimeout when idle, one round trip under load), and
	// a partitioned or restarting replica serves whatever it had.
	ConsistencyLocal Consistency = iota
	// ConsistencyLeader serves the read on the leader after it confirmed
	// its leadership with a quorum (raft.VerifyLeader) and applied every
	// entry committed before the read (raft.Barrier); followers forward
	// such reads to the leader. The read sees every write acknowledged
	// before it started, at the cost of a quorum round trip and a log
	// append per read.
	ConsistencyLeader
)

// String returns "local" or "leader".
func (c Consistency) String() string {
	if c == ConsistencyLeader {
		return "leader"
	}
	return "local"
}

// ParseConsistency parses "local" (or "") and "leader", as given to
// `--read-consistency`.
func ParseConsistency(s string) (Consistency, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "local":
		return ConsistencyLocal, nil
	case "leader":
		return ConsistencyLeader, nil
	}
	return ConsistencyLocal, fmt.Errorf("read consistency: want local or leader, got %q", s)
}
