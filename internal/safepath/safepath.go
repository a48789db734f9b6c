// Package safepath keeps the files the engine creates inside their
// workspace. Names from configuration (metas.name, a flow's or a
// deployment's name) become path components; a name holding a separator
// or ".." would otherwise place an executor's files anywhere the user can
// write (metas: {name: ../../../../tmp/x} created /tmp/x).
package safepath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrEscapes is matched (errors.Is) by the error of a path that leaves
// its base folder.
var ErrEscapes = errors.New("path escapes its workspace")

// CheckName returns an error saying why name cannot be one path
// component: empty, "." or "..", containing "..", a path separator ('/'
// or '\\', on every system, so a flow means the same everywhere) or a NUL
// or other control character.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("%q must not contain a path separator (it names a folder)", name)
	case strings.Contains(name, ".."):
		return fmt.Errorf("%q must not contain \"..\" (it names a folder)", name)
	case name == ".":
		return fmt.Errorf("%q is not a folder name", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q must not contain control characters", name)
		}
	}
	return nil
}

// Within returns an error wrapping ErrEscapes unless path is base or
// inside it. Both are made absolute and cleaned first; the check is on
// the names, so it also holds for folders that do not exist yet.
func Within(base, path string) error {
	b, err := filepath.Abs(base)
	if err != nil {
		return fmt.Errorf("workspace %s: %w", base, err)
	}
	p, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	rel, err := filepath.Rel(b, p)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return fmt.Errorf("%s: %w %s", path, ErrEscapes, b)
	}
	return nil
}

// MkdirAll creates path and its missing parents with mode perm, after
// checking that path stays inside base.
func MkdirAll(base, path string, perm os.FileMode) error {
	if err := Within(base, path); err != nil {
		return err
	}
	return os.MkdirAll(path, perm)
}
