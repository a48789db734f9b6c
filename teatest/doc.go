// Package teatest holds the workbench's end-to-end tests: the real root
// model runs in a Bubble Tea program (charmbracelet/x/exp/teatest) against
// a fake engine, driven by key presses and resizes, and its frames are
// compared with golden files in testdata/ (update them with
// `go test ./teatest/ -update`).
//
// The tests force the ASCII colour profile and a fixed clock, so the
// goldens are plain, stable text.
package teatest
