package builtin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"google.golang.org/protobuf/proto"
)

func init() {
	executors.Register("SimpleIndexer", func() executors.Executor {
		return &SimpleIndexer{Limit: 10, Persist: true}
	})
}

// IndexFile is the file, in a snapshot folder or the workspace, that holds
// a SimpleIndexer's documents as serialized DocListProto bytes.
const IndexFile = "index.bin"

// SimpleIndexer is a stateful in-memory vector index with exact cosine
// k-nearest-neighbour search, after Jina's SimpleIndexer. Endpoints:
//
//	/index   (write) upserts the documents by ID
//	/delete  (write) removes the documents with these IDs
//	/clear   (write) empties the index
//	/search  fills each query's Matches with its nearest indexed documents
//	/count   returns results {"count": <number of indexed documents>}
//
// Writes are idempotent — indexing the same documents twice leaves one copy
// of each — so replaying a RAFT log over a state that already contains some
// of its entries (or over a loaded workspace file) converges to the same
// index on every replica. Documents must have an ID; a document without an
// embedding is stored (and counted) but never matched.
//
// The state is kept across restarts two ways: as RAFT snapshots
// (Snapshot/Restore, for stateful deployments) and, with Persist, in
// <workspace>/index.bin, loaded by Init and written by Close.
type SimpleIndexer struct {
	executors.Base

	// Limit is the number of matches per query when the request has no
	// "limit" parameter. Default 10.
	Limit int `yaml:"limit"`
	// Persist loads the index from <workspace>/index.bin at start-up and
	// saves it there on shutdown. Default true.
	Persist bool `yaml:"persist"`

	// mu guards the index. Write handlers already run alone, but /search
	// and /count run concurrently with each other, and Snapshot, Restore
	// and Close may be called from outside the request path.
	mu      sync.RWMutex
	entries []indexEntry   // in insertion order (swap-removal on delete)
	pos     map[string]int // document ID -> index in entries
	dirty   bool           // changed since loaded or saved
	wsDir   string         // workspace folder when Persist, set by Init
}

// indexEntry is one indexed document with its embedding decoded once, at
// index time, so that a search only multiplies floats.
type indexEntry struct {
	doc  *docarray.Document // a private copy, without matches
	vec  []float32          // nil: no usable embedding
	norm float32            // L2 norm of vec, > 0 when vec is set
}

// Init validates the options and, with Persist, loads the workspace file.
func (s *SimpleIndexer) Init(ctx context.Context) error {
	if s.Limit <= 0 {
		return configError("limit", "must be positive, got %d", s.Limit)
	}
	s.pos = map[string]int{}
	if !s.Persist {
		return nil
	}
	ws, err := s.Workspace()
	if err != nil {
		return err
	}
	if err := s.load(ws, false); err != nil {
		return fmt.Errorf("load persisted index: %w", err)
	}
	s.wsDir = ws
	if n := s.Len(); n > 0 {
		s.Logger.Info("loaded index", "docs", n, "file", filepath.Join(ws, IndexFile))
	}
	return nil
}

// Close saves the index to the workspace when Persist is set and the index
// changed since it was loaded.
func (s *SimpleIndexer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wsDir == "" || !s.dirty {
		return nil
	}
	if err := s.saveLocked(s.wsDir); err != nil {
		return fmt.Errorf("persist index: %w", err)
	}
	s.dirty = false
	return nil
}

// IndexDoc is a document /index stores: its id and embedding are what the
// index uses; the whole document, every field included, is stored and
// returned in matches.
type IndexDoc struct {
	ID        string             `doc:"id,required" desc:"documents are updated and deleted by id"`
	Embedding []float32          `doc:"embedding" desc:"the vector searched by cosine similarity (any numeric dtype); a document without one is stored but never matched"`
	Doc       *docarray.Document `doc:"*"`
}

// DocRef names an indexed document by id (/delete).
type DocRef struct {
	ID string `doc:"id" desc:"the id of the document to delete"`
}

// SearchQuery is a /search query: its embedding is compared with the
// indexed ones.
type SearchQuery struct {
	ID        string    `doc:"id"`
	Embedding []float32 `doc:"embedding" desc:"the query vector; a query without one is returned as it is"`
}

// SearchResult is what /search adds to a query.
type SearchResult struct {
	Matches docarray.DocList `doc:"matches" desc:"the nearest indexed documents, best first, each with scores.cosine (its op_name cosine, its ref_id the query id)"`
}

// Endpoints binds the index endpoints; there is no default endpoint, so
// requests for other endpoints pass the indexer by.
func (s *SimpleIndexer) Endpoints(r *executors.Router) {
	executors.Write(r, "/index", executors.Typed(s.Index))
	executors.Write(r, "/delete", executors.Typed(s.Delete))
	executors.Write(r, "/clear", s.Clear)
	executors.On(r, "/search", executors.Typed(s.Search))
	executors.On(r, "/count", s.Count)
}

// Index upserts docs by ID. Every document is checked before any is
// stored, so a bad document leaves the index unchanged. The documents are
// returned unchanged.
func (s *SimpleIndexer) Index(ctx context.Context, docs []IndexDoc, p executors.Params) ([]IndexDoc, error) {
	entries := make([]indexEntry, 0, len(docs))
	for i, d := range docs {
		if d.ID == "" || d.Doc == nil { // the codec rejects these (id is required); Go callers may not
			return nil, badRequest("doc %d has no id: indexed documents need one, to be updated and deleted", i)
		}
		entries = append(entries, entryOf(d.Doc, d.Embedding))
	}
	packVectors(entries)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		s.upsertLocked(e)
	}
	if len(entries) > 0 {
		s.dirty = true
	}
	return nil, nil
}

// Delete removes the documents with the IDs of docs; unknown IDs are
// ignored, so a replayed delete is harmless.
func (s *SimpleIndexer) Delete(ctx context.Context, docs []DocRef, p executors.Params) ([]DocRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		if d.ID != "" && s.deleteLocked(d.ID) {
			s.dirty = true
		}
	}
	return nil, nil
}

// Clear removes every document.
func (s *SimpleIndexer) Clear(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) > 0 {
		s.dirty = true
	}
	s.entries, s.pos = nil, map[string]int{}
	return nil, nil
}

// Count returns the number of indexed documents as results {"count": n}.
func (s *SimpleIndexer) Count(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, executors.Results, error) {
	return nil, executors.Results{"count": s.Len()}, nil
}

// Len returns the number of indexed documents.
func (s *SimpleIndexer) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.entries)
}

// Search replaces the Matches of every query document that has an
// embedding with its nearest indexed documents by cosine similarity,
// best first, each with Scores["cosine"] set. The "limit" parameter
// (default Limit) caps the number of matches. Indexed documents whose
// embedding has another dimension than the query's are skipped. Queries
// without an embedding are returned as they are (a nil result).
func (s *SimpleIndexer) Search(ctx context.Context, queries []SearchQuery, p executors.Params) ([]*SearchResult, error) {
	limit := p.Int("limit", s.Limit)
	if limit <= 0 {
		return nil, badRequest("limit must be positive, got %d", limit)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*SearchResult, len(queries))
	for i, q := range queries {
		if q.Embedding == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = &SearchResult{Matches: s.searchLocked(q.Embedding, limit, q.ID)}
	}
	return out, nil
}

// hit is a candidate match: an entry and its score.
type hit struct {
	score float32
	i     int
}

// searchLocked returns the limit best matches for qv. It keeps a min-heap
// of the best hits so far (the worst at the root), which costs O(n log k)
// instead of sorting all n scores.
func (s *SimpleIndexer) searchLocked(qv []float32, limit int, queryID string) docarray.DocList {
	qn := norm32(qv)
	if qn == 0 || math.IsInf(float64(qn), 0) || math.IsNaN(float64(qn)) {
		return nil // a zero (or broken) vector has no direction: no similarity is defined
	}
	heap := make([]hit, 0, min(limit, len(s.entries)))
	for i := range s.entries {
		e := &s.entries[i]
		if len(e.vec) != len(qv) { // nil vec included
			continue
		}
		h := hit{score: dot32(qv, e.vec) / (qn * e.norm), i: i}
		if len(heap) < limit {
			heap = append(heap, h)
			s.siftUp(heap, len(heap)-1)
		} else if s.worse(heap[0], h) {
			heap[0] = h
			s.siftDown(heap, 0)
		}
	}
	slices.SortFunc(heap, func(a, b hit) int {
		if s.worse(a, b) {
			return 1
		}
		if s.worse(b, a) {
			return -1
		}
		return 0
	})
	out := make(docarray.DocList, len(heap))
	for j, h := range heap {
		m := s.entries[h.i].doc.Clone()
		if m.Scores == nil {
			m.Scores = map[string]docarray.NamedScore{}
		}
		m.Scores["cosine"] = docarray.NamedScore{Value: float64(h.score), OpName: "cosine", RefID: queryID}
		out[j] = m
	}
	return out
}

// worse orders hits: a lower score is worse, and among equal scores the
// larger ID, so results do not depend on insertion order (replicas that
// reached the same state by different paths answer alike).
func (s *SimpleIndexer) worse(a, b hit) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return s.entries[a.i].doc.ID > s.entries[b.i].doc.ID
}

func (s *SimpleIndexer) siftUp(h []hit, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !s.worse(h[i], h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (s *SimpleIndexer) siftDown(h []hit, i int) {
	for {
		l, r, w := 2*i+1, 2*i+2, i
		if l < len(h) && s.worse(h[l], h[w]) {
			w = l
		}
		if r < len(h) && s.worse(h[r], h[w]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// dot32 is the dot product of equally long vectors. It is the whole cost
// of a search, so it is written for the compiler: eight independent
// accumulators hide the latency of floating-point adds, and re-slicing by
// eight lets the compiler drop the bounds checks inside the loop.
func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(a) >= 8 {
		x, y := a[:8:8], b[:8:8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
		a, b = a[8:], b[8:]
	}
	for i := range a {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// norm32 is the L2 norm, accumulated in float64 for accuracy.
func norm32(v []float32) float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	return float32(math.Sqrt(sum))
}

// newEntry copies d for storage and decodes its embedding.
func newEntry(d *docarray.Document) (indexEntry, error) {
	if d.Embedding == nil {
		return entryOf(d, nil), nil
	}
	v, err := d.Embedding.Float32s()
	if err != nil {
		return indexEntry{}, fmt.Errorf("embedding: %w", err)
	}
	return entryOf(d, v), nil
}

// entryOf copies d for storage with its decoded embedding v (nil: none).
func entryOf(d *docarray.Document, v []float32) indexEntry {
	c := d.Clone()
	c.Matches = nil // matches of an indexed document are query results, not content
	e := indexEntry{doc: c}
	if n := norm32(v); n > 0 && !math.IsInf(float64(n), 0) && !math.IsNaN(float64(n)) {
		e.vec, e.norm = v, n
	}
	return e
}

// packVectors moves the vectors of entries into one shared allocation.
// A search streams through every vector; when they lie side by side the
// hardware prefetcher keeps up, which makes searches about twice as fast
// as with vectors scattered between the documents' own buffers. The
// shared block lives as long as any of its vectors is indexed, which
// bounds the waste to one batch.
func packVectors(entries []indexEntry) {
	total := 0
	for _, e := range entries {
		total += len(e.vec)
	}
	slab := make([]float32, total)
	for i := range entries {
		if entries[i].vec == nil {
			continue // nil means "no usable embedding"; keep it
		}
		n := copy(slab, entries[i].vec)
		entries[i].vec, slab = slab[:n:n], slab[n:]
	}
}

func (s *SimpleIndexer) upsertLocked(e indexEntry) {
	if i, ok := s.pos[e.doc.ID]; ok {
		s.entries[i] = e
		return
	}
	s.pos[e.doc.ID] = len(s.entries)
	s.entries = append(s.entries, e)
}

// deleteLocked removes id by moving the last entry into its place.
func (s *SimpleIndexer) deleteLocked(id string) bool {
	i, ok := s.pos[id]
	if !ok {
		return false
	}
	last := len(s.entries) - 1
	if i != last {
		s.entries[i] = s.entries[last]
		s.pos[s.entries[i].doc.ID] = i
	}
	s.entries[last] = indexEntry{} // let the collector have the document
	s.entries = s.entries[:last]
	delete(s.pos, id)
	return true
}

// Snapshot writes the index to dir/index.bin (see IndexFile).
func (s *SimpleIndexer) Snapshot(dir string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.saveLocked(dir)
}

// Restore replaces the index with the one in dir/index.bin; without that
// file the index becomes empty (the snapshot of an empty index). With
// Persist, the restored index is saved to the workspace on Close.
func (s *SimpleIndexer) Restore(dir string) error {
	return s.load(dir, true)
}

// saveLocked writes the documents as serialized DocListProto bytes (what
// DocList.Marshal produces), atomically: a crash leaves the old file or
// the new one, never a torn one. The documents are sorted by ID and
// marshalled deterministically (DocProto fields are a map, which protobuf
// otherwise writes in random order), so equal states give equal files and
// replicas can be compared by checksum.
func (s *SimpleIndexer) saveLocked(dir string) error {
	docs := make(docarray.DocList, len(s.entries))
	for i := range s.entries {
		docs[i] = s.entries[i].doc
	}
	slices.SortFunc(docs, func(a, b *docarray.Document) int { return cmp.Compare(a.ID, b.ID) })
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(docs.ToProto())
	if err != nil {
		return fmt.Errorf("encode index: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, IndexFile), data)
}

// load replaces the state with dir/index.bin (empty when it is missing).
// The file is decoded before the lock is taken and the state is swapped
// only on success, so a corrupt file leaves the index as it was. dirty
// says whether the new state differs from the workspace file.
func (s *SimpleIndexer) load(dir string, dirty bool) error {
	file := filepath.Join(dir, IndexFile)
	var docs docarray.DocList
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if docs, err = docarray.Unmarshal(data); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	entries := make([]indexEntry, 0, len(docs))
	pos := make(map[string]int, len(docs))
	for i, d := range docs {
		if d == nil || d.ID == "" {
			return fmt.Errorf("%s: doc %d has no id", file, i)
		}
		e, err := newEntry(d)
		if err != nil {
			return fmt.Errorf("%s: doc %d (id %s): %w", file, i, d.ID, err)
		}
		if j, dup := pos[d.ID]; dup {
			entries[j] = e
			continue
		}
		pos[d.ID] = len(entries)
		entries = append(entries, e)
	}
	packVectors(entries)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries, s.pos, s.dirty = entries, pos, dirty
	return nil
}

// writeFileAtomic writes data to a temporary file beside path (mode 0600),
// syncs it and renames it over path.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Sync the folder so the rename itself survives a crash; not every
	// platform can open a folder for that, so failure is not an error.
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
