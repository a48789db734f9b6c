// Package common holds what every workbench pane shares: the program
// context (sizes, theme, clock, latest engine snapshot), the Pane
// interface, the messages the root broadcasts, and small rendering helpers
// (sanitising, truncating, bars, sparklines, tables, overlays).
//
// Panes live in their own packages under tui/panes and import only this
// package and the engine types, so each can be tested without a program.
package common

import (
	"context"
	"time"

	"github.com/jig-dev/jig/engine/status"
	"github.com/jig-dev/jig/themes"
)

// Context is the state shared by the root model and every pane, passed by
// pointer (gh-dash's ProgramContext). The root owns it and is the only
// writer; panes read it during Update and View, which the Bubble Tea event
// loop runs on one goroutine, so it needs no lock.
type Context struct {
	// Base is cancelled when the workbench quits; engine actions and
	// requests started from panes derive their contexts from it.
	Base context.Context
	// Width and Height are the terminal size.
	Width, Height int
	// Styles are the active theme's styles; ThemeGen increases on every
	// theme change so panes can drop caches of styled text.
	Styles   *themes.Styles
	ThemeGen int
	// Now is the clock; tests fix it so goldens are stable.
	Now func() time.Time
	// Status is the latest engine snapshot.
	Status status.Flow
	// DefaultParams is the text (JSON or YAML) of the default request
	// parameters, edited in the Parameters pane and used by the Request pane.
	DefaultParams string
}

// NewContext returns a context with the given styles and clock (time.Now
// when nil).
func NewContext(st *themes.Styles, now func() time.Time) *Context {
	if now == nil {
		now = time.Now
	}
	return &Context{Base: context.Background(), Styles: st, Now: now}
}

// Deployment returns the latest status of the named deployment.
func (c *Context) Deployment(name string) (status.Deployment, bool) {
	for _, d := range c.Status.Deployments {
		if d.Name == name {
			return d, true
		}
	}
	return status.Deployment{}, false
}
