package safepath

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"index", "my-exec_2", "Simple Indexer", "a.b", ".hidden"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`, "x..y", "../../../../tmp/escaped", "/etc", "a\x00b", "a\nb"} {
		if err := CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) = nil, want an error", bad)
		}
	}
}

func TestWithin(t *testing.T) {
	base := t.TempDir()
	for _, ok := range []string{base, filepath.Join(base, "a"), filepath.Join(base, "a", "..", "b"), base + "/./c"} {
		if err := Within(base, ok); err != nil {
			t.Errorf("Within(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{filepath.Join(base, ".."), filepath.Join(base, "..", filepath.Base(base)+"x"), base + "/../../tmp/escaped", "/tmp", filepath.Dir(base)} {
		if err := Within(base, bad); !errors.Is(err, ErrEscapes) {
			t.Errorf("Within(%q) = %v, want ErrEscapes", bad, err)
		}
	}
}

func TestMkdirAllRefusesOutside(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "ws")
	outside := filepath.Join(base, "..", "..", filepath.Base(root)+"-escaped")
	if err := MkdirAll(base, outside, 0o700); !errors.Is(err, ErrEscapes) {
		t.Fatalf("MkdirAll outside = %v", err)
	}
	if _, err := os.Stat(outside); !os.IsNotExist(err) {
		t.Fatalf("%s was created", outside)
	}
	inside := filepath.Join(base, "idx", "0")
	if err := MkdirAll(base, inside, 0o700); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(inside); err != nil || !fi.IsDir() {
		t.Fatalf("stat %s: %v", inside, err)
	}
}
