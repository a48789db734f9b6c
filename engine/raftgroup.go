package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/engine/replica"
	"github.com/jig-dev/jig/engine/status"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/executors/workerflags"
	"google.golang.org/grpc"
)

// raftGroup is the RAFT side of a stateful deployment. It plans where
// every replica's RAFT node and worker listen and keep their data (peers
// must know each other before they start, and keep their addresses across
// restarts), configures the nodes, and knows who leads each shard: the
// nodes push their state (a consensus.Node subscription for in-process
// replicas, a jig.RaftAdmin/Watch stream for child processes), so the
// router sends writes to the leader without polling. It also keeps the
// latest stats of each replica for Status and metrics. The deployment
// owns the replicas; the group only plans, configures and watches them.
type raftGroup struct {
	e *Engine
	// config is the deployment's current configuration (scaling and
	// reloading replace it).
	config func() *flow.Deployment
	// child is true when replicas are child processes (Watch streams)
	// rather than in-process (subscriptions).
	child bool
	dial  []grpc.DialOption // the flow's credentials

	mu      sync.Mutex
	members [][]*member   // [shard][replica]
	leader  []int         // per shard: the leading replica, -1 if none
	top     []uint64      // per shard: the newest term a replica led
	changed chan struct{} // closed and replaced at every leader change
	conns   map[string]*grpc.ClientConn
	closed  bool
	ctx     context.Context // watchers and the stats poller; ended by close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
	runners func() [][]replica.Runner // the deployment's, for the stats poller
}

// member is what the group knows of one replica.
type member struct {
	peer  consensus.Peer     // its planned addresses
	lis   *plannedListeners  // in-process: bound at planning, taken by the first start
	stats *consensus.Stats   // latest stats (Status, metrics), nil if unreadable
	role  replicaRole        // pushed by its node
	kick  chan struct{}      // child process: it became ready
	stop  context.CancelFunc // child process: ends its watcher
}

// replicaRole is what a replica's node last said about itself.
type replicaRole struct {
	role status.Role // "" until heard from
	term uint64
}

// plannedListeners are an in-process replica's sockets, bound when its
// addresses are planned and handed to its first start, so no other
// process can take the ports in between (restarts bind the same ports
// again).
type plannedListeners struct {
	raft, worker net.Listener
}

// statsInterval is how often the group reads every replica's stats for
// Status and metrics (leadership is pushed, not read here).
const statsInterval = 300 * time.Millisecond

// newRaftGroup plans the addresses of every replica of cfg.
func newRaftGroup(e *Engine, cfg *flow.Deployment, config func() *flow.Deployment) (*raftGroup, error) {
	ctx, cancel := context.WithCancel(context.Background())
	g := &raftGroup{
		e: e, config: config, child: cfg.Source != "", dial: e.authDial(),
		conns: map[string]*grpc.ClientConn{}, changed: make(chan struct{}), ctx: ctx, cancel: cancel,
	}
	for s := 0; s < cfg.Shards; s++ {
		g.addShard()
		for r := 0; r < cfg.Replicas; r++ {
			if _, err := g.addPeer(s, r); err != nil {
				g.close()
				return nil, err
			}
		}
	}
	return g, nil
}

func (g *raftGroup) logger() *slog.Logger {
	return g.e.logger.With("deployment", g.config().Name)
}

func (g *raftGroup) addShard() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members = append(g.members, nil)
	g.leader = append(g.leader, -1)
	g.top = append(g.top, 0)
}

// addPeer plans replica r of shard s (the next one) and, for a child
// process once the group runs, starts following its state.
func (g *raftGroup) addPeer(s, r int) (consensus.Peer, error) {
	p, lis, err := g.newPeer(s, r)
	if err != nil {
		return consensus.Peer{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members[s] = append(g.members[s], &member{peer: p, lis: lis, kick: make(chan struct{}, 1)})
	if g.started {
		g.watchLocked(s, r)
	}
	return p, nil
}

// dropPeer forgets the last replica r of shard s (scale-down, after RAFT
// removed it and the replica stopped).
func (g *raftGroup) dropPeer(s, r int) {
	g.mu.Lock()
	m := g.members[s][r]
	if m.stop != nil {
		m.stop()
	}
	closeListeners(m.lis)
	g.members[s] = g.members[s][:r]
	g.mu.Unlock()
	g.observe(s, r, nil, replicaRole{}) // recount the shard's leader
}

// newPeer picks the addresses of replica r of shard s: the flow's port and
// peer_ports when set, else the ports the replica had last time (kept in
// its RAFT folder, see portsFile) while they are free, else new ones. With
// the same addresses, the RAFT configuration a restarted replica reads
// from its log is right, and the cluster elects at once. In-process
// replicas get their sockets bound here (the engine owns both ends);
// child processes bind their own, so for them a port is only checked
// free (another process could take it before the child starts; flows that
// must be robust set peer_ports and port).
func (g *raftGroup) newPeer(s, r int) (consensus.Peer, *plannedListeners, error) {
	cfg := g.config()
	last := g.lastPorts(s, r)
	wport := portFor(cfg, s, r)
	fixedWorker := wport != 0
	if wport == 0 && last.Worker > 0 {
		wport = last.Worker
	}
	rport := 0
	fixedRaft := s < len(cfg.PeerPorts) && r < len(cfg.PeerPorts[s])
	if fixedRaft {
		rport = cfg.PeerPorts[s][r]
	} else if last.Raft > 0 && last.Raft != wport {
		rport = last.Raft
	}
	var lis *plannedListeners
	if !g.child {
		lis = &plannedListeners{}
	}
	var err error
	if wport, err = reserve(wport, fixedWorker, lis, true); err == nil {
		rport, err = reserve(rport, fixedRaft, lis, false)
	}
	if err != nil {
		closeListeners(lis)
		return consensus.Peer{}, nil, fmt.Errorf("deployment %s: %w", cfg.Name, err)
	}
	g.savePorts(s, r, replicaPorts{Raft: rport, Worker: wport})
	return consensus.Peer{ID: strconv.Itoa(r), RaftAddr: "127.0.0.1:" + strconv.Itoa(rport), WorkerAddr: "127.0.0.1:" + strconv.Itoa(wport)}, lis, nil
}

// reserve settles one port: want (0: any) is bound on loopback; when it is
// taken and not fixed, another is picked. With lis (in-process) the bound
// socket is kept in lis.worker or lis.raft; else it is closed again and
// only the number is kept.
func reserve(want int, fixed bool, lis *plannedListeners, worker bool) (int, error) {
	if fixed {
		return want, nil // the flow's own port: bound by the replica, errors name it
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(want))
	if err != nil && want != 0 {
		l, err = net.Listen("tcp", "127.0.0.1:0") // last time's port is taken now
	}
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	switch {
	case lis == nil:
		l.Close()
	case worker:
		lis.worker = l
	default:
		lis.raft = l
	}
	return port, nil
}

func closeListeners(l *plannedListeners) {
	if l == nil {
		return
	}
	for _, x := range []net.Listener{l.raft, l.worker} {
		if x != nil {
			x.Close()
		}
	}
}

// takeListener hands out replica r of shard s's planned socket (worker or
// RAFT) once; nil when there is none (child processes, fixed ports,
// restarts).
func (g *raftGroup) takeListener(s, r int, worker bool) net.Listener {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.memberLocked(s, r)
	if m == nil || m.lis == nil {
		return nil
	}
	l := m.lis
	out := &l.raft
	if worker {
		out = &l.worker
	}
	got := *out
	*out = nil
	return got
}

// replicaPorts are a stateful replica's ports, kept with its RAFT state.
type replicaPorts struct {
	Raft   int `json:"raft"`
	Worker int `json:"worker"`
}

// portsFile is where replica r of shard s keeps its ports: beside its RAFT
// folder, so wiping or moving the folder aside keeps them.
func (g *raftGroup) portsFile(s, r int) string {
	return g.dir(s, r) + ".ports.json"
}

func (g *raftGroup) lastPorts(s, r int) replicaPorts {
	var p replicaPorts
	if b, err := os.ReadFile(g.portsFile(s, r)); err == nil {
		_ = json.Unmarshal(b, &p) // unreadable: pick new ports
	}
	return p
}

func (g *raftGroup) savePorts(s, r int, p replicaPorts) {
	f := g.portsFile(s, r)
	b, _ := json.Marshal(p)
	// Best effort: without the file the next start picks new ports, which
	// works (members are dialled by ID), only a little slower.
	if os.MkdirAll(filepath.Dir(f), 0o700) == nil {
		_ = os.WriteFile(f, b, 0o600)
	}
}

// workspace is the deployment's base workspace: its own, or the flow's
// state folder (as deployment.workspace).
func (g *raftGroup) workspace() string {
	if ws := g.config().Workspace; ws != "" {
		return ws
	}
	return g.e.stateDir
}

// dir is where replica r of shard s keeps its RAFT log and snapshots:
// <workspace>/<deployment>/raft/<shard>/<replica>, the workspace being the
// flow's StateDir unless the deployment sets one.
func (g *raftGroup) dir(s, r int) string {
	return filepath.Join(g.workspace(), g.config().Name, "raft", strconv.Itoa(s), strconv.Itoa(r))
}

// nodeConfig is the consensus configuration of the deployment's replicas:
// the flow's raft_configuration; NewNode fills in the defaults.
func (g *raftGroup) nodeConfig() consensus.Config {
	return consensus.Config{Knobs: g.config().Raft}
}

func consistencyOf(c flow.Consistency) consensus.Consistency {
	if c == flow.Leader {
		return consensus.ConsistencyLeader
	}
	return consensus.ConsistencyLocal
}

// shardPeers returns the current members of shard s.
func (g *raftGroup) shardPeers(s int) []consensus.Peer {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]consensus.Peer, 0, len(g.members[s]))
	for _, m := range g.members[s] {
		out = append(out, m.peer)
	}
	return out
}

// peer returns the planned addresses of replica r of shard s.
func (g *raftGroup) peer(s, r int) (consensus.Peer, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m := g.memberLocked(s, r); m != nil {
		return m.peer, true
	}
	return consensus.Peer{}, false
}

// member returns replica r of shard s, nil if there is none.
func (g *raftGroup) member(s, r int) *member {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.memberLocked(s, r)
}

// memberLocked returns replica r of shard s, nil if there is none; g.mu
// is held.
func (g *raftGroup) memberLocked(s, r int) *member {
	if s < 0 || s >= len(g.members) || r < 0 || r >= len(g.members[s]) {
		return nil
	}
	return g.members[s][r]
}

// attach is the in-process replica hook: a RAFT node beside the instance
// (on the planned RAFT socket at first start), writes and reads routed
// through it, its admin service on the replica's gRPC port, and its state
// pushed to the group by a subscription.
func (g *raftGroup) attach(s, r int, join bool, onRepair func(consensus.Repair)) func(ctx context.Context, inst *executors.Instance, opts *worker.Options, addr string) (func(), error) {
	return func(ctx context.Context, inst *executors.Instance, opts *worker.Options, addr string) (func(), error) {
		dcfg := g.config()
		peers := g.shardPeers(s)
		cfg := g.nodeConfig()
		cfg.ID = strconv.Itoa(r)
		cfg.Dir = g.dir(s, r)
		cfg.Peers = peers
		cfg.Join = join
		cfg.Instance = inst
		// The replica's RAFT lines are its own: the source attribute makes
		// the log line's source "<deployment>/<replica>" instead of "engine".
		name := dcfg.ReplicaName(s, r)
		cfg.Logger = g.logger().With("replica", name, "source", dcfg.Name+"/"+name)
		cfg.OnRepair = onRepair
		cfg.ForwardDialOptions = g.dial
		cfg.TransportSecret = []byte(g.e.secret)
		for _, p := range peers {
			if p.ID == cfg.ID {
				cfg.BindAddr = p.RaftAddr
			}
		}
		cfg.Listener = g.takeListener(s, r, false)
		node, err := consensus.NewNode(cfg)
		if err != nil {
			return nil, fmt.Errorf("start RAFT node: %w", err)
		}
		opts.Writes = node
		opts.Reads = consensus.Reads{Node: node, Consistency: consistencyOf(dcfg.Consistency)}
		opts.Register = func(gs *grpc.Server) { consensus.RegisterAdmin(gs, node) }
		// Subscribed before reading the current state, so no change is
		// missed; the channel closes when the node shuts down.
		evs, cancel := node.Subscribe(64)
		m := g.member(s, r)
		g.observeEvent(s, r, m, node.Current())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev := range evs {
				g.observeEvent(s, r, m, ev)
			}
		}()
		return func() {
			if err := node.Shutdown(); err != nil {
				g.logger().Warn("RAFT shutdown failed", "err", err)
			}
			cancel()
			<-done
			g.observe(s, r, m, replicaRole{role: status.Unknown})
		}, nil
	}
}

// flags completes the RAFT flags of a child-process replica (the
// deployment's WorkerFlags set its id, consistency and knobs): its folder,
// its transport's address, the shard's members and whether it joins.
func (g *raftGroup) flags(s, r int, join bool) func(*workerflags.Flags) {
	return func(f *workerflags.Flags) {
		peers := g.shardPeers(s)
		f.Raft.Dir, f.Raft.Peers, f.Raft.Join = g.dir(s, r), peers, join
		for _, p := range peers {
			if p.ID == strconv.Itoa(r) {
				f.Raft.Addr = p.RaftAddr
			}
		}
	}
}

// workerPort is the planned worker port of a replica.
func (g *raftGroup) workerPort(s, r int) int {
	p, _ := g.peer(s, r)
	_, port, _ := net.SplitHostPort(p.WorkerAddr)
	n, _ := strconv.Atoi(port)
	return n
}

// admin returns an admin client for a replica's worker address.
func (g *raftGroup) admin(addr string) (*consensus.AdminClient, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, errors.New("the deployment is stopping")
	}
	cc, ok := g.conns[addr]
	if !ok {
		gc, err := replica.DialGRPC(addr, 0, nil, g.dial...)
		if err != nil {
			return nil, err
		}
		cc = gc.ClientConn()
		g.conns[addr] = cc
	}
	return consensus.NewAdminClient(cc), nil
}

// start begins reading stats and, for child processes, following every
// replica's state; runners are the deployment's current replicas.
func (g *raftGroup) start(runners func() [][]replica.Runner) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started || g.closed {
		return
	}
	g.started, g.runners = true, runners
	for s := range g.members {
		for r := range g.members[s] {
			g.watchLocked(s, r)
		}
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.pollStats(g.ctx)
	}()
}

// close stops the watchers and the poller and drops connections and
// unused sockets.
func (g *raftGroup) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, cc := range g.conns {
		cc.Close()
	}
	g.conns = map[string]*grpc.ClientConn{}
	for _, shard := range g.members {
		for _, m := range shard {
			closeListeners(m.lis)
		}
	}
}

// replicaReady wakes the watcher of a child replica that became ready
// (started or restarted), so it reconnects at once.
func (g *raftGroup) replicaReady(s, r int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m := g.memberLocked(s, r); m != nil {
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
}

// watchLocked starts following child replica r of shard s with a Watch
// stream; g.mu is held.
func (g *raftGroup) watchLocked(s, r int) {
	if !g.child || g.closed {
		return
	}
	ctx, cancel := context.WithCancel(g.ctx)
	m := g.members[s][r]
	m.stop = cancel
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.watch(ctx, s, r, m)
	}()
}

// watch follows one child replica's RAFT state until ctx ends. The stream
// breaks when the replica stops; then its state is unknown until the
// replica is back (ready wakes it; a growing backoff bounds the retries
// meanwhile).
func (g *raftGroup) watch(ctx context.Context, s, r int, m *member) {
	addr, kick := m.peer.WorkerAddr, m.kick // fixed for the member's life
	const minBackoff, maxBackoff = 50 * time.Millisecond, 2 * time.Second
	backoff := minBackoff
	for {
		if c, err := g.admin(addr); err == nil {
			_ = c.Watch(ctx, func(ev consensus.Event) {
				backoff = minBackoff
				g.observeEvent(s, r, m, ev)
			})
		}
		g.observe(s, r, m, replicaRole{role: status.Unknown})
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-kick:
			t.Stop()
			backoff = minBackoff
		case <-t.C:
			backoff = min(2*backoff, maxBackoff)
		}
	}
}

func (g *raftGroup) observeEvent(s, r int, m *member, ev consensus.Event) {
	g.observe(s, r, m, replicaRole{role: status.ParseRole(ev.State), term: ev.Term})
}

// observe records what replica r of shard s said about itself and, when
// that changes who leads the shard (the replica that says Leader in the
// newest term any replica led), wakes leader waiters and publishes the
// change.
//
// m is the member the news is about: news about a member that left (a
// watcher or node ending after scale-down, its slot maybe reused since)
// is dropped; nil means whoever is replica r.
func (g *raftGroup) observe(s, r int, m *member, rr replicaRole) {
	cfg := g.config()
	g.mu.Lock()
	if s >= len(g.members) {
		g.mu.Unlock()
		return
	}
	switch cur := g.memberLocked(s, r); {
	case cur != nil && (m == nil || m == cur):
		cur.role = rr
	case m != nil:
		g.mu.Unlock()
		return
	}
	if rr.role == status.Leader {
		g.top[s] = max(g.top[s], rr.term)
	}
	// Only the leader of the newest term leads: one of an older term is
	// deposed even if it has not heard so yet, and stays so when the
	// newer leader goes away.
	leader, term := -1, g.top[s]
	for i, m := range g.members[s] {
		if m.role.role == status.Leader && m.role.term == term {
			leader = i
		}
	}
	// Once closed (the deployment stops), replicas going away is no news.
	changed := leader != g.leader[s] && !g.closed
	if changed {
		g.leader[s] = leader
		close(g.changed)
		g.changed = make(chan struct{})
	}
	g.mu.Unlock()
	if r < cfg.Replicas && rr.role != "" {
		isLeader := 0.0
		if rr.role == status.Leader {
			isLeader = 1
		}
		g.e.prom.RaftIsLeader.WithLabelValues(cfg.Name, cfg.ReplicaName(s, r)).Set(isLeader)
	}
	if !changed {
		return
	}
	name := ""
	if leader >= 0 {
		name = cfg.ReplicaName(s, leader)
	}
	g.e.bus.Publish(events.Leader{Time: time.Now(), Deployment: cfg.Name, Shard: s, Replica: name, Term: term})
	if leader >= 0 {
		g.logger().Info("RAFT leader elected", "shard", s, "leader", name, "term", term)
	} else {
		g.logger().Warn("RAFT shard has no leader", "shard", s)
	}
}

// isLeader reports whether replica r leads shard s as far as the group
// was told: the router sends writes there first.
func (g *raftGroup) isLeader(s, r int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return s < len(g.leader) && g.leader[s] == r
}

// leaderOf returns the replica leading shard s, -1 if none is known.
func (g *raftGroup) leaderOf(s int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s >= len(g.leader) {
		return -1
	}
	return g.leader[s]
}

// waitLeader returns the replica leading shard s, waiting (at most
// timeout, and ctx) while there is none or while it is not is the leader
// (-1: any leader will do).
func (g *raftGroup) waitLeader(ctx context.Context, s, not int, timeout time.Duration) (int, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		g.mu.Lock()
		leader, changed := -1, g.changed
		if s < len(g.leader) {
			leader = g.leader[s]
		}
		g.mu.Unlock()
		if leader >= 0 && leader != not {
			return leader, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return -1, fmt.Errorf("shard %d of %s has no leader: %w", s, g.config().Name, ctx.Err())
		case <-t.C:
			return -1, fmt.Errorf("shard %d of %s has no leader", s, g.config().Name)
		}
	}
}

// leaderAdmin returns an admin client to the leader of shard s (waiting
// for one up to 10 s) and the leader's index.
func (g *raftGroup) leaderAdmin(ctx context.Context, s int) (*consensus.AdminClient, int, error) {
	idx, err := g.waitLeader(ctx, s, -1, 10*time.Second)
	if err != nil {
		return nil, -1, err
	}
	p, ok := g.peer(s, idx)
	if !ok {
		return nil, -1, fmt.Errorf("leader %d of %s shard %d is not a planned replica", idx, g.config().Name, s)
	}
	c, err := g.admin(p.WorkerAddr)
	return c, idx, err
}

// addVoter asks the leader of shard s to add p, once p's RAFT transport
// accepts connections (the replica is starting; started reports if it
// fails first). Leadership can move meanwhile: then it asks the new
// leader (adding a member twice is harmless).
func (g *raftGroup) addVoter(ctx context.Context, s int, p consensus.Peer, started chan error) error {
	if err := waitListening(ctx, p.RaftAddr, started); err != nil {
		return err
	}
	const attempts = 5
	var err error
	for range attempts {
		var c *consensus.AdminClient
		var leader int
		if c, leader, err = g.leaderAdmin(ctx, s); err != nil {
			return err
		}
		if err = c.AddVoter(ctx, p); err == nil || ctx.Err() != nil {
			return err
		}
		g.logger().Info("adding a RAFT voter failed; retrying on the current leader", "shard", s, "leader", leader, "err", err)
		// Wait until the group hears of another leader (or a short while,
		// in case the same leader failed for another reason).
		_, _ = g.waitLeader(ctx, s, leader, time.Second)
	}
	return err
}

// waitListening waits until addr accepts TCP connections, or started
// reports first (then it is put back for the caller). Without the wait the
// leader's first attempts to replicate to a new member fail and raft backs
// off replication to it.
func waitListening(ctx context.Context, addr string, started chan error) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-started:
			started <- err // for the caller
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// removeServer asks the leader of shard s to remove replica r.
func (g *raftGroup) removeServer(ctx context.Context, s, r int) error {
	c, _, err := g.leaderAdmin(ctx, s)
	if err != nil {
		return err
	}
	return c.RemoveServer(ctx, strconv.Itoa(r))
}

// pollStats reads every ready replica's stats until ctx ends, for Status
// and metrics.
func (g *raftGroup) pollStats(ctx context.Context) {
	t := time.NewTicker(statsInterval)
	defer t.Stop()
	for {
		g.refreshStats(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (g *raftGroup) refreshStats(ctx context.Context) {
	cfg := g.config()
	for s, shard := range g.runners() {
		for r, run := range shard {
			var st *consensus.Stats
			if run.Ready() {
				if c, err := g.admin(run.Info().Address); err == nil {
					cctx, cancel := context.WithTimeout(ctx, time.Second)
					got, err := c.Stats(cctx)
					cancel()
					if err == nil {
						st = &got
					}
				}
			}
			g.mu.Lock()
			if m := g.memberLocked(s, r); m != nil {
				m.stats = st
			}
			g.mu.Unlock()
			if st != nil {
				name := cfg.ReplicaName(s, r)
				p := g.e.prom
				p.RaftTerm.WithLabelValues(cfg.Name, name).Set(float64(st.Term))
				p.RaftCommit.WithLabelValues(cfg.Name, name).Set(float64(st.CommitIndex))
				p.RaftApplied.WithLabelValues(cfg.Name, name).Set(float64(st.AppliedIndex))
				p.RaftLastIndex.WithLabelValues(cfg.Name, name).Set(float64(st.LastLogIndex))
			}
		}
	}
}

// status describes replica r of shard s for Status: the numbers from its
// last stats, its role as pushed (what routing uses).
func (g *raftGroup) status(s, r int) *RaftStatus {
	cfg := g.config()
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.memberLocked(s, r)
	if m == nil {
		return nil
	}
	st, pushed := m.stats, m.role
	role := pushed.role
	if st == nil {
		return &RaftStatus{State: status.Unknown, RaftAddress: m.peer.RaftAddr}
	}
	switch {
	case role == "":
		role = status.ParseRole(st.State)
	case role == status.Leader && g.leader[s] != r:
		// A deposed leader that has not heard of its successor yet (a
		// newer term leads): not the leader the router uses.
		role = status.Unknown
	}
	out := &RaftStatus{
		State: role, Term: st.Term, LastIndex: st.LastLogIndex, CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex,
		LastContact: st.LastContact, LastSnapshotIndex: st.LastSnapshot.Index, LastSnapshotTerm: st.LastSnapshot.Term,
		LastSnapshot: st.LastSnapshot.Time, Peers: st.Peers, RaftAddress: st.RaftAddr,
	}
	if st.LeaderID != "" {
		n, _ := strconv.Atoi(st.LeaderID)
		out.Leader = cfg.ReplicaName(s, n)
	}
	if pushed.term > out.Term {
		// The role came with a newer term than the last stats: show the
		// role's, and the leader the group knows of.
		out.Term = pushed.term
		if l := g.leader[s]; l >= 0 {
			out.Leader = cfg.ReplicaName(s, l)
		}
	}
	return out
}
