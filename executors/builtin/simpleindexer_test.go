package builtin

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
)

func vecDoc(id string, v ...float32) *docarray.Document {
	return &docarray.Document{ID: id, Text: "text of " + id, Embedding: docarray.NewFloat32(v)}
}

// axisDocs are four documents whose nearest neighbours are easy to work out.
func axisDocs() docarray.DocList {
	return docarray.DocList{
		vecDoc("x", 1, 0, 0),
		vecDoc("y", 0, 1, 0),
		vecDoc("z", 0, 0, 1),
		vecDoc("xy", 1, 1, 0),
	}
}

// search sends one query and returns its matches.
func search(t *testing.T, inst *executors.Instance, q *docarray.Document, params map[string]any) docarray.DocList {
	t.Helper()
	out := call(t, inst, "/search", docarray.DocList{q}, params)
	return out[0].Matches
}

func countOf(t *testing.T, inst *executors.Instance) int {
	t.Helper()
	resp := process(t, inst, "/count", nil, nil)
	respDocs(t, resp) // fails on an error status
	res := resp.GetParameters().GetFields()[executors.ResultsKey].GetStructValue().GetFields()[inst.Name()]
	v := res.GetStructValue().GetFields()["count"]
	if v == nil {
		t.Fatalf("no count in results: %v", resp.GetParameters())
	}
	return int(v.GetNumberValue())
}

func TestSimpleIndexerEndpoints(t *testing.T) {
	inst := newInstance(t, "SimpleIndexer", map[string]any{"persist": false})
	for ep, write := range map[string]bool{"/index": true, "/delete": true, "/clear": true, "/search": false, "/count": false} {
		if !inst.Handles(ep) || inst.IsWrite(ep) != write {
			t.Errorf("%s: handles %v write %v, want write %v", ep, inst.Handles(ep), inst.IsWrite(ep), write)
		}
	}
	if inst.Handles("/default") {
		t.Error("SimpleIndexer should let other endpoints pass through")
	}
}

func TestSimpleIndexerSearch(t *testing.T) {
	inst := newInstance(t, "SimpleIndexer", map[string]any{"persist": false})
	call(t, inst, "/index", axisDocs(), nil)
	if n := countOf(t, inst); n != 4 {
		t.Fatalf("count %d, want 4", n)
	}

	matches := search(t, inst, vecDoc("q", 0.9, 0.2, 0), nil)
	if got := matches.IDs(); !slices.Equal(got, []string{"x", "xy", "y", "z"}) {
		t.Errorf("matches %v, want x, xy, y, z", got)
	}
	prev := math.Inf(1)
	for _, m := range matches {
		s, ok := m.Score("cosine")
		if !ok || s > prev {
			t.Errorf("match %s: score %v (set %v) after %v: not descending", m.ID, s, ok, prev)
		}
		prev = s
		if m.Embedding == nil || m.Matches != nil || m.Text != "text of "+m.ID {
			t.Errorf("match %s is not a copy of the indexed doc: %+v", m.ID, m)
		}
	}
	want := 0.9 / math.Sqrt(0.81+0.04) // cos(q, x)
	if s, _ := matches[0].Score("cosine"); math.Abs(s-want) > 1e-6 {
		t.Errorf("cos(q, x) = %v, want %v", s, want)
	}
	if s, _ := matches[3].Score("cosine"); math.Abs(s) > 1e-6 {
		t.Errorf("cos(q, z) = %v, want 0", s)
	}

	// limit from the parameters; the default is the limit option.
	if got := search(t, inst, vecDoc("q", 0, 1, 0.1), map[string]any{"limit": 2}).IDs(); !slices.Equal(got, []string{"y", "xy"}) {
		t.Errorf("limit 2: %v", got)
	}
	lim1 := newInstance(t, "SimpleIndexer", map[string]any{"persist": false, "limit": 1})
	call(t, lim1, "/index", axisDocs(), nil)
	if got := search(t, lim1, vecDoc("q", 0, 0, 3), nil).IDs(); !slices.Equal(got, []string{"z"}) {
		t.Errorf("limit option 1: %v", got)
	}
	if st := process(t, inst, "/search", docarray.DocList{vecDoc("q", 1, 0, 0)}, map[string]any{"limit": 0}).GetHeader().GetStatus(); st.GetException().GetName() != "BadRequest" {
		t.Errorf("limit 0: status %v", st)
	}

	// A query without an embedding gets no matches; a query's old matches
	// are replaced.
	out := call(t, inst, "/search", docarray.DocList{
		{ID: "noemb", Text: "no embedding"},
		{ID: "old", Embedding: docarray.NewFloat32([]float32{0, 0, 1}), Matches: docarray.DocList{{ID: "stale"}}},
	}, map[string]any{"limit": 1})
	if out[0].Matches != nil {
		t.Errorf("query without embedding got matches %v", out[0].Matches.IDs())
	}
	if got := out[1].Matches.IDs(); !slices.Equal(got, []string{"z"}) {
		t.Errorf("old matches not replaced: %v", got)
	}
}

func TestSimpleIndexerDimensionMismatchAndMissingEmbeddings(t *testing.T) {
	inst := newInstance(t, "SimpleIndexer", map[string]any{"persist": false})
	call(t, inst, "/index", docarray.DocList{
		vecDoc("two", 1, 0),
		vecDoc("three", 1, 0, 0),
		{ID: "plain", Text: "no embedding"},
		vecDoc("zero", 0, 0, 0),
		{ID: "f64", Embedding: docarray.NewFloat64([]float64{0.5, 0.5, 0})},
	}, nil)
	if n := countOf(t, inst); n != 5 {
		t.Errorf("count %d, want 5: docs without a usable embedding are stored too", n)
	}
	if got := search(t, inst, vecDoc("q", 1, 0, 0), nil).IDs(); !slices.Equal(got, []string{"three", "f64"}) {
		t.Errorf("3-dim query: %v, want three, f64", got)
	}
	if got := search(t, inst, vecDoc("q", 0, 1), nil).IDs(); !slices.Equal(got, []string{"two"}) {
		t.Errorf("2-dim query: %v, want two", got)
	}
}

func TestSimpleIndexerUpsertDeleteClear(t *testing.T) {
	inst := newInstance(t, "SimpleIndexer", map[string]any{"persist": false})
	call(t, inst, "/index", axisDocs(), nil)
	call(t, inst, "/index", axisDocs(), nil) // replayed write
	if n := countOf(t, inst); n != 4 {
		t.Fatalf("after indexing twice: count %d, want 4", n)
	}

	// Upsert replaces the stored document.
	moved := vecDoc("z", 1, 0, 0)
	moved.Text = "z moved"
	call(t, inst, "/index", docarray.DocList{moved}, nil)
	m := search(t, inst, vecDoc("q", 1, 0, 0), map[string]any{"limit": 2})
	if !slices.Equal(m.IDs(), []string{"x", "z"}) || m[1].Text != "z moved" {
		t.Errorf("after upsert: %v / %q", m.IDs(), m[1].Text)
	}

	// Delete by ID; unknown IDs and replays are harmless.
	del := docarray.DocList{{ID: "x"}, {ID: "nope"}}
	call(t, inst, "/delete", del, nil)
	call(t, inst, "/delete", del, nil)
	if n := countOf(t, inst); n != 3 {
		t.Errorf("after delete: count %d, want 3", n)
	}
	if got := search(t, inst, vecDoc("q", 1, 0, 0), nil).IDs(); slices.Contains(got, "x") || len(got) != 3 {
		t.Errorf("after delete: matches %v", got)
	}

	// A document without ID fails the whole write.
	resp := process(t, inst, "/index", docarray.DocList{vecDoc("ok", 1, 1, 1), {Text: "no id"}}, nil)
	if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_ERROR || st.GetException().GetName() != "BadRequest" {
		t.Errorf("doc without id: status %v", st)
	}
	if n := countOf(t, inst); n != 3 {
		t.Errorf("failed write changed the index: count %d", n)
	}

	call(t, inst, "/clear", nil, nil)
	if n := countOf(t, inst); n != 0 {
		t.Errorf("after clear: count %d", n)
	}
	if got := search(t, inst, vecDoc("q", 1, 0, 0), nil); len(got) != 0 {
		t.Errorf("after clear: matches %v", got.IDs())
	}
}

func TestSimpleIndexerSnapshotRestore(t *testing.T) {
	src := newInstance(t, "SimpleIndexer", map[string]any{"persist": false})
	call(t, src, "/index", axisDocs(), nil)
	call(t, src, "/delete", docarray.DocList{{ID: "y"}}, nil)
	dir := t.TempDir()
	if err := src.Snapshot(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("snapshot mode %v, want 0600", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("snapshot folder holds %d files, want only %s", len(entries), IndexFile)
	}

	// Restore replaces whatever the fresh instance had.
	dst := newInstance(t, "SimpleIndexer", map[string]any{"persist": false})
	call(t, dst, "/index", docarray.DocList{vecDoc("other", 1, 1, 1)}, nil)
	if err := dst.Restore(dir); err != nil {
		t.Fatal(err)
	}
	if n := countOf(t, dst); n != 3 {
		t.Errorf("restored count %d, want 3", n)
	}
	for _, q := range []*docarray.Document{vecDoc("q1", 1, 0.5, 0), vecDoc("q2", 0, 0, 1), vecDoc("q3", 0.3, 0.3, 0.3)} {
		a := search(t, src, q, nil)
		b := search(t, dst, q, nil)
		if !proto.Equal(a.ToProto(), b.ToProto()) {
			t.Errorf("query %s: restored index answers %v, original %v", q.ID, b.IDs(), a.IDs())
		}
	}

	// Equal states give equal snapshots, whatever the order of writes.
	dir2 := t.TempDir()
	if err := dst.Snapshot(dir2); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(filepath.Join(dir, IndexFile))
	b2, _ := os.ReadFile(filepath.Join(dir2, IndexFile))
	if !slices.Equal(b1, b2) {
		t.Error("snapshot of a restored index differs from the original snapshot")
	}

	// A snapshot folder without the file is an empty index.
	if err := dst.Restore(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if n := countOf(t, dst); n != 0 {
		t.Errorf("restore from empty folder: count %d", n)
	}

	// A corrupt file is an error and leaves the state alone.
	call(t, dst, "/index", axisDocs(), nil)
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, IndexFile), []byte("not a doclist \xff\xff"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := dst.Restore(bad); err == nil {
		t.Error("corrupt snapshot restored without error")
	}
	if n := countOf(t, dst); n != 4 {
		t.Errorf("failed restore changed the index: count %d", n)
	}
}

func TestSimpleIndexerPersist(t *testing.T) {
	ws := t.TempDir()
	newAt := func(with map[string]any) *executors.Instance {
		spec, err := executors.NewSpec("SimpleIndexer", with)
		if err != nil {
			t.Fatal(err)
		}
		spec.Runtime.Workspace = ws
		inst, err := executors.New(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}
	file := filepath.Join(executors.WorkspacePath(ws, "", "SimpleIndexer", 0), IndexFile)

	first := newAt(nil)
	call(t, first, "/index", axisDocs(), nil)
	want := search(t, first, vecDoc("q", 1, 0.2, 0), nil)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("Close did not persist the index: %v", err)
	}

	second := newAt(nil)
	if n := countOf(t, second); n != 4 {
		t.Errorf("reloaded count %d, want 4", n)
	}
	if got := search(t, second, vecDoc("q", 1, 0.2, 0), nil); !proto.Equal(got.ToProto(), want.ToProto()) {
		t.Errorf("reloaded index answers %v, want %v", got.IDs(), want.IDs())
	}
	// Replaying the writes (as RAFT does after a restart) does not
	// duplicate anything.
	call(t, second, "/index", axisDocs(), nil)
	call(t, second, "/delete", docarray.DocList{{ID: "z"}}, nil)
	if n := countOf(t, second); n != 3 {
		t.Errorf("after replay and delete: count %d, want 3", n)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	third := newAt(nil)
	if n := countOf(t, third); n != 3 {
		t.Errorf("second reload: count %d, want 3", n)
	}
	if err := third.Close(); err != nil {
		t.Fatal(err)
	}

	// persist: false neither loads nor saves.
	off := newAt(map[string]any{"persist": false})
	if n := countOf(t, off); n != 0 {
		t.Errorf("persist false loaded %d docs", n)
	}
	call(t, off, "/clear", nil, nil)
	if err := off.Close(); err != nil {
		t.Fatal(err)
	}
	again := newAt(nil)
	defer again.Close()
	if n := countOf(t, again); n != 3 {
		t.Errorf("persist false overwrote the file: count %d, want 3", n)
	}
}

func TestSimpleIndexerWithHashEmbedder(t *testing.T) {
	emb := newInstance(t, "HashEmbedder", nil)
	idx := newInstance(t, "SimpleIndexer", map[string]any{"persist": false})
	corpus := docarray.DocList{
		{ID: "cat", Text: "the cat sat on the mat"},
		{ID: "stocks", Text: "stock markets fell sharply today"},
		{ID: "go", Text: "go is a programming language with goroutines"},
	}
	call(t, idx, "/index", call(t, emb, "/default", corpus, nil), nil)
	q := call(t, emb, "/default", docarray.DocList{{ID: "q", Text: "a cat on a mat"}}, nil)
	if got := search(t, idx, q[0], map[string]any{"limit": 1}).IDs(); !slices.Equal(got, []string{"cat"}) {
		t.Errorf("nearest to 'a cat on a mat': %v", got)
	}
}

func TestSimpleIndexerConcurrent(t *testing.T) {
	inst := newInstance(t, "SimpleIndexer", map[string]any{"persist": false})
	call(t, inst, "/index", axisDocs(), nil)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("w%d-%d", w, i)
				call(t, inst, "/index", docarray.DocList{vecDoc(id, float32(i), 1, 0)}, nil)
				if i%3 == 0 {
					call(t, inst, "/delete", docarray.DocList{{ID: id}}, nil)
				}
			}
		})
		wg.Go(func() {
			for range 50 {
				if m := search(t, inst, vecDoc("q", 1, 0, 0), map[string]any{"limit": 3}); len(m) != 3 {
					t.Errorf("%d matches, want 3", len(m))
				}
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if err := inst.Snapshot(t.TempDir()); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if n := countOf(t, inst); n != 4+4*50-4*17 {
		t.Errorf("count %d, want %d", n, 4+4*50-4*17)
	}
}

func TestSimpleIndexerInvalidOptions(t *testing.T) {
	spec, err := executors.NewSpec("SimpleIndexer", map[string]any{"limit": 0, "persist": false})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := executors.New(context.Background(), spec); err == nil {
		t.Error("limit 0 accepted")
	}
}

func BenchmarkSimpleIndexerSearch(b *testing.B) {
	const n, dim = 10_000, 128
	inst := newInstance(b, "SimpleIndexer", map[string]any{"persist": false})
	rng := rand.New(rand.NewPCG(1, 2))
	randVec := func() []float32 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	for start := 0; start < n; start += 1000 {
		batch := make(docarray.DocList, 1000)
		for i := range batch {
			batch[i] = &docarray.Document{ID: fmt.Sprint(start + i), Embedding: docarray.NewFloat32(randVec())}
		}
		resp := process(b, inst, "/index", batch, nil)
		if resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
			b.Fatal(resp.GetHeader().GetStatus())
		}
	}
	req := request(b, "/search", docarray.DocList{{ID: "q", Embedding: docarray.NewFloat32(randVec())}}, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp := inst.Process(ctx, req)
		if resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
			b.Fatal(resp.GetHeader().GetStatus())
		}
	}
}
