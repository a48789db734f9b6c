package consensus

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/jig-dev/jig/internal/bareraft"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
)

// The two benchmarks measure writes/s through the leader of a 3-member
// cluster on loopback with identical RAFT settings (Config.raftConfig of the
// defaults), TCP transport (the node's stream layer and transport settings),
// raft-wal stores, file snapshot store, payload bytes and concurrency.
// BenchmarkApply3Replicas goes through Node.ApplyWrite and the KV test
// executor on every replica; BenchmarkBareRaft3 applies the same bytes with
// raft.Apply to a no-op FSM. Their writes/s ratio is the cost of jig's
// consensus layer (docs/ARCHITECTURE.md "Quality bars": >= 0.8).
//
//	go test -run '^$' -bench 'Apply3Replicas|BareRaft3' -benchtime 3s ./consensus/

// benchWriters is the number of concurrent writers in both benchmarks:
// enough to fill MaxAppendEntries batches, as a busy gateway would.
const benchWriters = 32

// benchRequest is the write both benchmarks send: 8 documents of 64-byte
// texts.
func benchRequest() *jinapb.DataRequestProto {
	var kv []string
	for i := range 8 {
		kv = append(kv, fmt.Sprintf("doc-%d", i), fmt.Sprintf("%064d", i))
	}
	return PutReq(kv...)
}

// runWriters calls write b.N times from benchWriters goroutines and
// reports writes/s. A write that fails (a leader change on a starved
// machine) is retried and counted in "retries"; more than one failure per
// hundred writes fails the benchmark.
func runWriters(b *testing.B, write func() error) {
	b.Helper()
	var next, retries atomic.Int64
	var wg sync.WaitGroup
	var lastErr atomic.Value // string: errors of different types cannot share a Value
	b.ResetTimer()
	start := time.Now()
	for range benchWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				for {
					err := write()
					if err == nil {
						break
					}
					lastErr.Store(err.Error())
					if retries.Add(1) > int64(b.N)/100+10 {
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := retries.Load(); n > int64(b.N)/100+10 {
		b.Fatalf("%d failed writes, last: %v", n, lastErr.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
	b.ReportMetric(float64(retries.Load()), "retries")
}

func BenchmarkApply3Replicas(b *testing.B) {
	dir := b.TempDir()
	var lis []net.Listener
	var peers []Peer
	for i := range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		lis = append(lis, l)
		peers = append(peers, Peer{ID: fmt.Sprint(i), RaftAddr: l.Addr().String(), WorkerAddr: "unused:1"})
	}
	var nodes []*Node
	for i, p := range peers {
		inst := NewKV(b, "ConsensusTestKV")
		defer inst.Close()
		cfg := DefaultConfig()
		cfg.ID, cfg.Dir, cfg.Listener, cfg.Peers, cfg.Instance, cfg.Logger = p.ID, filepath.Join(dir, p.ID), lis[i], peers, inst, discard
		n, err := NewNode(cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer n.Shutdown()
		nodes = append(nodes, n)
	}
	find := func() int {
		for i, n := range nodes {
			if n.IsLeader() {
				return i
			}
		}
		return -1
	}
	waitLeaderB(b, find)
	req := benchRequest()
	ctx := context.Background()
	first := nodes[find()].raft.LastIndex()
	defer func() {
		// Writes per RAFT entry: how much group commit shared entries.
		if i := find(); i >= 0 {
			if entries := nodes[i].raft.LastIndex() - first; entries > 0 {
				b.ReportMetric(float64(b.N)/float64(entries), "writes/entry")
			}
		}
	}()
	runWriters(b, func() error {
		i := find()
		if i < 0 {
			return raft.ErrNotLeader
		}
		resp, err := nodes[i].ApplyWrite(ctx, req)
		if err == nil && resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
			err = fmt.Errorf("status %v", resp.GetHeader().GetStatus())
		}
		return err
	})
}

func BenchmarkBareRaft3(b *testing.B) {
	dir := b.TempDir()
	cfg := DefaultConfig() // the same knobs as the nodes above
	type member struct {
		r    *raft.Raft
		wal  *raftwal.WAL
		meta *metadb.BoltMetaDB
		tr   *raft.NetworkTransport
	}
	var members []member
	var conf raft.Configuration
	var streams []*streamLayer
	for i := range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		s, err := newStreamLayer(l)
		if err != nil {
			b.Fatal(err)
		}
		streams = append(streams, s)
		conf.Servers = append(conf.Servers, raft.Server{ID: raft.ServerID(fmt.Sprint(i)), Address: raft.ServerAddress(l.Addr().String()), Suffrage: raft.Voter})
	}
	for i, s := range streams {
		id := fmt.Sprint(i)
		d := filepath.Join(dir, id)
		if err := os.MkdirAll(filepath.Join(d, "wal"), 0o700); err != nil {
			b.Fatal(err)
		}
		meta := &metadb.BoltMetaDB{}
		wal, err := raftwal.Open(filepath.Join(d, "wal"), raftwal.WithMetaStore(meta), raftwal.WithLogger(newHCLog(discard, "wal")), raftwal.WithSegmentSize(cfg.WALSegmentSize))
		if err != nil {
			b.Fatal(err)
		}
		snaps, err := raft.NewFileSnapshotStoreWithLogger(d, cfg.SnapshotRetain, newHCLog(discard, "snap"))
		if err != nil {
			b.Fatal(err)
		}
		tr := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Logger: newHCLog(discard, "net"), Stream: s, MaxPool: cfg.TransportMaxPool, Timeout: cfg.TransportTimeout,
		})
		c := cfg
		c.ID = id
		rc := c.raftConfig()
		rc.Logger = newHCLog(discard, "raft")
		r, err := raft.NewRaft(rc, bareraft.NopFSM{}, wal, wal, snaps, tr)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.BootstrapCluster(conf).Error(); err != nil {
			b.Fatal(err)
		}
		members = append(members, member{r: r, wal: wal, meta: meta, tr: tr})
	}
	defer func() {
		for _, m := range members {
			m.r.Shutdown().Error()
			m.tr.CloseStreams()
			m.wal.Close()
			m.meta.Close()
		}
	}()
	find := func() int {
		for i, m := range members {
			if m.r.State() == raft.Leader {
				return i
			}
		}
		return -1
	}
	waitLeaderB(b, find)
	data, err := proto.Marshal(benchRequest())
	if err != nil {
		b.Fatal(err)
	}
	runWriters(b, func() error {
		i := find()
		if i < 0 {
			return raft.ErrNotLeader
		}
		return members[i].r.Apply(data, cfg.ApplyTimeout).Error()
	})
}

func waitLeaderB(b *testing.B, find func() int) int {
	b.Helper()
	return waitfor.Value(b, "a leader", 15*time.Second, func() (int, bool) {
		i := find()
		return i, i >= 0
	})
}
