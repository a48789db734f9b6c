package tui

import (
	"time"

	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/themes"
	"github.com/jig-dev/jig/tui/panes/newexec"
	"github.com/jig-dev/jig/tui/panes/request"
	"github.com/jig-dev/jig/tui/prefs"
)

// Sender sends requests for the Request pane (see request.Sender).
type Sender = request.Sender

// Wizard is the scaffold wizard the New executor pane embeds (see
// newexec.Wizard).
type Wizard = newexec.Wizard

// Options configure the workbench. The zero value is usable.
type Options struct {
	// Store remembers the theme and the request history between runs
	// (prefs.Default(): the XDG folders); nil remembers nothing.
	Store *prefs.Store
	// NoMouse leaves mouse reporting off (Run), for terminals where
	// shift+drag does not select text while an application reads the
	// mouse.
	NoMouse bool
	// Sender sends the Request pane's requests; nil uses NewSender() (the
	// jig client), or NewTracingSender when Traces is set.
	Sender Sender
	// Traces, when set, is the engine's span recorder
	// (engine.Options.Traces): requests sent from the Request pane carry
	// a trace id and show their spans as the timing waterfall.
	Traces *tracing.Recorder
	// TraceURL is the Jaeger UI's trace address to which a trace id is
	// appended ("" when spans are not exported).
	TraceURL string
	// Wizard is the `jig new` wizard; nil uses NewWizard() (the scaffold
	// package), and when that is unavailable the pane says so.
	Wizard Wizard
	// Themes to cycle through with t; nil loads the built-in and user
	// themes (themes.Load), whose problems are shown in the Logs pane.
	Themes []themes.Theme
	// ThemeErrors are problems found while loading Themes, shown at start.
	ThemeErrors []error
	// Theme is the name of the initial theme ("" for the first).
	Theme string
	// NoColor disables colour. NO_COLOR in the environment does too.
	NoColor bool
	// Now is the clock (tests fix it); nil means time.Now.
	Now func() time.Time
	// StatusInterval is how often the engine status is polled (500 ms).
	StatusInterval time.Duration
	// BatchInterval is how often engine events are delivered (50 ms).
	BatchInterval time.Duration
	// LogCapacity is the size of the log ring (10 000 lines).
	LogCapacity int
	// MinWidth and MinHeight are the smallest usable terminal (80×20).
	MinWidth, MinHeight int
	// Clipboard copies text (OSC 52 by default); nil keeps the default,
	// tests pass a fake.
	Clipboard func(string) error
	// StopTimeout bounds eng.Stop when quitting (10 s).
	StopTimeout time.Duration
	// InitialPane is the pane shown first (0: Deployments).
	InitialPane int
}

func (o *Options) defaults() {
	if o.StatusInterval <= 0 {
		o.StatusInterval = 500 * time.Millisecond
	}
	if o.BatchInterval <= 0 {
		o.BatchInterval = 50 * time.Millisecond
	}
	if o.LogCapacity <= 0 {
		o.LogCapacity = 10000
	}
	if o.MinWidth <= 0 {
		o.MinWidth = 80
	}
	if o.MinHeight <= 0 {
		o.MinHeight = 20
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Themes == nil {
		o.Themes, o.ThemeErrors = themes.Load()
	}
	if len(o.Themes) == 0 {
		o.Themes = themes.Builtin()
	}
	if themes.NoColor() {
		o.NoColor = true
	}
}
