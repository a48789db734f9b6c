package watch

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func next(t *testing.T, w *Watcher) []string {
	t.Helper()
	select {
	case b := <-w.C:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported")
	}
	return nil
}

func TestRecursiveDebouncedFiltered(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main"), 0o600)
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := New(ctx, Options{Paths: []string{dir}, Match: GoSource, Quiet: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// A burst of saves, some ignored (README, swap file), is one batch.
	for i := 0; i < 5; i++ {
		os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main // "+string(rune('a'+i))), 0o600)
	}
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, ".main.go.swp"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "sub", "helper.go"), []byte("package main"), 0o600)
	got := next(t, w)
	want := []string{filepath.Join(dir, "main.go"), filepath.Join(dir, "sub", "helper.go")}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// A folder created after the start is watched too.
	os.MkdirAll(filepath.Join(dir, "newpkg"), 0o700)
	os.WriteFile(filepath.Join(dir, "newpkg", "x.go"), []byte("package newpkg"), 0o600)
	got = next(t, w)
	if !slices.Contains(got, filepath.Join(dir, "newpkg", "x.go")) {
		t.Fatalf("new folder: %v", got)
	}
	cancel()
	for range w.C {
	}
}

func TestSingleFileSurvivesRename(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "flow.yml")
	os.WriteFile(file, []byte("a"), 0o600)
	os.WriteFile(filepath.Join(dir, "other.yml"), []byte("a"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := New(ctx, Options{Paths: []string{file}, Quiet: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		// Editors save by writing a temp file and renaming it over.
		tmp := filepath.Join(dir, "flow.yml.tmp")
		os.WriteFile(tmp, []byte{byte('b' + i)}, 0o600)
		os.Rename(tmp, file)
		os.WriteFile(filepath.Join(dir, "other.yml"), []byte{byte(i)}, 0o600)
		if got := next(t, w); !slices.Equal(got, []string{file}) {
			t.Fatalf("save %d: got %v", i, got)
		}
	}
}

func TestMissingPath(t *testing.T) {
	if _, err := New(context.Background(), Options{Paths: []string{"/no/such/dir"}}); err == nil {
		t.Fatal("want an error")
	}
}
