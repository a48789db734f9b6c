// Package status holds the value types a running flow is described by: the
// snapshot the engine hands to the TUI and to `jig up`. It is a leaf (it
// depends on engine/events only), so a TUI pane can show a flow without
// linking the engine, gRPC servers or RAFT; package engine re-exports these
// types under their historical names (engine.Status, engine.DeploymentStatus,
// ...).
package status

import (
	"time"

	"github.com/jig-dev/jig/engine/events"
)

// Addresses are where a running flow can be reached.
type Addresses struct {
	// GRPC is host:port of the gRPC gateway ("" when not served).
	GRPC string
	// HTTP is host:port of the HTTP gateway ("" when not served).
	HTTP string
	// Metrics is the URL of the Prometheus endpoint.
	Metrics string
}

// Flow is a snapshot of a running flow, for the TUI and `jig up`.
type Flow struct {
	// Flow is the flow's name; File the YAML it came from.
	Flow, File string
	Addresses  Addresses
	Started    time.Time
	// Gateway holds the request statistics of the whole flow.
	Gateway     Stats
	Deployments []Deployment
}

// Deployment describes one deployment.
type Deployment struct {
	Name string
	// Uses is the executor as written in the flow.
	Uses     string
	Replicas int // per shard
	Shards   int
	// Ready counts ready replicas over all shards (out of Replicas*Shards).
	Ready    int
	State    events.State
	Stateful bool
	External bool
	Reload   bool
	// InProcess is true for built-in executors run inside the engine.
	InProcess bool
	// Endpoints the deployment serves (from discovery).
	Endpoints      []string
	WriteEndpoints []string
	// UsesWith is the current `uses_with` as YAML text (editable in the TUI).
	UsesWith string
	Stats    Stats
	// ReplicaStatus lists every replica, shard by shard.
	ReplicaStatus []Replica
}

// Ports returns the worker port of every replica.
func (d Deployment) Ports() []int {
	out := make([]int, 0, len(d.ReplicaStatus))
	for _, r := range d.ReplicaStatus {
		out = append(out, r.Port)
	}
	return out
}

// Replica describes one replica.
type Replica struct {
	// Name is "rep-1" or "shard-0/rep-1".
	Name           string
	Shard, Replica int
	Address        string // host:port of its worker
	Port           int
	PID            int // 0 for in-process replicas
	State          events.State
	Restarts       int
	LastError      string
	Since          time.Time // when the state last changed
	// Raft is set for replicas of stateful deployments.
	Raft *Raft
}

// Role is a replica's part in its RAFT cluster. Its values are the names
// hashicorp/raft gives its states, plus Unknown for a replica the engine
// has not heard from; the type is a string so it prints and styles as is.
type Role string

// The roles a replica can have.
const (
	Leader    Role = "Leader"
	Follower  Role = "Follower"
	Candidate Role = "Candidate"
	Shutdown  Role = "Shutdown"
	Unknown   Role = "Unknown"
)

// ParseRole returns the Role named s (raft's RaftState.String()), Unknown
// for any other text.
func ParseRole(s string) Role {
	switch r := Role(s); r {
	case Leader, Follower, Candidate, Shutdown:
		return r
	}
	return Unknown
}

// Raft is one replica's view of its RAFT cluster.
type Raft struct {
	State        Role
	Term         uint64
	Leader       string // replica name of the leader, "" if none
	LastIndex    uint64
	CommitIndex  uint64
	AppliedIndex uint64
	// LastContact is how long ago a follower heard from the leader (0 on
	// the leader).
	LastContact       time.Duration
	LastSnapshotIndex uint64
	LastSnapshotTerm  uint64
	LastSnapshot      time.Time
	Peers             int
	RaftAddress       string
}

// Stats are request statistics over a recent window.
type Stats struct {
	// Requests and Errors count all requests since start.
	Requests, Errors uint64
	// Rate is requests per second over the last few seconds.
	Rate float64
	// P50 and P99 are latency percentiles over the recent window.
	P50, P99 time.Duration
	// RateHistory holds requests/s per second for the last minute, oldest
	// first (for sparklines).
	RateHistory []float64
	// InFlight is the number of requests being processed now.
	InFlight int64
}
