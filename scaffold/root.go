package scaffold

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/jig-dev/jig/internal/yamlutil"
)

// JigModule is the module path of jig, which generated executors require.
const JigModule = "github.com/jig-dev/jig"

// RootEnv names the environment variable that points at a jig checkout.
const RootEnv = "JIG_ROOT"

// FindJigRoot returns the jig checkout generated executors build against.
// In order: explicit (a --jig-path flag) when set; else $JIG_ROOT; else
// the checkout this program was compiled from (known from the source
// paths the compiler records, unless built with -trimpath); else the
// nearest folder above the executable (bin/jig in a checkout), then above
// the working directory, whose go.mod is jig's. An explicit or $JIG_ROOT
// folder that is not a jig checkout is an error, not skipped.
func FindJigRoot(explicit string) (string, error) {
	if explicit != "" {
		return checkRoot("--jig-path", explicit)
	}
	if env := os.Getenv(RootEnv); env != "" {
		return checkRoot("$"+RootEnv, env)
	}
	if dir := sourceRoot(); dir != "" {
		if ok, _ := isJigRoot(dir); ok {
			return dir, nil
		}
	}
	var starts []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		starts = append(starts, filepath.Dir(exe))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, s := range starts {
		for dir := s; ; dir = filepath.Dir(dir) {
			if ok, _ := isJigRoot(dir); ok {
				return dir, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", &yamlutil.Error{Field: "--jig-path", Msg: fmt.Sprintf("cannot find a jig checkout to build the executor against (this jig was not built from one here); pass --jig-path or set %s to the folder holding jig's go.mod", RootEnv)}
}

// sourceRoot is the checkout this package was compiled from, or "" when
// the compiler did not record absolute paths (-trimpath).
func sourceRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	return filepath.Dir(filepath.Dir(file))
}

// checkRoot makes dir absolute and checks that it holds jig's go.mod.
func checkRoot(field, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", &yamlutil.Error{Field: field, Msg: err.Error()}
	}
	ok, err := isJigRoot(abs)
	if err != nil {
		return "", &yamlutil.Error{Field: field, Msg: fmt.Sprintf("%s: %v", abs, err)}
	}
	if !ok {
		return "", &yamlutil.Error{Field: field, Msg: fmt.Sprintf("%s is not a jig checkout: its go.mod is not module %s", abs, JigModule)}
	}
	return abs, nil
}

// isJigRoot reports whether dir/go.mod declares module JigModule.
func isJigRoot(dir string) (bool, error) {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		path := strings.TrimSpace(rest)
		if u, err := strconv.Unquote(path); err == nil {
			path = u
		}
		return path == JigModule, nil
	}
	return false, sc.Err()
}
