// Package prefs keeps what the workbench should remember between runs:
// preferences (the theme) in the XDG config folder and the Request
// pane's history in the XDG state folder, as k9s and lazygit do.
//
//	$XDG_CONFIG_HOME/jig/workbench.yaml   (default ~/.config)
//	$XDG_STATE_HOME/jig/history.jsonl     (default ~/.local/state)
//
// Files are written whole to a temporary file and renamed, so a crash
// never leaves half a file; a file that cannot be read is ignored (the
// workbench must open anyway) and reported by Load.
package prefs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Prefs are the workbench's preferences.
type Prefs struct {
	// Theme is the name of the last theme chosen.
	Theme string `yaml:"theme,omitempty"`
}

// Store reads and writes the files under two folders.
type Store struct {
	ConfigDir, StateDir string
}

// Default returns the store in the XDG folders ($XDG_CONFIG_HOME and
// $XDG_STATE_HOME, else ~/.config and ~/.local/state), in a jig
// subfolder of each.
func Default() (*Store, error) {
	cfg, err := os.UserConfigDir()
	if err != nil {
		return nil, err
	}
	state := os.Getenv("XDG_STATE_HOME")
	if state == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		state = filepath.Join(home, ".local", "state")
	}
	return &Store{ConfigDir: filepath.Join(cfg, "jig"), StateDir: filepath.Join(state, "jig")}, nil
}

func (s *Store) prefsPath() string   { return filepath.Join(s.ConfigDir, "workbench.yaml") }
func (s *Store) historyPath() string { return filepath.Join(s.StateDir, "history.jsonl") }

// Prefs reads the preferences (zero Prefs when there are none).
func (s *Store) Prefs() (Prefs, error) {
	var p Prefs
	b, err := os.ReadFile(s.prefsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		return Prefs{}, fmt.Errorf("%s: %w", s.prefsPath(), err)
	}
	return p, nil
}

// SavePrefs writes the preferences.
func (s *Store) SavePrefs(p Prefs) error {
	b, err := yaml.Marshal(p)
	if err != nil {
		return err
	}
	return writeFile(s.prefsPath(), append([]byte("# jig workbench preferences (written by the workbench)\n"), b...))
}

// History reads the saved history entries, oldest first. Each is a JSON
// value the caller defines; lines that do not parse are skipped.
func History[T any](s *Store) ([]T, error) {
	b, err := os.ReadFile(s.historyPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var v T
		if json.Unmarshal(sc.Bytes(), &v) == nil {
			out = append(out, v)
		}
	}
	return out, sc.Err()
}

// SaveHistory writes the history entries (oldest first), keeping the
// newest max.
func SaveHistory[T any](s *Store, entries []T, max int) error {
	if len(entries) > max {
		entries = entries[len(entries)-max:]
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return writeFile(s.historyPath(), buf.Bytes())
}

// writeFile writes path through a temporary file and a rename, creating
// its folder (0700: history holds request bodies).
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
