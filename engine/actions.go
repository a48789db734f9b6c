package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/engine/replica"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/yamlutil"
	"gopkg.in/yaml.v3"
)

// runner returns one replica of a deployment.
func (e *Engine) runner(name string, shard, rep int) (*deployment, replica.Runner, error) {
	d, err := e.deployment(name)
	if err != nil {
		return nil, nil, err
	}
	shards := d.runners()
	if shard < 0 || shard >= len(shards) {
		return nil, nil, fmt.Errorf("deployment %s has no shard %d (it has %d)", name, shard, len(shards))
	}
	if rep < 0 || rep >= len(shards[shard]) {
		return nil, nil, fmt.Errorf("deployment %s shard %d has no replica %d (it has %d)", name, shard, rep, len(shards[shard]))
	}
	return d, shards[shard][rep], nil
}

// KillReplica ends a replica abruptly, as a crash would (SIGKILL for child
// processes); it is restarted after a backoff. Requests in flight to it
// are retried on other replicas.
func (e *Engine) KillReplica(ctx context.Context, name string, shard, rep int) error {
	_, r, err := e.runner(name, shard, rep)
	if err != nil {
		return err
	}
	e.logger.Warn("killing replica", "deployment", name, "replica", r.Info().Name)
	return r.Kill()
}

// restarter is implemented by runners that can restart in place.
type restarter interface {
	Restart(ctx context.Context) error
}

// RestartReplica stops a replica gracefully and starts it again.
func (e *Engine) RestartReplica(ctx context.Context, name string, shard, rep int) error {
	d, r, err := e.runner(name, shard, rep)
	if err != nil {
		return err
	}
	rr, ok := r.(restarter)
	if !ok {
		return fmt.Errorf("%s/%s cannot be restarted by jig (external)", name, r.Info().Name)
	}
	e.logger.Info("restarting replica", "deployment", name, "replica", r.Info().Name)
	err = rr.Restart(ctx)
	d.discover(ctx)
	return err
}

// RestartDeployment replaces every replica of a deployment with a fresh
// one, one at a time, so the deployment keeps serving.
func (e *Engine) RestartDeployment(ctx context.Context, name string) error {
	d, err := e.deployment(name)
	if err != nil {
		return err
	}
	return d.roll(ctx, events.Restart, nil, d.cfg)
}

// UpdateUsesWith applies new `uses_with` (YAML text) to a deployment and
// restarts it, one replica at a time. Invalid YAML or fields the executor
// does not have are reported with their line, and nothing changes.
func (e *Engine) UpdateUsesWith(ctx context.Context, name, usesWithYAML string) error {
	d, err := e.deployment(name)
	if err != nil {
		return err
	}
	if d.cfg.External {
		return fmt.Errorf("deployment %s is external: its configuration is not jig's", name)
	}
	src := "uses_with of " + name
	node, err := yamlutil.Parse(src, []byte(usesWithYAML))
	if err != nil {
		return err
	}
	if node.Kind != 0 && len(node.Content) > 0 && node.Kind != yaml.MappingNode {
		return yamlutil.At(src, node, "", "want a mapping of the executor's fields")
	}
	cfg := *d.cfg
	cfg.UsesWith = &executors.Override{Node: node, File: src}
	if cfg.InProcess() {
		// Validate before touching replicas: build a throwaway instance.
		spec := executors.Spec{Config: cfg.Config, UsesWith: cfg.UsesWith, UsesMetas: cfg.UsesMetas, UsesRequests: cfg.UsesRequests,
			Runtime: executors.RuntimeArgs{Name: cfg.Name, Replicas: cfg.Replicas, Shards: cfg.Shards, Workspace: d.workspace()}}
		inst, err := executors.New(ctx, spec)
		if err != nil {
			return err
		}
		inst.Close()
	}
	return d.roll(ctx, events.Restart, []string{src}, &cfg)
}

// roll replaces the deployment's replicas one at a time with replicas of
// cfg: start the new one, put it in the pool, take the old one out, stop
// it (draining its requests). If a new replica fails to start, the roll
// stops there and the old replicas keep serving.
func (d *deployment) roll(ctx context.Context, kind events.ReloadKind, trigger []string, cfg *flow.Deployment) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if d.cfg.External {
		return fmt.Errorf("deployment %s is external: jig cannot restart it", d.cfg.Name)
	}
	start := time.Now()
	e := d.e
	e.bus.Publish(events.Update{Time: start, Kind: kind, Deployment: d.cfg.Name, Trigger: trigger, Outcome: events.Started})
	attrs := []any{"deployment", d.cfg.Name, "kind", string(kind)}
	if len(trigger) > 0 {
		attrs = append(attrs, "trigger", strings.Join(trigger, ", "))
	} else {
		attrs = append(attrs, "cause", "requested") // a user's restart: no file changed
	}
	e.logger.Info("refreshing deployment", attrs...)
	old := d.cfg
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	err := d.rollReplicas(ctx)
	outcome := events.Succeeded
	ev := events.Update{Time: time.Now(), Kind: kind, Deployment: d.cfg.Name, Trigger: trigger, Duration: time.Since(start)}
	if err != nil {
		outcome = events.Failure
		ev.Output = err.Error()
		d.mu.Lock()
		d.cfg = old
		d.mu.Unlock()
		e.logger.Error("refresh failed; old replicas keep serving", "deployment", d.cfg.Name, "err", err)
	}
	ev.Outcome = outcome
	e.bus.Publish(ev)
	e.prom.Reloads.WithLabelValues(d.cfg.Name, string(kind), string(outcome)).Inc()
	d.discover(ctx)
	return err
}

func (d *deployment) rollReplicas(ctx context.Context) error {
	if d.raft != nil {
		return d.rollStateful(ctx)
	}
	for s, shard := range d.runners() {
		for i, old := range shard {
			fresh := d.newRunner(s, i, 0)
			if err := fresh.Start(ctx); err != nil {
				fresh.Stop(context.Background())
				return fmt.Errorf("start new %s: %w", fresh.Info().Name, err)
			}
			d.mu.Lock()
			d.shards[s][i] = fresh
			d.mu.Unlock()
			d.syncPools()
			stopCtx, cancel := context.WithTimeout(context.Background(), d.e.opts.StopTimeout)
			err := old.Stop(stopCtx)
			cancel()
			d.forgetTarget(old)
			if err != nil && !errors.Is(err, replica.ErrStopped) {
				d.logger().Warn("stopping replaced replica failed", "replica", old.Info().Name, "err", err)
			}
		}
	}
	return nil
}

// rollStateful replaces the replicas of a stateful deployment in place, one
// at a time: a RAFT replica's identity, addresses and data folder belong to
// it, so the old one stops (handing over leadership) before the new one
// starts on the same addresses and catches up from its log. With three or
// more replicas the shard keeps a quorum throughout.
func (d *deployment) rollStateful(ctx context.Context) error {
	for s, shard := range d.runners() {
		for i, old := range shard {
			if old.Ready() && d.raft != nil {
				if d.raft.leaderOf(s) == i && len(shard) > 1 {
					if c, err := d.raft.admin(old.Info().Address); err == nil {
						tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
						if err := c.TransferLeadership(tctx, ""); err != nil {
							d.logger().Warn("leadership transfer before restart failed", "replica", old.Info().Name, "err", err)
						}
						cancel()
					}
				}
			}
			fresh := d.newRunner(s, i, 0)
			d.mu.Lock()
			d.shards[s][i] = fresh
			d.mu.Unlock()
			d.syncPools() // old leaves the pool before it stops
			stopCtx, cancel := context.WithTimeout(context.Background(), d.e.opts.StopTimeout)
			old.Stop(stopCtx)
			cancel()
			d.forgetTarget(old)
			if err := fresh.Start(ctx); err != nil {
				return fmt.Errorf("start new %s: %w", fresh.Info().Name, err)
			}
			d.syncPools()
			if len(shard) > 1 {
				if _, err := d.raft.waitLeader(ctx, s, -1, 10*time.Second); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
