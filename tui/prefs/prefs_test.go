package prefs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultFollowsXDG(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "cfg"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if s.ConfigDir != filepath.Join(dir, "cfg", "jig") || s.StateDir != filepath.Join(dir, "state", "jig") {
		t.Errorf("store %+v", s)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := &Store{ConfigDir: filepath.Join(dir, "c"), StateDir: filepath.Join(dir, "s")}
	if p, err := s.Prefs(); err != nil || p.Theme != "" {
		t.Fatalf("no file: %+v %v", p, err)
	}
	if err := s.SavePrefs(Prefs{Theme: "light"}); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Prefs(); err != nil || p.Theme != "light" {
		t.Fatalf("prefs %+v %v", p, err)
	}
	type entry struct{ N int }
	var es []entry
	for i := range 5 {
		es = append(es, entry{i})
	}
	if err := SaveHistory(s, es, 3); err != nil {
		t.Fatal(err)
	}
	got, err := History[entry](s)
	if err != nil || len(got) != 3 || got[0].N != 2 || got[2].N != 4 {
		t.Fatalf("history %v %v", got, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "s", "history.jsonl"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode: %v %v", fi.Mode(), err)
	}
	os.WriteFile(filepath.Join(dir, "c", "workbench.yaml"), []byte("theme: [\n"), 0o600)
	if _, err := s.Prefs(); err == nil {
		t.Error("a broken file is reported")
	}
}
