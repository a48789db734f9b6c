package scaffold_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/jig-dev/jig/scaffold"
)

// generate runs the generator into a fresh folder and fails the test on an
// error or a warning.
func generate(t *testing.T, o scaffold.Options) scaffold.Result {
	t.Helper()
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), scaffold.Kebab(o.Name))
	}
	res, err := scaffold.Generate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) > 0 {
		t.Fatalf("warnings: %q", res.Warnings)
	}
	return res
}

// goCmd runs the go command in dir with the default module behaviour
// (-mod=readonly, whatever GOFLAGS the caller has), failing the test with
// its output.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// TestEveryTemplateCombination generates each combination of state,
// Dockerfile template and extra endpoints, then builds, vets and tests the
// result with the go command, as a user would, with no edits.
func TestEveryTemplateCombination(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests six generated modules")
	}
	type combo struct {
		stateful   bool
		dockerfile scaffold.Dockerfile
		endpoints  []string
		noTidy     bool
	}
	var combos []combo
	for _, stateful := range []bool{false, true} {
		for i, d := range scaffold.Dockerfiles {
			c := combo{stateful: stateful, dockerfile: d}
			if i%2 == 1 {
				c.endpoints = []string{"/hello", "/v1/find-similar"}
			}
			// One combination keeps jig's full requirement list: the
			// offline path, when go mod tidy cannot run.
			c.noTidy = stateful && d == scaffold.DockerNone
			combos = append(combos, c)
		}
	}
	// Combinations that differ only in their Dockerfile generate the same
	// Go module: the go command builds, vets and tests each distinct module
	// once (the slowest part of this test, a link per build).
	var mu sync.Mutex
	checked := map[[sha256.Size]byte]string{} // module content -> combination checking it
	for _, c := range combos {
		name := fmt.Sprintf("stateful=%v/dockerfile=%s/endpoints=%d/tidy=%v", c.stateful, c.dockerfile, len(c.endpoints), !c.noTidy)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := generate(t, scaffold.Options{
				Name: "Greeter", Stateful: c.stateful, Dockerfile: c.dockerfile,
				Endpoints: c.endpoints, NoTidy: c.noTidy, Description: `Greets: "everyone" #1`,
			})
			want := []string{"README.md", "config.yml", "executor.go", "executor_test.go", "go.mod", "go.sum"}
			if c.dockerfile != scaffold.DockerNone {
				want = append(want, "Dockerfile")
			}
			slices.Sort(want)
			if !slices.Equal(res.Files, want) || res.Tidied == c.noTidy {
				t.Fatalf("files %q (tidied %v), want %q", res.Files, res.Tidied, want)
			}
			checkGoMod(t, res)
			checkConfig(t, res)
			checkSource(t, res, c.stateful, c.endpoints)
			if c.dockerfile != scaffold.DockerNone {
				checkDockerfile(t, filepath.Join(res.Dir, "Dockerfile"), c.dockerfile)
			}
			checkReadme(t, res, c.stateful, c.endpoints)

			key := moduleKey(t, res)
			mu.Lock()
			first, seen := checked[key]
			if !seen {
				checked[key] = name
			}
			mu.Unlock()
			if seen {
				t.Logf("the same Go module as %s, which the go command checks", first)
				return
			}
			goCmd(t, res.Dir, "vet", "./...")
			goCmd(t, res.Dir, "build", "-o", filepath.Join(t.TempDir(), "executor"), ".")
			out := goCmd(t, res.Dir, "test", "-count=1", "-v", "./...")
			tests := []string{"TestGreet", "TestGreetingParameter"}
			if len(c.endpoints) > 0 {
				tests = append(tests, "TestEndpoints")
			}
			if c.stateful {
				tests = append(tests, "TestRemember", "TestRememberRejectsEmptyText", "TestSnapshotRestore")
			}
			for _, name := range tests {
				if !strings.Contains(out, "--- PASS: "+name+" ") {
					t.Errorf("%s did not pass:\n%s", name, out)
				}
			}
			if n := strings.Count(out, "--- PASS"); n != len(tests) {
				t.Errorf("%d tests passed, want %d:\n%s", n, len(tests), out)
			}
		})
	}
}

// moduleKey identifies a generated module by what the go command reads:
// every generated file but the Dockerfile and the README.
func moduleKey(t *testing.T, res scaffold.Result) [sha256.Size]byte {
	t.Helper()
	h := sha256.New()
	for _, f := range res.Files {
		if f == "Dockerfile" || f == "README.md" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(res.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// checkGoMod checks the module wiring: jig required and replaced by the
// checkout under test.
func checkGoMod(t *testing.T, res scaffold.Result) {
	t.Helper()
	cmd := exec.Command("go", "mod", "edit", "-json")
	cmd.Dir = res.Dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod edit -json: %v", err)
	}
	var mod struct {
		Module  struct{ Path string }
		Require []struct{ Path, Version string }
		Replace []struct{ Old, New struct{ Path string } }
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	if mod.Module.Path != "example.com/greeter" || res.JigRoot != jigRoot(t) ||
		!slices.ContainsFunc(mod.Require, func(r struct{ Path, Version string }) bool { return r.Path == scaffold.JigModule }) ||
		len(mod.Replace) != 1 || mod.Replace[0].Old.Path != scaffold.JigModule || mod.Replace[0].New.Path != jigRoot(t) {
		t.Errorf("go.mod: %s", out)
	}
}

// checkConfig loads config.yml as the engine does for a Go executor.
func checkConfig(t *testing.T, res scaffold.Result) {
	t.Helper()
	cfg, err := executors.LoadSourceConfig(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JType != "Greeter" || cfg.Metas.Name != "Greeter" || cfg.Metas.Description != `Greets: "everyone" #1` {
		t.Errorf("config: %+v", cfg)
	}
}

// checkSource checks that the Go files are gofmt-clean main packages with
// the handlers asked for.
func checkSource(t *testing.T, res scaffold.Result, stateful bool, endpoints []string) {
	t.Helper()
	for _, name := range []string{"executor.go", "executor_test.go"} {
		path := filepath.Join(res.Dir, name)
		cmd := exec.Command("gofmt", "-l", path)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("gofmt -l %s: %v %s", name, err, out)
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil || f.Name.Name != "main" {
			t.Fatalf("%s: %v", name, err)
		}
	}
	src, _ := os.ReadFile(filepath.Join(res.Dir, "executor.go"))
	for _, s := range []string{"executors.Default(r, g.Greet)", "workercmd.Main(newGreeter)"} {
		if !strings.Contains(string(src), s) {
			t.Errorf("executor.go lacks %s", s)
		}
	}
	for _, ep := range endpoints {
		if !strings.Contains(string(src), fmt.Sprintf("executors.On(r, %q, g.%s)", ep, scaffold.MethodName(ep))) {
			t.Errorf("executor.go does not bind %s", ep)
		}
	}
	for _, s := range []string{`executors.Write(r, "/remember", g.Remember)`, "func (g *Greeter) Snapshot(dir string) error", "func (g *Greeter) Restore(dir string) error"} {
		if strings.Contains(string(src), s) != stateful {
			t.Errorf("executor.go: %q present = %v, want %v", s, !stateful, stateful)
		}
	}
}

// checkReadme checks that the README covers the commands a newcomer runs.
func checkReadme(t *testing.T, res scaffold.Result, stateful bool, endpoints []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(res.Dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	want := []string{"# Greeter", "go test ./...", "jig serve . --port 12345", "jig post grpc://127.0.0.1:12345 --on /default --text world", "uses: " + res.Dir}
	want = append(want, endpoints...)
	if stateful {
		want = append(want, "stateful: true", "--on /remember", `results: {"greeter":{"known":1}}`)
	}
	for _, s := range want {
		if !strings.Contains(readme, s) {
			t.Errorf("README.md lacks %q", s)
		}
	}
}

// dockerInstructions are the Dockerfile instructions.
var dockerInstructions = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true, "EXPOSE": true,
	"FROM": true, "HEALTHCHECK": true, "LABEL": true, "ONBUILD": true, "RUN": true, "SHELL": true,
	"STOPSIGNAL": true, "USER": true, "VOLUME": true, "WORKDIR": true,
}

// checkDockerfile checks a Dockerfile's structure, since no Docker engine
// is at hand to build it: the syntax directive first, known instructions
// only, stages defined before COPY --from uses them, exec-form ENTRYPOINT
// and CMD, a static build for cpu and a CUDA base for gpu.
func checkDockerfile(t *testing.T, path string, kind scaffold.Dockerfile) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "# syntax=docker/dockerfile:1\n") {
		t.Error("the syntax directive is not the first line")
	}
	// Join continuation lines, drop comments.
	var instrs []string
	var cur strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		instrs = append(instrs, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("dangling continuation: %q", cur.String())
	}
	stages := map[string]bool{}
	var froms, entry, cmd, expose []string
	for i, in := range instrs {
		word, args, _ := strings.Cut(in, " ")
		if !dockerInstructions[word] {
			t.Fatalf("instruction %d: unknown %q in %q", i, word, in)
		}
		if i == 0 && word != "FROM" && word != "ARG" {
			t.Errorf("first instruction is %s, want FROM", word)
		}
		switch word {
		case "FROM":
			f := strings.Fields(args)
			froms = append(froms, f[0])
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages[f[2]] = true
			} else if len(f) != 1 {
				t.Errorf("FROM %s: want IMAGE [AS NAME]", args)
			}
		case "COPY":
			if m := regexp.MustCompile(`--from=(\S+)`).FindStringSubmatch(args); m != nil && !stages[m[1]] {
				t.Errorf("COPY --from=%s before a stage of that name", m[1])
			}
		case "ENTRYPOINT", "CMD":
			var v []string
			if err := json.Unmarshal([]byte(args), &v); err != nil || len(v) == 0 {
				t.Errorf("%s %s: want the exec (JSON) form: %v", word, args, err)
			}
			if word == "ENTRYPOINT" {
				entry = v
			} else {
				cmd = v
			}
		case "EXPOSE":
			expose = append(expose, args)
		}
	}
	if !slices.Equal(entry, []string{"/app/executor"}) || !slices.Contains(cmd, "--port") || !slices.Contains(cmd, "8080") || !slices.Equal(expose, []string{"8080"}) {
		t.Errorf("entrypoint %q cmd %q expose %q", entry, cmd, expose)
	}
	if !stages["jig"] || !stages["build"] || !strings.Contains(text, "--build-context jig=") {
		t.Errorf("stages %v: the jig checkout must come in as the named context jig", stages)
	}
	if !strings.Contains(text, "CGO_ENABLED=0 go build") {
		t.Error("no static go build")
	}
	last := froms[len(froms)-1]
	switch kind {
	case scaffold.DockerCPU:
		if !strings.HasPrefix(last, "gcr.io/distroless/static") {
			t.Errorf("cpu runs on %s", last)
		}
	case scaffold.DockerGPU:
		if !strings.HasPrefix(last, "nvidia/cuda:"+scaffold.CUDAVersion+"-runtime-") {
			t.Errorf("gpu runs on %s", last)
		}
	}
}

func TestRefusesNonEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := scaffold.Generate(context.Background(), scaffold.Options{Name: "Greeter", Path: dir})
	if err == nil || !errors.Is(err, yamlutil.ErrBadInput) || !strings.Contains(err.Error(), "is not empty") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("got %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("wrote into the folder: %v", entries)
	}
	// A file where the folder should be.
	_, err = scaffold.Generate(context.Background(), scaffold.Options{Name: "Greeter", Path: mine})
	if err == nil || !errors.Is(err, yamlutil.ErrBadInput) || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("file: %v", err)
	}
	// An empty folder is fine.
	empty := t.TempDir()
	res := generate(t, scaffold.Options{Name: "Greeter", Path: empty, Dockerfile: scaffold.DockerNone, NoTidy: true})
	if res.Dir != empty || len(res.Files) != 6 {
		t.Errorf("empty folder: %+v", res)
	}
}

func TestForceOverwritesGeneratedFilesOnly(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"notes.txt": "mine", "executor.go": "package old\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	generate(t, scaffold.Options{Name: "Greeter", Path: dir, Force: true, NoTidy: true})
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "mine" {
		t.Errorf("notes.txt: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "executor.go")); !strings.Contains(string(b), "type Greeter struct") {
		t.Errorf("executor.go not regenerated:\n%s", b)
	}
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x")
	for _, o := range []scaffold.Options{
		{Name: "lower", Path: dir},
		{Name: "Greeter", Path: dir, Endpoints: []string{"bad"}},
		{Name: "Greeter", Path: dir, JigRoot: t.TempDir()},
	} {
		if _, err := scaffold.Generate(context.Background(), o); err == nil || !errors.Is(err, yamlutil.ErrBadInput) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed generation created %s", dir)
	}
}

func TestPathsThatNeedQuoting(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated module")
	}
	// Both the executor's folder and the checkout may have spaces: go.mod
	// quotes the replacement path then.
	base := t.TempDir()
	root := filepath.Join(base, "jig checkout")
	if err := os.Symlink(jigRoot(t), root); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "my executors", "greeter")
	res := generate(t, scaffold.Options{Name: "Greeter", Path: dir, Dockerfile: scaffold.DockerNone, JigRoot: root})
	mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(mod), fmt.Sprintf("=> %q", root)) {
		t.Errorf("go.mod:\n%s", mod)
	}
	goCmd(t, res.Dir, "build", "-o", filepath.Join(t.TempDir(), "executor"), ".")
}
