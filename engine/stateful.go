package engine

import (
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/executors/workerflags"
	"google.golang.org/grpc"
)

// raftState is the RAFT side of a stateful deployment: the fixed
// addresses of every replica (RAFT peers must know each other before they
// start, and keep their addresses across restarts) and the latest stats.
type raftState struct {
	mu     sync.Mutex
	peers  [][]consensus.Peer // [shard][replica]
	stats  [][]*consensus.Stats
	leader []string // last leader id seen per shard, for events
	conns  map[string]*grpc.ClientConn
	dial   []grpc.DialOption // the flow's credentials
}

// isLeader reports whether replica r of shard s reported itself leader at
// the last poll: the router sends writes there first.
func (rs *raftState) isLeader(s, r int) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if s >= len(rs.stats) || r >= len(rs.stats[s]) {
		return false
	}
	st := rs.stats[s][r]
	return st != nil && st.State == "Leader"
}

// freePort asks the kernel for a free loopback port. The port is closed
// again before use, so another process could take it meanwhile; flows that
// must be robust set peer_ports and port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// planRaft fixes the worker and RAFT addresses of every replica.
func (d *deployment) planRaft() error {
	cfg := d.cfg
	rs := &raftState{conns: map[string]*grpc.ClientConn{}, dial: d.e.authDial()}
	for s := 0; s < cfg.Shards; s++ {
		var peers []consensus.Peer
		for r := 0; r < cfg.Replicas; r++ {
			p, err := d.newPeer(s, r)
			if err != nil {
				return err
			}
			peers = append(peers, p)
		}
		rs.peers = append(rs.peers, peers)
		rs.stats = append(rs.stats, make([]*consensus.Stats, cfg.Replicas))
		rs.leader = append(rs.leader, "")
	}
	d.raft = rs
	return nil
}

// newPeer picks the addresses of replica r of shard s: the flow's port and
// peer_ports when set, else the ports the replica had last time (kept in
// its RAFT folder, see portsFile) while they are free, else new ones. With
// the same addresses, the RAFT configuration a restarted replica reads
// from its log is right, and the cluster elects at once.
func (d *deployment) newPeer(s, r int) (consensus.Peer, error) {
	cfg := d.cfg
	last := d.lastPorts(s, r)
	wport := d.portFor(s, r)
	if wport == 0 && last.Worker > 0 && portFree(last.Worker) {
		wport = last.Worker
	}
	if wport == 0 {
		var err error
		if wport, err = freePort(); err != nil {
			return consensus.Peer{}, fmt.Errorf("deployment %s: %w", cfg.Name, err)
		}
	}
	rport := 0
	if s < len(cfg.PeerPorts) && r < len(cfg.PeerPorts[s]) {
		rport = cfg.PeerPorts[s][r]
	} else if last.Raft > 0 && last.Raft != wport && portFree(last.Raft) {
		rport = last.Raft
	} else {
		var err error
		if rport, err = freePort(); err != nil {
			return consensus.Peer{}, fmt.Errorf("deployment %s: %w", cfg.Name, err)
		}
	}
	d.savePorts(s, r, replicaPorts{Raft: rport, Worker: wport})
	return consensus.Peer{ID: strconv.Itoa(r), RaftAddr: "127.0.0.1:" + strconv.Itoa(rport), WorkerAddr: "127.0.0.1:" + strconv.Itoa(wport)}, nil
}

// replicaPorts are a stateful replica's ports, kept with its RAFT state.
type replicaPorts struct {
	Raft   int `json:"raft"`
	Worker int `json:"worker"`
}

// portsFile is where replica r of shard s keeps its ports: beside its RAFT
// folder, so wiping or moving the folder aside keeps them.
func (d *deployment) portsFile(s, r int) string {
	return d.raftDir(s, r) + ".ports.json"
}

func (d *deployment) lastPorts(s, r int) replicaPorts {
	var p replicaPorts
	if b, err := os.ReadFile(d.portsFile(s, r)); err == nil {
		_ = json.Unmarshal(b, &p) // unreadable: pick new ports
	}
	return p
}

func (d *deployment) savePorts(s, r int, p replicaPorts) {
	f := d.portsFile(s, r)
	b, _ := json.Marshal(p)
	// Best effort: without the file the next start picks new ports, which
	// works (members are dialled by ID), only a little slower.
	if os.MkdirAll(filepath.Dir(f), 0o700) == nil {
		_ = os.WriteFile(f, b, 0o600)
	}
}

// portFree reports whether a loopback port can be bound now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// raftDir is where replica r of shard s keeps its RAFT log and snapshots:
// <workspace>/<deployment>/raft/<shard>/<replica>, the workspace being the
// flow's StateDir unless the deployment sets one.
func (d *deployment) raftDir(s, r int) string {
	return filepath.Join(d.workspace(), d.cfg.Name, "raft", strconv.Itoa(s), strconv.Itoa(r))
}

// raftConfig is the consensus configuration of a deployment's replicas:
// the flow's raft_configuration; NewNode fills in the defaults.
func (d *deployment) raftConfig() consensus.Config {
	return consensus.Config{Knobs: d.cfg.Raft}
}

func consistencyOf(c flow.Consistency) consensus.Consistency {
	if c == flow.Leader {
		return consensus.ConsistencyLeader
	}
	return consensus.ConsistencyLocal
}

// peers returns the current members of shard s.
func (rs *raftState) shardPeers(s int) []consensus.Peer {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]consensus.Peer(nil), rs.peers[s]...)
}

// attachRaft is the in-process replica hook: a RAFT node beside the
// instance, writes and reads routed through it, its admin service on the
// replica's gRPC port.
func (d *deployment) attachRaft(s, r int, join bool) func(ctx context.Context, inst *executors.Instance, opts *worker.Options, addr string) (func(), error) {
	return func(ctx context.Context, inst *executors.Instance, opts *worker.Options, addr string) (func(), error) {
		peers := d.raft.shardPeers(s)
		cfg := d.raftConfig()
		cfg.ID = strconv.Itoa(r)
		cfg.Dir = d.raftDir(s, r)
		cfg.Peers = peers
		cfg.Join = join
		cfg.Instance = inst
		// The replica's RAFT lines are its own: the source attribute makes
		// the log line's source "<deployment>/<replica>" instead of "engine".
		cfg.Logger = d.logger().With("replica", d.cfg.ReplicaName(s, r), "source", d.cfg.Name+"/"+d.cfg.ReplicaName(s, r))
		cfg.OnRepair = func(rp consensus.Repair) { d.publishRepair(d.cfg.ReplicaName(s, r), rp.Dir, rp.MovedTo, rp.Reason) }
		cfg.ForwardDialOptions = d.e.authDial()
		cfg.TransportSecret = []byte(d.e.secret)
		for _, p := range peers {
			if p.ID == cfg.ID {
				cfg.BindAddr = p.RaftAddr
			}
		}
		node, err := consensus.NewNode(cfg)
		if err != nil {
			return nil, fmt.Errorf("start RAFT node: %w", err)
		}
		opts.Writes = node
		opts.Reads = consensus.Reads{Node: node, Consistency: consistencyOf(d.cfg.Consistency)}
		opts.Register = func(g *grpc.Server) { consensus.RegisterAdmin(g, node) }
		return func() {
			if err := node.Shutdown(); err != nil {
				d.logger().Warn("RAFT shutdown failed", "err", err)
			}
		}, nil
	}
}

// raftFlags completes the RAFT flags of a child-process stateful replica
// (WorkerFlags set its id, consistency and knobs): its folder, its
// transport's address, the shard's members and whether it joins.
func (d *deployment) raftFlags(s, r int, join bool) func(*workerflags.Flags) {
	return func(f *workerflags.Flags) {
		peers := d.raft.shardPeers(s)
		f.Raft.Dir, f.Raft.Peers, f.Raft.Join = d.raftDir(s, r), peers, join
		for _, p := range peers {
			if p.ID == strconv.Itoa(r) {
				f.Raft.Addr = p.RaftAddr
			}
		}
	}
}

// workerPort is the planned worker port of a stateful replica.
func (d *deployment) workerPort(s, r int) int {
	d.raft.mu.Lock()
	defer d.raft.mu.Unlock()
	_, port, _ := net.SplitHostPort(d.raft.peers[s][r].WorkerAddr)
	n, _ := strconv.Atoi(port)
	return n
}

// admin returns an admin client for a replica's worker address.
func (rs *raftState) admin(addr string) (*consensus.AdminClient, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	cc, ok := rs.conns[addr]
	if !ok {
		gc, err := replica.DialGRPC(addr, 0, nil, rs.dial...)
		if err != nil {
			return nil, err
		}
		cc = gc.ClientConn()
		rs.conns[addr] = cc
	}
	return consensus.NewAdminClient(cc), nil
}

func (rs *raftState) close() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, cc := range rs.conns {
		cc.Close()
	}
	rs.conns = map[string]*grpc.ClientConn{}
}

// pollRaft refreshes the RAFT stats of every replica until ctx ends,
// publishing leader changes as events and the numbers as metrics.
func (d *deployment) pollRaft(ctx context.Context) {
	t := time.NewTicker(300 * time.Millisecond)
	defer t.Stop()
	for {
		d.refreshRaft(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *deployment) refreshRaft(ctx context.Context) {
	rs := d.raft
	// Scaling replaces d.cfg (under d.mu) while this poller runs.
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	for s, shard := range d.runners() {
		for r, run := range shard {
			var st *consensus.Stats
			if run.Ready() {
				if c, err := rs.admin(run.Info().Address); err == nil {
					cctx, cancel := context.WithTimeout(ctx, time.Second)
					got, err := c.Stats(cctx)
					cancel()
					if err == nil {
						st = &got
					}
				}
			}
			rs.mu.Lock()
			if s < len(rs.stats) && r < len(rs.stats[s]) {
				rs.stats[s][r] = st
			}
			rs.mu.Unlock()
			name := cfg.ReplicaName(s, r)
			if st != nil {
				p := d.e.prom
				p.RaftTerm.WithLabelValues(cfg.Name, name).Set(float64(st.Term))
				p.RaftCommit.WithLabelValues(cfg.Name, name).Set(float64(st.CommitIndex))
				p.RaftApplied.WithLabelValues(cfg.Name, name).Set(float64(st.AppliedIndex))
				p.RaftLastIndex.WithLabelValues(cfg.Name, name).Set(float64(st.LastLogIndex))
				leader := 0.0
				if st.State == "Leader" {
					leader = 1
				}
				p.RaftIsLeader.WithLabelValues(cfg.Name, name).Set(leader)
			}
		}
		d.noteLeader(cfg, s)
	}
}

// noteLeader publishes an event when the leader of shard s changed: the
// leader is the replica that reports itself Leader with the highest term.
func (d *deployment) noteLeader(cfg *flow.Deployment, s int) {
	rs := d.raft
	rs.mu.Lock()
	var leader string
	var term uint64
	for _, st := range rs.stats[s] {
		if st != nil && st.State == "Leader" && st.Term >= term {
			leader, term = st.ID, st.Term
		}
	}
	changed := leader != rs.leader[s]
	rs.leader[s] = leader
	rs.mu.Unlock()
	if !changed {
		return
	}
	name := ""
	if leader != "" {
		r, _ := strconv.Atoi(leader)
		name = cfg.ReplicaName(s, r)
	}
	d.e.bus.Publish(events.Leader{Time: time.Now(), Deployment: cfg.Name, Shard: s, Replica: name, Term: term})
	if leader != "" {
		d.e.logger.With("deployment", cfg.Name).Info("RAFT leader elected", "shard", s, "leader", name, "term", term)
	} else {
		d.e.logger.With("deployment", cfg.Name).Warn("RAFT shard has no leader", "shard", s)
	}
}

// raftStatus converts a replica's stats for Status.
func (d *deployment) raftStatus(s, r int) *RaftStatus {
	if d.raft == nil {
		return nil
	}
	rs := d.raft
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if s >= len(rs.stats) || r >= len(rs.stats[s]) {
		return nil
	}
	st := rs.stats[s][r]
	if st == nil {
		return &RaftStatus{State: "Unknown", RaftAddress: rs.peers[s][r].RaftAddr}
	}
	out := &RaftStatus{
		State: st.State, Term: st.Term, LastIndex: st.LastLogIndex, CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex,
		LastContact: st.LastContact, LastSnapshotIndex: st.LastSnapshot.Index, LastSnapshotTerm: st.LastSnapshot.Term,
		LastSnapshot: st.LastSnapshot.Time, Peers: st.Peers, RaftAddress: st.RaftAddr,
	}
	if st.LeaderID != "" {
		n, _ := strconv.Atoi(st.LeaderID)
		out.Leader = d.cfg.ReplicaName(s, n)
	}
	return out
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
	d.raft.mu.Lock()
	leader := d.raft.leader[shard]
	d.raft.mu.Unlock()
	if leader == "" {
		return fmt.Errorf("shard %d of %s has no leader right now", shard, name)
	}
	idx, _ := strconv.Atoi(leader)
	if idx >= len(runners[shard]) {
		return fmt.Errorf("leader %s of %s is not a running replica", leader, name)
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

// leaderAdmin returns an admin client to the leader of shard s.
func (d *deployment) leaderAdmin(ctx context.Context, s int) (*consensus.AdminClient, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.refreshRaft(ctx)
		d.raft.mu.Lock()
		leader := d.raft.leader[s]
		d.raft.mu.Unlock()
		if leader != "" {
			idx, _ := strconv.Atoi(leader)
			runners := d.runners()[s]
			if idx < len(runners) {
				return d.raft.admin(runners[idx].Info().Address)
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("shard %d of %s has no leader", s, d.cfg.Name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scaleStateful adds replicas as RAFT voters (started with join, then
// added by the leader) or removes them (removed by the leader, then
// stopped).
func (d *deployment) scaleStateful(ctx context.Context, cfg *flow.Deployment) error {
	old := d.cfg.Replicas
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	for s := range d.runners() {
		if cfg.Replicas > old {
			for r := old; r < cfg.Replicas; r++ {
				p, err := d.newPeer(s, r)
				if err != nil {
					return err
				}
				d.raft.mu.Lock()
				d.raft.peers[s] = append(d.raft.peers[s], p)
				d.raft.stats[s] = append(d.raft.stats[s], nil)
				d.raft.mu.Unlock()
				leader, err := d.leaderAdmin(ctx, s)
				if err != nil {
					return err
				}
				// The new replica reports ready only once caught up, which
				// needs the leader to know it: add it as a voter as soon as
				// its RAFT transport listens, while Start waits.
				fresh := d.newStatefulRunner(s, r, true)
				started := make(chan error, 1)
				go func() { started <- fresh.Start(ctx) }()
				if err := d.addVoterWhenListening(ctx, leader, p, started); err != nil {
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
			leader, err := d.leaderAdmin(ctx, s)
			if err != nil {
				return err
			}
			if err := leader.RemoveServer(ctx, strconv.Itoa(r)); err != nil {
				return fmt.Errorf("remove %s from RAFT: %w", d.cfg.ReplicaName(s, r), err)
			}
			d.mu.Lock()
			gone := d.shards[s][r]
			d.shards[s] = d.shards[s][:r]
			d.mu.Unlock()
			d.syncPools()
			gone.Stop(ctx)
			d.forgetTarget(gone)
			d.raft.mu.Lock()
			d.raft.peers[s] = d.raft.peers[s][:r]
			d.raft.stats[s] = d.raft.stats[s][:r]
			d.raft.mu.Unlock()
		}
	}
	d.syncPools()
	d.updateState()
	return nil
}

// addVoterWhenListening waits until p's RAFT transport accepts connections
// (the replica is starting; started reports if it fails first), then asks
// the leader to add it as a voter. Without the wait the leader's first
// attempts fail and raft backs off replication to the new member.
func (d *deployment) addVoterWhenListening(ctx context.Context, leader *consensus.AdminClient, p consensus.Peer, started chan error) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", p.RaftAddr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return leader.AddVoter(ctx, p)
		}
		select {
		case err := <-started:
			started <- err // for the caller
			if err == nil {
				return leader.AddVoter(ctx, p)
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
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
