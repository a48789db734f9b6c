package consensus_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft-wal/metadb"
	"github.com/jig-dev/jig/consensus"
)

// damageWAL reproduces hashicorp/raft-wal issue #31 on a stopped
// replica's store: a sealed segment without an index block, what v0.4.0
// left behind when RAFT cleared a log suffix (the bug that made a paused,
// resumed and killed leader panic at every later start).
func damageWAL(t *testing.T, dir string) {
	t.Helper()
	meta := &metadb.BoltMetaDB{}
	st, err := meta.Load(filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	damaged := false
	for i := len(st.Segments) - 1; i >= 0; i-- {
		if !st.Segments[i].SealTime.IsZero() {
			st.Segments[i].IndexStart = 0
			damaged = true
			break
		}
	}
	if !damaged {
		t.Fatalf("no sealed segment to damage among %d", len(st.Segments))
	}
	if err := meta.CommitState(st); err != nil {
		t.Fatal(err)
	}
}

// smallSegments rotates raft-wal segments every few entries, so a log of
// a few dozen writes has sealed segments.
func smallSegments(c *consensus.Config) { c.WALSegmentSize = 4 << 10 }

// A store that cannot be read is reported with its folder and the action
// that repairs it; nothing panics (raft.NewRaft panics on it). Without a
// leader among the other replicas the node does not rebuild itself.
func TestDamagedStoreFailsWithFolderAndRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("RAFT cluster")
	}
	c := newCluster(t, 3, "ConsensusTestKV", consensus.ConsistencyLocal, smallSegments)
	putMany(t, c.leader(), "k", 60)
	c.converge()
	r := c.get("1")
	dir := r.dir
	c.stopAll()
	damageWAL(t, dir)

	for _, noRepair := range []bool{true, false} {
		cfg := consensus.DefaultConfig()
		cfg.ID, cfg.Dir, cfg.Peers, cfg.BindAddr = "1", dir, c.peers, "127.0.0.1:0"
		inst := consensus.NewKV(t, "ConsensusTestKV")
		cfg.Instance, cfg.Logger = inst, testLogger()
		cfg.WALSegmentSize = 4 << 10
		cfg.NoRepair, cfg.RepairWait = noRepair, 300*time.Millisecond
		n, err := consensus.NewNode(cfg)
		inst.Close()
		if err == nil {
			n.Shutdown()
			t.Fatalf("NoRepair=%v: a damaged store started", noRepair)
		}
		var se *consensus.StoreError
		if !errors.Is(err, consensus.ErrDamagedStore) || !errors.As(err, &se) || se.Dir != dir {
			t.Fatalf("NoRepair=%v: want a StoreError for %s, got %v", noRepair, dir, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "sealed segment has no index block") || !strings.Contains(msg, "mv "+dir) {
			t.Errorf("NoRepair=%v: the error names neither the reason nor the repair: %s", noRepair, msg)
		}
		if !noRepair && !strings.Contains(msg, "no other replica reported itself RAFT leader") {
			t.Errorf("the error does not say why it did not repair itself: %s", msg)
		}
		if _, err := os.Stat(filepath.Join(dir, "wal")); err != nil {
			t.Errorf("NoRepair=%v: the damaged store was touched: %v", noRepair, err)
		}
	}
}

// A replica whose store cannot be read while the others hold a quorum
// moves the store aside (kept), rejoins empty and is restored by the
// leader: it ends with every write, old and new.
func TestDamagedStoreRepairsFromQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("RAFT cluster")
	}
	repairs := make(chan consensus.Repair, 3)
	c := newCluster(t, 3, "ConsensusTestKV", consensus.ConsistencyLocal, func(cfg *consensus.Config) {
		smallSegments(cfg)
		cfg.SnapshotThreshold, cfg.TrailingLogs = 20, 5 // the leader sends a snapshot
		cfg.OnRepair = func(r consensus.Repair) { repairs <- r }
	})
	l := c.leader()
	putMany(t, l, "a", 60)
	c.converge()
	var f string
	for _, id := range c.ids() {
		if id != l.peer.ID {
			f = id
		}
	}
	dir := c.get(f).dir
	c.stop(f)
	putMany(t, c.leader(), "b", 10)
	damageWAL(t, dir)

	c.restart(f) // fails the test if NewNode fails
	putMany(t, c.leader(), "c", 10)
	state := c.converge()
	if len(state.Data) != 80 {
		t.Errorf("converged on %d keys, want 80", len(state.Data))
	}
	select {
	case r := <-repairs:
		if r.Dir != dir || !strings.HasPrefix(r.MovedTo, dir+".damaged-") || r.Leader == "" || !strings.Contains(r.Reason, "index block") {
			t.Errorf("repair reported as %+v", r)
		}
	default:
		t.Error("the repair was not reported (OnRepair)")
	}
	aside, _ := filepath.Glob(dir + ".damaged-*")
	if len(aside) != 1 {
		t.Fatalf("damaged store not kept aside: %v", aside)
	}
	if _, err := os.Stat(filepath.Join(aside[0], "wal")); err != nil {
		t.Errorf("damaged WAL not kept: %v", err)
	}
}
