package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jig-dev/jig/internal/waitfor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// module writes a tiny main package into a fresh folder.
func module(t *testing.T, main string) string {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module x\n")
	write(t, filepath.Join(dir, "main.go"), main)
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func hello(word string) string {
	return "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"" + word + "\") }\n"
}

// builder builds into a temporary cache, isolated from any go.work.
func builder(t *testing.T) *Builder {
	return &Builder{CacheDir: t.TempDir(), Env: []string{"GOWORK=off", "GOFLAGS=-mod=mod"}}
}

// fakeGo stands in for the go command: it counts calls, can hold them
// until released, and writes a small script as the "binary".
type fakeGo struct {
	calls   atomic.Int32
	running atomic.Int32
	maxRun  atomic.Int32
	started chan string   // receives the folder of each call, if not nil
	gate    chan struct{} // calls wait until it is closed, if not nil
	fail    string        // compiler output of a failing build
	onCall  func(n int32) // runs inside call n (1-based)
	tags    atomic.Value  // the -tags value of the last call ("" without)
}

func (f *fakeGo) run(ctx context.Context, dir string, args, env []string) ([]byte, error) {
	n := f.calls.Add(1)
	r := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		m := f.maxRun.Load()
		if r <= m || f.maxRun.CompareAndSwap(m, r) {
			break
		}
	}
	if f.started != nil {
		f.started <- dir
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.onCall != nil {
		f.onCall(n)
	}
	if f.fail != "" {
		return []byte(f.fail), errors.New("exit status 1")
	}
	tags := ""
	if len(args) > 2 && args[1] == "-tags" {
		tags = args[2]
		args = append(args[:1:1], args[3:]...)
	}
	f.tags.Store(tags)
	if len(args) != 4 || args[0] != "build" || args[1] != "-o" || args[3] != "." {
		return []byte("unexpected args"), errors.New("fake go: bad args")
	}
	return nil, os.WriteFile(args[2], []byte("#!/bin/sh\necho fake\n"), 0o755)
}

func fakeBuilder(t *testing.T, f *fakeGo) *Builder {
	return &Builder{CacheDir: t.TempDir(), Env: []string{"GOWORK=off"}, runGo: f.run}
}

func flightWaiters(b *Builder) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, f := range b.flights {
		n += f.waiters
	}
	return n
}

// Ten deployments of one folder asking at once run the go command once,
// all get the same binary, and all are told that it compiles.
func TestBuildDedupsConcurrentCallers(t *testing.T) {
	f := &fakeGo{gate: make(chan struct{}), started: make(chan string, 10)}
	b := fakeBuilder(t, f)
	dir := module(t, hello("x"))
	const n = 10
	var wg sync.WaitGroup
	res := make([]Result, n)
	errs := make([]error, n)
	var notified atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = b.BuildNotify(context.Background(), dir, func() { notified.Add(1) })
		}()
	}
	<-f.started
	// No signal for "joined": poll the flight.
	waitfor.Value(t, fmt.Sprintf("%d builds to join the flight", n), 10*time.Second, func() (int, bool) {
		w := flightWaiters(b)
		return w, w >= n
	})
	close(f.gate)
	wg.Wait()
	if c := f.calls.Load(); c != 1 {
		t.Fatalf("go ran %d times for one folder, want 1", c)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if res[i].Binary != res[0].Binary || res[i].Cached {
			t.Fatalf("caller %d got %+v, caller 0 %+v", i, res[i], res[0])
		}
	}
	if got := notified.Load(); got != n {
		t.Fatalf("%d of %d callers were told the build runs", got, n)
	}
}

// A second Builder on the same cache (another jig process, a later start)
// finds the binary without running the go command.
func TestBuildCacheHitDoesNotRunGo(t *testing.T) {
	f := &fakeGo{}
	b := fakeBuilder(t, f)
	dir := module(t, hello("x"))
	first, err := b.Build(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || f.calls.Load() != 1 {
		t.Fatalf("first build %+v, %d calls", first, f.calls.Load())
	}
	g := &fakeGo{fail: "go must not run"}
	b2 := &Builder{CacheDir: b.CacheDir, Env: b.Env, runGo: g.run}
	var notified bool
	second, err := b2.BuildNotify(context.Background(), dir, func() { notified = true })
	if err != nil {
		t.Fatal(err)
	}
	if g.calls.Load() != 0 || !second.Cached || notified {
		t.Fatalf("unchanged sources ran go %d times (cached=%v, notified=%v)", g.calls.Load(), second.Cached, notified)
	}
	if second.Binary != first.Binary || second.Key != first.Key {
		t.Fatalf("cache hit %+v, built %+v", second, first)
	}
	// A touch (new time, same content) is no change either.
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "main.go"), later, later)
	if third, err := b2.Build(context.Background(), dir); err != nil || !third.Cached {
		t.Fatalf("after touch: %+v %v", third, err)
	}
	// An edit builds again; reload keeps working.
	write(t, filepath.Join(dir, "main.go"), hello("y"))
	h := &fakeGo{}
	b2.runGo = h.run
	fourth, err := b2.Build(context.Background(), dir)
	if err != nil || fourth.Cached || h.calls.Load() != 1 || fourth.Binary == first.Binary {
		t.Fatalf("after an edit: %+v %v, %d calls", fourth, err, h.calls.Load())
	}
}

// Build tags go to the go command and into the key: a binary built with
// RAFT support (the jig_raft tag) and one without are cached side by side.
// Every build gets DefaultTags (grpcnotrace, netgo: see there).
func TestBuildTagsAreInTheKey(t *testing.T) {
	f := &fakeGo{}
	b := fakeBuilder(t, f)
	dir := module(t, hello("x"))
	plain, err := b.Build(context.Background(), dir)
	if err != nil || f.tags.Load() != "grpcnotrace,netgo" {
		t.Fatalf("plain build: %v, tags %q", err, f.tags.Load())
	}
	tagged, err := b.BuildTags(context.Background(), dir, []string{"jig_raft", "b", "jig_raft"}, nil)
	if err != nil || tagged.Cached || f.calls.Load() != 2 || f.tags.Load() != "b,grpcnotrace,jig_raft,netgo" {
		t.Fatalf("tagged build %+v %v: %d calls, tags %q", tagged, err, f.calls.Load(), f.tags.Load())
	}
	if tagged.Key == plain.Key || tagged.Binary == plain.Binary {
		t.Fatalf("same key for both builds: %s", tagged.Key)
	}
	again, err := b.BuildTags(context.Background(), dir, []string{"b", "jig_raft"}, nil)
	if err != nil || !again.Cached || again.Binary != tagged.Binary {
		t.Fatalf("tagged rebuild not cached: %+v %v", again, err)
	}
	if p, err := b.Build(context.Background(), dir); err != nil || !p.Cached || p.Binary != plain.Binary || f.calls.Load() != 2 {
		t.Fatalf("plain binary lost: %+v %v, %d calls", p, err, f.calls.Load())
	}
}

// keyFixture is an executor whose go.mod replaces a local module (as a
// scaffolded executor replaces github.com/jig-dev/jig with a checkout),
// which embeds files.
func keyFixture(t *testing.T) (exe, lib string) {
	root := t.TempDir()
	exe, lib = filepath.Join(root, "exe"), filepath.Join(root, "lib")
	write(t, filepath.Join(exe, "go.mod"), "module example.com/exe\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ../lib\n")
	write(t, filepath.Join(exe, "go.sum"), "")
	write(t, filepath.Join(exe, "main.go"), "package main\n\nimport _ \"example.com/lib/sub\"\n\nfunc main() {}\n")
	write(t, filepath.Join(exe, "main_test.go"), "package main\n")
	write(t, filepath.Join(exe, "README.md"), "hi\n")
	write(t, filepath.Join(exe, "testdata", "x.txt"), "data\n")
	write(t, filepath.Join(exe, "internal", "util", "util.go"), "package util\n")
	write(t, filepath.Join(lib, "go.mod"), "module example.com/lib\n")
	write(t, filepath.Join(lib, "lib.go"), "package lib\n")
	write(t, filepath.Join(lib, "sub", "sub.go"), "package sub\n\nimport _ \"embed\"\n\n//go:embed templates\nvar t string\n")
	write(t, filepath.Join(lib, "sub", "templates", "a.tmpl"), "A\n")
	write(t, filepath.Join(lib, "docs", "notes.md"), "notes\n")
	return exe, lib
}

func TestKeyCoversWhatDeterminesTheBinary(t *testing.T) {
	b := &Builder{CacheDir: t.TempDir(), Env: []string{"GOWORK=off"}}
	exe, lib := keyFixture(t)
	key := func() string {
		t.Helper()
		k, err := b.Key(exe)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key()
	if again := key(); again != base {
		t.Fatal("the key is not stable")
	}
	changes := []struct {
		name string
		path string
		text string
	}{
		{"main.go edited", filepath.Join(exe, "main.go"), "package main\n\nimport _ \"example.com/lib/sub\"\n\nfunc main() { println() }\n"},
		{"new .go file", filepath.Join(exe, "more.go"), "package main\n"},
		{"local package edited", filepath.Join(exe, "internal", "util", "util.go"), "package util\n\nvar X = 1\n"},
		{"go.mod edited", filepath.Join(exe, "go.mod"), "module example.com/exe\n\ngo 1.26.0\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => ../lib\n"},
		{"go.sum edited", filepath.Join(exe, "go.sum"), "example.com/x v1.0.0 h1:abc=\n"},
		{"replace target edited", filepath.Join(lib, "lib.go"), "package lib\n\nvar Y = 2\n"},
		{"replace target package edited", filepath.Join(lib, "sub", "sub.go"), "package sub\n\nimport _ \"embed\"\n\n//go:embed templates\nvar t string\n\nvar Z int\n"},
		{"embedded file edited", filepath.Join(lib, "sub", "templates", "a.tmpl"), "B\n"},
		{"cgo file added", filepath.Join(exe, "x.c"), "int x;\n"},
	}
	for _, c := range changes {
		write(t, c.path, c.text)
		k := key()
		if k == base {
			t.Errorf("%s: the key did not change", c.name)
		}
		base = k
	}
	same := []struct {
		name string
		path string
		text string
	}{
		{"test file edited", filepath.Join(exe, "main_test.go"), "package main\n\nfunc helper() {}\n"},
		{"README edited", filepath.Join(exe, "README.md"), "hello\n"},
		{"testdata edited", filepath.Join(exe, "testdata", "x.txt"), "other\n"},
		{"non-embedded file of the replace target edited", filepath.Join(lib, "docs", "notes.md"), "more notes\n"},
	}
	for _, c := range same {
		write(t, c.path, c.text)
		if k := key(); k != base {
			t.Errorf("%s: the key changed, a needless rebuild", c.name)
			base = k
		}
	}
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(exe, "main.go"), later, later)
	if key() != base {
		t.Error("touching a file changed the key")
	}
	// Environment and toolchain settings that change the output.
	for _, env := range [][]string{{"GOWORK=off", "GOOS=windows"}, {"GOWORK=off", "GOARCH=arm64"}, {"GOWORK=off", "GOFLAGS=-tags=x"}, {"GOWORK=off", "CGO_ENABLED=0"}} {
		other := &Builder{Env: env}
		if k, err := other.Key(exe); err != nil || k == base {
			t.Errorf("env %v: key %s (err %v), same as without", env, k, err)
		}
	}
	// A go command at another place is another toolchain.
	goPath, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	real, _ := filepath.EvalSymlinks(goPath)
	link := filepath.Join(t.TempDir(), "go")
	data, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(link, data, 0o755); err != nil {
		t.Fatal(err)
	}
	other := &Builder{GoBin: link, Env: b.Env}
	if k, _ := other.Key(exe); k == base {
		t.Error("another go command gives the same key")
	}
}

// A go.work over the executor is part of the key, with its `use` folders.
func TestKeyCoversGoWork(t *testing.T) {
	exe, lib := keyFixture(t)
	ws := filepath.Dir(exe)
	write(t, filepath.Join(ws, "go.work"), "go 1.26\n\nuse (\n\t./exe\n\t./other\n)\n")
	write(t, filepath.Join(ws, "other", "go.mod"), "module example.com/other\n")
	write(t, filepath.Join(ws, "other", "o.go"), "package other\n")
	b := &Builder{}
	k1, err := b.Key(exe)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(ws, "other", "o.go"), "package other\n\nvar O = 1\n")
	k2, _ := b.Key(exe)
	write(t, filepath.Join(ws, "go.work"), "go 1.26\n\nuse ./exe\n")
	k3, _ := b.Key(exe)
	if k1 == k2 || k2 == k3 {
		t.Fatalf("go.work or its use folders do not change the key: %s %s %s", k1, k2, k3)
	}
	off := &Builder{Env: []string{"GOWORK=off"}}
	k4, _ := off.Key(exe)
	write(t, filepath.Join(ws, "go.work"), "go 1.26\n\nuse ./exe\nuse ./other\n")
	k5, _ := off.Key(exe)
	if k4 != k5 {
		t.Fatal("with GOWORK=off the go.work is ignored, but it changed the key")
	}
	_ = lib
}

func TestLocalReplaces(t *testing.T) {
	mod := []byte(`module x

require a v1.0.0 // replace => ./not-this

replace a => ../a
replace b v1.2.0 => ./b // a comment
replace c => example.com/c v1.0.0
replace (
	d => /abs/d
	"e" => "./e e"
	f => example.com/f v1.0.0
)
`)
	got := strings.Join(localReplaces(mod), "|")
	if want := "../a|./b|/abs/d|./e e"; got != want {
		t.Fatalf("localReplaces = %q, want %q", got, want)
	}
}

// Distinct folders build in parallel, at most Jobs at a time.
func TestBuildDistinctFoldersInParallelBoundedByJobs(t *testing.T) {
	f := &fakeGo{gate: make(chan struct{}), started: make(chan string, 5)}
	b := fakeBuilder(t, f)
	b.Jobs = 2
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range 5 {
		dir := module(t, hello(string(rune('a'+i))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.Build(context.Background(), dir)
		}()
	}
	// Two builds start without any finishing: they run in parallel.
	<-f.started
	<-f.started
	close(f.gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
	}
	if f.calls.Load() != 5 || f.maxRun.Load() != 2 {
		t.Fatalf("%d calls, at most %d at once; want 5 calls, 2 at once", f.calls.Load(), f.maxRun.Load())
	}
}

// A caller giving up does not cancel the build others wait for; the
// last one leaving cancels it.
func TestBuildCancellationIsPerCaller(t *testing.T) {
	f := &fakeGo{gate: make(chan struct{}), started: make(chan string, 2)}
	b := fakeBuilder(t, f)
	dir := module(t, hello("x"))
	ctx1, cancel1 := context.WithCancel(context.Background())
	done1 := make(chan error, 1)
	go func() { _, err := b.Build(ctx1, dir); done1 <- err }()
	<-f.started
	done2 := make(chan Result, 1)
	go func() { r, _ := b.Build(context.Background(), dir); done2 <- r }()
	waitfor.Value(t, "2 builds to join the flight", 10*time.Second, func() (int, bool) {
		w := flightWaiters(b)
		return w, w >= 2
	})
	cancel1()
	if err := <-done1; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(f.gate)
	if r := <-done2; r.Binary == "" {
		t.Fatal("the remaining caller got no binary")
	}

	// Alone, a cancelled caller stops the go command.
	g := &fakeGo{gate: make(chan struct{}), started: make(chan string, 1)}
	b.runGo = g.run
	write(t, filepath.Join(dir, "main.go"), hello("y"))
	ctx3, cancel3 := context.WithCancel(context.Background())
	done3 := make(chan error, 1)
	go func() { _, err := b.Build(ctx3, dir); done3 <- err }()
	<-g.started
	cancel3()
	<-done3
	// The flight is gone and a new caller builds afresh.
	close(g.gate)
	if r, err := b.Build(context.Background(), dir); err != nil || r.Cached {
		t.Fatalf("after a cancelled build: %+v %v", r, err)
	}
}

// Sources edited while go runs: the binary is not stored under the key
// of sources it was not built from; it builds again.
func TestBuildEditedDuringBuild(t *testing.T) {
	dir := module(t, hello("x"))
	f := &fakeGo{}
	f.onCall = func(n int32) {
		if n == 1 {
			write(t, filepath.Join(dir, "main.go"), hello("edited"))
		}
	}
	b := fakeBuilder(t, f)
	res, err := b.Build(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := b.Key(dir)
	if f.calls.Load() != 2 || res.Key != want {
		t.Fatalf("%d calls, key %s, want 2 calls and key %s", f.calls.Load(), res.Key, want)
	}
}

func TestBuildFailureFromFakeGo(t *testing.T) {
	f := &fakeGo{fail: "./main.go:3:1: syntax error"}
	b := fakeBuilder(t, f)
	dir := module(t, hello("x"))
	_, err := b.Build(context.Background(), dir)
	var be *Error
	if !errors.As(err, &be) || !strings.Contains(be.Output, "syntax error") {
		t.Fatalf("err %v", err)
	}
	// A failure is not cached: the next start runs go again.
	b.Build(context.Background(), dir)
	if f.calls.Load() != 2 {
		t.Fatalf("%d calls", f.calls.Load())
	}
	if left, _ := filepath.Glob(filepath.Join(b.CacheDir, "*", "*")); len(left) != 0 {
		t.Fatalf("a failed build left %v", left)
	}
}

// The cache is private, and two builders (two jig processes) building the
// same key at once both end with a complete binary and no leftovers.
func TestBuildCachePrivateAndConcurrentProcesses(t *testing.T) {
	dir := module(t, hello("x"))
	cache := filepath.Join(t.TempDir(), "cache")
	os.Mkdir(cache, 0o755) // made by someone else, too open
	var wg sync.WaitGroup
	res := make([]Result, 4)
	errs := make([]error, 4)
	for i := range 4 {
		f := &fakeGo{}
		b := &Builder{CacheDir: cache, Env: []string{"GOWORK=off"}, runGo: f.run}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = b.Build(context.Background(), dir)
		}()
	}
	wg.Wait()
	for i := range 4 {
		if errs[i] != nil || res[i].Binary != res[0].Binary {
			t.Fatalf("builder %d: %+v %v", i, res[i], errs[i])
		}
	}
	for _, p := range []string{cache, filepath.Dir(res[0].Binary), res[0].Binary} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v, want private", p, st.Mode().Perm())
		}
	}
	if out, err := exec.Command(res[0].Binary).Output(); err != nil || string(out) != "fake\n" {
		t.Fatalf("binary: %q %v", out, err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(res[0].Binary), ".tmp-*")); len(tmp) != 0 {
		t.Fatalf("left %v", tmp)
	}
	// A cached file others can write is not trusted.
	os.Chmod(res[0].Binary, 0o777)
	f := &fakeGo{}
	b := &Builder{CacheDir: cache, Env: []string{"GOWORK=off"}, runGo: f.run}
	if r, err := b.Build(context.Background(), dir); err != nil || r.Cached || f.calls.Load() != 1 {
		t.Fatalf("writable cache entry used: %+v %v", r, err)
	}
}

func TestBuildPrunesLeastRecentlyUsed(t *testing.T) {
	f := &fakeGo{}
	b := fakeBuilder(t, f)
	b.Keep = 1
	dir := module(t, hello("v0"))
	var built []string
	for i, word := range []string{"v1", "v2", "v3", "v4"} {
		write(t, filepath.Join(dir, "main.go"), hello(word))
		res, err := b.Build(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		built = append(built, res.Binary)
		have, _ := filepath.Glob(filepath.Join(filepath.Dir(res.Binary), binPrefix+"*"))
		// The last two handed out, plus Keep (1) other recent one.
		want := len(built)
		if want > 3 {
			want = 3
		}
		if len(have) != want {
			t.Fatalf("after build %d: %d binaries %v", i+1, len(have), have)
		}
		for _, keep := range built[max(0, len(built)-2):] {
			if _, err := os.Stat(keep); err != nil {
				t.Fatalf("after build %d a binary in use was removed: %v", i+1, err)
			}
		}
	}
	if _, err := os.Stat(built[0]); err == nil {
		t.Fatal("the oldest binary was kept")
	}
}

// --- with the real go command ---

func TestBuildRuns(t *testing.T) {
	t.Parallel() // own module and cache folders; waits on the go command
	if testing.Short() {
		t.Skip("runs the go command")
	}
	b := builder(t)
	dir := module(t, hello("hello from x"))
	res, err := b.Build(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Binary, b.CacheDir+string(filepath.Separator)) || res.Duration <= 0 || res.Cached {
		t.Fatalf("result %+v", res)
	}
	if base := filepath.Base(filepath.Dir(res.Binary)); !strings.HasPrefix(base, filepath.Base(dir)+"-") {
		t.Fatalf("binaries of %s go to a folder named after it, got %s", dir, base)
	}
	out, err := exec.Command(res.Binary).Output()
	if err != nil || strings.TrimSpace(string(out)) != "hello from x" {
		t.Fatalf("running the binary: %q %v", out, err)
	}
	// A relative path names the same folder, and nothing changed.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := b.Build(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Binary != res.Binary || !res2.Cached {
		t.Fatalf("unchanged rebuild: %+v after %+v", res2, res)
	}
	write(t, filepath.Join(dir, "main.go"), hello("changed"))
	res3, err := b.Build(context.Background(), dir)
	if err != nil || res3.Cached {
		t.Fatalf("after an edit: %+v %v", res3, err)
	}
	if out, err := exec.Command(res3.Binary).Output(); err != nil || strings.TrimSpace(string(out)) != "changed" {
		t.Fatalf("rebuilt binary: %q %v", out, err)
	}
}

func TestBuildSyntaxError(t *testing.T) {
	t.Parallel() // own module and cache folders; waits on the go command
	if testing.Short() {
		t.Skip("runs the go command")
	}
	b := builder(t)
	dir := module(t, "package main\n\nfunc main() {\n\tx := \n}\n")
	_, err := b.Build(context.Background(), dir)
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("want *build.Error, got %T %v", err, err)
	}
	if be.Dir != dir || be.Err == nil || !strings.Contains(be.Output, "main.go:5") {
		t.Fatalf("error %+v", be)
	}
	if !strings.Contains(err.Error(), "main.go:5") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Error() = %q", err.Error())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("Unwrap gives the go command's exit: %v", be.Err)
	}
	// Nothing was left behind.
	matches, _ := filepath.Glob(filepath.Join(b.CacheDir, "*", "*"))
	if len(matches) != 0 {
		t.Fatalf("a failed build left %v", matches)
	}
}

func TestBuildWithoutGo(t *testing.T) {
	b := &Builder{CacheDir: t.TempDir(), GoBin: "jig-test-no-such-go-command"}
	_, err := b.Build(context.Background(), module(t, hello("x")))
	var be *Error
	if !errors.As(err, &be) || !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "the go command is needed") {
		t.Fatalf("err %v", err)
	}
}

func TestBuildCancelled(t *testing.T) {
	b := fakeBuilder(t, &fakeGo{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Build(ctx, module(t, hello("x"))); err == nil {
		t.Fatal("a cancelled build succeeded")
	}
}

func TestBuildCacheDirUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	b := &Builder{CacheDir: filepath.Join(file, "sub"), runGo: (&fakeGo{}).run}
	if _, err := b.Build(context.Background(), module(t, hello("x"))); err == nil || !strings.Contains(err.Error(), "build ") {
		t.Fatalf("err %v", err)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/tmp/jig-xdg")
	if got := DefaultCacheDir(); got != "/tmp/jig-xdg/jig/build" {
		t.Fatalf("DefaultCacheDir() = %q", got)
	}
}
