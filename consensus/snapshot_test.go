package consensus

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTarRoundTrip(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{
		"top.txt":                "top",
		"a/b/c/deep.bin":         "\x00\x01binary",
		"a/sibling.json":         `{"k":1}`,
		"empty-dir/.keep":        "",
		"with space/and-ü.txt":   "unicode",
		"a/b/c/another/file.txt": "x",
	}
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(src, "really-empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	m := manifest{Format: snapshotFormat, Executor: "KV", Created: time.Now().UTC().Truncate(time.Second), Peers: []Peer{{ID: "3", RaftAddr: "r", WorkerAddr: "w"}}}
	var buf bytes.Buffer
	if err := packSnapshot(&buf, src, m); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	got, err := unpackSnapshot(&buf, dst)
	if err != nil {
		t.Fatal(err)
	}
	if got.Executor != "KV" || len(got.Peers) != 1 || got.Peers[0] != m.Peers[0] || !got.Created.Equal(m.Created) {
		t.Fatalf("manifest %+v", got)
	}
	for name, body := range files {
		b, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(name)))
		if err != nil || string(b) != body {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dst, "really-empty")); err != nil || !st.IsDir() {
		t.Errorf("empty folder lost: %v", err)
	}
}

func TestPackRejectsSymlinks(t *testing.T) {
	src := t.TempDir()
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "link")); err != nil {
		t.Skip("no symlinks:", err)
	}
	var buf bytes.Buffer
	if err := packSnapshot(&buf, src, manifest{Format: snapshotFormat}); err == nil {
		t.Fatal("a symlink must not be snapshotted")
	}
}

// rawTar builds a tar stream with a valid manifest and the given entries.
func rawTar(t *testing.T, manifestJSON string, entries ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if manifestJSON != "" {
		tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(manifestJSON)), Typeflag: tar.TypeReg})
		tw.Write([]byte(manifestJSON))
	}
	for _, h := range entries {
		body := []byte("evil")
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o600
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUnpackRejectsUnsafeEntries(t *testing.T) {
	const okManifest = `{"format":1}`
	cases := map[string][]byte{
		"../evil":                rawTar(t, okManifest, tar.Header{Name: "../evil", Typeflag: tar.TypeReg}),
		"state/../../evil":       rawTar(t, okManifest, tar.Header{Name: "state/../../evil", Typeflag: tar.TypeReg}),
		"state/a/../../../evil":  rawTar(t, okManifest, tar.Header{Name: "state/a/../../../evil", Typeflag: tar.TypeReg}),
		"absolute":               rawTar(t, okManifest, tar.Header{Name: "/tmp/evil", Typeflag: tar.TypeReg}),
		"state//abs":             rawTar(t, okManifest, tar.Header{Name: "state//tmp/evil", Typeflag: tar.TypeReg}),
		"symlink":                rawTar(t, okManifest, tar.Header{Name: "state/link", Linkname: "/etc", Typeflag: tar.TypeSymlink}),
		"hardlink":               rawTar(t, okManifest, tar.Header{Name: "state/hard", Linkname: "/etc/passwd", Typeflag: tar.TypeLink}),
		"unknown top-level":      rawTar(t, okManifest, tar.Header{Name: "other/file", Typeflag: tar.TypeReg}),
		"no manifest":            rawTar(t, "", tar.Header{Name: "state/file", Typeflag: tar.TypeReg}),
		"future format":          rawTar(t, `{"format":99}`),
		"duplicate file":         rawTar(t, okManifest, tar.Header{Name: "state/f", Typeflag: tar.TypeReg}, tar.Header{Name: "state/f", Typeflag: tar.TypeReg}),
		"backslash traversal":    rawTar(t, okManifest, tar.Header{Name: `state/..\..\evil`, Typeflag: tar.TypeReg}),
		"not a tar":              []byte("garbage garbage garbage"),
		"manifest is not json":   rawTar(t, "{nope"),
		"device":                 rawTar(t, okManifest, tar.Header{Name: "state/dev", Typeflag: tar.TypeChar}),
		"fifo":                   rawTar(t, okManifest, tar.Header{Name: "state/fifo", Typeflag: tar.TypeFifo}),
		"traversal in dir entry": rawTar(t, okManifest, tar.Header{Name: "state/../x/", Typeflag: tar.TypeDir}),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "restore")
			if err := os.Mkdir(dst, 0o700); err != nil {
				t.Fatal(err)
			}
			_, err := unpackSnapshot(bytes.NewReader(data), dst)
			if err == nil {
				t.Fatal("accepted")
			}
			if name != "duplicate file" && !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("want ErrBadSnapshot, got %v", err)
			}
			// Nothing was written next to the restore folder.
			entries, _ := os.ReadDir(parent)
			if len(entries) != 1 {
				t.Fatalf("files escaped: %v", entries)
			}
		})
	}
}

func TestSnapshotTime(t *testing.T) {
	if got := snapshotTime("3-120-1700000000123"); !got.Equal(time.UnixMilli(1700000000123)) {
		t.Fatal(got)
	}
	if !snapshotTime("garbage").IsZero() || !snapshotTime("1-2-x").IsZero() {
		t.Fatal("want zero time for unknown ids")
	}
}
