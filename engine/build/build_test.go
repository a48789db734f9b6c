package build

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// module writes a tiny main package into a fresh folder.
func module(t *testing.T, main string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func hello(word string) string {
	return "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"" + word + "\") }\n"
}

// builder builds into a temporary cache, isolated from any go.work.
func builder(t *testing.T) *Builder {
	return &Builder{CacheDir: t.TempDir(), Env: []string{"GOWORK=off", "GOFLAGS=-mod=mod"}}
}

func binaries(t *testing.T, bin string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(bin))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(filepath.Dir(bin), e.Name()))
	}
	return out
}

func TestBuildRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	b := builder(t)
	dir := module(t, hello("hello from x"))
	res, err := b.Build(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Binary, b.CacheDir+string(filepath.Separator)) || res.Duration <= 0 {
		t.Fatalf("result %+v", res)
	}
	if base := filepath.Base(filepath.Dir(res.Binary)); !strings.HasPrefix(base, filepath.Base(dir)+"-") {
		t.Fatalf("binaries of %s go to a folder named after it, got %s", dir, base)
	}
	out, err := exec.Command(res.Binary).Output()
	if err != nil || strings.TrimSpace(string(out)) != "hello from x" {
		t.Fatalf("running the binary: %q %v", out, err)
	}
	// A relative path names the same folder.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := b.Build(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(res2.Binary) != filepath.Dir(res.Binary) || res2.Binary == res.Binary {
		t.Fatalf("rebuild: %s after %s", res2.Binary, res.Binary)
	}
}

func TestBuildSyntaxError(t *testing.T) {
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
	matches, _ := filepath.Glob(filepath.Join(b.CacheDir, "*", "executor-*"))
	if len(matches) != 0 {
		t.Fatalf("a failed build left %v", matches)
	}
}

func TestBuildPrunesOldBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	b := builder(t)
	dir := module(t, hello("v0"))
	var built []string
	for i, word := range []string{"v1", "v2", "v3", "v4"} {
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(hello(word)), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := b.Build(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		built = append(built, res.Binary)
		have := binaries(t, res.Binary)
		want := built[max(0, i-1):] // the new one and the previous one
		if strings.Join(have, "\n") != strings.Join(want, "\n") {
			t.Fatalf("after build %d the folder holds\n%s\nwant\n%s", i+1, strings.Join(have, "\n"), strings.Join(want, "\n"))
		}
		if out, err := exec.Command(res.Binary).Output(); err != nil || strings.TrimSpace(string(out)) != word {
			t.Fatalf("binary %d: %q %v", i+1, out, err)
		}
	}
}

func TestBuildConcurrentSameFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	b := builder(t)
	dir := module(t, hello("c"))
	var wg sync.WaitGroup
	errs := make([]error, 3)
	bins := make([]string, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := b.Build(context.Background(), dir)
			errs[i], bins[i] = err, res.Binary
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
	}
	if bins[0] == bins[1] || bins[1] == bins[2] || bins[0] == bins[2] {
		t.Fatalf("every build writes its own binary: %v", bins)
	}
	if n := len(binaries(t, bins[0])); n > 2 {
		t.Fatalf("%d binaries kept", n)
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
	if testing.Short() {
		t.Skip("runs the go command")
	}
	b := builder(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Build(ctx, module(t, hello("x"))); err == nil {
		t.Fatal("a cancelled build succeeded")
	}
}

func TestBuildCacheDirUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	b := &Builder{CacheDir: filepath.Join(file, "sub")}
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
