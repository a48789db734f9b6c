package consensus

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/hashicorp/raft"
)

// countingStore is an in-memory log store that counts the reads that reach
// it and can be told to fail writes.
type countingStore struct {
	*raft.InmemStore
	reads int
	fail  error
}

func (s *countingStore) GetLog(i uint64, l *raft.Log) error {
	s.reads++
	return s.InmemStore.GetLog(i, l)
}

func (s *countingStore) StoreLogs(logs []*raft.Log) error {
	if s.fail != nil {
		return s.fail
	}
	return s.InmemStore.StoreLogs(logs)
}

func entries(from, n uint64, size int) []*raft.Log {
	var out []*raft.Log
	for i := from; i < from+n; i++ {
		out = append(out, &raft.Log{Index: i, Term: 1, Data: bytes.Repeat([]byte{byte(i)}, size)})
	}
	return out
}

// get reads entry i through c and checks it is the entry stored.
func get(t *testing.T, c *logCache, i uint64, size int) {
	t.Helper()
	var l raft.Log
	if err := c.GetLog(i, &l); err != nil {
		t.Fatalf("GetLog(%d): %v", i, err)
	}
	if l.Index != i || !bytes.Equal(l.Data, bytes.Repeat([]byte{byte(i)}, size)) {
		t.Fatalf("GetLog(%d) = index %d, %d bytes", i, l.Index, len(l.Data))
	}
}

// TestLogCacheAnswersRecentEntries: the latest logCacheEntries entries are
// read from memory, older ones from the store, and both are right.
func TestLogCacheAnswersRecentEntries(t *testing.T) {
	s := &countingStore{InmemStore: raft.NewInmemStore()}
	c := newLogCache(s)
	n := uint64(logCacheEntries + 10)
	if err := c.StoreLogs(entries(1, n, 8)); err != nil {
		t.Fatal(err)
	}
	for i := n - logCacheEntries + 1; i <= n; i++ {
		get(t, c, i, 8)
	}
	if s.reads != 0 {
		t.Fatalf("%d reads reached the store for cached entries", s.reads)
	}
	for i := uint64(1); i <= n-logCacheEntries; i++ {
		get(t, c, i, 8)
	}
	if want := int(n - logCacheEntries); s.reads != want {
		t.Fatalf("%d reads reached the store, want %d (the evicted entries)", s.reads, want)
	}
}

// TestLogCacheSkipsLargeEntries: an entry over logCacheMaxEntry is not
// held (it is read right from the store), and does not keep the entries
// around it from being cached.
func TestLogCacheSkipsLargeEntries(t *testing.T) {
	s := &countingStore{InmemStore: raft.NewInmemStore()}
	c := newLogCache(s)
	if err := c.StoreLogs(entries(1, 2, 8)); err != nil {
		t.Fatal(err)
	}
	if err := c.StoreLogs(entries(3, 1, logCacheMaxEntry+1)); err != nil {
		t.Fatal(err)
	}
	if err := c.StoreLogs(entries(4, 2, logCacheMaxEntry)); err != nil {
		t.Fatal(err)
	}
	get(t, c, 1, 8)
	get(t, c, 2, 8)
	get(t, c, 4, logCacheMaxEntry)
	get(t, c, 5, logCacheMaxEntry)
	if s.reads != 0 {
		t.Fatalf("%d reads reached the store for entries within the bound", s.reads)
	}
	get(t, c, 3, logCacheMaxEntry+1)
	if s.reads != 1 {
		t.Fatalf("%d reads reached the store, want 1 (the large entry)", s.reads)
	}
	// A large entry also empties its slot: the entry it replaces is gone.
	if err := c.StoreLogs(entries(1+logCacheEntries, 1, logCacheMaxEntry+1)); err != nil {
		t.Fatal(err)
	}
	if c.slots[1] != nil {
		t.Fatal("the slot of a large entry still holds the entry it replaced")
	}
	held := 0
	for _, l := range c.slots {
		if l != nil {
			held += len(l.Data)
		}
	}
	if held > logCacheEntries*logCacheMaxEntry {
		t.Fatalf("cache holds %d bytes, bound %d", held, logCacheEntries*logCacheMaxEntry)
	}
}

// TestLogCacheDeleteAndFailure: a deleted entry is never answered from
// memory, and an entry the store refused is not cached.
func TestLogCacheDeleteAndFailure(t *testing.T) {
	s := &countingStore{InmemStore: raft.NewInmemStore()}
	c := newLogCache(s)
	if err := c.StoreLogs(entries(1, 10, 4)); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteRange(5, 10); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := c.GetLog(7, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog of a deleted entry: %v, want ErrLogNotFound", err)
	}
	get(t, c, 3, 4)
	s.fail = errors.New("disk full")
	if err := c.StoreLogs(entries(5, 1, 4)); err == nil {
		t.Fatal("StoreLogs hid the store's error")
	}
	if err := c.GetLog(5, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog of an entry the store refused: %v, want ErrLogNotFound", err)
	}
}

// TestLogCacheIsMonotonicLikeItsStore: hashicorp/raft asks the store it is
// given; the cache must not hide raft-wal's answer.
func TestLogCacheIsMonotonicLikeItsStore(t *testing.T) {
	if newLogCache(raft.NewInmemStore()).IsMonotonic() {
		t.Fatal("InmemStore is not monotonic")
	}
	cfg := Config{ID: "1", Dir: t.TempDir()}
	cfg.setDefaults()
	wal, meta, err := openWAL(&cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	defer wal.Close()
	if !wal.IsMonotonic() || !newLogCache(wal).IsMonotonic() {
		t.Fatal("the cache in front of raft-wal does not say it is monotonic")
	}
}
