package consensus

import (
	"sync"

	"github.com/hashicorp/raft"
)

// Log cache bounds. A follower applies the entries it has just stored and
// a leader replicates the entries it has just appended, so hashicorp/raft
// reads back, from the store, nearly every entry it wrote moments before
// (about a tenth of the CPU of a stateful write under load, in preads and
// frame decoding). Keeping the latest entries in memory answers those
// reads. raft.LogCache does the same for entries of any size: 512 entries
// of 8 MiB batches would pin 4 GiB. Here an entry larger than
// logCacheMaxEntry is not kept, so the cache never holds more than
// logCacheEntries × logCacheMaxEntry (16 MiB) of entry data, and a large
// entry, whose processing dwarfs a read, is read back from the store.
const (
	// logCacheEntries is the number of slots: more than one AppendEntries
	// batch (MaxAppendEntries) so a follower that is one batch behind
	// still reads from memory.
	logCacheEntries = 128
	// logCacheMaxEntry is the largest entry data kept.
	logCacheMaxEntry = 128 << 10
)

// logCache is a raft.LogStore in front of another that keeps the most
// recently stored entries of at most logCacheMaxEntry bytes, up to
// logCacheEntries of them, and answers GetLog from memory when it can. Entries are
// cached only once the store has them, and a DeleteRange empties the
// cache, so it never answers what the store would not.
type logCache struct {
	store raft.LogStore

	mu    sync.RWMutex
	slots []*raft.Log // by index modulo len(slots)
}

// newLogCache wraps store.
func newLogCache(store raft.LogStore) *logCache {
	return &logCache{store: store, slots: make([]*raft.Log, logCacheEntries)}
}

// IsMonotonic passes the store's answer on: hashicorp/raft treats a
// monotonic store (raft-wal) differently after restoring a snapshot.
func (c *logCache) IsMonotonic() bool {
	m, ok := c.store.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

// GetLog implements raft.LogStore.
func (c *logCache) GetLog(index uint64, l *raft.Log) error {
	c.mu.RLock()
	hit := c.slots[index%uint64(len(c.slots))]
	c.mu.RUnlock()
	if hit != nil && hit.Index == index {
		*l = *hit
		return nil
	}
	return c.store.GetLog(index, l)
}

// StoreLog implements raft.LogStore.
func (c *logCache) StoreLog(l *raft.Log) error { return c.StoreLogs([]*raft.Log{l}) }

// StoreLogs implements raft.LogStore. hashicorp/raft never changes an
// entry after storing it, so the cache keeps the caller's pointers.
func (c *logCache) StoreLogs(logs []*raft.Log) error {
	if err := c.store.StoreLogs(logs); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range logs {
		slot := &c.slots[l.Index%uint64(len(c.slots))]
		*slot = nil // a larger entry is read back from the store
		if len(l.Data)+len(l.Extensions) <= logCacheMaxEntry {
			*slot = l
		}
	}
	return nil
}

// FirstIndex implements raft.LogStore.
func (c *logCache) FirstIndex() (uint64, error) { return c.store.FirstIndex() }

// LastIndex implements raft.LogStore.
func (c *logCache) LastIndex() (uint64, error) { return c.store.LastIndex() }

// DeleteRange implements raft.LogStore. It empties the cache first, so
// no deleted entry is answered from memory, whatever the range.
func (c *logCache) DeleteRange(lo, hi uint64) error {
	c.mu.Lock()
	clear(c.slots)
	c.mu.Unlock()
	return c.store.DeleteRange(lo, hi)
}
