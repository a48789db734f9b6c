// Package build turns executors written in Go (a main package beside
// config.yml) into binaries the engine runs as child processes.
//
// A Builder is shared by everything that builds in one process (the
// engine's start, reload and reconcile): concurrent requests for the same
// folder join one `go build`, distinct folders build in parallel up to
// the number of cores, and binaries are kept in a cache keyed by
// everything that determines them (see Key), so an unchanged executor
// starts from its cached binary without running the go command at all.
package build

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
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
	Binary string
	// Duration is how long the caller waited: the go command's run, or
	// for a cache hit the time to compute the key.
	Duration time.Duration
	// Cached is true when the binary came from the cache: the go command
	// did not run.
	Cached bool
	// Key is the cache key of the binary (hex).
	Key string
}

// Builder builds executors into CacheDir, one folder of binaries per
// source folder. Its zero value is ready to use; it must not be copied.
type Builder struct {
	// CacheDir holds the binaries ($XDG_CACHE_HOME/jig/build by default).
	CacheDir string
	// GoBin is the go command (default "go" on PATH).
	GoBin string
	// Env is added to the build's environment (and to the key, where it
	// matters: GO*, CGO_*, CC, ...).
	Env []string
	// Jobs bounds how many go commands run at once (default: the number
	// of cores).
	Jobs int
	// Keep is how many binaries of one source folder stay in the cache
	// besides those this Builder handed out (default 3).
	Keep int

	// runGo runs the go command; tests replace it to count calls.
	runGo func(ctx context.Context, dir string, args, env []string) ([]byte, error)

	mu      sync.Mutex
	flights map[string]*flight
	sem     chan struct{}
	// handed are the last two binaries this Builder returned per cache
	// folder: the one running and the one a rolling reload replaces.
	// Pruning spares them.
	handed map[string][]string
}

// flight is one build that callers of the same key share.
type flight struct {
	done    chan struct{}
	res     Result
	err     error
	waiters int
	cancel  context.CancelFunc
	// compiling is closed when the go command is about to run.
	compiling chan struct{}
	// args are the go command's arguments before "-o OUT ." (goArgs).
	args []string
}

// DefaultCacheDir is where binaries go when CacheDir is empty.
func DefaultCacheDir() string {
	return filepath.Join(executors.DefaultWorkspaceBase(), "build")
}

func (b *Builder) cacheDir() string {
	if b.CacheDir != "" {
		return b.CacheDir
	}
	return DefaultCacheDir()
}

func (b *Builder) goBin() string {
	if b.GoBin != "" {
		return b.GoBin
	}
	return "go"
}

// buildArgs are the go command's arguments before the tags and "-o OUT
// .". They are part of the key.
var buildArgs = []string{"build"}

// DefaultTags are the build tags of every executor build, besides those a
// caller asks for. Both make the binary link less, which is most of a
// user's first `jig serve` or `jig up` on an empty build cache (the
// quality bar in docs/ARCHITECTURE.md: a scaffolded executor builds in
// <= 45 s on 2 cores):
//
//   - grpcnotrace leaves out grpc-go's golang.org/x/net/trace (the
//     /debug/requests pages of grpc.EnableTracing, which a worker never
//     turns on), and with it html/template and text/template;
//   - netgo uses Go's own DNS resolver instead of the C library's, which
//     spares the cgo half of package net and runtime/cgo (gcc runs). It
//     is what the exported Docker image runs anyway (CGO_ENABLED=0), so
//     an executor resolves names the same way under jig and in its
//     image. An executor that uses cgo itself still builds with cgo.
var DefaultTags = []string{"grpcnotrace", "netgo"}

// goArgs are buildArgs with DefaultTags and the build tags asked for:
// binaries built with different tags have different keys, so both stay
// in the cache.
func goArgs(tags []string) []string {
	tags = slices.Sorted(slices.Values(append(slices.Clone(DefaultTags), tags...)))
	return append(slices.Clone(buildArgs), "-tags", strings.Join(slices.Compact(tags), ","))
}

// GoArgs are the go command's arguments, before "-o OUT .", of a build
// with tags (besides DefaultTags): what `jig bench`'s cold build row runs,
// so that it measures the build a user waits for.
func GoArgs(tags []string) []string { return goArgs(tags) }

// Build returns a binary of the main package in dir: the cached one when
// nothing that determines it changed, else a fresh `go build`.
func (b *Builder) Build(ctx context.Context, dir string) (Result, error) {
	return b.BuildNotify(ctx, dir, nil)
}

// BuildNotify is Build, calling onCompile (if not nil) once the go command
// is about to run — not for a cache hit — so callers can show progress.
// A caller that joins a build already running is notified too.
func (b *Builder) BuildNotify(ctx context.Context, dir string, onCompile func()) (Result, error) {
	return b.BuildTags(ctx, dir, nil, onCompile)
}

// BuildTags is BuildNotify with Go build tags (go build -tags): the
// engine builds a Go executor with executors/workercmd.RaftTag when one
// of its deployments is stateful, so binaries that are not stateful do
// not link RAFT. The tags are part of the cache key.
func (b *Builder) BuildTags(ctx context.Context, dir string, tags []string, onCompile func()) (Result, error) {
	start := time.Now()
	args := goArgs(tags)
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Result{}, fmt.Errorf("build %s: %w", dir, err)
	}
	key, err := b.key(abs, args)
	if err != nil {
		return Result{}, &Error{Dir: dir, Err: err}
	}
	out := b.binaryPath(abs, key)
	if b.hit(out) {
		b.remember(out)
		return Result{Binary: out, Duration: time.Since(start), Cached: true, Key: key}, nil
	}
	f := b.join(abs, dir, key, args)
	notified := make(chan struct{})
	if onCompile != nil {
		go func() {
			defer close(notified)
			select {
			case <-f.compiling:
				onCompile()
			case <-f.done:
				select {
				case <-f.compiling:
					onCompile() // it ran, however briefly
				default:
				}
			case <-ctx.Done():
			}
		}()
	} else {
		close(notified)
	}
	select {
	case <-f.done:
		// onCompile never runs after Build returned.
		<-notified
	case <-ctx.Done():
		b.leave(f, key)
		<-notified
		return Result{}, ctx.Err()
	}
	res := f.res
	res.Duration = time.Since(start)
	return res, f.err
}

// join returns the flight building key, starting it if needed.
func (b *Builder) join(abs, dir, key string, args []string) *flight {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.flights == nil {
		b.flights = map[string]*flight{}
	}
	if f, ok := b.flights[key]; ok {
		f.waiters++
		return f
	}
	// The build belongs to all its callers: it stops only when the last
	// one gives up.
	ctx, cancel := context.WithCancel(context.Background())
	f := &flight{done: make(chan struct{}), compiling: make(chan struct{}), waiters: 1, cancel: cancel, args: args}
	b.flights[key] = f
	go func() {
		defer cancel()
		f.res, f.err = b.compile(ctx, f, abs, dir, key)
		b.mu.Lock()
		if b.flights[key] == f {
			delete(b.flights, key)
		}
		b.mu.Unlock()
		close(f.done)
	}()
	return f
}

// leave drops one caller of f; the last one cancels the build, and later
// callers of key start a new one rather than join a cancelled one.
func (b *Builder) leave(f *flight, key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f.waiters--
	if f.waiters == 0 {
		f.cancel()
		if b.flights[key] == f {
			delete(b.flights, key)
		}
	}
}

// acquire takes one of the Jobs slots.
func (b *Builder) acquire(ctx context.Context) error {
	b.mu.Lock()
	if b.sem == nil {
		n := b.Jobs
		if n <= 0 {
			n = runtime.NumCPU()
		}
		b.sem = make(chan struct{}, n)
	}
	sem := b.sem
	b.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Builder) release() { <-b.sem }

// compile runs the go command for key and stores the binary in the
// cache. If the sources change while it runs (the key differs after),
// it builds again, so a binary is never stored under a key whose
// sources it was not built from.
func (b *Builder) compile(ctx context.Context, f *flight, abs, dir, key string) (Result, error) {
	if out := b.binaryPath(abs, key); b.hit(out) {
		// A flight for key ended between the caller's look-up and join.
		b.remember(out)
		return Result{Binary: out, Cached: true, Key: key}, nil
	}
	if err := b.acquire(ctx); err != nil {
		return Result{}, err
	}
	defer b.release()
	folder := b.folderDir(abs)
	if err := os.MkdirAll(folder, 0o700); err != nil {
		return Result{}, fmt.Errorf("build %s: %w", dir, err)
	}
	// Programs jig runs live here: nobody else may write or swap them.
	for _, d := range []string{b.cacheDir(), folder} {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o077 != 0 {
			os.Chmod(d, 0o700)
		}
	}
	start := time.Now()
	close(f.compiling)
	for attempt := 0; ; attempt++ {
		tmp := filepath.Join(folder, ".tmp-"+randomHex(8))
		output, err := b.run(ctx, abs, append(append([]string(nil), f.args...), "-o", tmp, "."))
		if err != nil {
			os.Remove(tmp)
			if errors.Is(err, exec.ErrNotFound) {
				err = fmt.Errorf("the go command is needed to build executors from source: %w", err)
			}
			return Result{}, &Error{Dir: dir, Output: string(output), Err: err}
		}
		after, kerr := b.key(abs, f.args)
		if kerr != nil {
			os.Remove(tmp)
			return Result{}, &Error{Dir: dir, Err: kerr}
		}
		if after != key && attempt < 2 {
			// Edited during the build: what tmp holds is unknown.
			os.Remove(tmp)
			key = after
			continue
		}
		// After repeated edits, keep the last binary under the key of
		// the sources seen once it was built: an edit in between makes
		// the next start build again.
		out := b.binaryPath(abs, after)
		if err := os.Chmod(tmp, 0o700); err != nil {
			os.Remove(tmp)
			return Result{}, fmt.Errorf("build %s: %w", dir, err)
		}
		// rename is atomic: another jig building the same key at the
		// same time replaces it with an equivalent binary, and readers
		// only ever see a complete file.
		if err := os.Rename(tmp, out); err != nil {
			os.Remove(tmp)
			return Result{}, fmt.Errorf("build %s: %w", dir, err)
		}
		b.remember(out)
		b.prune(folder)
		return Result{Binary: out, Duration: time.Since(start), Key: after}, nil
	}
}

func (b *Builder) run(ctx context.Context, dir string, args []string) ([]byte, error) {
	env := append(os.Environ(), b.Env...)
	if b.runGo != nil {
		return b.runGo(ctx, dir, args, env)
	}
	cmd := exec.CommandContext(ctx, b.goBin(), args...)
	cmd.Dir = dir
	cmd.Env = env
	killGroupOnCancel(cmd) // cancel_unix.go: the compiler's children too
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	err := cmd.Run()
	return output.Bytes(), err
}

// folderDir is the cache folder of one source folder.
func (b *Builder) folderDir(abs string) string {
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(b.cacheDir(), filepath.Base(abs)+"-"+hex.EncodeToString(sum[:6]))
}

// binPrefix starts the names of cached binaries. Older jig versions named
// theirs "executor-…" and pruned every such file but two, so the cache
// uses another prefix that they leave alone (and prunes theirs).
const binPrefix = "bin-"

func (b *Builder) binaryPath(abs, key string) string {
	return filepath.Join(b.folderDir(abs), binPrefix+key[:32])
}

// hit reports whether out is a usable cached binary: a regular,
// executable file nobody else can write. A hit is touched, so pruning
// keeps what is used.
func (b *Builder) hit(out string) bool {
	st, err := os.Lstat(out)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o100 == 0 || st.Mode().Perm()&0o022 != 0 {
		return false
	}
	now := time.Now()
	os.Chtimes(out, now, now)
	return true
}

func (b *Builder) remember(out string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.handed == nil {
		b.handed = map[string][]string{}
	}
	folder := filepath.Dir(out)
	last := b.handed[folder]
	if len(last) > 0 && last[len(last)-1] == out {
		return
	}
	last = append(last, out)
	if len(last) > 2 {
		last = last[len(last)-2:]
	}
	b.handed[folder] = last
}

// prune removes the least recently used binaries of a source folder
// beyond Keep, except the last two this Builder handed out (they may be
// running, and a replica restart needs its binary), and temporary files
// of builds that died.
func (b *Builder) prune(folder string) {
	entries, err := os.ReadDir(folder)
	if err != nil {
		return
	}
	keep := b.Keep
	if keep <= 0 {
		keep = 3
	}
	type bin struct {
		path string
		mod  time.Time
	}
	var bins []bin
	for _, e := range entries {
		p := filepath.Join(folder, e.Name())
		info, err := e.Info()
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(e.Name(), ".tmp-"):
			if time.Since(info.ModTime()) > time.Hour {
				os.Remove(p)
			}
		case strings.HasPrefix(e.Name(), binPrefix), strings.HasPrefix(e.Name(), "executor-"):
			bins = append(bins, bin{p, info.ModTime()})
		}
	}
	sort.Slice(bins, func(i, j int) bool { return bins[i].mod.After(bins[j].mod) })
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := 0
	for _, x := range bins {
		if slices.Contains(b.handed[folder], x.path) {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		os.Remove(x.path)
	}
}

func randomHex(n int) string {
	buf := make([]byte, n)
	rand.Read(buf)
	return hex.EncodeToString(buf)
}
