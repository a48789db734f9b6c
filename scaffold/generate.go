package scaffold

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/jig-dev/jig/internal/yamlutil"
	"gopkg.in/yaml.v3"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"yaml": yamlScalar,
}).ParseFS(templateFS, "templates/*.tmpl"))

// CUDAVersion is the CUDA release of the gpu Dockerfile's base image.
const CUDAVersion = "12.6.3"

// Result describes a generated executor.
type Result struct {
	// Name is the Go type name (the jtype).
	Name string
	// Deployment is the suggested deployment name (the folder's default).
	Deployment string
	// Dir is the absolute folder written; it is also what a flow's `uses:`
	// names.
	Dir string
	// Files are the files written, relative to Dir, sorted.
	Files []string
	// JigRoot is the jig checkout go.mod points at.
	JigRoot string
	// Tidied says whether `go mod tidy` trimmed go.mod and go.sum.
	Tidied bool
	// Warnings are problems that did not stop the generation.
	Warnings []string
}

// file is one generated file: its name and the template rendering it.
type file struct {
	name, tmpl string
	gofmt      bool
}

// files returns the files o asks for.
func files(o Options) []file {
	fs := []file{
		{"executor.go", "executor.go.tmpl", true},
		{"executor_test.go", "executor_test.go.tmpl", true},
		{"config.yml", "config.yml.tmpl", false},
		{"README.md", "README.md.tmpl", false},
		{"go.mod", "go.mod.tmpl", false},
	}
	if o.Dockerfile != DockerNone {
		fs = append(fs, file{"Dockerfile", "Dockerfile." + string(o.Dockerfile) + ".tmpl", false})
	}
	return fs
}

// data is what the templates see.
type data struct {
	Name, Kebab, Description, Module, Recv string
	ServeName                              string // the deployment name `jig serve FOLDER` picks
	Endpoints                              []endpoint
	Stateful                               bool
	WriteEndpoint                          string
	Dockerfile                             string
	Path                                   string // the folder, absolute
	JigRoot                                string
	JigRootMod                             string // JigRoot as go.mod writes it
	GoVersion, GoImage                     string
	CUDA                                   string
	Requires                               []require
}

type endpoint struct{ Path, Method string }

// require is a requirement of jig's go.mod (go mod edit -json).
type require struct {
	Path, Version string
}

// Generate writes the executor o describes and returns what it wrote. It
// refuses a folder that is not empty unless o.Force. go.mod requires jig
// through a replace directive pointing at the jig checkout, with jig's own
// requirements and go.sum, so it builds offline; then, unless o.NoTidy,
// `go mod tidy` trims both to what the executor needs (a failure there
// only leaves the longer, working, files and a warning). Errors in o are
// bad input (errors.Is(err, yamlutil.ErrBadInput)).
func Generate(ctx context.Context, o Options) (Result, error) {
	o, err := o.Normalize()
	if err != nil {
		return Result{}, err
	}
	if err := CheckFolder(o.Path, o.Force); err != nil {
		return Result{}, err
	}
	root, err := FindJigRoot(o.JigRoot)
	if err != nil {
		return Result{}, err
	}
	mod, err := readJigMod(ctx, root)
	if err != nil {
		return Result{}, err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Result{}, fmt.Errorf("read jig's go.sum: %w", err)
	}

	d := data{
		Name: o.Name, Kebab: Kebab(o.Name), Description: o.Description, Module: o.Module,
		Recv: receiver(o.Name), ServeName: serveName(o.Path), Stateful: o.Stateful, WriteEndpoint: WriteEndpoint,
		Dockerfile: string(o.Dockerfile), Path: o.Path, JigRoot: root, JigRootMod: modPath(root),
		GoVersion: mod.Go, GoImage: goImage(mod.Go), CUDA: CUDAVersion,
	}
	for _, ep := range o.Endpoints {
		d.Endpoints = append(d.Endpoints, endpoint{Path: ep, Method: MethodName(ep)})
	}
	for _, r := range mod.Require {
		d.Requires = append(d.Requires, require{Path: r.Path, Version: r.Version})
	}
	out := map[string][]byte{"go.sum": sum}
	for _, f := range files(o) {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, f.tmpl, d); err != nil {
			return Result{}, fmt.Errorf("render %s: %w", f.name, err)
		}
		text := b.Bytes()
		if f.gofmt {
			if text, err = format.Source(text); err != nil {
				return Result{}, fmt.Errorf("render %s: generated code does not parse: %w", f.name, err)
			}
		}
		out[f.name] = text
	}

	if err := os.MkdirAll(o.Path, 0o755); err != nil {
		return Result{}, fmt.Errorf("create %s: %w", o.Path, err)
	}
	res := Result{Name: o.Name, Deployment: d.Kebab, Dir: o.Path, JigRoot: root}
	for name, text := range out {
		if err := os.WriteFile(filepath.Join(o.Path, name), text, 0o644); err != nil {
			return Result{}, fmt.Errorf("write %s: %w", filepath.Join(o.Path, name), err)
		}
		res.Files = append(res.Files, name)
	}
	slices.Sort(res.Files)
	if !o.NoTidy {
		if err := tidy(ctx, o.Path); err != nil {
			// tidy may have rewritten one of them before failing.
			for _, name := range []string{"go.mod", "go.sum"} {
				if werr := os.WriteFile(filepath.Join(o.Path, name), out[name], 0o644); werr != nil {
					return res, fmt.Errorf("restore %s after go mod tidy failed: %w", name, werr)
				}
			}
			res.Warnings = append(res.Warnings, fmt.Sprintf("go mod tidy failed, so go.mod lists all of jig's requirements (it builds as it is; run go mod tidy later): %v", err))
		} else {
			res.Tidied = true
		}
	}
	return res, nil
}

// CheckFolder refuses a path that is a file, or a folder with something
// in it unless force. Its errors are bad input.
func CheckFolder(path string, force bool) error {
	if err := folderProblem(path, force); err != nil {
		return &yamlutil.Error{Field: "--path", Msg: err.Error()}
	}
	return nil
}

// folderProblem is CheckFolder's check, with plain messages (the form
// shows them under its Folder field).
func folderProblem(path string, force bool) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s is a file, not a folder", path)
	}
	if force {
		return nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty: pick another folder, or use --force to write into it", path)
	}
	return nil
}

// jigMod is the part of jig's go.mod the generator uses.
type jigMod struct {
	Go      string
	Require []struct {
		Path, Version string
	}
}

// readJigMod reads jig's go.mod with `go mod edit -json`, the go
// command's own parser (it needs no network).
func readJigMod(ctx context.Context, root string) (jigMod, error) {
	var m jigMod
	cmd := exec.CommandContext(ctx, "go", "mod", "edit", "-json", filepath.Join(root, "go.mod"))
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	text, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return m, fmt.Errorf("the go command is needed to generate and build executors: %w", err)
		}
		return m, fmt.Errorf("read %s: %w: %s", filepath.Join(root, "go.mod"), err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(text, &m); err != nil {
		return m, fmt.Errorf("read %s: %w", filepath.Join(root, "go.mod"), err)
	}
	if m.Go == "" {
		m.Go = goVersionOf()
	}
	return m, nil
}

// tidy runs `go mod tidy` in dir.
func tidy(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// goVersionOf is the language version of the Go toolchain that built this
// program (go1.26.8 -> 1.26.8), for a jig go.mod without a go directive.
func goVersionOf() string {
	if m := goVersionRe.FindString(strings.TrimPrefix(runtime.Version(), "go")); m != "" {
		return m
	}
	return "1.26.0"
}

var (
	goVersionRe = regexp.MustCompile(`^\d+\.\d+(\.\d+)?`)
	barePathRe  = regexp.MustCompile(`^[A-Za-z0-9/._~+:-]+$`)
)

// goImage is the golang image tag of a go directive: 1.26.0 -> 1.26.
func goImage(goVersion string) string {
	parts := strings.SplitN(goVersion, ".", 3)
	if len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return goVersion
}

// receiver picks the methods' receiver name: the type's initial, unless
// the handlers already use that letter for something else.
func receiver(name string) string {
	r := strings.ToLower(name[:1])
	switch r {
	case "d", "p", "r":
		return "x"
	}
	return r
}

// serveName is the deployment name `jig serve DIR` gives a folder: its
// base name, lowercased, other characters than letters, digits, - and _
// replaced by -.
func serveName(dir string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			return r
		}
		return '-'
	}, strings.ToLower(filepath.Base(dir)))
}

// modPath writes a folder for go.mod, quoted when it has characters the
// go.mod syntax does not take bare.
func modPath(p string) string {
	if barePathRe.MatchString(p) {
		return p
	}
	return strconv.Quote(p)
}

// yamlScalar renders s as one YAML scalar (quoted when needed).
func yamlScalar(s string) (string, error) {
	b, err := yaml.Marshal(s)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}
