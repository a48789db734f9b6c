package teatest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/tui"
	"github.com/jig-dev/jig/tui/panes/request"
	"github.com/jig-dev/jig/tui/prefs"
	"github.com/jig-dev/jig/tui/tuitest"
)

// sizes are the two terminal sizes of the visual tests: the smallest
// usual one and a large one.
var sizes = [][2]int{{80, 24}, {160, 48}}

// eachSize runs f as a subtest per size, named "80x24" and "160x48".
func eachSize(t *testing.T, f func(t *testing.T, w, h int)) {
	for _, s := range sizes {
		t.Run(fmt.Sprintf("%dx%d", s[0], s[1]), func(t *testing.T) { f(t, s[0], s[1]) })
	}
}

// TestCopyMillionGenerated copies a request of 1,000,000 generated
// documents: the dialog offers `jig post --n 1000000`, does not inline
// the documents, and fits the screen.
func TestCopyMillionGenerated(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		a.keys("5")
		a.waitFor(t, "fields: price")
		a.keys("j", "j", "l", "j", "enter", "ctrl+u")
		a.typeText("1000000")
		a.keys("esc", "c")
		a.waitFor(t, "too many to inline")
		a.keys("ctrl+c")
		m := a.final(t)
		if got := m.Request().CopyText(); !contains(got, "--n 1000000") {
			t.Errorf("copy text %q", got)
		}
		golden(t, m)
	})
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// searchAnswer makes the fake sender answer like a search flow: each
// document gets three scored matches with 128-dimensional embeddings.
func searchAnswer(req request.Request, resp *request.Response) {
	for i, d := range resp.Docs {
		d.ID = fmt.Sprintf("query-%d", i)
		d.Embedding = docarray.NewFloat32(make([]float32, 64))
		for i := range 3 {
			mt := &docarray.Document{ID: fmt.Sprintf("match-%d-%s", i, strings.ToLower(d.Text[:5])), Text: fmt.Sprintf("indexed text number %d", i),
				Embedding: docarray.NewFloat32(make([]float32, 128))}
			mt.SetScore("cosine", 0.9-float64(i)/7)
			d.Matches = append(d.Matches, mt)
		}
	}
}

// TestResultsTable sends a search and shows its matches as a table.
func TestResultsTable(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		a.sender.Respond = searchAnswer
		a.keys("5")
		a.waitFor(t, "fields: price")
		a.keys("ctrl+s")
		a.waitFor(t, "indexed text number 2")
		golden(t, a.quit(t))
	})
}

// TestResultDocument opens one match's JSON: the embedding is collapsed
// to its dtype and shape.
func TestResultDocument(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		a.sender.Respond = searchAnswer
		a.keys("5")
		a.waitFor(t, "fields: price")
		a.keys("ctrl+s")
		a.waitFor(t, "indexed text number 2")
		a.keys("j", "enter")
		a.waitFor(t, "float32 [128]")
		golden(t, a.quit(t))
	})
}

// TestAccessLog shows the gateway's access log among the logs, filtered
// with its matches highlighted, including the line that says how many
// requests the rate limit left out.
func TestAccessLog(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		bus := a.eng.Bus()
		for i, st := range []string{"ok", "ok", "error"} {
			bus.Publish(events.Access{
				Time: tuitest.T0.Add(time.Duration(100+i) * time.Second), Endpoint: "/search", RequestID: fmt.Sprintf("req-%d", i),
				Docs: 100, DocsOut: 100, Latency: time.Duration(12+i) * time.Millisecond, Status: st,
				Replicas: []string{"norm/rep-1", "index/shard-0/rep-0", "index/shard-1/rep-1"}, Skipped: 40 * i, Limit: 20,
			})
		}
		a.keys("3")
		a.waitForAny(t, "(+80 not logged, limit 20/s)")
		a.keys("/")
		a.typeText("search")
		a.keys("enter")
		a.waitFor(t, "filter \"search\"")
		golden(t, a.quit(t))
	})
}

// TestFailedBuildShown: a failed reload build shows the deployment as
// serving an old build, not as plain ready.
func TestFailedBuildShown(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		a.eng.Bus().Publish(events.Update{Time: tuitest.T0.Add(80 * time.Second), Kind: events.Build, Deployment: "norm",
			Outcome: events.Failure, Output: "./main.go:12:2: undefined: strngs"})
		a.waitForAny(t, "old build")
		golden(t, a.quit(t))
	})
}

// click is a left click at (x, y).
func click(x, y int) tea.MouseMsg {
	return tea.MouseMsg{X: x, Y: y, Button: tea.MouseButtonLeft, Action: tea.MouseActionRelease}
}

// TestNavigationModel: g and G go to the first and last row in
// Deployments and Events; a click on a tab opens its pane, a click on a
// row selects it and a second click opens it; the wheel moves the
// selection.
func TestNavigationModel(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		a.keys("G")
		a.waitFor(t, "› remote")
		a.keys("g")
		a.waitFor(t, "› norm")
		a.press(tea.MouseMsg{X: 5, Y: 6, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
		a.waitFor(t, "› index")
		a.press(click(3, 6)) // the encoder row (gateway, blank, header, norm, index, encoder)
		a.waitFor(t, "› encoder")
		a.press(click(3, 6))
		a.waitFor(t, "REPLICA")
		a.press(click(tabX(t, a, "4 Events")+1, 0))
		a.waitFor(t, "newest first")
		a.keys("G")
		a.waitFor(t, "› 15:04:08 leader")
		m := a.quit(t)
		if m.Active() != tui.PaneEvents {
			t.Errorf("active pane %d", m.Active())
		}
		golden(t, m)
	})
}

// tabX is the column of a tab's label in the last tab bar drawn.
func tabX(t *testing.T, a *app, label string) int {
	t.Helper()
	lines := strings.Split(ansi.Strip(a.all.String()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if j := strings.Index(lines[i], label); j >= 0 && strings.Contains(lines[i], "jig ") {
			l := lines[i][strings.Index(lines[i], "jig "):]
			return ansi.StringWidth(l[:strings.Index(l, label)])
		}
	}
	t.Fatalf("no tab bar with %q drawn", label)
	return 0
}

// TestQuitAsksWithUnsavedChanges: after adding an executor at runtime, q
// asks before quitting (the flow YAML does not have it); n stays, y quits.
func TestQuitAsksWithUnsavedChanges(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		a.keys("7", "enter")
		a.typeText("shouter")
		a.keys("enter")
		a.waitFor(t, "Add shouter to the running flow")
		a.keys("y")
		a.waitFor(t, "shouter runs in the flow")
		a.waitForAny(t, "shouter added to the flow") // the flow change reached the root
		a.keys("q")
		a.waitFor(t, "Quit and lose")
		if a.eng.Stops() != 0 {
			t.Fatal("q quit without asking")
		}
		a.keys("n")
		a.waitFor(t, "enter new executor")
		a.keys("q")
		a.waitFor(t, "Quit and lose")
		a.keys("ctrl+c")
		m := a.final(t)
		if got := m.Unsaved(); len(got) != 1 || got[0] != "executor shouter added" {
			t.Errorf("unsaved %v", got)
		}
		golden(t, m)
	})
}

// TestRemembered: the theme and the request history survive a restart
// of the workbench (prefs.Store in a temporary XDG folder).
func TestRemembered(t *testing.T) {
	dir := t.TempDir()
	store := &prefs.Store{ConfigDir: filepath.Join(dir, "config"), StateDir: filepath.Join(dir, "state")}
	withStore := func(o *tui.Options) { o.Store = store }

	a := start(t, 80, 24, withStore)
	a.keys("t")
	a.waitFor(t, "theme: light")
	a.keys("5")
	a.waitFor(t, "fields: price")
	a.keys("ctrl+s")
	a.waitFor(t, "HELLO WORLD")
	// The history is written by a command after the answer: wait for
	// the file rather than for the screen.
	waitfor.Value(t, "one saved request in the history file", 5*time.Second, func() (string, bool) {
		h, err := prefs.History[request.Saved](store)
		return fmt.Sprintf("%d entries (%v)", len(h), err), len(h) == 1
	})
	a.quit(t)

	b := start(t, 80, 24, withStore)
	b.keys("5", "]", "]")
	b.waitFor(t, "History (1)")
	m := b.quit(t)
	if m.Theme() != "light" {
		t.Errorf("theme %q after a restart", m.Theme())
	}
	if h := m.Request().History(); len(h) != 1 || h[0].Draft.Endpoint != "/search" {
		t.Errorf("history after a restart: %+v", h)
	}
	golden(t, m)
}

// TestHelpScrollsAndGroups: the Request help lists its keys per view
// (Compose, Response, History) and scrolls, where it does not fit, down
// to the global keys. (Quitting closes the overlay, so there is no
// golden frame; TestHelpAndPaletteFit in package tui checks the frame.)
func TestHelpScrollsAndGroups(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		a.keys("5")
		a.waitFor(t, "fields: price")
		a.keys("?")
		a.waitFor(t, "Request keys · Compose")
		a.keys("G")
		a.waitForAny(t, "Global keys")
		a.quit(t)
	})
}

// TestWriteBackOnQuit: after adding an executor, q shows the change to
// the flow YAML as a diff; y writes it, keeping the file's comments, and
// quits.
func TestWriteBackOnQuit(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		path := filepath.Join(t.TempDir(), "flow.yml")
		orig := "jtype: Flow\n# my flow\nexecutors:\n  - name: norm # first\n    uses: builtin:TextNormalizer\n"
		if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
			t.Fatal(err)
		}
		// The flow's file is known from the first status on.
		a := startWith(t, w, h, func(e *tuitest.Engine) {
			st := e.Status()
			st.File = path
			e.SetStatus(st)
		})
		a.keys("7", "enter")
		a.typeText("shouter")
		a.keys("enter")
		a.waitFor(t, "Add shouter to the running flow")
		a.keys("y")
		a.waitFor(t, "shouter runs in the flow")
		a.waitForAny(t, "shouter added to the flow") // the flow change reached the root
		a.keys("q")
		a.waitFor(t, "write and quit")
		a.waitForAny(t, "+   - name: shouter")
		a.keys("y")
		a.final(t)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"# my flow", "name: norm # first", "- name: shouter", "uses: executors/shouter", "reload: true"} {
			if !strings.Contains(string(got), want) {
				t.Errorf("written flow lacks %q:\n%s", want, got)
			}
		}
	})
}

// addShouter adds an executor to the running flow with the wizard: a
// runtime change the flow YAML does not have.
func addShouter(t *testing.T, a *app) {
	t.Helper()
	a.keys("7", "enter")
	a.typeText("shouter")
	a.keys("enter")
	a.waitFor(t, "Add shouter to the running flow")
	a.keys("y")
	a.waitFor(t, "shouter runs in the flow")
	a.waitForAny(t, "shouter added to the flow") // the flow change reached the root
}

// TestCtrlCAsksWithUnsavedChanges: with a runtime change, ctrl+c asks
// like q (it used to quit at once); a second ctrl+c quits without
// writing.
func TestCtrlCAsksWithUnsavedChanges(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		addShouter(t, a)
		a.keys("ctrl+c")
		a.waitFor(t, "Quit and lose")
		if a.eng.Stops() != 0 {
			t.Fatal("ctrl+c quit without asking")
		}
		a.keys("n") // stay; the next ctrl+c asks again
		a.waitFor(t, "enter new executor")
		a.keys("ctrl+c")
		a.waitFor(t, "Quit and lose")
		if a.eng.Stops() != 0 {
			t.Fatal("ctrl+c after n quit without asking")
		}
		a.keys("ctrl+c")
		m := a.final(t)
		if a.eng.Stops() != 1 {
			t.Errorf("engine stopped %d times", a.eng.Stops())
		}
		golden(t, m)
	})
}

// TestWriteCommand: the palette's "write flow" shows the diff and y
// writes the runtime changes into the flow YAML without quitting; q then
// quits without asking, as nothing is unsaved.
func TestWriteCommand(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		path := filepath.Join(t.TempDir(), "flow.yml")
		orig := "jtype: Flow\n# my flow\nexecutors:\n  - name: norm # first\n    uses: builtin:TextNormalizer\n"
		if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
			t.Fatal(err)
		}
		a := start(t, w, h, func(o *tui.Options) { o.StatusInterval = 10 * time.Millisecond })
		a.keys(":")
		a.typeText("write flow")
		a.keys("enter")
		a.waitFor(t, "nothing to write")
		st := a.eng.Status()
		st.File = path
		a.eng.SetStatus(st)
		addShouter(t, a)
		a.keys(":")
		a.typeText("write flow")
		a.keys("enter")
		a.waitFor(t, "not now")
		a.waitForAny(t, "+   - name: shouter")
		a.keys("y")
		a.waitFor(t, "wrote /")
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"# my flow", "name: norm # first", "- name: shouter"} {
			if !strings.Contains(string(got), want) {
				t.Errorf("written flow lacks %q:\n%s", want, got)
			}
		}
		if a.eng.Stops() != 0 {
			t.Fatal("write quit")
		}
		m := a.quit(t) // nothing unsaved: no question
		if len(m.Unsaved()) != 0 {
			t.Errorf("unsaved after write: %v", m.Unsaved())
		}
		golden(t, m)
	})
}

// TestRowClicks: a click selects the row under it in Consensus and in
// Request's History, as in Deployments and Events; in Logs a click on a
// line pauses the view and a click on its source shows only that
// source; g/G reach the first and last row of History.
func TestRowClicks(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		a.keys("2")
		a.waitFor(t, "› rep-0")
		a.press(click(3, 1+4)) // tab bar, legend, header, shard, rep-0, rep-1
		a.waitFor(t, "› rep-1")
		a.keys("3")
		a.waitFor(t, "following")
		a.press(click(len("15:04:05.000")+2, 1+1)) // the first line's source
		a.waitFor(t, "paused")
		a.waitFor(t, "source engine")
		a.keys("5")
		a.waitFor(t, "fields: price")
		a.keys("ctrl+s")
		a.waitFor(t, "HELLO WORLD")
		a.keys("[", "l", "ctrl+s")
		a.waitFor(t, "History (2)")
		a.keys("]")
		a.waitFor(t, "[History (2)]")
		a.keys("G")
		a.waitFor(t, "› 1")
		a.press(click(3, 1+2)) // tab bar, view bar, header, first row
		a.waitFor(t, "› 1")
		m := a.quit(t)
		if got := m.Request().HistoryCursor(); got != 0 {
			t.Errorf("click: history row %d selected, want 0", got)
		}
		golden(t, m)
	})
}

// TestEndpointEditNoPhantom: choosing an endpoint with h and editing it
// shows its name only (it showed "/indexh": the last letter of the
// completion matched for /search before).
func TestEndpointEditNoPhantom(t *testing.T) {
	eachSize(t, func(t *testing.T, w, h int) {
		a := start(t, w, h)
		a.keys("5")
		a.waitFor(t, "fields: price")
		a.keys("j", "h")
		a.waitFor(t, "‹ /index ›")
		a.keys("enter")
		a.waitFor(t, "✎")
		a.keys("ctrl+c") // q would be typed into the field
		m := a.final(t)
		if v := ansi.Strip(m.View()); strings.Contains(v, "/indexh") || !strings.Contains(v, "/index") {
			t.Errorf("editing /index shows:\n%s", v)
		}
		golden(t, m)
	})
}
