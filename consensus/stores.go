package consensus

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// openWAL opens (or creates) the raft-wal log and stable store under
// cfg.Dir/wal. Node and Bare both use it, so the bare-raft benchmark
// baseline runs on exactly jig's store.
//
// raft-wal v0.4.0's WAL.Close does not close its bolt meta store, whose
// file lock would then block a reopen in the same process (an in-process
// replica restarted by the engine, or tests) for ever. The caller owns the
// returned meta store and closes it after the WAL.
func openWAL(cfg *Config, logger *slog.Logger) (*raftwal.WAL, *metadb.BoltMetaDB, error) {
	walDir := filepath.Join(cfg.Dir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("raft wal: %w", err)
	}
	meta := &metadb.BoltMetaDB{}
	wal, err := raftwal.Open(walDir, raftwal.WithMetaStore(meta), raftwal.WithLogger(newHCLog(logger, "raft-wal")), raftwal.WithSegmentSize(cfg.WALSegmentSize))
	if err != nil {
		meta.Close()
		return nil, nil, fmt.Errorf("raft wal: open %s: %w", walDir, err)
	}
	return wal, meta, nil
}

// openSnapshots opens the file snapshot store under cfg.Dir.
func openSnapshots(cfg *Config, logger *slog.Logger) (raft.SnapshotStore, error) {
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, cfg.SnapshotRetain, newHCLog(logger, "raft-snapshot"))
	if err != nil {
		return nil, fmt.Errorf("raft snapshot store: %w", err)
	}
	return snaps, nil
}
