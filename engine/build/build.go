// Package build compiles executors written in Go (a main package beside
// config.yml) with `go build`, into a per-folder cache, so the engine can
// run them as child processes. Go's own build cache makes rebuilds of
// unchanged sources fast.
package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jig-dev/jig/executors"
)

// Error is a failed build, with the compiler's output.
type Error struct {
	Dir    string
	Output string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("build %s: %v\n%s", e.Dir, e.Err, strings.TrimSpace(e.Output))
}

func (e *Error) Unwrap() error { return e.Err }

// Result is a successful build.
type Result struct {
	// Binary is the path of the executable.
	Binary   string
	Duration time.Duration
}

// Builder builds executors into CacheDir, one folder per source folder.
// Builds of one source folder are serialised.
type Builder struct {
	// CacheDir holds the binaries ($XDG_CACHE_HOME/jig/build by default).
	CacheDir string
	// GoBin is the go command (default "go" on PATH).
	GoBin string
	// Env is added to the build's environment.
	Env []string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
	seq   int
}

// DefaultCacheDir is where binaries go when CacheDir is empty.
func DefaultCacheDir() string {
	return filepath.Join(executors.DefaultWorkspaceBase(), "build")
}

func (b *Builder) lock(dir string) *sync.Mutex {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locks == nil {
		b.locks = map[string]*sync.Mutex{}
	}
	l, ok := b.locks[dir]
	if !ok {
		l = &sync.Mutex{}
		b.locks[dir] = l
	}
	return l
}

// Build compiles the main package in dir. Each build writes a new binary
// (older ones are removed, except the previous one, which may still be
// running during a rolling reload).
func (b *Builder) Build(ctx context.Context, dir string) (Result, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Result{}, err
	}
	l := b.lock(abs)
	l.Lock()
	defer l.Unlock()
	cache := b.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	sum := sha256.Sum256([]byte(abs))
	outDir := filepath.Join(cache, filepath.Base(abs)+"-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return Result{}, fmt.Errorf("build %s: %w", dir, err)
	}
	b.mu.Lock()
	b.seq++
	seq := b.seq
	b.mu.Unlock()
	out := filepath.Join(outDir, fmt.Sprintf("executor-%d-%d", time.Now().UnixNano(), seq))
	gobin := b.GoBin
	if gobin == "" {
		gobin = "go"
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), b.Env...)
	killGroupOnCancel(cmd)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			err = fmt.Errorf("the go command is needed to build executors from source: %w", err)
		}
		return Result{}, &Error{Dir: dir, Output: output.String(), Err: err}
	}
	prune(outDir, out)
	return Result{Binary: out, Duration: time.Since(start)}, nil
}

// prune removes old binaries of a folder, keeping keep and the newest
// other one.
func prune(dir, keep string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var others []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if p != keep && strings.HasPrefix(e.Name(), "executor-") {
			others = append(others, p)
		}
	}
	// Names sort by creation time (nanosecond prefix).
	for i := 0; i < len(others)-1; i++ {
		os.Remove(others[i])
	}
}
