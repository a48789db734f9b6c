package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// ErrDamagedStore: a replica's RAFT log cannot be read (a segment the
// store cannot decode, an entry missing in the middle, a library panic
// while opening it). Match it with errors.Is; errors.As with *StoreError
// gives the folder and the reason.
var ErrDamagedStore = errors.New("consensus: RAFT log store cannot be read")

// StoreError says which folder holds an unreadable RAFT store and why.
// NewNode returns it before starting RAFT (hashicorp/raft panics on a log
// it cannot read), so a damaged replica fails with a message instead of a
// crash, and the caller can repair it (see Config.Repair).
type StoreError struct {
	// Dir is the replica's RAFT folder (Config.Dir).
	Dir string
	// Reason is what the store reported.
	Reason error
	// Repair, when set, says why the node did not repair itself and what
	// repairs it.
	Repair string
}

func (e *StoreError) Error() string {
	if e.Repair != "" {
		return fmt.Sprintf("RAFT log store in %s cannot be read: %v; %s", e.Dir, e.Reason, e.Repair)
	}
	return fmt.Sprintf("RAFT log store in %s cannot be read: %v", e.Dir, e.Reason)
}

// Is makes errors.Is(err, ErrDamagedStore) hold.
func (e *StoreError) Is(target error) bool { return target == ErrDamagedStore }

func (e *StoreError) Unwrap() error { return e.Reason }

// openWAL opens (or creates) the raft-wal log and stable store under
// cfg.Dir/wal. Node and Bare both use it, so the bare-raft benchmark
// baseline runs on exactly jig's store. A store that raft-wal cannot open
// (or panics on) is a *StoreError.
//
// The caller owns the returned meta store and closes it after the WAL
// (raft-wal v0.4.1 closes it in WAL.Close too; BoltMetaDB.Close is
// idempotent, and closing it ourselves keeps a failed open from leaving
// its file lock behind).
func openWAL(cfg *Config, logger *slog.Logger) (wal *raftwal.WAL, meta *metadb.BoltMetaDB, err error) {
	walDir := filepath.Join(cfg.Dir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("raft wal: %w", err)
	}
	meta = &metadb.BoltMetaDB{}
	defer func() {
		if p := recover(); p != nil {
			err = &StoreError{Dir: cfg.Dir, Reason: fmt.Errorf("open %s: panic: %v", walDir, p)}
		}
		if err != nil {
			meta.Close()
			wal, meta = nil, nil
		}
	}()
	wal, err = raftwal.Open(walDir, raftwal.WithMetaStore(meta), raftwal.WithLogger(newHCLog(logger, "raft-wal")), raftwal.WithSegmentSize(cfg.WALSegmentSize))
	if err != nil {
		return nil, nil, &StoreError{Dir: cfg.Dir, Reason: fmt.Errorf("open %s: %w", walDir, err)}
	}
	return wal, meta, nil
}

// checkLog reads every entry of the log store, first to last, as
// raft.NewRaft will (it panics when an entry it scans cannot be read). It
// runs before NewRaft so a damaged store is reported, never a panic. The
// log holds at most SnapshotThreshold + TrailingLogs entries between
// compactions, so this costs milliseconds at start.
func checkLog(dir string, logs raft.LogStore) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &StoreError{Dir: dir, Reason: fmt.Errorf("panic while reading the log: %v", p)}
		}
	}()
	first, err := logs.FirstIndex()
	if err != nil {
		return &StoreError{Dir: dir, Reason: fmt.Errorf("first index: %w", err)}
	}
	last, err := logs.LastIndex()
	if err != nil {
		return &StoreError{Dir: dir, Reason: fmt.Errorf("last index: %w", err)}
	}
	if last == 0 {
		return nil
	}
	var l raft.Log
	for i := max(first, 1); i <= last; i++ {
		if err := logs.GetLog(i, &l); err != nil {
			return &StoreError{Dir: dir, Reason: fmt.Errorf("entry %d of %d..%d: %w", i, first, last, err)}
		}
	}
	return nil
}

// openSnapshots opens the file snapshot store under cfg.Dir.
func openSnapshots(cfg *Config, logger *slog.Logger) (raft.SnapshotStore, error) {
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, cfg.SnapshotRetain, newHCLog(logger, "raft-snapshot"))
	if err != nil {
		return nil, fmt.Errorf("raft snapshot store: %w", err)
	}
	return snaps, nil
}
