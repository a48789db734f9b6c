package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
)

// The RAFT side of a stateful deployment (addresses, node configuration,
// leadership, stats) is its raftGroup (raftgroup.go); here are the
// operations that change its replicas, and the engine's RAFT actions.

// scaleStateful adds replicas as RAFT voters (started with join, then
// added by the leader) or removes them (removed by the leader, then
// stopped).
func (d *deployment) scaleStateful(ctx context.Context, cfg *flow.Deployment) error {
	old := d.cfg.Replicas
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	g := d.raft
	for s := range d.runners() {
		if cfg.Replicas > old {
			for r := old; r < cfg.Replicas; r++ {
				p, err := g.addPeer(s, r)
				if err != nil {
					return err
				}
				// The new replica reports ready only once caught up, which
				// needs the leader to know it: add it as a voter as soon as
				// its RAFT transport listens, while Start waits.
				fresh := d.newStatefulRunner(s, r, true)
				started := make(chan error, 1)
				go func() { started <- fresh.Start(ctx) }()
				if err := g.addVoter(ctx, s, p, started); err != nil {
					fresh.Stop(context.Background())
					<-started
					return fmt.Errorf("add %s as a RAFT voter: %w", d.cfg.ReplicaName(s, r), err)
				}
				if err := <-started; err != nil {
					fresh.Stop(context.Background())
					return err
				}
				d.mu.Lock()
				d.shards[s] = append(d.shards[s], fresh)
				d.mu.Unlock()
			}
			continue
		}
		for r := old - 1; r >= cfg.Replicas; r-- {
			if err := g.removeServer(ctx, s, r); err != nil {
				return fmt.Errorf("remove %s from RAFT: %w", d.cfg.ReplicaName(s, r), err)
			}
			d.mu.Lock()
			gone := d.shards[s][r]
			d.shards[s] = d.shards[s][:r]
			d.mu.Unlock()
			d.syncPools()
			gone.Stop(ctx)
			d.forgetTarget(gone)
			g.dropPeer(s, r)
		}
	}
	d.syncPools()
	d.updateState()
	return nil
}

// RaftSnapshot makes a replica of a stateful deployment snapshot its state
// now (the log before it can then be compacted).
func (e *Engine) RaftSnapshot(ctx context.Context, name string, shard, rep int) error {
	d, r, err := e.runner(name, shard, rep)
	if err != nil {
		return err
	}
	if d.raft == nil {
		return fmt.Errorf("deployment %s is not stateful", name)
	}
	c, err := d.raft.admin(r.Info().Address)
	if err != nil {
		return err
	}
	info, err := c.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("snapshot %s/%s: %w", name, r.Info().Name, err)
	}
	e.logger.Info("RAFT snapshot taken", "deployment", name, "replica", r.Info().Name, "index", info.Index, "term", info.Term)
	return nil
}

// TransferLeadership asks the leader of a stateful shard to hand
// leadership to another replica.
func (e *Engine) TransferLeadership(ctx context.Context, name string, shard int) error {
	d, err := e.deployment(name)
	if err != nil {
		return err
	}
	if d.raft == nil {
		return fmt.Errorf("deployment %s is not stateful", name)
	}
	runners := d.runners()
	if shard < 0 || shard >= len(runners) {
		return fmt.Errorf("deployment %s has no shard %d", name, shard)
	}
	idx := d.raft.leaderOf(shard)
	if idx < 0 {
		return fmt.Errorf("shard %d of %s has no leader right now", shard, name)
	}
	if idx >= len(runners[shard]) {
		return fmt.Errorf("leader %d of %s is not a running replica", idx, name)
	}
	c, err := d.raft.admin(runners[shard][idx].Info().Address)
	if err != nil {
		return err
	}
	if err := c.TransferLeadership(ctx, ""); err != nil {
		return fmt.Errorf("transfer leadership of %s shard %d: %w", name, shard, err)
	}
	e.logger.Info("RAFT leadership transfer requested", "deployment", name, "shard", shard, "from", d.cfg.ReplicaName(shard, idx))
	return nil
}

// publishRepair says that a replica rebuilt its damaged RAFT store (an
// event in the Events pane, a warning in the log).
func (d *deployment) publishRepair(replicaName, dir, movedTo, reason string) {
	out := fmt.Sprintf("%s: the RAFT store in %s could not be read (%s); it was moved to %s and the replica was restored from the leader", replicaName, dir, reason, movedTo)
	d.e.bus.Publish(events.Update{Time: time.Now(), Kind: events.Repair, Deployment: d.cfg.Name, Outcome: events.Succeeded, Output: out})
	d.logger().Warn("RAFT store repaired", "replica", replicaName, "dir", dir, "moved_to", movedTo, "reason", reason)
}

// publishRepairLog is publishRepair for a child replica's log line.
func (d *deployment) publishRepairLog(replicaName string, attrs []events.Attr) {
	get := func(k string) string {
		for _, a := range attrs {
			if a.Key == k {
				return a.Value
			}
		}
		return ""
	}
	d.publishRepair(replicaName, get("dir"), get("moved_to"), get("reason"))
}
