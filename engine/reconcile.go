package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/engine/replica"
	"github.com/jig-dev/jig/engine/router"
	"github.com/jig-dev/jig/executors"
	"gopkg.in/yaml.v3"
)

// fingerprint captures everything about a deployment that its replicas are
// built from: when it changes, the replicas must be replaced. Routing
// settings (needs, polling, when, retries, timeouts) are not part of it:
// they change without touching replicas.
func fingerprint(d *flow.Deployment) string {
	text := func(n *yaml.Node) string {
		if n == nil || n.Kind == 0 {
			return ""
		}
		b, _ := yaml.Marshal(n)
		return string(b)
	}
	override := func(o *executors.Override) string {
		if o == nil {
			return ""
		}
		return text(o.Node)
	}
	fp := struct {
		Uses, JType, With, UsesWith, UsesMetas, Source, Workspace string
		Metas                                                     executors.Metas
		Requests, UsesRequests, Env                               map[string]string
		Batching, UsesBatching                                    map[string]executors.BatchConfig
		Shards, Port                                              int
		Stateful, External                                        bool
		Addresses                                                 []string
		PeerPorts                                                 [][]int
		Raft                                                      flow.RaftSettings
		Consistency                                               flow.Consistency
	}{
		Uses: d.Uses, UsesWith: override(d.UsesWith), UsesMetas: override(d.UsesMetas), Source: d.Source, Workspace: d.Workspace,
		UsesRequests: d.UsesRequests, Env: d.Env, UsesBatching: d.UsesDynamicBatching,
		Shards: d.Shards, Port: d.Port, Stateful: d.Stateful, External: d.External, Addresses: d.Addresses,
		PeerPorts: d.PeerPorts, Raft: d.Raft, Consistency: d.Consistency,
	}
	if c := d.Config; c != nil {
		fp.JType, fp.With, fp.Metas, fp.Requests, fp.Batching = c.JType, text(&c.With), c.Metas, c.Requests, c.DynamicBatching
	}
	b, _ := json.Marshal(fp)
	return string(b)
}

// Reconcile makes the running flow match nf: new deployments start,
// removed ones stop, changed ones are replaced one replica at a time,
// rescaled ones gain or lose replicas, and routing changes apply to new
// requests. Untouched deployments keep running. If something cannot start,
// the running flow is left as it was. trigger names the files whose change
// caused it (for the event).
func (e *Engine) Reconcile(ctx context.Context, nf *flow.Flow, trigger []string) error {
	e.reconcileMu.Lock()
	defer e.reconcileMu.Unlock()
	start := time.Now()
	e.bus.Publish(events.Update{Time: start, Kind: events.Reconcile, Trigger: trigger, Outcome: events.Started})
	err := e.reconcile(ctx, nf, trigger)
	ev := events.Update{Time: time.Now(), Kind: events.Reconcile, Trigger: trigger, Duration: time.Since(start), Outcome: events.Succeeded}
	if err != nil {
		ev.Outcome, ev.Output = events.Failure, err.Error()
		e.logger.Error("flow change not applied; the flow keeps running as it was", "err", err)
	}
	e.bus.Publish(ev)
	e.prom.Reloads.WithLabelValues("", string(events.Reconcile), string(ev.Outcome)).Inc()
	return err
}

func (e *Engine) reconcile(ctx context.Context, nf *flow.Flow, trigger []string) error {
	old := e.Flow()
	if !reflect.DeepEqual(old.Gateway.Protocols, nf.Gateway.Protocols) || !reflect.DeepEqual(old.Gateway.Ports, nf.Gateway.Ports) || old.Gateway.Host != nf.Gateway.Host {
		e.logger.Warn("gateway settings (host, ports, protocols) changed; they apply when jig restarts")
	}
	var added, replaced []*flow.Deployment
	var rolled, rescaled, rerouted []*flow.Deployment
	var removed []string
	for _, nd := range nf.Deployments {
		od := old.Deployment(nd.Name)
		switch {
		case od == nil:
			added = append(added, nd)
		case fingerprint(od) != fingerprint(nd):
			if od.Shards != nd.Shards || od.External != nd.External || od.Source != nd.Source || od.Stateful != nd.Stateful {
				replaced = append(replaced, nd)
			} else {
				rolled = append(rolled, nd)
			}
		case od.Replicas != nd.Replicas:
			rescaled = append(rescaled, nd)
		default:
			rerouted = append(rerouted, nd)
		}
	}
	for _, od := range old.Deployments {
		if nf.Deployment(od.Name) == nil {
			removed = append(removed, od.Name)
		}
	}
	var summary []string
	for _, l := range []struct {
		what string
		ds   []*flow.Deployment
	}{{"add", added}, {"replace", replaced}, {"restart", rolled}, {"rescale", rescaled}} {
		for _, d := range l.ds {
			summary = append(summary, l.what+" "+d.Name)
		}
	}
	for _, n := range removed {
		summary = append(summary, "remove "+n)
	}
	e.logger.Info("applying flow change", "changes", strings.Join(summary, ", "))

	// Start what is new first; on failure nothing else has changed yet.
	fresh := make(map[string]*deployment)
	var starting []*deployment
	for _, nd := range append(append([]*flow.Deployment(nil), added...), replaced...) {
		d := e.newDeployment(nd)
		fresh[nd.Name] = d
		starting = append(starting, d)
	}
	if err := errors.Join(e.startAll(ctx, starting)...); err != nil {
		var ds []*deployment
		for _, d := range fresh {
			ds = append(ds, d)
		}
		e.stopDeployments(context.Background(), ds)
		return err
	}
	for _, nd := range rolled {
		d, err := e.deployment(nd.Name)
		if err != nil {
			return err
		}
		if err := d.roll(ctx, events.Restart, trigger, nd); err != nil {
			return fmt.Errorf("restart %s: %w", nd.Name, err)
		}
	}
	for _, nd := range rescaled {
		d, err := e.deployment(nd.Name)
		if err != nil {
			return err
		}
		if err := d.scale(ctx, nd); err != nil {
			return fmt.Errorf("rescale %s: %w", nd.Name, err)
		}
	}
	e.mu.Lock()
	var retired []*deployment
	for _, nd := range rerouted {
		if d, ok := e.deps[nd.Name]; ok {
			d.reroute(nd)
		}
	}
	for name, d := range fresh {
		if prev, ok := e.deps[name]; ok {
			retired = append(retired, prev)
		}
		e.deps[name] = d
	}
	for _, name := range removed {
		retired = append(retired, e.deps[name])
		delete(e.deps, name)
	}
	e.flow = nf
	e.mu.Unlock()
	prev := e.swapRouter()
	stopCtx, cancel := context.WithTimeout(context.Background(), e.opts.StopTimeout)
	defer cancel()
	if prev != nil && len(retired) > 0 {
		// Requests the old router took may still reach a retired
		// deployment further down their path: let them finish first.
		if err := prev.Drain(stopCtx); err != nil {
			e.logger.Warn("stopping removed deployments before in-flight requests finished", "err", err)
		}
	}
	return e.stopDeployments(stopCtx, retired)
}

// reroute applies routing-only changes: new requests see them.
func (d *deployment) reroute(cfg *flow.Deployment) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rd := d.newRouteShared(cfg)
	d.cfg = cfg
	d.route.Store(rd)
}

// newRouteShared builds routing state for cfg over the existing pools, so
// in-flight counters and replicas carry over.
func (d *deployment) newRouteShared(cfg *flow.Deployment) *router.Deployment {
	old := d.route.Load()
	saved := d.cfg
	d.cfg = cfg
	rd := d.newRoute()
	d.cfg = saved
	rd.Shards = old.Shards
	if eps := d.eps.Load(); eps != nil {
		rd.SetEndpoints(eps.GetEndpoints())
		rd.SetWriteEndpoints(eps.GetWriteEndpoints())
	}
	return rd
}

// scale adds or removes replicas in every shard to match cfg.Replicas.
// New replicas start before they join the pools; removed ones leave the
// pools before they stop.
func (d *deployment) scale(ctx context.Context, cfg *flow.Deployment) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if d.raft != nil {
		return d.scaleStateful(ctx, cfg)
	}
	start := time.Now()
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	var toStop []replica.Runner
	for s, shard := range d.runners() {
		switch n := cfg.Replicas; {
		case n > len(shard):
			for r := len(shard); r < n; r++ {
				fresh := d.newRunner(s, r, d.portFor(s, r))
				if err := fresh.Start(ctx); err != nil {
					fresh.Stop(context.Background())
					return err
				}
				d.mu.Lock()
				d.shards[s] = append(d.shards[s], fresh)
				d.mu.Unlock()
			}
		case n < len(shard):
			toStop = append(toStop, shard[n:]...)
			d.mu.Lock()
			d.shards[s] = d.shards[s][:n]
			d.mu.Unlock()
		}
	}
	d.syncPools()
	for _, r := range toStop {
		r.Stop(ctx)
		d.forgetTarget(r)
	}
	d.updateState()
	d.e.logger.Info("rescaled deployment", "deployment", cfg.Name, "replicas", cfg.Replicas, "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// AddExecutor adds a deployment to the running flow, after the current
// output (it becomes the new output, as Jina's Flow.add does). uses is
// builtin:Name, a config.yml or an executor folder; reload watches its
// source.
func (e *Engine) AddExecutor(ctx context.Context, name, uses string, reload bool) error {
	cur := e.Flow()
	doc := map[string]any{"jtype": "Flow", "executors": []any{map[string]any{"name": name, "uses": uses, "reload": reload}}}
	text, _ := yaml.Marshal(doc)
	one, err := flow.Parse("add "+name, cur.Dir, text)
	if err != nil {
		return err
	}
	d := one.Deployments[0]
	d.Needs = nil
	if d.Workspace == "" {
		d.Workspace = cur.Gateway.Workspace
	}
	nf, err := cur.WithDeployment(d)
	if err != nil {
		return err
	}
	if err := e.Reconcile(ctx, nf, nil); err != nil {
		return err
	}
	if reload {
		e.watchDeployment(d)
	}
	return nil
}
