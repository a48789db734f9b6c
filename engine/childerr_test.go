package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// TestChildConfigErrorLocated runs a real Go executor (testdata/upper) as
// a child process with a bad override and checks the engine's error names
// the flow file's line, column and field, like a built-in's, not the flag
// text the engine passed the child (--uses-with:1:11).
func TestChildConfigErrorLocated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an executor")
	}
	dir, _ := filepath.Abs("testdata")
	for _, tc := range []struct{ name, yml, want string }{
		{"uses_with", `
jtype: Flow
executors:
  - name: up
    uses: upper
    uses_with: {prefix: [1, 2]}
`, "up/rep-0: test.yml:6:25: executors[0].uses_with.prefix: want a string, got a list"},
		{"inline with", `
jtype: Flow
executors:
  - name: up
    uses:
      jtype: Upper
      source: upper
      with:
        prefix: [1]
`, "up/rep-0: test.yml:9:17: executors[0].uses.with.prefix: want a string, got a list"},
		{"uses_requests", `
jtype: Flow
executors:
  - name: up
    uses: upper
    uses_requests:
      /x: NoSuch
`, `up/rep-0: test.yml:7:11: executors[0].uses_requests./x: endpoint /x names method "NoSuch", which is not a handler (handlers: PID, Sleep, Upper)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := flow.Parse("test.yml", dir, []byte(tc.yml))
			if err != nil {
				t.Fatal(err)
			}
			bus := events.NewBus(1000)
			eng, err := engine.Start(context.Background(), f, engine.Options{Bus: bus})
			if err == nil {
				eng.Stop(context.Background())
				t.Fatal("started")
			}
			if !errors.Is(err, yamlutil.ErrBadInput) {
				t.Errorf("not bad input (exit code 2): %v", err)
			}
			if got := err.Error(); got != "deployment up failed to start: "+tc.want {
				t.Errorf("got  %s\nwant deployment up failed to start: %s", got, tc.want)
			}
			// The child's own "error:" log line is located the same way.
			var logged bool
			for _, e := range bus.Recent() {
				if l, ok := e.(events.Log); ok && l.Source == "up/rep-0" && l.Message == "error: "+strings.TrimPrefix(tc.want, "up/rep-0: ") {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no located error log line among %v", bus.Recent())
			}
		})
	}
}
