package engine

import "github.com/jig-dev/jig/engine/status"

// The status types live in the leaf package engine/status, so the TUI's
// panes can show a flow without linking the engine; these aliases keep
// their engine names for the engine's own code and its callers.
type (
	// Addresses are where a running flow can be reached.
	Addresses = status.Addresses
	// Status is a snapshot of a running flow, for the TUI and `jig up`.
	Status = status.Flow
	// DeploymentStatus describes one deployment.
	DeploymentStatus = status.Deployment
	// ReplicaStatus describes one replica.
	ReplicaStatus = status.Replica
	// RaftStatus is one replica's view of its RAFT cluster.
	RaftStatus = status.Raft
	// Stats are request statistics over a recent window.
	Stats = status.Stats
)
