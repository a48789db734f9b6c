package workerraft_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/executors/workerraft"
	"github.com/jig-dev/jig/internal/badinput"
)

// counter is a stateful executor with a write endpoint, as RAFT needs.
type counter struct{ executors.Base }

func (c *counter) Endpoints(r *executors.Router) {
	r.Write("/add", executors.Method("Add", func(context.Context, *executors.Call) error { return nil }))
}

func init() {
	executors.Register("WorkerTestCounter", func() executors.Executor { return &counter{} })
}

func TestConfigFromFlags(t *testing.T) {
	spec, _ := executors.NewSpec("WorkerTestCounter", nil)
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	ok, err := workerflags.Parse([]string{"--raft-id", "1", "--raft-dir", t.TempDir(), "--raft-addr", "127.0.0.1:7001", "--read-consistency", "leader",
		"--raft-peers", `[{"id":"0","raft":"127.0.0.1:7000","worker":"127.0.0.1:7100"},{"id":"1","raft":"127.0.0.1:7001"}]`,
		"--raft-config", `{"heartbeat_timeout":"400ms","snapshot_threshold":100}`})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := workerraft.Config(&ok, inst, "127.0.0.1:7101", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Raft.Consistency != consensus.ConsistencyLeader || cfg.HeartbeatTimeout != 400*time.Millisecond || cfg.SnapshotThreshold != 100 ||
		len(cfg.Peers) != 2 || cfg.Peers[1].WorkerAddr != "127.0.0.1:7101" || cfg.Instance != inst || cfg.ID != "1" {
		t.Fatalf("config %+v", cfg)
	}
	// No peers: a cluster of this replica alone.
	alone := workerflags.Default()
	alone.Raft.ID, alone.Raft.Dir = "0", t.TempDir()
	cfg, err = workerraft.Config(&alone, inst, "127.0.0.1:9", nil)
	if err != nil || len(cfg.Peers) != 1 || cfg.Peers[0].WorkerAddr != "127.0.0.1:9" || cfg.BindAddr != "127.0.0.1:0" {
		t.Fatalf("alone: %+v %v", cfg.Peers, err)
	}
	for name, mut := range map[string]func(*workerflags.Flags){
		"no dir":       func(f *workerflags.Flags) { f.Raft.Dir = "" },
		"not in peers": func(f *workerflags.Flags) { f.Raft.ID = "7" },
	} {
		f := ok
		mut(&f)
		if _, err := workerraft.Config(&f, inst, "127.0.0.1:9", nil); !errors.Is(err, badinput.Err) {
			t.Errorf("%s: want bad input, got %v", name, err)
		}
	}
	// Malformed values are refused when the flags are parsed.
	for name, args := range map[string][]string{
		"bad peers":       {"--raft-peers", `{"id":"0"}`},
		"bad consistency": {"--read-consistency", "strong"},
		"bad knob":        {"--raft-config", `{"log_level":"INFO"}`},
	} {
		if _, err := workerflags.Parse(args); !errors.Is(err, badinput.Err) {
			t.Errorf("%s: want bad input, got %v", name, err)
		}
	}
	// The peers list alone says where to bind; a conflicting --raft-addr
	// is an error.
	fromPeers := ok
	fromPeers.Raft.Addr = "127.0.0.1:0"
	if cfg, err := workerraft.Config(&fromPeers, inst, "127.0.0.1:9", nil); err != nil || cfg.BindAddr != "127.0.0.1:7001" {
		t.Fatalf("bind from peers: %v %v", cfg.BindAddr, err)
	}
	conflict := ok
	conflict.Raft.Addr = "127.0.0.1:7999"
	if _, err := workerraft.Config(&conflict, inst, "127.0.0.1:9", nil); !errors.Is(err, badinput.Err) {
		t.Fatalf("conflicting --raft-addr: %v", err)
	}
	join := ok
	join.Raft.ID, join.Raft.Join = "7", true
	if cfg, err := workerraft.Config(&join, inst, "127.0.0.1:9", nil); err != nil || !cfg.Join {
		t.Fatalf("a joining replica need not be in the peers: %v", err)
	}
}
