package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/engine/metrics"
	"github.com/jig-dev/jig/engine/replica"
	"github.com/jig-dev/jig/engine/router"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/proto/jinapb"
	"gopkg.in/yaml.v3"
)

// deployment is a running deployment: its replicas per shard and its
// routing state.
type deployment struct {
	e     *Engine
	cfg   *flow.Deployment
	route atomic.Pointer[router.Deployment] // replaced by routing-only changes
	stats *metrics.Recorder

	mu      sync.Mutex
	shards  [][]replica.Runner
	binary  string // built executor, for source deployments
	state   events.State
	stopped bool
	started bool // start finished: from then on, missing replicas mean degraded

	eps atomic.Pointer[jinapb.EndpointsProto]
	// targets maps each runner to its router.Target.
	targets sync.Map
	// raft is the RAFT side of a stateful deployment (nil otherwise); it
	// watches the replicas until stop.
	raft *raftGroup
	// opMu serialises operations that replace replicas (restart, reload,
	// scale), so they never interleave.
	opMu sync.Mutex
}

func (e *Engine) newDeployment(cfg *flow.Deployment) *deployment {
	d := &deployment{e: e, cfg: cfg, stats: metrics.NewRecorder(), state: events.Starting}
	d.route.Store(d.newRoute())
	return d
}

func (d *deployment) newRoute() *router.Deployment {
	cfg := d.cfg
	rd := &router.Deployment{
		Name: cfg.Name, Polling: cfg.Polling, When: cfg.When, Retries: cfg.EffectiveRetries(),
		TimeoutSend: cfg.TimeoutSend, WaitReady: time.Second, Stats: d.stats,
	}
	rd.Observe = func(outcome string, lat time.Duration) {
		d.e.prom.Requests.WithLabelValues(cfg.Name, outcome).Inc()
		d.e.prom.Latency.WithLabelValues(cfg.Name).Observe(lat.Seconds())
	}
	for range cfg.Shards {
		rd.Shards = append(rd.Shards, router.NewPool())
	}
	return rd
}

func (d *deployment) logger() *slog.Logger {
	return d.e.logger.With("deployment", d.cfg.Name)
}

// start builds the executor if needed (unless startAll already did) and
// starts every replica concurrently, waiting at most the flow's
// timeout_ready for them. The build is not part of that: a first build
// with a cold Go cache can take minutes.
func (d *deployment) start(ctx context.Context) error {
	d.publishState(events.Starting, "")
	d.mu.Lock()
	needBuild := d.cfg.Source != "" && !d.cfg.External && d.binary == ""
	d.mu.Unlock()
	if needBuild {
		res, err := d.build(ctx, nil)
		if err != nil {
			d.publishState(events.Failed, err.Error())
			return err
		}
		d.mu.Lock()
		d.binary = res.Binary
		d.mu.Unlock()
	}
	began := time.Now()
	if to := d.e.flow.Gateway.TimeoutReady; to > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, to)
		defer cancel()
	}
	if d.cfg.Stateful {
		if d.raft != nil {
			d.raft.close()
		}
		g, err := newRaftGroup(d.e, d.cfg, d.config)
		if err != nil {
			d.publishState(events.Failed, err.Error())
			return err
		}
		d.raft = g
	}
	shards := make([][]replica.Runner, d.cfg.Shards)
	for s := range shards {
		shards[s] = make([]replica.Runner, d.cfg.Replicas)
		for r := range shards[s] {
			shards[s][r] = d.newRunner(s, r, d.portFor(s, r))
		}
	}
	d.mu.Lock()
	d.shards = shards
	d.mu.Unlock()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, shard := range shards {
		for _, r := range shard {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.Start(ctx); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	d.syncPools()
	if len(errs) > 0 {
		err := fmt.Errorf("deployment %s failed to start: %w", d.cfg.Name, errors.Join(errs...))
		if ctx.Err() != nil {
			err = fmt.Errorf("deployment %s not ready within timeout_ready (%s), if your executor takes time to load, increase timeout_ready: %w", d.cfg.Name, d.e.flow.Gateway.TimeoutReady, errors.Join(errs...))
		}
		d.publishState(events.Failed, err.Error())
		return err
	}
	d.discover(ctx)
	d.mu.Lock()
	d.started = true
	d.mu.Unlock()
	d.updateState()
	d.logger().Info("deployment ready", "replicas", d.cfg.Replicas*d.cfg.Shards, "took", time.Since(began).Round(time.Millisecond).String())
	if d.raft != nil {
		d.raft.start(d.runners)
	}
	return nil
}

// build gets the deployment's binary (cached or freshly built),
// reporting a build as an event.
func (d *deployment) build(ctx context.Context, trigger []string) (build.Result, error) {
	return d.e.buildSource(ctx, d.cfg.Source, []*deployment{d}, trigger)
}

// portFor is the fixed worker port of a replica, or 0 to pick one.
func (d *deployment) portFor(shard, rep int) int { return portFor(d.cfg, shard, rep) }

func portFor(cfg *flow.Deployment, shard, rep int) int {
	if cfg.Port == 0 {
		return 0
	}
	return cfg.Port + shard*cfg.Replicas + rep
}

// config is the deployment's current configuration (scaling and reloading
// replace it).
func (d *deployment) config() *flow.Deployment {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// newRunner creates (does not start) one replica. Stateful replicas keep
// their planned addresses, whatever port says.
func (d *deployment) newRunner(shard, rep, port int) replica.Runner {
	if d.raft != nil {
		return d.newStatefulRunner(shard, rep, false)
	}
	return d.newPlainRunner(shard, rep, port, nil, nil)
}

// newStatefulRunner creates a replica that runs a RAFT node; join makes a
// replica added later wait for the leader to add it.
func (d *deployment) newStatefulRunner(shard, rep int, join bool) replica.Runner {
	port := d.raft.workerPort(shard, rep)
	if d.cfg.Source != "" {
		return d.newPlainRunner(shard, rep, port, d.raft.flags(shard, rep, join), nil)
	}
	onRepair := func(rp consensus.Repair) {
		d.publishRepair(d.cfg.ReplicaName(shard, rep), rp.Dir, rp.MovedTo, rp.Reason)
	}
	return d.newPlainRunner(shard, rep, port, nil, d.raft.attach(shard, rep, join, onRepair))
}

// newPlainRunner creates a replica: raftFlags completes the RAFT flags of
// child processes, attach wires in-process replicas.
func (d *deployment) newPlainRunner(shard, rep, port int, raftFlags func(*workerflags.Flags), attach func(context.Context, *executors.Instance, *worker.Options, string) (func(), error)) replica.Runner {
	cfg := d.cfg
	name := cfg.ReplicaName(shard, rep)
	common := replica.Common{
		Deployment: cfg.Name, Name: name, Shard: shard, Replica: rep,
		Logger:  d.logger(),
		OnState: d.onReplicaState,
	}
	if cfg.External {
		// Never the flow's secret: an external executor is someone else's.
		common.AuthToken = cfg.AuthToken
	} else {
		common.AuthToken = d.e.secret
	}
	maxMsg := d.e.flow.Gateway.MaxMessageSize
	switch {
	case cfg.External:
		return replica.NewExternal(replica.ExternalSpec{Common: common, Address: cfg.Address(shard, rep), MaxMessageSize: maxMsg})
	case cfg.Source != "":
		d.mu.Lock()
		binary := d.binary
		d.mu.Unlock()
		locate := childErrorLocator(cfg)
		return replica.NewProcess(replica.ProcessSpec{
			Common: common, Binary: binary, Args: d.workerArgs(shard, rep, raftFlags), Env: envList(cfg.Env),
			Dir: cfg.Source, Port: port, MaxMessageSize: maxMsg, Locate: locate,
			Output: func(l events.Log) {
				// The child's "error:" line, located like its exit error,
				// so the log does not show flag text the user never wrote.
				if msg, ok := strings.CutPrefix(l.Message, "error: "); ok && l.Level >= slog.LevelError {
					if r, ok := locate(msg); ok {
						l.Message = "error: " + r
					}
				}
				if l.Message == consensus.RepairLogMessage {
					d.publishRepairLog(name, l.Attrs)
				}
				if l.Level >= d.e.opts.LogLevel.Level() {
					d.e.bus.Publish(l)
				}
			},
		})
	}
	source := cfg.Name + "/" + name
	return replica.NewLocal(replica.LocalSpec{
		Common: common,
		Executor: executors.Spec{
			Config: cfg.Config, UsesWith: cfg.UsesWith, UsesMetas: cfg.UsesMetas,
			UsesRequests: cfg.UsesRequests, UsesRequestsAt: cfg.UsesRequestsAt, UsesDynamicBatching: cfg.UsesDynamicBatching,
			Runtime: executors.RuntimeArgs{Name: cfg.Name, Replicas: cfg.Replicas, Shards: cfg.Shards, ShardID: shard, ReplicaID: rep, Workspace: d.workspace()},
			Logger:  slog.New(events.NewLogHandler(d.e.bus, source, d.e.opts.LogLevel)),
		},
		Port: port, Listener: d.plannedListener(shard, rep), MaxMessageSize: maxMsg, Attach: attach,
	})
}

// plannedListener is the socket planned for an in-process replica's
// worker (stateful deployments bind them ahead, see raftGroup), nil if
// none.
func (d *deployment) plannedListener(shard, rep int) net.Listener {
	if d.raft == nil {
		return nil
	}
	return d.raft.takeListener(shard, rep, true)
}

// workerArgs are the flags of a child-process replica (without
// --host/--port, which the runner adds); raftFlags, for a stateful
// replica, sets where its RAFT node lives.
func (d *deployment) workerArgs(shard, rep int, raftFlags func(*workerflags.Flags)) []string {
	// An override that cannot be written as JSON is left out, as it
	// always was; the child then reports the config without it.
	f, _ := d.cfg.WorkerFlags(shard, rep)
	f.LogLevel = strings.ToLower(d.e.opts.LogLevel.Level().String())
	f.Workspace = d.workspace()
	if raftFlags != nil {
		raftFlags(&f)
	} else {
		f.Raft = workerflags.Default().Raft
	}
	return f.Args()
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// syncPools points the router's pools at the current runners.
func (d *deployment) syncPools() {
	d.mu.Lock()
	shards := d.shards
	d.mu.Unlock()
	for s, runners := range shards {
		targets := make([]*router.Target, 0, len(runners))
		for _, r := range runners {
			targets = append(targets, d.targetFor(r))
		}
		d.route.Load().Shards[s].Set(targets)
	}
}

// targetFor returns the router's view of a runner, kept per runner so its
// in-flight counter survives pool updates.
func (d *deployment) targetFor(r replica.Runner) *router.Target {
	if t, ok := d.targets.Load(r); ok {
		return t.(*router.Target)
	}
	info := r.Info()
	t := &router.Target{Name: info.Name, Address: info.Address, Conn: r.Conn(), Ready: r.Ready}
	if rs := d.raft; rs != nil {
		t.Leader = func() bool { return rs.isLeader(info.Shard, info.Replica) }
	}
	actual, _ := d.targets.LoadOrStore(r, t)
	return actual.(*router.Target)
}

// forgetTarget drops a runner that left the deployment.
func (d *deployment) forgetTarget(r replica.Runner) { d.targets.Delete(r) }

// discover asks a replica for the deployment's endpoints, so the router
// can skip the deployment for endpoints it does not serve.
func (d *deployment) discover(ctx context.Context) {
	for _, shard := range d.runners() {
		for _, r := range shard {
			if !r.Ready() {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			eps, err := r.Conn().Endpoints(cctx)
			cancel()
			if err != nil {
				d.logger().Warn("endpoint discovery failed; sending every request", "replica", r.Info().Name, "err", err)
				continue
			}
			d.eps.Store(eps)
			d.route.Load().SetEndpoints(eps.GetEndpoints())
			d.route.Load().SetWriteEndpoints(eps.GetWriteEndpoints())
			if w := eps.GetWriteEndpoints(); len(w) > 0 && d.cfg.Replicas > 1 && !d.cfg.Stateful && !d.cfg.External {
				d.logger().Warn("writes reach one replica only: set stateful: true to replicate them with RAFT", "write_endpoints", w, "replicas", d.cfg.Replicas)
			}
			return
		}
	}
}

// discovered returns the last discovery result (nil if none).
func (d *deployment) discovered() *jinapb.EndpointsProto { return d.eps.Load() }

func (d *deployment) runners() [][]replica.Runner {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([][]replica.Runner, len(d.shards))
	for i, s := range d.shards {
		out[i] = append([]replica.Runner(nil), s...)
	}
	return out
}

// onReplicaState publishes a replica's state change and recomputes the
// deployment's state.
func (d *deployment) onReplicaState(info replica.Info) {
	reason := ""
	if info.State == events.Failed {
		reason = info.LastError
	}
	d.e.bus.Publish(events.ReplicaState{Time: time.Now(), Deployment: d.cfg.Name, Replica: info.Name, State: info.State, Reason: reason})
	if info.State == events.Ready && d.raft != nil {
		d.raft.replicaReady(info.Shard, info.Replica)
	}
	if info.State == events.Failed && info.LastError != "" {
		d.logger().Warn("replica failed", "replica", info.Name, "reason", info.LastError)
	}
	d.updateState()
}

// updateState derives the deployment's state from its replicas.
func (d *deployment) updateState() {
	d.mu.Lock()
	if d.stopped || d.state == events.Reloading {
		d.mu.Unlock()
		return
	}
	total, ready := 0, 0
	for _, s := range d.shards {
		for _, r := range s {
			total++
			if r.Ready() {
				ready++
			}
		}
	}
	d.mu.Unlock()
	d.e.prom.ReplicasReady.WithLabelValues(d.cfg.Name).Set(float64(ready))
	st := events.Ready
	switch {
	case total == 0 || ready == 0:
		st = events.Failed
	case ready < total:
		st = events.Degraded
	}
	d.mu.Lock()
	starting := !d.started
	d.mu.Unlock()
	if starting && total > 0 && ready < total {
		return // replicas coming up one by one are not a degraded deployment
	}
	d.publishState(st, "")
}

func (d *deployment) currentState() events.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

func (d *deployment) publishState(st events.State, reason string) {
	d.mu.Lock()
	changed := d.state != st
	d.state = st
	d.mu.Unlock()
	if changed {
		d.e.bus.Publish(events.DeploymentState{Time: time.Now(), Deployment: d.cfg.Name, State: st, Reason: reason})
	}
}

// stop stops every replica.
func (d *deployment) stop(ctx context.Context) error {
	d.publishState(events.Stopping, "")
	if d.raft != nil {
		d.raft.close() // its watchers first: stopping replicas is no news
	}
	d.mu.Lock()
	d.stopped = true
	shards := d.shards
	d.mu.Unlock()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, s := range shards {
		for _, r := range s {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.Stop(ctx); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s/%s: %w", d.cfg.Name, r.Info().Name, err))
					mu.Unlock()
				}
				d.forgetTarget(r)
			}()
		}
	}
	wg.Wait()
	d.mu.Lock()
	d.state = events.Stopped
	d.mu.Unlock()
	d.e.bus.Publish(events.DeploymentState{Time: time.Now(), Deployment: d.cfg.Name, State: events.Stopped})
	return errors.Join(errs...)
}

// status describes the deployment.
func (d *deployment) status() DeploymentStatus {
	cfg := d.cfg
	st := DeploymentStatus{
		Name: cfg.Name, Uses: cfg.Uses, Replicas: cfg.Replicas, Shards: cfg.Shards,
		Stateful: cfg.Stateful, External: cfg.External, Reload: cfg.Reload, InProcess: cfg.InProcess(),
		State: d.currentState(), Stats: toStats(d.stats.Snapshot()),
	}
	if cfg.UsesWith != nil && cfg.UsesWith.Node != nil {
		if b, err := yaml.Marshal(cfg.UsesWith.Node); err == nil {
			st.UsesWith = string(b)
		}
	}
	if eps := d.discovered(); eps != nil {
		st.Endpoints, st.WriteEndpoints = eps.GetEndpoints(), eps.GetWriteEndpoints()
	}
	for _, shard := range d.runners() {
		for _, r := range shard {
			info := r.Info()
			rs := ReplicaStatus{Name: info.Name, Shard: info.Shard, Replica: info.Replica, Address: info.Address, PID: info.PID,
				State: info.State, Restarts: info.Restarts, LastError: info.LastError, Since: info.Since}
			if i := strings.LastIndex(info.Address, ":"); i >= 0 {
				rs.Port, _ = strconv.Atoi(info.Address[i+1:])
			}
			if info.State == events.Ready {
				st.Ready++
			}
			if d.raft != nil {
				rs.Raft = d.raft.status(info.Shard, info.Replica)
			}
			st.ReplicaStatus = append(st.ReplicaStatus, rs)
		}
	}
	return st
}
