package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
)

// restartDocs is how many documents the deployment holds before it is
// restarted or scaled (written in batches of 10, so the RAFT log has
// restartDocs/10 entries plus a snapshot).
const restartDocs = 2000

func restartFlow(ws string, replicas int) string {
	return fmt.Sprintf(`jtype: Flow
with: {workspace: %q}
executors:
  - name: index
    uses: builtin:SimpleIndexer
    uses_with: {persist: false}
    replicas: %d
    stateful: true
`, ws, replicas)
}

// restartScenario times what issue 17 found slow: a full restart of a
// 3-replica stateful deployment from its persisted RAFT state, and scaling
// a deployment with state from 2 to 3 replicas. "Ready" is every replica
// ready, one leader, and every replica answering /count with every
// document (read from each replica's own state).
func restartScenario() scenario {
	const restart, scale = "stateful/restart", "stateful/scale"
	return scenario{name: "restart", cases: []string{restart, scale}, run: func(ctx context.Context, r *runner, want func(string) bool) ([]Row, error) {
		var rows []Row
		if want(restart) {
			r.progress("%s: 3 replicas with %d documents, stopped and started %d times", restart, restartDocs, r.o.Runs)
			ws := filepath.Join(r.dir, "restart-ws")
			eng, err := startFlow(ctx, "restart", r.dir, restartFlow(ws, 3))
			if err != nil {
				return nil, err
			}
			err = fillStateful(ctx, eng, 3)
			stopEngine(eng)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", restart, err)
			}
			var ms []float64
			for range r.o.Runs {
				t0 := time.Now()
				eng, err := startFlow(ctx, "restart", r.dir, restartFlow(ws, 3))
				if err != nil {
					return nil, err
				}
				err = waitAllHold(ctx, eng, 3, restartDocs)
				d := time.Since(t0)
				stopEngine(eng)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", restart, err)
				}
				ms = append(ms, millis(d))
			}
			row := absRow(restart, "ready ms", "ms", ms, &Target{On: "jig", Op: "<=", Value: 2000, Source: design})
			row.Note = fmt.Sprintf("engine.Start of a 3-replica stateful SimpleIndexer (in-process) whose RAFT state persists (%d docs, a snapshot and log) until every replica is ready, one leads and each answers /count with every document", restartDocs)
			rows = append(rows, row)
		}
		if want(scale) {
			r.progress("%s: 2 → 3 replicas with %d documents, %d times", scale, restartDocs, r.o.Runs)
			var ms []float64
			for run := range r.o.Runs {
				ws := filepath.Join(r.dir, fmt.Sprintf("scale-ws-%d", run))
				eng, err := startFlow(ctx, "scale", r.dir, restartFlow(ws, 2))
				if err != nil {
					return nil, err
				}
				d, err := scaleOnce(ctx, r, eng, ws)
				stopEngine(eng)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", scale, err)
				}
				ms = append(ms, millis(d))
			}
			row := absRow(scale, "ready ms", "ms", ms, &Target{On: "jig", Op: "<=", Value: 3000, Source: design + " (plus the snapshot's transfer, here well under 100 ms on loopback)"})
			row.Note = fmt.Sprintf("engine.Reconcile of a stateful SimpleIndexer from 2 to 3 replicas holding %d docs until the new replica is ready and answers /count with every document (joined as a voter, restored from the leader's snapshot and log)", restartDocs)
			rows = append(rows, row)
		}
		return rows, nil
	}}
}

func scaleOnce(ctx context.Context, r *runner, eng *engine.Engine, ws string) (time.Duration, error) {
	if err := fillStateful(ctx, eng, 2); err != nil {
		return 0, err
	}
	f, err := flow.Parse("scale.yml", r.dir, []byte(restartFlow(ws, 3)))
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := eng.Reconcile(ctx, f, nil); err != nil {
		return 0, err
	}
	if err := waitAllHold(ctx, eng, 3, restartDocs); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// fillStateful waits for the deployment, indexes restartDocs documents
// through the gateway and has the leader take a snapshot, so a restart
// restores a snapshot and replays a log.
func fillStateful(ctx context.Context, eng *engine.Engine, replicas int) error {
	if err := waitAllHold(ctx, eng, replicas, 0); err != nil {
		return err
	}
	cc, err := dial(eng.Addresses().GRPC)
	if err != nil {
		return err
	}
	defer cc.Close()
	for i := 0; i < restartDocs; i += 10 {
		docs := make(docarray.DocList, 10)
		for j := range docs {
			docs[j] = &docarray.Document{ID: fmt.Sprintf("doc-%d", i+j), Text: fmt.Sprintf("%064d", i+j)}
		}
		if err := checkUnary(ctx, cc, request("/index", docs), len(docs)); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	lead, err := waitStable(ctx, eng, 0)
	if err != nil {
		return err
	}
	if err := eng.RaftSnapshot(ctx, "index", lead.rep.Shard, lead.rep.Replica); err != nil {
		return err
	}
	return waitAllHold(ctx, eng, replicas, restartDocs)
}

// waitAllHold waits (at most 60 s) until the deployment has n replicas,
// all ready, one leader, and each answers /count with docs.
func waitAllHold(ctx context.Context, eng *engine.Engine, n, docs int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	conns := map[string]*grpc.ClientConn{}
	defer func() {
		for _, cc := range conns {
			cc.Close()
		}
	}()
	for {
		ok := len(eng.Status().Deployments) == 1
		leaders := 0
		var reps []engine.ReplicaStatus
		if ok {
			reps = eng.Status().Deployments[0].ReplicaStatus
			ok = len(reps) == n
		}
		for _, rs := range reps {
			if rs.State != events.Ready {
				ok = false
				break
			}
			if rs.Raft != nil && rs.Raft.State == "Leader" {
				leaders++
			}
		}
		if ok && leaders == 1 {
			for _, rs := range reps {
				cc, found := conns[rs.Address]
				if !found {
					var err error
					if cc, err = dial(rs.Address, eng.ReplicaDialOptions()...); err != nil {
						return err
					}
					conns[rs.Address] = cc
				}
				if c, err := countDocs(ctx, cc); err != nil || c != docs {
					ok = false
					break
				}
			}
			if ok {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not %d replicas ready with %d docs each within 60s", n, docs)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// countDocs asks one replica's worker for /count.
func countDocs(ctx context.Context, cc *grpc.ClientConn) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	resp, err := jinapb.NewJinaSingleDataRequestRPCClient(cc).ProcessSingleData(ctx, request("/count", nil))
	if err != nil {
		return 0, err
	}
	if c := resp.GetHeader().GetStatus().GetCode(); c != jinapb.StatusProto_SUCCESS {
		return 0, fmt.Errorf("/count: %v", resp.GetHeader().GetStatus())
	}
	results, _ := resp.GetParameters().AsMap()["__results__"].(map[string]any)
	for _, v := range results {
		if m, ok := v.(map[string]any); ok {
			if n, ok := m["count"].(float64); ok {
				return int(n), nil
			}
		}
	}
	return 0, fmt.Errorf("/count: no count")
}
