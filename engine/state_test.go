package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
)

// Flows with the same name in two folders keep their state apart; the same
// flow file finds its state again.
func TestStateDirKeyedByFlowFile(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	yml := []byte("jtype: Flow\nname: same\nexecutors:\n  - {name: index, uses: builtin:SimpleIndexer}\n")
	a1, a2, b := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []string{a1, a2, b} {
		if err := os.WriteFile(filepath.Join(d, "flow.yml"), yml, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	load := func(dir string) *flow.Flow {
		f, err := flow.Load(filepath.Join(dir, "flow.yml"))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	fa, fb := load(a1), load(b)
	if engine.StateDir(fa) == engine.StateDir(fb) {
		t.Fatalf("two flows named %q share %s", fa.Name, engine.StateDir(fa))
	}
	if engine.StateDir(fa) != engine.StateDir(load(a1)) {
		t.Error("the same flow file got another state folder")
	}
	if engine.StateDir(fa) == engine.StateDir(load(a2)) {
		t.Error("two checkouts of one flow share state")
	}
	if filepath.Dir(filepath.Dir(engine.StateDir(fa))) != filepath.Join(os.Getenv("XDG_CACHE_HOME"), "jig") {
		t.Errorf("state folder %s is not under the cache", engine.StateDir(fa))
	}
}

// A stateful deployment without a workspace keeps its RAFT state in the
// flow's StateDir, and the engine says where at start.
func TestStatefulStateInFlowStateDir(t *testing.T) {
	if testing.Short() {
		t.Skip("RAFT node")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	f, err := flow.Parse("test.yml", dir, []byte("jtype: Flow\nexecutors:\n  - {name: index, uses: builtin:SimpleIndexer, stateful: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Start(context.Background(), f, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(context.Background())
	raftDir := filepath.Join(engine.StateDir(f), "index", "raft", "0", "0", "wal")
	if _, err := os.Stat(raftDir); err != nil {
		t.Errorf("no RAFT store in the flow's state folder: %v", err)
	}
	said := false
	for _, ev := range eng.Bus().Recent() {
		if l, ok := ev.(events.Log); ok && l.Message == "flow state lives in "+engine.StateDir(f) {
			said = true
		}
	}
	if !said {
		t.Error("the engine did not say where the flow's state lives")
	}
}

// A stateful deployment restarted from its persisted state gets the
// addresses it had, so the RAFT configuration in its log stays right.
func TestStatefulAddressesSurviveRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("RAFT cluster")
	}
	yml := "jtype: Flow\nexecutors:\n  - {name: index, uses: builtin:SimpleIndexer, replicas: 3, stateful: true, workspace: " + t.TempDir() + "}\n"
	addrs := func() []string {
		eng := startFlow(t, yml)
		defer eng.Stop(context.Background())
		var out []string
		for _, r := range eng.Status().Deployments[0].ReplicaStatus {
			if r.Raft == nil {
				t.Fatalf("replica %s has no RAFT status", r.Name)
			}
			out = append(out, r.Address+" "+r.Raft.RaftAddress)
		}
		return out
	}
	first, second := addrs(), addrs()
	if len(first) != 3 || fmt.Sprint(first) != fmt.Sprint(second) {
		t.Errorf("addresses changed across a restart: %v, then %v", first, second)
	}
}
