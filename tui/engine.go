package tui

import (
	"context"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/tui/panes/consensus"
	"github.com/jig-dev/jig/tui/panes/deployments"
	"github.com/jig-dev/jig/tui/panes/newexec"
	"github.com/jig-dev/jig/tui/panes/params"
)

// Engine is what the workbench needs from the running flow. *engine.Engine
// implements it; tests use a fake.
//
// Status must be cheap: the workbench polls it about every 500 ms. The
// actions run in commands, off the UI goroutine, with a context that is
// cancelled when the workbench quits.
type Engine interface {
	// Status returns a snapshot of the flow.
	Status() engine.Status
	// Bus is the event stream: Subscribe for live events, Recent for the
	// history when the workbench opens.
	Bus() *events.Bus
	// RestartDeployment replaces a deployment's replicas one at a time.
	RestartDeployment(ctx context.Context, name string) error
	// UpdateUsesWith validates new uses_with YAML and restarts that
	// deployment; bad YAML is a located error and changes nothing.
	UpdateUsesWith(ctx context.Context, name, usesWithYAML string) error
	// KillReplica ends a replica abruptly (it is restarted after a backoff).
	KillReplica(ctx context.Context, name string, shard, replica int) error
	// RestartReplica stops a replica gracefully and starts it again.
	RestartReplica(ctx context.Context, name string, shard, replica int) error
	// RaftSnapshot makes a replica of a stateful deployment snapshot now.
	RaftSnapshot(ctx context.Context, name string, shard, replica int) error
	// TransferLeadership asks a shard's leader to hand over leadership.
	TransferLeadership(ctx context.Context, name string, shard int) error
	// AddExecutor adds an executor (a generated one) to the running flow.
	AddExecutor(ctx context.Context, name, uses string, reload bool) error
	// Stop stops the flow, closing every executor.
	Stop(ctx context.Context) error
}

// The panes declare the narrow interfaces they use; Engine must satisfy
// all of them.
var (
	_ deployments.Actions = Engine(nil)
	_ consensus.Actions   = Engine(nil)
	_ params.Actions      = Engine(nil)
	_ newexec.Actions     = Engine(nil)
)
