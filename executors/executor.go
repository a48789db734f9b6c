// Package executors is jig's Executor SDK: what an executor author imports.
//
// An Executor is a Go type that embeds Base and declares its endpoints, the
// Go shape of Jina's `@requests(on=...)` and `@write`:
//
//	type Greeter struct {
//		executors.Base
//		Greeting string `yaml:"greeting"` // filled from `with:` / uses_with
//	}
//
//	func (g *Greeter) Endpoints(r *executors.Router) {
//		executors.Default(r, g.Greet)          // @requests
//		executors.On(r, "/hello", g.Greet)     // @requests(on="/hello")
//		executors.Write(r, "/index", g.Index)  // @requests(on="/index") + @write
//	}
//
//	func (g *Greeter) Greet(ctx context.Context, docs docarray.DocList, p executors.Params) error {
//		for _, d := range docs {
//			d.Text = g.Greeting + " " + d.Text
//		}
//		return nil // the documents were changed in place
//	}
//
// On, Default and Write are checked by the compiler: a handler has one of
// the HandlerFunc shapes, as net/http's HandlerFunc has one, and a function
// of any other shape does not compile. (The Router's own On, Default and
// Write take any function and check its shape when the executor loads;
// they stay for older code.)
//
// Handlers may also return new documents and results, work on one
// Document at a time (the SDK loops over the batch and errors name the
// failing document), and on typed documents —
// Go structs whose fields map to document keys by `doc` tags, the shape of
// docarray's BaseDoc / DocList[T] (see package docarray):
//
//	type Query struct {
//		Text string `doc:"text,required"`
//	}
//	type Embedded struct {
//		Embedding []float32 `doc:"embedding"`
//	}
//	executors.On(r, "/embed", executors.Typed(e.Embed))    // func(ctx, []Query, Params) ([]Embedded, error)
//	executors.On(r, "/one", executors.TypedDoc(e.EmbedOne)) // func(ctx, Query, Params) (Embedded, error)
//
// The SDK converts and validates the documents, merges the results onto
// them (IDs and undeclared fields pass through) and publishes the types'
// JSON Schemas through endpoint discovery.
//
// `dynamic_batching:` in the executor YAML (or uses_dynamic_batching in a
// flow) merges concurrent requests for an endpoint into bigger batches;
// see Batcher.
//
// Optional hooks: Init (after the configuration is applied), Close (always
// called on shutdown), Snapshot/Restore (state of stateful executors).
//
// Register the type under its `jtype` name with Register; the engine and
// `jig executor` create instances with New from an executor YAML file
// (LoadConfig) and the overrides of a Flow.
package executors

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/jig-dev/jig/internal/safepath"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// Version is the version of jig this SDK belongs to.
var Version = "0.1.0-dev"

// Executor is implemented by every executor: a type that embeds Base and
// declares its endpoints.
type Executor interface {
	// Endpoints binds the executor's handlers to endpoints.
	Endpoints(r *Router)
	// base is promoted from the embedded Base; it makes embedding Base
	// mandatory, so that the engine can fill metas and runtime arguments.
	base() *Base
}

// Initializer is implemented by executors that need set-up after their
// configuration (`with:`, metas, runtime arguments) has been applied.
type Initializer interface {
	Init(ctx context.Context) error
}

// Closer is implemented by executors that hold resources. Close is always
// called once when the executor shuts down, also after a failed Init.
type Closer interface {
	Close() error
}

// Snapshotter is implemented by stateful executors. Snapshot writes the whole
// state into the empty directory dir; Restore replaces the state with the one
// in dir. Both run with write endpoints paused, so the state is consistent.
type Snapshotter interface {
	Snapshot(dir string) error
	Restore(dir string) error
}

// Metas are the static descriptions of an executor (YAML `metas:`,
// overridden by `uses_metas`).
type Metas struct {
	// Name defaults to the deployment name in a flow, else to the jtype
	// (Jina: the class name). It names the workspace folder.
	Name        string   `yaml:"name,omitempty" json:"name,omitempty"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	URL         string   `yaml:"url,omitempty" json:"url,omitempty"`
	Keywords    []string `yaml:"keywords,omitempty" json:"keywords,omitempty"`
	// Workspace is the base folder for the executor's files when the
	// deployment does not set one.
	Workspace string `yaml:"workspace,omitempty" json:"workspace,omitempty"`
}

// RuntimeArgs describe where an executor instance runs. The engine sets them;
// users never do.
type RuntimeArgs struct {
	// Name is the deployment name (e.g. "index"), used in logs, routes and
	// as the key of the executor's results.
	Name string `json:"name"`
	// Replicas and Shards are the deployment's sizes; ReplicaID and ShardID
	// identify this instance among them.
	Replicas  int `json:"replicas"`
	Shards    int `json:"shards"`
	ShardID   int `json:"shard_id"`
	ReplicaID int `json:"replica_id"`
	// Workspace is the deployment's base workspace folder (may be empty).
	Workspace string `json:"workspace"`
	// Port is the port of the worker serving this instance (0 in-process).
	Port int `json:"port"`
}

// Base is embedded by every executor. Its fields are filled before Init.
type Base struct {
	// Metas are the static descriptions of the executor.
	Metas Metas `yaml:"-" json:"-"`
	// Runtime says where this instance runs.
	Runtime RuntimeArgs `yaml:"-" json:"-"`
	// Logger writes to the engine's log stream, tagged with the executor.
	Logger *slog.Logger `yaml:"-" json:"-"`
	// Requests maps each endpoint the executor serves to the name of its
	// handler, after the config's `requests:` and uses_requests remaps
	// (Jina's self.requests). Filled before Init; treat it as read-only.
	Requests map[string]string `yaml:"-" json:"-"`

	wsOnce sync.Once
	wsPath string
	wsErr  error
}

//lint:ignore U1000 promoted to every executor type; it is what makes Executor require embedding Base
func (b *Base) base() *Base { return b }

// Workspace returns the executor's own folder, creating it (mode 0700) on
// first use: <base>/<metas.name>/<shard_id>, where <base> is the
// deployment's workspace, else metas.workspace, else $XDG_CACHE_HOME/jig.
func (b *Base) Workspace() (string, error) {
	b.wsOnce.Do(func() {
		base := workspaceBase(b.Runtime.Workspace, b.Metas.Workspace)
		b.wsPath = filepath.Join(base, b.Metas.Name, fmt.Sprint(b.Runtime.ShardID))
		if b.wsErr = safepath.CheckName(b.Metas.Name); b.wsErr == nil {
			b.wsErr = safepath.MkdirAll(base, b.wsPath, 0o700)
		}
		if b.wsErr != nil {
			b.wsErr = fmt.Errorf("create workspace: %w", b.wsErr)
		}
	})
	return b.wsPath, b.wsErr
}

// WorkspacePath computes an executor's workspace folder without creating it.
func WorkspacePath(deploymentWS, metasWS, name string, shardID int) string {
	return filepath.Join(workspaceBase(deploymentWS, metasWS), name, fmt.Sprint(shardID))
}

// workspaceBase is the folder an executor's workspace must stay inside:
// the deployment's workspace, else metas.workspace, else the default.
func workspaceBase(deploymentWS, metasWS string) string {
	base := deploymentWS
	if base == "" {
		base = metasWS
	}
	if base == "" {
		base = DefaultWorkspaceBase()
	}
	if abs, err := filepath.Abs(base); err == nil {
		base = abs
	}
	return base
}

// DefaultWorkspaceBase is $XDG_CACHE_HOME/jig, or ~/.cache/jig.
func DefaultWorkspaceBase() string {
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "jig")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "jig")
	}
	return filepath.Join(os.TempDir(), "jig-cache")
}

// Error is an executor error with a name, the Go counterpart of raising a
// named Python exception: the name and args reach the client in
// header.status.exception. Any other error is reported with name "Error".
type Error struct {
	Name string
	Args []string
	Err  error
}

// Errorf returns an *Error with the given name and a formatted message.
func Errorf(name, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Name: name, Args: []string{err.Error()}, Err: err}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Name + ": " + e.Err.Error()
	}
	if len(e.Args) > 0 {
		return e.Name + ": " + e.Args[0]
	}
	return e.Name
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrBadInput is matched (errors.Is) by errors caused by user input, such as
// configuration errors; CLIs exit with code 2 on them.
var ErrBadInput = yamlutil.ErrBadInput
