package tui

import (
	"context"

	"github.com/charmbracelet/huh"
	"github.com/jig-dev/jig/scaffold"
	"github.com/jig-dev/jig/tui/panes/newexec"
)

// This file is where the workbench meets packages written alongside it.
//
// client: the Request pane talks to the flow through the Sender interface;
// NewSender (sender.go) adapts package client to it.
//
// scaffold: the New executor pane embeds the `jig new` wizard through the
// Wizard interface; NewWizard adapts package scaffold to it.

// NewWizard returns the scaffold wizard for the New executor pane: the
// same form as `jig new`, generating into a folder relative to the working
// directory, against the jig checkout `jig new` would find.
func NewWizard() Wizard { return &scaffoldWizard{w: scaffold.NewWizard(scaffold.Options{})} }

// scaffoldWizard adapts scaffold.Wizard to newexec.Wizard.
type scaffoldWizard struct{ w *scaffold.Wizard }

// Form implements newexec.Wizard: a fresh form for each run.
func (s *scaffoldWizard) Form() *huh.Form { return s.w.Form() }

// Generate implements newexec.Wizard. The deployment name is the folder's
// kebab-case name, as `jig serve FOLDER` would call it, and `uses:` is the
// absolute folder, so it resolves whatever the flow's own folder is.
func (s *scaffoldWizard) Generate(ctx context.Context) (newexec.Result, error) {
	o, err := s.w.Options()
	if err != nil {
		return newexec.Result{}, err
	}
	res, err := scaffold.Generate(ctx, o)
	if err != nil {
		return newexec.Result{}, err
	}
	return newexec.Result{Name: res.Deployment, Uses: res.Dir, Dir: res.Dir, Files: res.Files, Warnings: res.Warnings}, nil
}
