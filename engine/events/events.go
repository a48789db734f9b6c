// Package events is the engine's event stream: logs from every source,
// replica and deployment state changes, reload/restart/build outcomes and
// RAFT leadership changes. The TUI, `jig up` and tests subscribe to it.
//
// Publishing never blocks the engine: a subscriber that falls behind loses
// events (counted in Subscription.Dropped) instead of slowing requests.
package events

import (
	"log/slog"
	"time"
)

// Event is one thing that happened in the engine.
type Event interface {
	// When returns the time of the event.
	When() time.Time
}

// Log is one log line, from the engine, the gateway or a replica.
type Log struct {
	Time time.Time
	// Source is "engine", "gateway", or "<deployment>/<replica>" such as
	// "index/shard-1/rep-0".
	Source string
	Level  slog.Level
	// Message is the log message; for child processes, a line of output.
	Message string
	// Attrs are the structured attributes, rendered as text.
	Attrs []Attr
}

// Attr is a structured log attribute.
type Attr struct{ Key, Value string }

// When implements Event.
func (e Log) When() time.Time { return e.Time }

// ReplicaState says a replica changed state.
type ReplicaState struct {
	Time       time.Time
	Deployment string
	// Replica is "rep-1" or "shard-0/rep-1".
	Replica string
	State   State
	// Reason explains failures and restarts.
	Reason string
}

// When implements Event.
func (e ReplicaState) When() time.Time { return e.Time }

// DeploymentState says a deployment changed state.
type DeploymentState struct {
	Time       time.Time
	Deployment string
	State      State
	Reason     string
}

// When implements Event.
func (e DeploymentState) When() time.Time { return e.Time }

// State is the lifecycle state of a replica or deployment.
type State string

// States.
const (
	Starting  State = "starting"
	Ready     State = "ready"
	Degraded  State = "degraded" // some replicas ready, not all
	Reloading State = "reloading"
	Failed    State = "failed"
	Stopping  State = "stopping"
	Stopped   State = "stopped"
)

// ReloadKind says what kind of change an Update is about.
type ReloadKind string

// Kinds of updates.
const (
	// Build is a `go build` of an executor's source.
	Build ReloadKind = "build"
	// Reload replaces replicas with a freshly built binary.
	Reload ReloadKind = "reload"
	// Restart restarts a deployment after its YAML changed.
	Restart ReloadKind = "restart"
	// Reconcile applies a changed flow YAML (added, removed, rescaled).
	Reconcile ReloadKind = "reconcile"
	// Repair is a stateful replica that rebuilt a damaged RAFT store from
	// the leader (the damaged one kept aside; Output says where).
	Repair ReloadKind = "repair"
)

// Outcome is the result of an update.
type Outcome string

// Outcomes.
const (
	Started   Outcome = "started"
	Succeeded Outcome = "succeeded"
	Failure   Outcome = "failed"
)

// Update reports a build, reload, restart or reconcile.
type Update struct {
	Time       time.Time
	Kind       ReloadKind
	Deployment string // "" for a whole-flow reconcile
	// Trigger lists the files whose change caused the update.
	Trigger  []string
	Outcome  Outcome
	Duration time.Duration
	// Output is the compiler output of a failed build, or an error.
	Output string
}

// When implements Event.
func (e Update) When() time.Time { return e.Time }

// Leader says the RAFT leader of a stateful deployment shard changed.
type Leader struct {
	Time       time.Time
	Deployment string
	Shard      int
	// Replica is the new leader ("" when there is none).
	Replica string
	Term    uint64
}

// When implements Event.
func (e Leader) When() time.Time { return e.Time }

// Access is one request through the gateway: the access log. The engine
// rate-limits them (see Skipped), so a flow under load publishes a bounded
// number per second.
type Access struct {
	Time time.Time
	// Endpoint is the request's executor endpoint ("/search").
	Endpoint string
	// RequestID is the request's header.request_id.
	RequestID string
	// Docs and DocsOut count the documents in and out.
	Docs, DocsOut int
	Latency       time.Duration
	// Status is "ok", "error" (an executor failed), or the gRPC code of a
	// delivery failure ("unavailable", "deadline_exceeded", ...).
	Status string
	// Replicas are the replicas that served the request, in the order
	// they answered: "norm/rep-1", "index/shard-0/rep-0".
	Replicas []string
	// Skipped is how many requests were not logged since the previous
	// Access event, because more than Limit arrived within a second.
	Skipped int
	// Limit is the most Access events published per second.
	Limit int
}

// When implements Event.
func (e Access) When() time.Time { return e.Time }
