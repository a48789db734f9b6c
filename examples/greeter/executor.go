// Command greeter is the custom Go executor example: a Greeter that greets
// documents, shouts at them one at a time, and remembers names (a write
// endpoint, replicated through RAFT when the deployment is stateful).
//
// It is a main package beside its config.yml, so a flow uses it with
// `uses: examples/greeter` and jig builds it with go build; `go run .`
// serves it as a bare worker. README.md walks through it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/workercmd"
)

// Greeter greets documents. Its exported fields are its options, filled
// from `with:` in config.yml and a flow's `uses_with:` by their yaml tag.
type Greeter struct {
	executors.Base

	// Greeting is put before each document's text.
	Greeting string `yaml:"greeting"`
	// Punctuation ends each greeting.
	Punctuation string `yaml:"punctuation"`

	// mu guards known. Write handlers already run alone, but Snapshot and
	// Restore are also called from outside the request path.
	mu    sync.RWMutex
	known map[string]int // name -> how often it was remembered
}

// newGreeter returns a Greeter with its defaults; config.yml and the flow's
// uses_with are applied on top.
func newGreeter() executors.Executor {
	return &Greeter{Greeting: "hello", Punctuation: "!"}
}

func main() { workercmd.Main(newGreeter) }

// Endpoints binds the handlers: Jina's @requests(on=...) and @write.
func (g *Greeter) Endpoints(r *executors.Router) {
	// executors.On, Default and Write are checked by the compiler: a
	// function of a shape the SDK cannot call does not build.
	executors.Default(r, g.Greet)               // @requests: every endpoint without its own handler
	executors.On(r, "/shout", g.Shout)          // one document at a time
	executors.On(r, "/names", g.Names)          // results beside the documents
	executors.Write(r, "/remember", g.Remember) // @write: through RAFT when stateful
}

// Init checks the options once they are applied, before any request: a
// bad config.yml or uses_with stops the executor with a clear message.
func (g *Greeter) Init(ctx context.Context) error {
	if strings.TrimSpace(g.Greeting) == "" {
		return fmt.Errorf("with.greeting: must not be empty: %w", executors.ErrBadInput)
	}
	g.known = map[string]int{}
	g.Logger.Info("greeter ready", "greeting", g.Greeting, "shard", g.Runtime.ShardID, "replica", g.Runtime.ReplicaID)
	return nil
}

// Greet works on the whole batch and changes it in place, so it returns
// only an error. The request parameter "greeting" overrides the option.
func (g *Greeter) Greet(ctx context.Context, docs docarray.DocList, p executors.Params) error {
	greeting := p.String("greeting", g.Greeting)
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, d := range docs {
		d.Text = g.greet(greeting, d.Text)
		d.SetTag("greeted_by", g.Runtime.Name)
	}
	return nil
}

// greet builds one greeting; names remembered before are welcomed back.
// The caller holds mu.
func (g *Greeter) greet(greeting, name string) string {
	if g.known[name] > 0 {
		return fmt.Sprintf("%s again, %s%s", greeting, name, g.Punctuation)
	}
	return fmt.Sprintf("%s %s%s", greeting, name, g.Punctuation)
}

// Shout is a single-document handler: the SDK calls it once per document
// of the batch. Returning a new document replaces the input; an error
// names the failing document and fails the request.
func (g *Greeter) Shout(ctx context.Context, d *docarray.Document, p executors.Params) (*docarray.Document, error) {
	if d.Text == "" {
		return nil, executors.Errorf("ValueError", "nothing to shout at")
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return &docarray.Document{ID: d.ID, Text: strings.ToUpper(g.greet(p.String("greeting", g.Greeting), d.Text))}, nil
}

// Names leaves the documents alone and returns results: the client gets
// them under parameters["__results__"][<deployment>] (`jig post` prints
// them on stderr).
func (g *Greeter) Names(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, executors.Results, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	names := []any{} // results are JSON values: []any, not []string
	for _, n := range slices.Sorted(maps.Keys(g.known)) {
		names = append(names, n)
	}
	return nil, executors.Results{"names": names}, nil
}

// Remember is a write endpoint: it records each document's text as a
// name. Writes run alone (never beside a read), and in a stateful
// deployment every replica applies them in the same order from the RAFT
// log; so a write depends only on the documents and the state.
func (g *Greeter) Remember(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, executors.Results, error) {
	for _, d := range docs {
		if d.Text == "" {
			return nil, nil, executors.Errorf("ValueError", "document %q has no name to remember", d.ID)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range docs {
		g.known[d.Text]++
	}
	return nil, executors.Results{"known": len(g.known)}, nil
}

// snapshotFile holds the known names in a snapshot folder.
const snapshotFile = "names.json"

// Snapshot writes the state into the empty folder dir (RAFT compacts its
// log with it, and new replicas catch up from it).
func (g *Greeter) Snapshot(dir string) error {
	g.mu.RLock()
	data, err := json.Marshal(g.known)
	g.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, snapshotFile), data, 0o600)
}

// Restore replaces the state with the snapshot in dir.
func (g *Greeter) Restore(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	known := map[string]int{}
	if err := json.Unmarshal(data, &known); err != nil {
		return fmt.Errorf("restore %s: %w", snapshotFile, err)
	}
	if known == nil {
		known = map[string]int{}
	}
	g.mu.Lock()
	g.known = known
	g.mu.Unlock()
	return nil
}
