package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
)

// buildUpdates returns the build updates among evs.
func buildUpdates(evs []events.Event) []events.Update {
	var out []events.Update
	for _, e := range evs {
		if u, ok := e.(events.Update); ok && u.Kind == events.Build {
			out = append(out, u)
		}
	}
	return out
}

func logsWith(evs []events.Event, msg string) []events.Log {
	var out []events.Log
	for _, e := range evs {
		if l, ok := e.(events.Log); ok && l.Message == msg {
			out = append(out, l)
		}
	}
	return out
}

// drainNow returns what a subscription holds without waiting.
func drainNow(s *events.Subscription) []events.Event {
	var out []events.Event
	for {
		select {
		case e, ok := <-s.C:
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
}

// Several deployments of one Go executor folder build it once; a second
// start with unchanged sources runs no build at all; the start-up is
// seen on a bus the caller subscribed to before Start.
func TestOneBuildPerFolderThenCached(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an executor")
	}
	dir, _ := filepath.Abs("testdata")
	yml := `
jtype: Flow
executors:
  - {name: a, uses: upper}
  - {name: b, uses: upper, replicas: 2}
  - {name: c, uses: upper}
  - {name: d, uses: builtin:Echo}
`
	builder := &build.Builder{CacheDir: t.TempDir()}
	start := func() ([]events.Event, *engine.Engine) {
		t.Helper()
		f, err := flow.Parse("test.yml", dir, []byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		bus := events.NewBus(5000)
		sub := bus.Subscribe(5000)
		eng, err := engine.Start(context.Background(), f, engine.Options{Builder: builder, Bus: bus})
		if err != nil {
			t.Fatal(err)
		}
		// Everything of the start-up reached the early subscriber by now.
		evs := drainNow(sub)
		sub.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := eng.Stop(ctx); err != nil {
			t.Error(err)
		}
		return evs, eng
	}

	evs, eng := start()
	if eng.Bus() == nil {
		t.Fatal("no bus")
	}
	ups := buildUpdates(evs)
	if len(ups) != 2 || ups[0].Outcome != events.Started || ups[1].Outcome != events.Succeeded {
		t.Fatalf("want one build (started, succeeded) for three deployments, got %+v", ups)
	}
	for _, name := range []string{"a", "b", "c"} {
		if !strings.Contains(ups[1].Deployment, name) {
			t.Fatalf("the build names deployments %q, missing %s", ups[1].Deployment, name)
		}
	}
	if n := len(logsWith(evs, "built executor")); n != 1 {
		t.Fatalf("%d 'built executor' lines", n)
	}
	if n := len(logsWith(evs, "deployment ready")); n != 4 {
		t.Fatalf("%d deployments reported ready, want 4", n)
	}

	evs, _ = start()
	if ups := buildUpdates(evs); len(ups) != 0 {
		t.Fatalf("unchanged sources built again: %+v", ups)
	}
	if n := len(logsWith(evs, "executor binary up to date, not rebuilt")); n != 1 {
		t.Fatalf("%d cache-hit lines, want 1", n)
	}
}
