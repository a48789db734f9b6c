package tui

// This file is where the workbench meets packages written alongside it.
//
// client: the Request pane talks to the flow through the Sender interface;
// NewSender (sender.go) adapts package client to it.
//
// scaffold: the New executor pane embeds the `jig new` wizard through the
// Wizard interface. Once scaffold.NewForm(*scaffold.Options) *huh.Form and
// scaffold.Generate(scaffold.Options) (scaffold.Result, error) exist:
//
//	type scaffoldWizard struct{ opts scaffold.Options }
//	func (w *scaffoldWizard) Form() *huh.Form {
//		w.opts = scaffold.Options{} // a fresh run
//		return scaffold.NewForm(&w.opts)
//	}
//	func (w *scaffoldWizard) Generate(ctx context.Context) (newexec.Result, error) {
//		r, err := scaffold.Generate(w.opts)
//		// map r to newexec.Result{Name, Uses, Dir, Files}
//	}
//	func NewWizard() Wizard { return &scaffoldWizard{} }

// NewWizard returns the scaffold wizard for the New executor pane, or nil
// while the scaffold package is not available (the pane then points the
// user at `jig new`).
func NewWizard() Wizard { return nil }
