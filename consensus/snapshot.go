package consensus

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// A snapshot is a tar stream:
//
//	jig-snapshot.json   manifest: format version, executor type, peers
//	state/...           the folder Instance.Snapshot wrote, files and folders
//
// Bytes rather than a path, so raft can store it in its snapshot store and
// send it to a member on another host. Only regular files and folders are
// allowed; links would let a snapshot point outside the restore folder.
const (
	manifestName   = "jig-snapshot.json"
	stateDir       = "state"
	snapshotFormat = 1
)

// manifest describes a snapshot.
type manifest struct {
	Format   int       `json:"format"`
	Executor string    `json:"executor"`
	Created  time.Time `json:"created"`
	// Peers are the members announced through the log (AddVoter), so a
	// member restored from a snapshot still knows their worker addresses.
	Peers []Peer `json:"peers,omitempty"`
}

// packSnapshot writes the manifest and the files under dir as a tar stream.
func packSnapshot(w io.Writer, dir string, m manifest) error {
	tw := tar.NewWriter(w)
	mb, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(mb)), Typeflag: tar.TypeReg, ModTime: m.Created}); err != nil {
		return err
	}
	if _, err := tw.Write(mb); err != nil {
		return err
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := path.Join(stateDir, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Name: name + "/", Mode: 0o700, Typeflag: tar.TypeDir, ModTime: info.ModTime()})
		case info.Mode().IsRegular():
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: int64(info.Mode().Perm() | 0o600), Size: info.Size(), Typeflag: tar.TypeReg, ModTime: info.ModTime()}); err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			// Exactly Size bytes: a file growing under us would corrupt
			// the stream.
			if _, err := io.CopyN(tw, f, info.Size()); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			return nil
		}
		return fmt.Errorf("%s: only regular files and folders can be snapshotted, not %s", rel, info.Mode().Type())
	})
	if err != nil {
		return fmt.Errorf("pack snapshot: %w", err)
	}
	return tw.Close()
}

// unpackSnapshot extracts a tar stream written by packSnapshot: the state/
// entries into dir (which must exist and be empty), and returns the
// manifest. Entries that would land outside dir, links and unknown entries
// are rejected with ErrBadSnapshot.
func unpackSnapshot(r io.Reader, dir string) (manifest, error) {
	var m manifest
	seenManifest := false
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("%w: read: %w", ErrBadSnapshot, err)
		}
		if hdr.Name == manifestName {
			if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m); err != nil {
				return m, fmt.Errorf("%w: manifest: %w", ErrBadSnapshot, err)
			}
			if m.Format != snapshotFormat {
				return m, fmt.Errorf("%w: format %d, this jig reads format %d", ErrBadSnapshot, m.Format, snapshotFormat)
			}
			seenManifest = true
			continue
		}
		rel, ok := strings.CutPrefix(hdr.Name, stateDir+"/")
		if !ok {
			return m, fmt.Errorf("%w: unexpected entry %q", ErrBadSnapshot, hdr.Name)
		}
		rel = strings.TrimSuffix(rel, "/")
		if rel == "" {
			continue // the state folder itself
		}
		// filepath.IsLocal rejects "..", absolute paths, empty and
		// reserved names; the check is on the name as written, before
		// any cleaning could hide a traversal.
		local := filepath.FromSlash(rel)
		if !filepath.IsLocal(local) || strings.Contains(rel, "\\") {
			return m, fmt.Errorf("%w: entry %q escapes the snapshot folder", ErrBadSnapshot, hdr.Name)
		}
		target := filepath.Join(dir, local)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o700); err != nil {
				return m, fmt.Errorf("unpack snapshot: %w", err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return m, fmt.Errorf("unpack snapshot: %w", err)
			}
			if err := writeFile(target, tr, os.FileMode(hdr.Mode).Perm()|0o600); err != nil {
				return m, fmt.Errorf("unpack snapshot: %s: %w", rel, err)
			}
		default:
			return m, fmt.Errorf("%w: entry %q: only regular files and folders are allowed (type %q)", ErrBadSnapshot, hdr.Name, hdr.Typeflag)
		}
	}
	if !seenManifest {
		return m, fmt.Errorf("%w: no %s (not a jig snapshot)", ErrBadSnapshot, manifestName)
	}
	return m, nil
}

func writeFile(name string, r io.Reader, perm os.FileMode) error {
	// O_EXCL: the folder is fresh, so an existing file means a duplicate
	// entry, which a well-formed snapshot never has.
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fsmSnapshot is a captured executor state waiting to be persisted: the
// folder Instance.Snapshot wrote while applies were paused. Persist runs
// concurrently with later applies, which is safe because the folder is no
// longer the executor's.
type fsmSnapshot struct {
	dir      string
	manifest manifest
	logger   *slog.Logger
	// persisted is called with the snapshot ID once it is stored.
	persisted func(id string)
}

var _ raft.FSMSnapshot = (*fsmSnapshot)(nil)

// Persist writes the snapshot to the sink as a tar stream.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	bw := bufio.NewWriterSize(sink, 1<<20)
	err := packSnapshot(bw, s.dir, s.manifest)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if cerr := sink.Cancel(); cerr != nil {
			s.logger.Warn("cancel snapshot sink failed", "id", sink.ID(), "err", cerr)
		}
		return fmt.Errorf("persist snapshot %s: %w", sink.ID(), err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("close snapshot %s: %w", sink.ID(), err)
	}
	if s.persisted != nil {
		s.persisted(sink.ID())
	}
	return nil
}

// Release deletes the captured folder.
func (s *fsmSnapshot) Release() {
	if err := os.RemoveAll(s.dir); err != nil {
		s.logger.Warn("remove snapshot folder failed", "dir", s.dir, "err", err)
	}
}

// snapshotTime extracts the creation time from a raft snapshot ID
// (term-index-unixmillis, as raft's stores name them); zero if unknown.
func snapshotTime(id string) time.Time {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return time.Time{}
	}
	var ms int64
	if _, err := fmt.Sscan(id[i+1:], &ms); err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
