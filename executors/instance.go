package executors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/safepath"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Spec says how to create an executor instance: its YAML config plus the
// overrides a flow or the command line adds, and where it runs.
type Spec struct {
	// Config is the executor YAML (required).
	Config *Config
	// UsesWith, UsesMetas override the config's `with:` and `metas:`.
	UsesWith, UsesMetas *Override
	// UsesRequests replaces the config's `requests:` remap when set.
	UsesRequests map[string]string
	// UsesRequestsAt, when set, is where UsesRequests was written (its
	// Node is the mapping), so that a bad entry names its file and line.
	UsesRequestsAt *Override
	// UsesDynamicBatching overrides the config's `dynamic_batching:`.
	UsesDynamicBatching map[string]BatchConfig
	// Runtime describes where the instance runs.
	Runtime RuntimeArgs
	// Logger receives the executor's logs; nil discards them.
	Logger *slog.Logger
}

// Instance is a loaded executor ready to process requests. It is safe for
// concurrent use: read handlers run in parallel, write handlers one at a
// time and never alongside reads or snapshots.
type Instance struct {
	exec     Executor
	jtype    string
	name     string   // deployment name, the key of __results__ entries
	aliases  []string // further names parameters may be addressed to
	routes   *routes
	batching map[string]BatchConfig
	logger   *slog.Logger

	mu        sync.RWMutex // write handlers and snapshots hold it exclusively
	closeOnce sync.Once
	closeErr  error
}

// New creates an executor instance: it builds the registered type, applies
// `with:` then uses_with, metas and runtime arguments, resolves the endpoint
// remap and runs Init. If Init fails, Close is still called.
func New(ctx context.Context, spec Spec) (*Instance, error) {
	c := spec.Config
	if c == nil {
		return nil, errors.New("executors.New: no config")
	}
	factory, ok := lookup(c.JType)
	if !ok {
		return nil, &yamlutil.Error{File: c.File, Field: "jtype", Msg: fmt.Sprintf("unknown executor type %q (registered: %s)", c.JType, strings.Join(Registered(), ", "))}
	}
	exec := factory()
	if exec == nil || exec.base() == nil {
		return nil, fmt.Errorf("executor type %s: factory returned nil", c.JType)
	}
	if c.With.Kind != 0 {
		if err := yamlutil.Decode(c.File, &c.With, "with", exec); err != nil {
			return nil, err
		}
	}
	if o := spec.UsesWith; o != nil && o.Node != nil {
		if err := yamlutil.Decode(o.File, o.Node, o.Field, exec); err != nil {
			return nil, err
		}
	}
	b := exec.base()
	b.Metas = c.Metas
	if o := spec.UsesMetas; o != nil && o.Node != nil {
		if err := yamlutil.Decode(o.File, o.Node, o.Field, &b.Metas); err != nil {
			return nil, err
		}
		if n := yamlutil.Lookup(o.Node, "name"); n != nil {
			if err := safepath.CheckName(b.Metas.Name); err != nil {
				return nil, yamlutil.At(o.File, n, o.Field+".name", "%v", err)
			}
		}
	}
	if b.Metas.Name == "" {
		// In a flow the deployment's name, else the type's: metas.name
		// names the workspace folder, and two deployments of one type
		// (two SimpleIndexers) must not share theirs.
		b.Metas.Name = spec.Runtime.Name
		if b.Metas.Name == "" {
			b.Metas.Name = c.JType
		}
	}
	// metas.name names the workspace folder (<base>/<name>/<shard>).
	if err := safepath.CheckName(b.Metas.Name); err != nil {
		return nil, fmt.Errorf("executor name: %w", err)
	}
	b.Runtime = spec.Runtime
	if b.Runtime.Name == "" {
		b.Runtime.Name = b.Metas.Name
	}
	if b.Runtime.Shards < 1 {
		b.Runtime.Shards = 1
	}
	if b.Runtime.Replicas < 1 {
		b.Runtime.Replicas = 1
	}
	logger := spec.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b.Logger = logger

	r := newRouter()
	exec.Endpoints(r)
	remap := c.Requests
	if spec.UsesRequests != nil {
		remap = spec.UsesRequests
	}
	rt, err := r.resolve(remap)
	if err != nil {
		// A bad remap is the user's configuration: say where it is.
		if re, ok := errors.AsType[*remapError](err); ok {
			if spec.UsesRequests != nil {
				if o := spec.UsesRequestsAt; o != nil {
					return nil, yamlutil.At(o.File, yamlutil.Lookup(o.Node, re.endpoint), o.Field+"."+re.endpoint, "%s", re.Error())
				}
				return nil, &yamlutil.Error{Field: "uses_requests." + re.endpoint, Msg: re.Error()}
			}
			return nil, yamlutil.At(c.File, yamlutil.Lookup(yamlutil.Lookup(c.node, "requests"), re.endpoint), "requests."+re.endpoint, "%s", re.Error())
		}
		return nil, fmt.Errorf("executor %s: %w", c.JType, err)
	}
	b.Requests = make(map[string]string, len(rt.bindings))
	for ep, h := range rt.bindings {
		b.Requests[ep] = h.Name
	}
	batching := map[string]BatchConfig{}
	for ep, h := range rt.bindings {
		if h.Batching != nil {
			batching[ep] = *h.Batching
		}
	}
	maps.Copy(batching, c.DynamicBatching)
	maps.Copy(batching, spec.UsesDynamicBatching)
	if err := checkBatching(c, spec, rt); err != nil {
		return nil, err
	}

	inst := &Instance{
		exec:     exec,
		jtype:    c.JType,
		name:     resultsName(b.Runtime),
		aliases:  []string{b.Runtime.Name, b.Metas.Name},
		routes:   rt,
		batching: batching,
		logger:   logger,
	}
	if init, ok := exec.(Initializer); ok {
		if err := init.Init(ctx); err != nil {
			cerr := inst.Close()
			return nil, errors.Join(fmt.Errorf("init %s: %w", b.Runtime.Name, err), cerr)
		}
	}
	return inst, nil
}

// resultsName is the key of this instance's entry in __results__: the
// deployment name, with the shard when there are several, so that the
// results of all shards of a polling-ALL request are kept.
func resultsName(rt RuntimeArgs) string {
	if rt.Shards > 1 {
		return fmt.Sprintf("%s/shard-%d", rt.Name, rt.ShardID)
	}
	return rt.Name
}

// Executor returns the executor value itself.
func (in *Instance) Executor() Executor { return in.exec }

// Name returns the deployment name of the instance.
func (in *Instance) Name() string { return in.exec.base().Runtime.Name }

// JType returns the registered type name.
func (in *Instance) JType() string { return in.jtype }

// Batching returns the dynamic batching configuration per endpoint.
func (in *Instance) Batching() map[string]BatchConfig { return maps.Clone(in.batching) }

// BatchingFor returns the dynamic batching of requests for endpoint: its
// own configuration, else — when the default handler serves it — the
// default endpoint's.
func (in *Instance) BatchingFor(endpoint string) (BatchConfig, bool) {
	if b, ok := in.batching[endpoint]; ok {
		return b, true
	}
	if _, own := in.routes.bindings[endpoint]; !own {
		if _, hasDefault := in.routes.bindings[DefaultEndpoint]; hasDefault {
			b, ok := in.batching[DefaultEndpoint]
			return b, ok
		}
	}
	return BatchConfig{}, false
}

// checkBatching rejects dynamic batching for endpoints no handler serves:
// a typo there would otherwise silently turn batching off.
func checkBatching(c *Config, spec Spec, rt *routes) error {
	served := func(ep string) bool {
		_, own := rt.bindings[ep]
		_, def := rt.bindings[DefaultEndpoint]
		return own || def
	}
	all, _ := rt.endpoints()
	list := strings.Join(all, ", ")
	for _, ep := range sortedKeysOf(c.DynamicBatching) {
		if !served(ep) {
			return &yamlutil.Error{File: c.File, Field: "dynamic_batching." + ep, Msg: fmt.Sprintf("executor %s has no handler for %s (endpoints: %s)", c.JType, ep, list)}
		}
	}
	for _, ep := range sortedKeysOf(spec.UsesDynamicBatching) {
		if !served(ep) {
			return &yamlutil.Error{Field: "uses_dynamic_batching." + ep, Msg: fmt.Sprintf("executor %s has no handler for %s (endpoints: %s)", c.JType, ep, list)}
		}
	}
	return nil
}

// IsWrite reports whether a request for endpoint is a write (handled by a
// handler bound with Router.Write).
func (in *Instance) IsWrite(endpoint string) bool {
	_, w := in.routes.lookup(endpoint)
	return w
}

// Handles reports whether endpoint reaches a handler (its own or the
// default); requests for other endpoints pass through unchanged.
func (in *Instance) Handles(endpoint string) bool {
	h, _ := in.routes.lookup(endpoint)
	return h != nil
}

// Endpoints describes the instance for endpoint discovery as Jina's worker
// does (endpoint_discovery in jina/serve/runtimes/worker/request_handling.py):
// its endpoints, _jina_dry_run_ included, its write endpoints, and for
// every endpoint a schema entry
// {"input": {"name", "model"}, "output": {"name", "model"},
// "parameters": {"name", "model"}, "is_generator", "is_singleton_doc"}.
// Jina's gateway reads that entry for every endpoint it routes (a missing
// one fails its start with KeyError), so untyped endpoints publish docarray's
// LegacyDocument schema, as a Python executor without type hints does.
func (in *Instance) Endpoints() *jinapb.EndpointsProto {
	all, writes := in.routes.endpoints()
	if !slices.Contains(all, DryRunEndpoint) {
		all = append(all, DryRunEndpoint)
	}
	out := &jinapb.EndpointsProto{Endpoints: all, WriteEndpoints: writes}
	schemas := make(map[string]any, len(all))
	for _, ep := range all {
		schemas[ep] = endpointSchema(in.routes.bindings[ep])
	}
	if s, err := structpb.NewStruct(schemas); err == nil {
		out.Schemas = s
	} else {
		in.logger.Warn("endpoint schemas cannot be published", "err", err)
	}
	return out
}

// endpointSchema is the discovery entry of one endpoint served by h (nil:
// the dry-run endpoint). jig handlers take batches (never one document per
// request: is_singleton_doc false) unless they are generators, and have no parameters
// model (name and model null, as Jina writes for a handler without one).
func endpointSchema(h *Handler) map[string]any {
	side := func(s *Schema) map[string]any {
		if s == nil {
			return map[string]any{"name": docarray.LegacyName, "model": docarray.LegacySchema()}
		}
		return map[string]any{"name": s.Name, "model": s.Model}
	}
	var input, output *Schema
	generator := false
	if h != nil {
		input, output, generator = h.Input, h.Output, h.IsGenerator()
	}
	return map[string]any{
		"input":            side(input),
		"output":           side(output),
		"parameters":       map[string]any{"name": nil, "model": nil},
		"is_generator":     generator,
		"is_singleton_doc": generator, // Jina: a generator takes one document
	}
}

// EndpointSchema returns the input and output schemas of the handler that
// serves endpoint (nil for legacy documents).
func (in *Instance) EndpointSchema(endpoint string) (input, output *Schema) {
	h, _ := in.routes.lookup(endpoint)
	if h == nil {
		return nil, nil
	}
	return h.Input, h.Output
}

// Endpoint returns the request's endpoint, "/default" when unset.
func Endpoint(req *jinapb.DataRequestProto) string {
	if ep := req.GetHeader().GetExecEndpoint(); ep != "" {
		return ep
	}
	return DefaultEndpoint
}

// Process handles one request and returns the response: the request with
// its documents replaced by the handler's, results merged into parameters,
// and header.status set. Handler errors and panics become an ERROR status
// naming the executor; Process itself never fails. A request for an
// endpoint the executor does not serve passes through unchanged.
func (in *Instance) Process(ctx context.Context, req *jinapb.DataRequestProto) *jinapb.DataRequestProto {
	return in.process(ctx, req, true)
}

// Apply runs the handler of req for its effect on the executor's state and
// reports the handler's error; no response is built. RAFT followers apply
// writes this way: only the leader's response reaches a client.
func (in *Instance) Apply(ctx context.Context, req *jinapb.DataRequestProto) error {
	if st := in.process(ctx, req, false).GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
		return errors.New(st.GetDescription())
	}
	return nil
}

func (in *Instance) process(ctx context.Context, req *jinapb.DataRequestProto, respond bool) *jinapb.DataRequestProto {
	endpoint := Endpoint(req)
	if endpoint == DryRunEndpoint {
		return req
	}
	h, write := in.routes.lookup(endpoint)
	if h == nil {
		return req
	}
	call := &Call{Endpoint: endpoint}
	if !h.passThrough { // a pass-through handler's documents stay encoded
		docs, err := RequestDocs(req)
		if err != nil {
			return in.fail(req, &Error{Name: "BadRequest", Args: []string{err.Error()}, Err: err}, "")
		}
		call.Docs = docs
	}
	var raw map[string]any
	if req.GetParameters() != nil {
		raw = req.GetParameters().AsMap()
	}
	call.Params = Scope(raw, in.Name(), in.aliases...)

	if write {
		in.mu.Lock()
	} else {
		in.mu.RLock()
	}
	stack, err := in.invoke(ctx, h, call)
	if write {
		in.mu.Unlock()
	} else {
		in.mu.RUnlock()
	}
	if err != nil {
		return in.fail(req, err, stack)
	}
	if !respond {
		return req
	}
	return in.respond(req, call, h.passThrough)
}

// invoke runs the handler, turning a panic into an error with its stack.
func (in *Instance) invoke(ctx context.Context, h *Handler, call *Call) (stack string, err error) {
	defer func() {
		if p := recover(); p != nil {
			stack = string(debug.Stack())
			err = &Error{Name: "Panic", Args: []string{fmt.Sprint(p)}}
			in.logger.Error("handler panicked", "endpoint", call.Endpoint, "panic", p)
		}
	}()
	return "", h.call(ctx, call)
}

// RequestDocs decodes the documents of a request (docs or docs_bytes).
func RequestDocs(req *jinapb.DataRequestProto) (docarray.DocList, error) {
	return wire.Docs(req)
}

// SetRequestDocs stores docs in a request, in the form (docs or docs_bytes)
// the request already used. It fails, naming the document and field, when
// a document holds a value the wire cannot carry (see Document.Validate).
func SetRequestDocs(req *jinapb.DataRequestProto, docs docarray.DocList) error {
	return wire.SetDocs(req, docs)
}

// respond builds the response to req from call; keepDocs (pass-through
// handlers) answers with req's documents as they are.
func (in *Instance) respond(req *jinapb.DataRequestProto, call *Call, keepDocs bool) *jinapb.DataRequestProto {
	resp := wire.Shallow(req)
	// One conversion checks the handler's documents and encodes them.
	if !keepDocs {
		if err := SetRequestDocs(resp, call.Docs); err != nil {
			return in.fail(req, &Error{Name: "BadResult", Args: []string{err.Error()}, Err: err}, "")
		}
	}
	if call.Results != nil {
		params, err := MergeResults(req.GetParameters(), in.name, call.Results)
		if err != nil {
			return in.fail(req, &Error{Name: "BadResult", Args: []string{err.Error()}, Err: err}, "")
		}
		resp.Parameters = params
	}
	return resp
}

// MergeResults returns params with results stored at
// __results__[name]; params itself is not modified.
func MergeResults(params *structpb.Struct, name string, results Results) (*structpb.Struct, error) {
	rv, err := structpb.NewValue(map[string]any(results))
	if err != nil {
		return nil, fmt.Errorf("results of %s: %w", name, err)
	}
	out := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	if params != nil {
		maps.Copy(out.Fields, params.Fields)
	}
	all := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	if prev := out.Fields[ResultsKey].GetStructValue(); prev != nil {
		maps.Copy(all.Fields, prev.Fields)
	}
	all.Fields[name] = rv
	out.Fields[ResultsKey] = structpb.NewStructValue(all)
	return out, nil
}

// fail returns req with an ERROR status describing err.
func (in *Instance) fail(req *jinapb.DataRequestProto, err error, stack string) *jinapb.DataRequestProto {
	in.logger.Warn("request failed", "endpoint", Endpoint(req), "err", err)
	return wire.Failed(req, ErrorStatus(err, in.Name(), stack))
}

// ErrorStatus builds the ERROR status Jina clients expect for err raised by
// executor: exception name and args, stack lines, executor name.
func ErrorStatus(err error, executor, stack string) *jinapb.StatusProto {
	name, args := "Error", []string{err.Error()}
	var e *Error
	switch {
	case errors.As(err, &e):
		name = e.Name
		if len(e.Args) > 0 {
			args = e.Args
		}
	case errors.Is(err, context.DeadlineExceeded):
		name = "DeadlineExceeded"
	case errors.Is(err, context.Canceled):
		name = "Cancelled"
	}
	var stacks []string
	if stack != "" {
		stacks = strings.Split(strings.TrimRight(stack, "\n"), "\n")
	}
	return &jinapb.StatusProto{
		Code:        jinapb.StatusProto_ERROR,
		Description: fmt.Sprintf("%s(%s)", name, strings.Join(quoteAll(args), ", ")),
		Exception: &jinapb.StatusProto_ExceptionProto{
			Name:     name,
			Args:     args,
			Stacks:   stacks,
			Executor: executor,
		},
	}
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// CanSnapshot reports whether the executor implements Snapshotter, so
// Snapshot and Restore do more than return ErrNoSnapshot.
func (in *Instance) CanSnapshot() bool {
	_, ok := in.exec.(Snapshotter)
	return ok
}

// Snapshot writes the executor's state into dir with write handlers
// paused. Executors that do not implement Snapshotter return
// ErrNoSnapshot.
func (in *Instance) Snapshot(dir string) error {
	s, ok := in.exec.(Snapshotter)
	if !ok {
		return ErrNoSnapshot
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return s.Snapshot(dir)
}

// Restore replaces the executor's state with the snapshot in dir.
func (in *Instance) Restore(dir string) error {
	s, ok := in.exec.(Snapshotter)
	if !ok {
		return ErrNoSnapshot
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return s.Restore(dir)
}

// ErrNoSnapshot is returned by Snapshot and Restore for executors without
// Snapshot/Restore hooks.
var ErrNoSnapshot = errors.New("executor does not implement Snapshot/Restore")

// Close calls the executor's Close hook once; later calls return the same
// result. It waits for running handlers to finish.
func (in *Instance) Close() error {
	in.closeOnce.Do(func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		if c, ok := in.exec.(Closer); ok {
			in.closeErr = c.Close()
		}
	})
	return in.closeErr
}

// NewSpec is a convenience for tests and embedding: the spec of a
// registered type with `with:` given as a Go map.
func NewSpec(jtype string, with map[string]any) (Spec, error) {
	c := &Config{JType: jtype}
	if len(with) > 0 {
		if err := c.With.Encode(with); err != nil {
			return Spec{}, fmt.Errorf("encode with: %w", err)
		}
	}
	return Spec{Config: c}, nil
}
