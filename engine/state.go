package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors"
)

// StateDir is where a flow keeps the state of deployments that set no
// workspace (executor workspaces, RAFT logs and snapshots):
// <cache>/jig/flows/<name>-<key>, where key hashes the flow file's absolute
// path (its folder when built in code) and its name. Two flows, or two
// checkouts of one flow, never share state by accident; the same flow file
// finds its state again at every start.
func StateDir(f *flow.Flow) string {
	// Load gives the path as typed and its absolute folder; Parse a label
	// and the folder relative paths start at.
	where := f.File
	switch {
	case filepath.IsAbs(where):
	case f.Dir != "" && where != "":
		where = filepath.Join(f.Dir, filepath.Base(where))
	case f.Dir != "":
		where = f.Dir
	}
	if abs, err := filepath.Abs(where); err == nil {
		where = abs
	}
	sum := sha256.Sum256([]byte(where + "\x00" + f.Name))
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == filepath.Separator || r < ' ' {
			return '_'
		}
		return r
	}, f.Name)
	return filepath.Join(executors.DefaultWorkspaceBase(), "flows", name+"-"+hex.EncodeToString(sum[:6]))
}

// workspace is the deployment's base workspace: its own, or the flow's
// state folder.
func (d *deployment) workspace() string {
	if d.cfg.Workspace != "" {
		return d.cfg.Workspace
	}
	return d.e.stateDir
}

// logState says where the flow's state lives: the default folder when a
// deployment uses it, and each stateful deployment's RAFT folder.
func (e *Engine) logState(f *flow.Flow) {
	usesDefault := false
	for _, d := range f.Deployments {
		if d.External {
			continue
		}
		ws := d.Workspace
		if ws == "" {
			usesDefault, ws = true, e.stateDir
		}
		if d.Stateful {
			e.logger.Info("RAFT state", "deployment", d.Name, "dir", filepath.Join(ws, d.Name, "raft"))
		}
	}
	if usesDefault {
		e.logger.Info("flow state lives in "+e.stateDir, "flow", f.Name, "dir", e.stateDir)
	}
}
