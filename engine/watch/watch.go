// Package watch reports file changes for live reload: it watches folders
// recursively with fsnotify (including folders created later), keeps only
// the files a filter accepts, and debounces bursts (an editor's save is
// often several writes and renames) into one batch of changed paths.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Options configure a Watcher.
type Options struct {
	// Paths are files or folders to watch; folders are watched
	// recursively (hidden folders and vendor/ are skipped).
	Paths []string
	// Match reports whether a changed file counts (nil: every file).
	Match func(path string) bool
	// Quiet is how long no change must happen before a batch is
	// delivered (default 250ms); MaxWait bounds the delay of a batch
	// under continuous changes (default 2s).
	Quiet, MaxWait time.Duration
}

// Watcher delivers batches of changed files on C until its context ends.
type Watcher struct {
	// C receives the sorted, de-duplicated paths changed in one burst.
	C <-chan []string
	c chan []string
	w *fsnotify.Watcher
	o Options
	// files are watched individually: fsnotify watches their folder, and
	// only events for these names count.
	files map[string]bool
	dirs  map[string]bool
	errs  chan error
}

// GoSource matches what a Go executor's rebuild depends on: Go files,
// go.mod/go.sum and its YAML configuration.
func GoSource(path string) bool {
	base := filepath.Base(path)
	if strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") {
		return false // editor swap and backup files
	}
	switch filepath.Ext(base) {
	case ".go", ".yml", ".yaml":
		return true
	}
	return base == "go.mod" || base == "go.sum"
}

// New starts watching; the watcher stops and closes C when ctx ends.
func New(ctx context.Context, o Options) (*Watcher, error) {
	if o.Quiet <= 0 {
		o.Quiet = 250 * time.Millisecond
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 2 * time.Second
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{c: make(chan []string, 1), w: fw, o: o, files: map[string]bool{}, dirs: map[string]bool{}, errs: make(chan error, 1)}
	w.C = w.c
	for _, p := range o.Paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			fw.Close()
			return nil, err
		}
		st, err := os.Stat(abs)
		if err != nil {
			fw.Close()
			return nil, fmt.Errorf("watch %s: %w", p, err)
		}
		if st.IsDir() {
			if err := w.addTree(abs); err != nil {
				fw.Close()
				return nil, err
			}
			continue
		}
		// Watch the folder, not the file: editors replace files by
		// renaming, which ends a watch on the file itself.
		w.files[abs] = true
		if err := w.addDir(filepath.Dir(abs)); err != nil {
			fw.Close()
			return nil, err
		}
	}
	go w.loop(ctx)
	return w, nil
}

func skipDir(name string) bool {
	return name != "." && (strings.HasPrefix(name, ".") || name == "vendor" || name == "node_modules" || name == "testdata")
}

func (w *Watcher) addTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		return w.addDir(p)
	})
}

func (w *Watcher) addDir(dir string) error {
	if w.dirs[dir] {
		return nil
	}
	if err := w.w.Add(dir); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	w.dirs[dir] = true
	return nil
}

// counts reports whether a change to path matters.
func (w *Watcher) counts(path string) bool {
	if len(w.files) > 0 && w.files[path] {
		return true
	}
	// Files inside recursively watched folders (not the parents of
	// individually watched files).
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		if w.dirs[d] && !w.parentOnly(d) {
			return w.o.Match == nil || w.o.Match(path)
		}
		if d == filepath.Dir(d) {
			return false
		}
	}
}

// parentOnly reports whether dir is watched only because a single file in
// it is.
func (w *Watcher) parentOnly(dir string) bool {
	for _, p := range w.o.Paths {
		abs, _ := filepath.Abs(p)
		if st, err := os.Stat(abs); err == nil && st.IsDir() && (dir == abs || strings.HasPrefix(dir, abs+string(filepath.Separator))) {
			return false
		}
	}
	return true
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.c)
	defer w.w.Close()
	pending := map[string]bool{}
	var quiet, maxWait <-chan time.Time
	mark := func(p string) {
		pending[p] = true
		quiet = time.After(w.o.Quiet)
		if maxWait == nil {
			maxWait = time.After(w.o.MaxWait)
		}
	}
	flush := func() {
		if len(pending) == 0 {
			return
		}
		batch := make([]string, 0, len(pending))
		for p := range pending {
			batch = append(batch, p)
		}
		slices.Sort(batch)
		clear(pending)
		quiet, maxWait = nil, nil
		select {
		case w.c <- batch:
		case <-ctx.Done():
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() && !skipDir(filepath.Base(ev.Name)) {
					// A new folder: watch it and count what is already in it
					// (files may be written before the watch starts).
					w.addTree(ev.Name)
					filepath.WalkDir(ev.Name, func(p string, d fs.DirEntry, err error) error {
						if err == nil && !d.IsDir() && w.counts(p) {
							mark(p)
						}
						return nil
					})
					continue
				}
			}
			if ev.Has(fsnotify.Chmod) && !ev.Has(fsnotify.Write) {
				continue
			}
			if !w.counts(ev.Name) {
				continue
			}
			mark(ev.Name)
		case <-quiet:
			flush()
		case <-maxWait:
			flush()
		case _, ok := <-w.w.Errors:
			if !ok {
				return
			}
		}
	}
}
