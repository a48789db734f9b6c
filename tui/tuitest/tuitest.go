// Package tuitest holds fakes and fixtures for testing the workbench: an
// in-memory Engine that records the actions it is asked for, a Sender and
// a Wizard, and a fixed flow status and event history so that golden
// files are stable.
package tuitest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/huh"
	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/status"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/tui/panes/newexec"
	"github.com/jig-dev/jig/tui/panes/request"
)

// T0 is the fixtures' reference time; Now is the fixed "now" of tests.
var (
	T0  = time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	Now = T0.Add(90 * time.Second)
)

// Clock returns the fixed clock of tests.
func Clock() time.Time { return Now }

// Engine is a fake tui.Engine. It is safe for concurrent use: actions run
// in commands on other goroutines.
type Engine struct {
	mu     sync.Mutex
	status engine.Status
	bus    *events.Bus
	calls  []string
	stops  int

	// UsesWithErr, when set, decides UpdateUsesWith's error.
	UsesWithErr func(name, text string) error
	// ActionErr, when set, is returned by every other action.
	ActionErr error
	// StopDelay makes Stop take this long.
	StopDelay time.Duration
}

// NewEngine returns a fake engine with the given status and an event bus
// remembering history events.
func NewEngine(st engine.Status, history int) *Engine {
	return &Engine{status: st, bus: events.NewBus(history)}
}

// SetStatus replaces the status.
func (e *Engine) SetStatus(st engine.Status) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status = st
}

// Status implements tui.Engine.
func (e *Engine) Status() engine.Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status
}

// Bus implements tui.Engine.
func (e *Engine) Bus() *events.Bus { return e.bus }

func (e *Engine) record(format string, args ...any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, fmt.Sprintf(format, args...))
	return e.ActionErr
}

// Calls returns the actions asked for so far, e.g. "restart index".
func (e *Engine) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

// Stops returns how many times Stop was called.
func (e *Engine) Stops() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stops
}

// RestartDeployment implements tui.Engine.
func (e *Engine) RestartDeployment(ctx context.Context, name string) error {
	return e.record("restart %s", name)
}

// UpdateUsesWith implements tui.Engine.
func (e *Engine) UpdateUsesWith(ctx context.Context, name, text string) error {
	e.record("uses_with %s %q", name, text)
	if e.UsesWithErr != nil {
		return e.UsesWithErr(name, text)
	}
	return nil
}

// KillReplica implements tui.Engine.
func (e *Engine) KillReplica(ctx context.Context, name string, shard, replica int) error {
	return e.record("kill %s %d %d", name, shard, replica)
}

// RestartReplica implements tui.Engine.
func (e *Engine) RestartReplica(ctx context.Context, name string, shard, replica int) error {
	return e.record("restart-replica %s %d %d", name, shard, replica)
}

// RaftSnapshot implements tui.Engine.
func (e *Engine) RaftSnapshot(ctx context.Context, name string, shard, replica int) error {
	return e.record("snapshot %s %d %d", name, shard, replica)
}

// TransferLeadership implements tui.Engine.
func (e *Engine) TransferLeadership(ctx context.Context, name string, shard int) error {
	return e.record("transfer %s %d", name, shard)
}

// AddExecutor implements tui.Engine.
func (e *Engine) AddExecutor(ctx context.Context, name, uses string, reload bool) error {
	return e.record("add %s %s reload=%v", name, uses, reload)
}

// Stop implements tui.Engine.
func (e *Engine) Stop(ctx context.Context) error {
	if e.StopDelay > 0 {
		select {
		case <-time.After(e.StopDelay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.mu.Lock()
	e.stops++
	e.mu.Unlock()
	return nil
}

// Status returns a fixed flow status: a normaliser with two in-process
// replicas, a stateful indexer (1 shard × 3 replicas, RAFT), an encoder
// built from source with reload on (degraded: one replica failing), and
// an external executor.
func Status() engine.Status {
	hist := func(base float64) []float64 {
		out := make([]float64, 60)
		for i := range out {
			out[i] = base + float64((i*7)%11)
		}
		return out
	}
	raft := func(state status.Role, last, commit, applied uint64, contact time.Duration) *engine.RaftStatus {
		return &engine.RaftStatus{State: state, Term: 3, Leader: "rep-0", LastIndex: last, CommitIndex: commit, AppliedIndex: applied,
			LastContact: contact, LastSnapshotIndex: 100, LastSnapshotTerm: 2, LastSnapshot: T0.Add(30 * time.Second), Peers: 3}
	}
	return engine.Status{
		Flow: "quickstart", File: "flow.yml",
		Addresses: engine.Addresses{GRPC: "127.0.0.1:12345", HTTP: "127.0.0.1:12346", Metrics: "http://127.0.0.1:9090/metrics"},
		Started:   T0,
		Gateway:   engine.Stats{Requests: 1234, Errors: 3, Rate: 42.5, P50: 1200 * time.Microsecond, P99: 9 * time.Millisecond, RateHistory: hist(30)},
		Deployments: []engine.DeploymentStatus{
			{
				Name: "norm", Uses: "builtin:TextNormalizer", Replicas: 2, Shards: 1, Ready: 2, State: events.Ready, InProcess: true,
				Endpoints: []string{"/default", "/normalize"}, UsesWith: "lowercase: true\n",
				Stats: engine.Stats{Requests: 1200, Rate: 40, P50: 300 * time.Microsecond, P99: 2 * time.Millisecond, RateHistory: hist(20)},
				ReplicaStatus: []engine.ReplicaStatus{
					{Name: "rep-0", Replica: 0, State: events.Ready, Since: T0},
					{Name: "rep-1", Replica: 1, State: events.Ready, Since: T0},
				},
			},
			{
				Name: "index", Uses: "examples/indexer/config.yml", Replicas: 3, Shards: 1, Ready: 3, State: events.Ready, Stateful: true,
				Endpoints: []string{"/index", "/search"}, WriteEndpoints: []string{"/index"}, UsesWith: "dim: 128\nmetric: cosine\n",
				Stats: engine.Stats{Requests: 800, Errors: 1, Rate: 12.25, P50: 2 * time.Millisecond, P99: 15 * time.Millisecond, RateHistory: hist(5)},
				ReplicaStatus: []engine.ReplicaStatus{
					{Name: "rep-0", Replica: 0, Address: "127.0.0.1:50001", Port: 50001, PID: 4242, State: events.Ready, Since: T0, Raft: raft("Leader", 120, 118, 117, 0)},
					{Name: "rep-1", Replica: 1, Address: "127.0.0.1:50002", Port: 50002, PID: 4243, State: events.Ready, Since: T0, Raft: raft("Follower", 119, 118, 110, 12*time.Millisecond)},
					{Name: "rep-2", Replica: 2, Address: "127.0.0.1:50003", Port: 50003, PID: 4244, State: events.Ready, Restarts: 1, Since: T0.Add(60 * time.Second), Raft: raft("Follower", 60, 60, 60, 40*time.Millisecond)},
				},
			},
			{
				Name: "encoder", Uses: "examples/encoder", Replicas: 2, Shards: 1, Ready: 1, State: events.Degraded, Reload: true,
				Endpoints: []string{"/encode"}, UsesWith: "model: tiny\n",
				Stats: engine.Stats{Requests: 300, Errors: 2, Rate: 3.5, P50: 8 * time.Millisecond, P99: 40 * time.Millisecond, RateHistory: hist(1)},
				ReplicaStatus: []engine.ReplicaStatus{
					{Name: "rep-0", Replica: 0, Address: "127.0.0.1:50011", Port: 50011, PID: 5001, State: events.Ready, Since: T0},
					{Name: "rep-1", Replica: 1, Address: "127.0.0.1:50012", Port: 50012, PID: 0, State: events.Failed, Restarts: 4, Since: T0.Add(80 * time.Second),
						LastError: "exit status 2: panic: runtime error: index out of range [3] with length 3"},
				},
			},
			{
				Name: "remote", Uses: "127.0.0.1:5555", Replicas: 1, Shards: 1, Ready: 1, State: events.Ready, External: true,
				Endpoints: []string{"/search"},
				ReplicaStatus: []engine.ReplicaStatus{
					{Name: "rep-0", Address: "127.0.0.1:5555", Port: 5555, State: events.Ready, Since: T0},
				},
			},
		},
	}
}

// History returns a fixed event history: log lines from several sources
// (one carrying escape sequences that must not reach the terminal) and a
// build failure, a reload, a replica failure and a leader election.
func History() []events.Event {
	at := func(s int) time.Time { return T0.Add(time.Duration(s) * time.Second) }
	return []events.Event{
		events.Log{Time: at(0), Source: "engine", Level: slog.LevelInfo, Message: "flow quickstart starting", Attrs: []events.Attr{{Key: "deployments", Value: "4"}}},
		events.Log{Time: at(1), Source: "gateway", Level: slog.LevelInfo, Message: "grpc gateway listening", Attrs: []events.Attr{{Key: "addr", Value: "127.0.0.1:12345"}}},
		events.Log{Time: at(2), Source: "norm/rep-0", Level: slog.LevelDebug, Message: "normaliser ready"},
		events.Log{Time: at(3), Source: "index/rep-0", Level: slog.LevelInfo, Message: "raft: entering leader state", Attrs: []events.Attr{{Key: "term", Value: "3"}}},
		events.Leader{Time: at(3), Deployment: "index", Shard: 0, Replica: "rep-0", Term: 3},
		events.Log{Time: at(4), Source: "encoder/rep-1", Level: slog.LevelError, Message: "\x1b[31mpanic:\x1b[0m runtime error\x1b]52;c;aGVsbG8=\x07 index out of range"},
		events.ReplicaState{Time: at(4), Deployment: "encoder", Replica: "rep-1", State: events.Failed, Reason: "exit status 2"},
		events.Update{Time: at(10), Kind: events.Build, Deployment: "encoder", Trigger: []string{"examples/encoder/main.go"}, Outcome: events.Started},
		events.Update{Time: at(12), Kind: events.Build, Deployment: "encoder", Trigger: []string{"examples/encoder/main.go"}, Outcome: events.Failure,
			Duration: 1800 * time.Millisecond, Output: "# example.com/encoder\n./main.go:42:9: undefined: embedd\n./main.go:57:2: x declared and not used"},
		events.Log{Time: at(12), Source: "engine", Level: slog.LevelWarn, Message: "build failed; keeping the old replicas", Attrs: []events.Attr{{Key: "deployment", Value: "encoder"}}},
		events.Update{Time: at(20), Kind: events.Reload, Deployment: "norm", Trigger: []string{"config.yml"}, Outcome: events.Succeeded, Duration: 2100 * time.Millisecond},
		events.Log{Time: at(21), Source: "norm/rep-1", Level: slog.LevelInfo, Message: "reloaded", Attrs: []events.Attr{{Key: "took", Value: "2.1s"}}},
		events.Log{Time: at(22), Source: "gateway", Level: slog.LevelWarn, Message: "slow request", Attrs: []events.Attr{{Key: "endpoint", Value: "/search"}, {Key: "took", Value: "1.2s"}}},
	}
}

// NewFixtureEngine returns a fake engine with Status() and History()
// already published.
func NewFixtureEngine() *Engine {
	e := NewEngine(Status(), 1000)
	for _, ev := range History() {
		e.bus.Publish(ev)
	}
	return e
}

// Sender is a fake request.Sender: it upper-cases texts and reports fixed
// routes, or fails with the exception set in Fail.
type Sender struct {
	mu   sync.Mutex
	reqs []request.Request
	// Fail, when set, is reported as the executor error of every request.
	Fail *request.Exception
	// Err, when set, is returned as a transport error.
	Err error
	// EndpointList is what Endpoints returns.
	EndpointList []request.Endpoint
	// Respond, when set, may change each response before it is returned
	// (add matches and scores, say).
	Respond func(request.Request, *request.Response)
}

// Requests returns the requests sent so far.
func (s *Sender) Requests() []request.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request.Request(nil), s.reqs...)
}

// Endpoints implements request.Sender.
func (s *Sender) Endpoints(ctx context.Context, addr string) ([]request.Endpoint, error) {
	if s.EndpointList == nil {
		return nil, errors.New("discovery unavailable")
	}
	return s.EndpointList, nil
}

// Send implements request.Sender.
func (s *Sender) Send(ctx context.Context, addr string, req request.Request) (*request.Response, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	out := &request.Response{Requests: 1, Parameters: map[string]any{"__results__": map[string]any{"index": map[string]any{"count": float64(req.Count())}}}}
	// Like the real sender: documents are made as they are consumed, only
	// the first request.MaxKeptDocs answers are kept, and ctx stops it.
	for d := range req.All() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out.Returned++
		if len(out.Docs) < request.MaxKeptDocs {
			out.Docs = append(out.Docs, &docarray.Document{ID: d.ID, Text: strings.ToUpper(d.Text), Embedding: d.Embedding})
		}
		if req.Progress != nil && out.Returned%1000 == 0 {
			req.Progress(out.Returned, out.Returned)
		}
	}
	if s.Respond != nil {
		s.Respond(req, out)
	}
	out.Routes = []request.Route{
		{Executor: "gateway", Start: T0, End: T0.Add(10 * time.Millisecond)},
		{Executor: "norm", Start: T0.Add(1 * time.Millisecond), End: T0.Add(3 * time.Millisecond)},
		{Executor: "index", Start: T0.Add(3 * time.Millisecond), End: T0.Add(9 * time.Millisecond), Failed: s.Fail != nil},
	}
	out.Error = s.Fail
	return out, nil
}

// Wizard is a fake newexec.Wizard: a form asking for a name, and a
// generator that records what it would write.
type Wizard struct {
	name      string
	Generated []string
	Err       error
}

// Form implements newexec.Wizard.
func (w *Wizard) Form() *huh.Form {
	w.name = ""
	return huh.NewForm(huh.NewGroup(
		huh.NewInput().Key("name").Title("Executor name").Description("a Go identifier, used as the deployment name").Value(&w.name),
	))
}

// Generate implements newexec.Wizard.
func (w *Wizard) Generate(ctx context.Context) (newexec.Result, error) {
	if w.Err != nil {
		return newexec.Result{}, w.Err
	}
	w.Generated = append(w.Generated, w.name)
	return newexec.Result{
		Name: w.name, Uses: "executors/" + w.name, Dir: "executors/" + w.name,
		Files: []string{"main.go", "config.yml", "README.md", "executor_test.go"},
	}, nil
}
