package build

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// keyVersion changes when what the key covers changes, so binaries
// cached under an older, narrower key are never reused.
const keyVersion = "jig-build-key/1"

// Key returns the cache key of the binary built from the main package in
// dir (an absolute path), computed without running the go command. It
// covers everything that decides what `go build` produces:
//
//   - the source folder's path;
//   - the module holding it (found from the nearest go.mod): go.mod,
//     go.sum, vendor/modules.txt, every non-test Go and cgo source file
//     of its packages, and every file under a package that uses
//     //go:embed;
//   - the same for each local replace target of go.mod (the jig checkout
//     when an executor replaces github.com/jig-dev/jig), and for go.work,
//     go.work.sum and their `use` folders when a workspace applies;
//   - the toolchain: the resolved go command's path, size and time, and
//     its GOROOT's VERSION file;
//   - the build flags and the environment that changes the output (GO*,
//     CGO_*, CC, CXX, ...), including `go env -w` settings, GOOS/GOARCH.
//
// Contents are hashed, not times: touching a file does not rebuild, an
// edit does. Modules from the module cache are pinned by go.mod/go.sum.
func (b *Builder) Key(dir string) (string, error) { return b.key(dir, goArgs(nil)) }

// key is Key for a build with the go command's arguments args.
func (b *Builder) key(dir string, args []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s/%s\x00dir=%s\x00args=%q\x00", keyVersion, runtime.GOOS, runtime.GOARCH, dir, args)
	env := b.environ()
	if err := hashToolchain(h, b.goBin(), env); err != nil {
		return "", err
	}
	hashEnv(h, env)

	k := &treeHasher{h: h, seen: map[string]bool{}}
	root := findUp(dir, "go.mod")
	if root == "" {
		// Not in a module: go build will say so; key the folder alone.
		k.tree("dir", dir)
	} else {
		k.tree("module", root)
		mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
		if err == nil {
			for _, target := range localReplaces(mod) {
				k.tree("replace", resolve(root, target))
			}
		}
		if work := workFile(root, env); work != "" {
			k.file("go.work", work)
			k.file("go.work.sum", work+".sum")
			data, _ := os.ReadFile(work)
			for _, use := range directiveArgs(data, "use") {
				k.tree("use", resolve(filepath.Dir(work), unquote(use)))
			}
			for _, target := range localReplaces(data) {
				k.tree("replace", resolve(filepath.Dir(work), target))
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// environ is the build's environment: the process's, then Env (later
// entries win, as for exec.Cmd).
func (b *Builder) environ() map[string]string {
	env := map[string]string{}
	for _, kv := range append(os.Environ(), b.Env...) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// hashToolchain writes what identifies the go command. Upgrading Go
// replaces the binary (new size/time) and its GOROOT's VERSION.
func hashToolchain(h io.Writer, gobin string, env map[string]string) error {
	path := gobin
	if !strings.ContainsRune(gobin, filepath.Separator) {
		// exec.LookPath reads PATH from the process; the build's own PATH
		// (Env) may differ.
		p, err := lookPath(gobin, env["PATH"])
		if err != nil {
			return fmt.Errorf("the go command is needed to build executors from source: %w", err)
		}
		path = p
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("the go command is needed to build executors from source: %w", err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("the go command is needed to build executors from source: %w", err)
	}
	fmt.Fprintf(h, "go=%s\x00%d\x00%d\x00", real, st.Size(), st.ModTime().UnixNano())
	if v, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(real)), "VERSION")); err == nil {
		fmt.Fprintf(h, "goversion=%s\x00", v)
	}
	return nil
}

func lookPath(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}

// runtimeOnly are GO* variables that tune a running program, not what
// the go command produces.
var runtimeOnly = map[string]bool{"GOMAXPROCS": true, "GOGC": true, "GOMEMLIMIT": true, "GOTRACEBACK": true}

// hashEnv writes the variables that can change the binary, and the file
// `go env -w` writes to.
func hashEnv(h io.Writer, env map[string]string) {
	var keys []string
	for k := range env {
		switch {
		case runtimeOnly[k]:
		case strings.HasPrefix(k, "GO"), strings.HasPrefix(k, "CGO_"):
			keys = append(keys, k)
		case k == "CC" || k == "CXX" || k == "FC" || k == "AR" || k == "PKG_CONFIG":
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "env %s=%s\x00", k, env[k])
	}
	file := env["GOENV"]
	if file == "" {
		if dir, err := os.UserConfigDir(); err == nil {
			file = filepath.Join(dir, "go", "env")
		}
	}
	if file != "" && file != "off" {
		if data, err := os.ReadFile(file); err == nil {
			fmt.Fprintf(h, "goenv=%d\x00", len(data))
			h.Write(data)
		}
	}
}

// workFile is the go.work that applies to a module at root, or "".
func workFile(root string, env map[string]string) string {
	switch w := env["GOWORK"]; w {
	case "off":
		return ""
	case "", "auto":
		if d := findUp(root, "go.work"); d != "" {
			return filepath.Join(d, "go.work")
		}
		return ""
	default:
		return w
	}
}

// findUp returns the nearest folder from dir upwards that holds name.
func findUp(dir, name string) string {
	for {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && !st.IsDir() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func resolve(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// directiveArgs returns the arguments of every `verb ...` line and every
// line of `verb ( ... )` blocks in a go.mod or go.work file.
func directiveArgs(data []byte, verb string) []string {
	var out []string
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		switch {
		case inBlock && line == ")":
			inBlock = false
		case inBlock:
			if line != "" {
				out = append(out, line)
			}
		case line == verb+" (" || line == verb+"(":
			inBlock = true
		case strings.HasPrefix(line, verb+" ") || strings.HasPrefix(line, verb+"\t"):
			out = append(out, strings.TrimSpace(line[len(verb):]))
		}
	}
	return out
}

// localReplaces returns the folder targets of replace directives (a
// replacement without a version that is a path).
func localReplaces(data []byte) []string {
	var out []string
	for _, arg := range directiveArgs(data, "replace") {
		_, right, ok := strings.Cut(arg, "=>")
		if !ok {
			continue
		}
		fields := tokens(right)
		if len(fields) != 1 {
			continue // module version: pinned by go.sum
		}
		p := unquote(fields[0])
		if filepath.IsAbs(p) || p == "." || p == ".." || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") {
			out = append(out, p)
		}
	}
	return out
}

// tokens splits a go.mod line into fields; a quoted field may hold
// spaces.
func tokens(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' || s[0] == '`' {
			if q, err := strconv.QuotedPrefix(s); err == nil {
				out = append(out, q)
				s = s[len(q):]
				continue
			}
		}
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			i = len(s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// treeHasher hashes module trees into h.
type treeHasher struct {
	h    hash.Hash
	seen map[string]bool // real paths of trees already hashed
}

// buildExt are the file kinds `go build` reads besides .go files (cgo,
// assembly, SWIG, syso).
var buildExt = map[string]bool{
	".c": true, ".h": true, ".s": true, ".S": true, ".sx": true, ".cc": true, ".cpp": true, ".cxx": true,
	".hh": true, ".hpp": true, ".hxx": true, ".m": true, ".f": true, ".F": true, ".for": true, ".f90": true,
	".syso": true, ".swig": true, ".swigcxx": true,
}

// tree hashes the files of the module at root that go build can read:
// packages below it (not test files, not testdata, _ or . folders, not
// nested modules), go.mod/go.sum/vendor/modules.txt, and everything under
// a package that embeds files.
func (k *treeHasher) tree(label, root string) {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		fmt.Fprintf(k.h, "%s %s: missing\x00", label, root)
		return
	}
	if k.seen[real] {
		return
	}
	k.seen[real] = true
	fmt.Fprintf(k.h, "%s %s\x00", label, root)
	var embeds []string
	filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(real, p)
		if err != nil {
			fmt.Fprintf(k.h, "error %s\x00", rel)
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != real && skipDir(p, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				k.tree("link "+rel, p) // packages may be imported through it
				return nil
			}
		}
		name := d.Name()
		switch {
		case strings.HasSuffix(name, ".go"):
			if strings.HasSuffix(name, "_test.go") {
				return nil
			}
			data := k.file(rel, p)
			if bytes.Contains(data, []byte("//go:embed")) {
				embeds = append(embeds, filepath.Dir(p))
			}
		case name == "go.mod" || name == "go.sum" || name == "modules.txt" || buildExt[filepath.Ext(name)]:
			k.file(rel, p)
		}
		return nil
	})
	for _, dir := range embeds {
		k.everything(real, dir)
	}
}

// skipDir reports folders go build never reads packages from.
func skipDir(p, name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" {
		return true
	}
	_, err := os.Stat(filepath.Join(p, "go.mod"))
	return err == nil // another module
}

// everything hashes every file under dir (embed patterns may name any
// of them, `all:` even hidden ones), except .git and nested modules.
func (k *treeHasher) everything(root, dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		if err != nil {
			fmt.Fprintf(k.h, "error %s\x00", rel)
			return nil
		}
		if d.IsDir() {
			if p != dir && (d.Name() == ".git" || func() bool { _, err := os.Stat(filepath.Join(p, "go.mod")); return err == nil }()) {
				return filepath.SkipDir
			}
			return nil
		}
		k.file("embed "+rel, p)
		return nil
	})
}

// file hashes one file's name and content and returns the content.
func (k *treeHasher) file(name, path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(k.h, "file %s: missing\x00", name)
		return nil
	}
	fmt.Fprintf(k.h, "file %s %d\x00", name, len(data))
	k.h.Write(data)
	return data
}
