package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/bareraft"
	"google.golang.org/grpc"
)

// statefulWriters is the number of concurrent writers: enough to fill
// RAFT's AppendEntries batches, as a busy gateway would (the same as
// consensus/bench_test.go).
const statefulWriters = 32

// writeDocs is the write both sides apply: 8 documents of 64-byte texts
// (consensus/bench_test.go's payload).
func writeDocs() docarray.DocList {
	out := make(docarray.DocList, 8)
	for i := range out {
		out[i] = &docarray.Document{ID: fmt.Sprintf("doc-%d", i), Text: fmt.Sprintf("%064d", i)}
	}
	return out
}

func statefulFlow(ws string) string {
	return fmt.Sprintf(`jtype: Flow
with: {workspace: %q}
executors:
  - name: index
    uses: builtin:SimpleIndexer
    uses_with: {persist: false}
    replicas: 3
    stateful: true
`, ws)
}

// --- a bare hashicorp/raft cluster -----------------------------------

// bareCluster is three bareraft members on loopback: hashicorp/raft
// with the raft.Config, TCP transport, raft-wal log (behind the log cache)
// and file snapshot stores jig's consensus.Node uses (built by the same
// code), at the same knobs the engine gives a stateful deployment, around
// a no-op state machine.
type bareCluster struct {
	cfg     consensus.Config
	members []*bareMember
}

type bareMember struct {
	b    *bareraft.Member
	r    *raft.Raft
	down bool
}

// startBare starts a 3-member bare cluster under dir with the engine's
// default RAFT knobs (the stateful flow here sets none).
func startBare(dir string) (c *bareCluster, err error) {
	c = &bareCluster{cfg: consensus.DefaultConfig()}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	var lis []net.Listener
	var peers []consensus.Peer
	for i := range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range lis {
				l.Close()
			}
			return c, err
		}
		lis = append(lis, l)
		peers = append(peers, consensus.Peer{ID: fmt.Sprint(i), RaftAddr: l.Addr().String()})
	}
	for i, l := range lis {
		cfg := bareraft.Config{ID: peers[i].ID, Dir: filepath.Join(dir, peers[i].ID), Listener: l, Peers: peers, Knobs: c.cfg.Knobs}
		b, err := bareraft.Start(cfg, bareraft.NopFSM{})
		if err != nil {
			for _, l := range lis[i+1:] {
				l.Close()
			}
			return c, err
		}
		c.members = append(c.members, &bareMember{b: b, r: b.Raft})
	}
	return c, nil
}

func (c *bareCluster) leader() int {
	for i, m := range c.members {
		if !m.down && m.r.State() == raft.Leader {
			return i
		}
	}
	return -1
}

func (c *bareCluster) waitLeader(ctx context.Context) (int, error) {
	for {
		if i := c.leader(); i >= 0 {
			return i, nil
		}
		select {
		case <-ctx.Done():
			return -1, errors.New("bare raft: no leader")
		case <-time.After(time.Millisecond):
		}
	}
}

// kill shuts member i down, as jig's replica kill shuts its node down.
func (c *bareCluster) kill(i int) {
	m := c.members[i]
	if m.down {
		return
	}
	m.down = true
	m.b.Shutdown()
}

func (c *bareCluster) close() {
	for i := range c.members {
		c.kill(i)
	}
}

// --- the scenario ---------------------------------------------------------

func statefulScenario() scenario {
	const writes, failover = "stateful/writes", "stateful/failover"
	return scenario{name: "stateful", cases: []string{writes, failover}, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		var st stack
		defer st.run()
		eng, err := startFlow(ctx, "stateful", r.dir, statefulFlow(filepath.Join(r.dir, "ws")))
		if err != nil {
			return nil, err
		}
		st.push(func() { stopEngine(eng) })
		if _, err := waitStable(ctx, eng, 0); err != nil {
			return nil, err
		}
		var rows []Row
		if want(writes) {
			row, err := statefulWrites(ctx, r, &st, eng)
			if err != nil {
				return rows, fmt.Errorf("%s: %w", writes, err)
			}
			rows = append(rows, row)
		}
		if want(failover) {
			got, err := statefulFailover(ctx, r, eng)
			rows = append(rows, got...)
			if err != nil {
				return rows, fmt.Errorf("%s: %w", failover, err)
			}
		}
		return rows, nil
	}}
}

// statefulWrites compares writes/s through the gateway into a 3-replica
// stateful SimpleIndexer with raft.Apply of the same bytes on the leader
// of a bare cluster.
func statefulWrites(ctx context.Context, r *runner, st *stack, eng *engine.Engine) (Row, error) {
	const name = "stateful/writes"
	cc, err := dial(eng.Addresses().GRPC)
	if err != nil {
		return Row{}, err
	}
	st.push(func() { cc.Close() })
	docs := writeDocs()
	req := request("/index", docs)
	if err := checkUnary(ctx, cc, req, len(docs)); err != nil {
		return Row{}, err
	}
	payload := marshal(req)

	bare, err := startBare(filepath.Join(r.dir, "bare"))
	if err != nil {
		return Row{}, fmt.Errorf("bare raft: %w", err)
	}
	st.push(bare.close)
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	_, err = bare.waitLeader(wctx)
	cancel()
	if err != nil {
		return Row{}, err
	}
	bareSys := system{name: "bare raft", run: func(ctx context.Context, d time.Duration) (sample, error) {
		return closedLoop(ctx, statefulWriters, d, func(ctx context.Context) error {
			i := bare.leader()
			if i < 0 {
				return raft.ErrNotLeader
			}
			return bare.members[i].r.Apply(payload, bare.cfg.ApplyTimeout).Error()
		})
	}}
	ss, err := r.interleave(ctx, name, r.o.Duration, unarySystem("jig gateway", cc, payload, statefulWriters), bareSys)
	if err != nil {
		return Row{}, err
	}
	row := ratioRow(name, "writes/s", "writes/s", "bare raft", figures(ss[0], sample.rate), figures(ss[1], sample.rate), atLeast(0.8, design))
	row.Note = fmt.Sprintf("%d writers of 8 docs; jig: client → gateway → the leader replica (as the engine last saw it; a follower would forward) → RAFT → SimpleIndexer applied on 3 replicas; bare: raft.Apply of the same bytes on the leader, no-op FSM, same store (raft-wal behind the log cache), TCP transport and knobs (internal/bareraft)", statefulWriters)
	return row, nil
}

// raftView is a replica's RAFT state as Status shows it.
type raftView struct {
	rep  engine.ReplicaStatus
	term uint64
}

// waitStable waits until every replica of the stateful deployment is
// ready and Status shows one leader of a term above minTerm; it returns
// the leader.
func waitStable(ctx context.Context, eng *engine.Engine, minTerm uint64) (raftView, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var leaders []engine.ReplicaStatus
		ok := true
		for _, d := range eng.Status().Deployments {
			for _, rs := range d.ReplicaStatus {
				switch {
				case rs.State != events.Ready || rs.Raft == nil:
					ok = false
				case rs.Raft.State == "Leader":
					leaders = append(leaders, rs)
				case rs.Raft.State != "Follower":
					ok = false
				}
			}
		}
		if ok && len(leaders) == 1 && leaders[0].Raft.Term > minTerm {
			return raftView{rep: leaders[0], term: leaders[0].Raft.Term}, nil
		}
		select {
		case <-ctx.Done():
			return raftView{}, fmt.Errorf("stateful deployment not stable (every replica ready, one leader) within 30s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// statefulFailover kills the leader and measures the time until another
// replica reports itself leader of a later term (asking every replica's
// RAFT admin service every 2 ms), and until Status shows it (the replicas
// push leader changes to the engine); against a bare cluster whose leader is
// shut down, in alternation.
func statefulFailover(ctx context.Context, r *runner, eng *engine.Engine) ([]Row, error) {
	const name = "stateful/failover"
	runs := r.o.Runs
	r.progress("%s: jig / bare raft, %d leader kills each", name, runs)
	admins := map[string]*consensus.AdminClient{}
	var conns []*grpc.ClientConn
	defer func() {
		for _, cc := range conns {
			cc.Close()
		}
	}()
	admin := func(addr string) (*consensus.AdminClient, error) {
		if a, ok := admins[addr]; ok {
			return a, nil
		}
		cc, err := dial(addr, eng.ReplicaDialOptions()...)
		if err != nil {
			return nil, err
		}
		conns = append(conns, cc)
		admins[addr] = consensus.NewAdminClient(cc)
		return admins[addr], nil
	}
	jigOnce := func() (adminSeen, statusSeen time.Duration, err error) {
		lead, err := waitStable(ctx, eng, 0)
		if err != nil {
			return 0, 0, err
		}
		var addrs []string
		for _, d := range eng.Status().Deployments {
			for _, rs := range d.ReplicaStatus {
				addrs = append(addrs, rs.Address)
			}
		}
		var clients []*consensus.AdminClient
		for _, a := range addrs {
			c, err := admin(a)
			if err != nil {
				return 0, 0, err
			}
			clients = append(clients, c)
		}
		start := time.Now()
		if err := eng.KillReplica(ctx, "index", lead.rep.Shard, lead.rep.Replica); err != nil {
			return 0, 0, err
		}
		deadline := start.Add(20 * time.Second)
		for adminSeen == 0 || statusSeen == 0 {
			if time.Now().After(deadline) {
				return 0, 0, fmt.Errorf("no new leader within 20s of killing %s", lead.rep.Name)
			}
			if adminSeen == 0 {
				for _, c := range clients {
					cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
					s, err := c.Stats(cctx)
					cancel()
					if err == nil && s.State == "Leader" && s.Term > lead.term {
						adminSeen = time.Since(start)
						break
					}
				}
			}
			if statusSeen == 0 {
				for _, d := range eng.Status().Deployments {
					for _, rs := range d.ReplicaStatus {
						if rs.Raft != nil && rs.Raft.State == "Leader" && rs.Raft.Term > lead.term && rs.State == events.Ready {
							statusSeen = time.Since(start)
						}
					}
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		return adminSeen, statusSeen, nil
	}
	bareOnce := func(run int) (time.Duration, error) {
		c, err := startBare(filepath.Join(r.dir, fmt.Sprintf("bare-failover-%d", run)))
		if err != nil {
			return 0, err
		}
		defer c.close()
		wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		i, err := c.waitLeader(wctx)
		if err != nil {
			return 0, err
		}
		// A committed write, and followers that have heard from the leader.
		if err := c.members[i].r.Apply([]byte("x"), 5*time.Second).Error(); err != nil {
			return 0, err
		}
		term := c.members[i].r.CurrentTerm()
		start := time.Now()
		c.kill(i)
		for {
			if j := c.leader(); j >= 0 && c.members[j].r.CurrentTerm() > term {
				return time.Since(start), nil
			}
			select {
			case <-wctx.Done():
				return 0, errors.New("bare raft: no new leader within 15s")
			case <-time.After(time.Millisecond):
			}
		}
	}
	var jigA, jigS, bare []float64
	for run := range runs {
		order := []string{"jig", "bare"}
		if run%2 == 1 {
			order = []string{"bare", "jig"}
		}
		for _, o := range order {
			if o == "jig" {
				a, s, err := jigOnce()
				if err != nil {
					return nil, err
				}
				jigA, jigS = append(jigA, millis(a)), append(jigS, millis(s))
				continue
			}
			b, err := bareOnce(run)
			if err != nil {
				return nil, err
			}
			bare = append(bare, millis(b))
		}
	}
	// Leave the deployment whole for whoever comes next.
	if _, err := waitStable(ctx, eng, 0); err != nil {
		return nil, err
	}
	limit := 3 * millis(consensus.DefaultElectionTimeout)
	a := ratioRow(name, "new leader ms", "ms", "bare raft", jigA, bare, &Target{On: "jig", Op: "<=", Value: limit, Source: design})
	a.Note = fmt.Sprintf("engine.KillReplica on the leader until a replica reports itself leader of a later term (asked every 2 ms); bare: Shutdown of the leader until another member leads; target 3× election timeout (%s)", 3*consensus.DefaultElectionTimeout)
	s := ratioRow(name, "seen in Status ms", "ms", "bare raft", jigS, bare, nil)
	s.Note = "until engine.Status shows the new leader (replicas push leader changes to the engine)"
	return []Row{a, s}, nil
}
