package consensus

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/internal/bareraft"
	"github.com/jig-dev/jig/internal/waitfor"
)

// countFSM records the entries applied to it.
type countFSM struct {
	mu   sync.Mutex
	data [][]byte
}

func (f *countFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data = append(f.data, append([]byte(nil), l.Data...))
	return len(f.data)
}

func (f *countFSM) applied() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.data)
}

func (*countFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, errors.New("no snapshots") }
func (*countFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

// TestBareClusterReplicatesAndRestarts runs three bare members on
// loopback: a write on the leader reaches every state machine, a member
// restarted on its directory keeps its log (raft-wal) instead of
// bootstrapping again, and Shutdown leaves nothing running (goleak).
func TestBareClusterReplicatesAndRestarts(t *testing.T) {
	dir := t.TempDir()
	var peers []Peer
	var lis []net.Listener
	for i := range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lis = append(lis, l)
		peers = append(peers, Peer{ID: fmt.Sprint(i), RaftAddr: l.Addr().String()})
	}
	members := make([]*bareraft.Member, 3)
	fsms := make([]*countFSM, 3)
	start := func(i int, l net.Listener) {
		t.Helper()
		cfg := bareraft.Config{ID: peers[i].ID, Dir: filepath.Join(dir, peers[i].ID), Listener: l, Peers: peers}
		fsms[i] = &countFSM{}
		b, err := bareraft.Start(cfg, fsms[i])
		if err != nil {
			t.Fatal(err)
		}
		if b.Addr != peers[i].RaftAddr {
			t.Fatalf("member %d listens on %s, want %s", i, b.Addr, peers[i].RaftAddr)
		}
		members[i] = b
	}
	for i := range 3 {
		start(i, lis[i])
	}
	defer func() {
		for _, b := range members {
			if b != nil {
				b.Shutdown()
			}
		}
	}()
	leader := func() int {
		return waitfor.Value(t, "a leader", 20*time.Second, func() (int, bool) {
			for i, b := range members {
				if b != nil && b.Raft.State() == raft.Leader {
					return i, true
				}
			}
			return -1, false
		})
	}
	l := leader()
	if err := members[l].Raft.Apply([]byte("one"), 10*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	// Followers apply once they learn the commit index (CommitTimeout).
	waitApplied := func(i, n int) {
		t.Helper()
		waitfor.Value(t, fmt.Sprintf("member %d to apply %d entries", i, n), 20*time.Second, func() (int, bool) {
			got := fsms[i].applied()
			return got, got >= n
		})
	}
	for i := range 3 {
		waitApplied(i, 1)
	}

	// A follower restarted on the same folder and port replays its log.
	f := (l + 1) % 3
	if err := members[f].Shutdown(); err != nil {
		t.Fatal(err)
	}
	members[f] = nil
	nl, err := net.Listen("tcp", peers[f].RaftAddr)
	if err != nil {
		t.Skipf("port %s taken after restart: %v", peers[f].RaftAddr, err)
	}
	start(f, nl)
	l = leader()
	if err := members[l].Raft.Apply([]byte("two"), 10*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	waitApplied(f, 2)
	fsms[f].mu.Lock()
	first := string(fsms[f].data[0])
	fsms[f].mu.Unlock()
	if first != "one" {
		t.Fatalf("restarted member applied %q first, want %q", first, "one")
	}
	for i, b := range members {
		if err := b.Shutdown(); err != nil {
			t.Errorf("member %d: %v", i, err)
		}
	}
	if err := members[0].Shutdown(); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

func TestNewBareRejectsIncompleteConfig(t *testing.T) {
	var cfg bareraft.Config
	if _, err := bareraft.Start(cfg, &countFSM{}); err == nil {
		t.Fatal("NewBare without ID and Dir succeeded")
	}
	cfg.ID, cfg.Dir = "0", t.TempDir()
	if _, err := bareraft.Start(cfg, &countFSM{}); err == nil {
		t.Fatal("NewBare without an address succeeded")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = l
	if _, err := bareraft.Start(cfg, nil); err == nil {
		t.Fatal("NewBare without a state machine succeeded")
	}
	// The listener was closed on the way out.
	if _, err := l.Accept(); err == nil {
		t.Fatal("listener still open after a failed NewBare")
	}
}
