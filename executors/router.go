package executors

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/jig-dev/jig/executors/docarray"
)

// DefaultEndpoint is the endpoint a handler bound with Router.Default
// serves; requests for endpoints without their own handler go there.
const DefaultEndpoint = "/default"

// DryRunEndpoint is the hidden endpoint gateways use to check that a
// worker answers; it always succeeds and never reaches a handler.
const DryRunEndpoint = "_jina_dry_run_"

// Results is what a handler may return besides documents; it reaches the
// client as parameters["__results__"][<executor name>].
type Results = map[string]any

// Call is one invocation of an endpoint, as seen by a handler of the
// func(context.Context, *Call) error shape.
type Call struct {
	// Endpoint is the endpoint the request was sent to.
	Endpoint string
	// Docs are the request's documents. Replace or modify them in place.
	Docs docarray.DocList
	// Params are the request parameters, scoped to this executor.
	Params Params
	// Results, when set, reach the client under __results__.
	Results Results
}

// Handler is an endpoint implementation the Router holds. Build one with
// Method (to name a function), Typed and TypedDoc (typed documents), or let
// Router.On wrap a plain function.
type Handler struct {
	// Name is the method name, used by `requests:` / uses_requests remaps.
	Name string
	// Input and Output describe the documents the handler takes and returns
	// (JSON Schema), published by endpoint discovery. Nil means the legacy
	// Document.
	Input, Output *Schema
	// Batching is the handler's default dynamic batching, if any.
	Batching *BatchConfig

	call func(ctx context.Context, c *Call) error
	// stream is set for generator handlers (see Generator): one document
	// in, documents yielded one by one.
	stream GenFunc
	// passThrough is set for PassThrough handlers: the request's
	// documents are neither decoded for them nor replaced after them.
	passThrough bool
	err         error // a registration error, reported when the executor loads
}

// Schema is a named JSON Schema of a document type.
type Schema struct {
	Name  string
	Model map[string]any
}

// Router collects an executor's endpoint bindings.
type Router struct {
	bindings map[string]*Handler // endpoint -> handler
	order    []string            // endpoints in declaration order
	writes   map[string]bool     // method names of write handlers
	errs     []error
}

func newRouter() *Router {
	return &Router{bindings: map[string]*Handler{}, writes: map[string]bool{}}
}

// On binds fn to one or more endpoints (Jina's `@requests(on=...)`). fn
// is a Handler or a function of one of the HandlerFunc shapes.
//
// Router.On checks fn's shape only when the executor loads (the error
// lists the shapes); it stays for code written before the compile-time
// checked forms. New code binds handlers with the package functions On,
// Default and Write, which the compiler checks:
//
//	executors.On(r, "/hello", g.Greet)
func (r *Router) On(endpoint string, fn any, more ...string) {
	h := toHandler(fn)
	if h.err != nil {
		r.errs = append(r.errs, fmt.Errorf("endpoint %s: %w", endpoint, h.err))
		return
	}
	for _, ep := range append([]string{endpoint}, more...) {
		if ep == "" {
			r.errs = append(r.errs, fmt.Errorf("handler %s: empty endpoint name", h.Name))
			continue
		}
		if _, dup := r.bindings[ep]; dup {
			r.errs = append(r.errs, fmt.Errorf("endpoint %s is bound twice", ep))
			continue
		}
		r.bindings[ep] = h
		r.order = append(r.order, ep)
	}
}

// Default binds fn to the default endpoint (Jina's bare `@requests`): it
// serves every endpoint that has no handler of its own. Like Router.On, it
// checks fn when the executor loads; executors.Default is the checked form.
func (r *Router) Default(fn any) { r.On(DefaultEndpoint, fn) }

// Write binds fn to endpoints and marks it a write handler (Jina's `@write`):
// write handlers run one at a time, never alongside other handlers or a
// snapshot, and in a stateful deployment they are replicated through RAFT.
// Like Router.On, it checks fn when the executor loads; executors.Write is
// the checked form.
func (r *Router) Write(endpoint string, fn any, more ...string) {
	h := toHandler(fn)
	if h.err == nil {
		r.writes[h.Name] = true
	}
	r.On(endpoint, h, more...)
}

// Method names a handler explicitly, for closures whose generated names
// ("func1") would be meaningless in `requests:` remaps. The compiler checks
// fn's shape (see HandlerFunc).
func Method[F HandlerFunc](name string, fn F) Handler {
	h := toHandler(fn)
	h.Name = name
	return *h
}

// toHandler wraps a function of a supported shape.
func toHandler(fn any) *Handler {
	switch f := fn.(type) {
	case Handler:
		return &f
	case *Handler:
		return f
	case nil:
		return &Handler{err: fmt.Errorf("handler is nil")}
	}
	h := &Handler{Name: funcName(fn)}
	if v := reflect.ValueOf(fn); v.Kind() == reflect.Func && v.IsNil() {
		h.err = fmt.Errorf("handler is nil (a nil %T)", fn)
		return h
	}
	switch f := fn.(type) {
	case func(context.Context, *Call) error:
		h.call = f
	case func(context.Context, docarray.DocList, Params) error:
		h.call = func(ctx context.Context, c *Call) error { return f(ctx, c.Docs, c.Params) }
	case func(context.Context, docarray.DocList, Params) (docarray.DocList, error):
		h.call = func(ctx context.Context, c *Call) error {
			out, err := f(ctx, c.Docs, c.Params)
			if err != nil {
				return err
			}
			if out != nil {
				c.Docs = out
			}
			return nil
		}
	case func(context.Context, docarray.DocList, Params) (docarray.DocList, Results, error):
		h.call = func(ctx context.Context, c *Call) error {
			out, res, err := f(ctx, c.Docs, c.Params)
			if err != nil {
				return err
			}
			if out != nil {
				c.Docs = out
			}
			c.Results = res
			return nil
		}
	case func(context.Context, *docarray.Document, Params) (*docarray.Document, error):
		h.call = PerDoc(f)
	case func(context.Context, *docarray.Document, Params) error:
		h.call = PerDoc(func(ctx context.Context, d *docarray.Document, p Params) (*docarray.Document, error) {
			return nil, f(ctx, d, p)
		})
	default:
		h.err = shapeError(h.Name, fn)
	}
	return h
}

// PerDoc adapts a single-document function to a batch handler: it is called
// for each document in turn; a returned document replaces the input, nil
// keeps the (possibly modified) input. The first error stops the batch and
// names the document (a named *Error keeps its name).
func PerDoc(f func(context.Context, *docarray.Document, Params) (*docarray.Document, error)) func(context.Context, *Call) error {
	return func(ctx context.Context, c *Call) error {
		for i, d := range c.Docs {
			if err := ctx.Err(); err != nil {
				return err
			}
			out, err := f(ctx, d, c.Params)
			if err != nil {
				return docError(i, idOf(d), err)
			}
			if out != nil {
				c.Docs[i] = out
			}
		}
		return nil
	}
}

// funcName returns "Greet" for the method value g.Greet.
func funcName(fn any) string {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func {
		return fmt.Sprintf("%T", fn)
	}
	name := runtime.FuncForPC(v.Pointer()).Name()
	name = strings.TrimSuffix(name, "-fm")
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// routes is the resolved, immutable endpoint table of a loaded executor.
type routes struct {
	bindings map[string]*Handler
	writes   map[string]bool // endpoints that are writes
}

// resolve applies a `requests:` / uses_requests remap (endpoint -> method
// name) the way Jina does: each remapped method loses its old endpoints and
// gains the new ones; other bindings stay.
func (r *Router) resolve(remap map[string]string) (*routes, error) {
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	byName := map[string]*Handler{}
	for _, h := range r.bindings {
		byName[h.Name] = h
	}
	bindings := maps.Clone(r.bindings)
	if len(remap) > 0 {
		remapped := map[string]bool{}
		for _, m := range remap {
			remapped[m] = true
		}
		for ep, h := range bindings {
			if remapped[h.Name] {
				delete(bindings, ep)
			}
		}
		for _, ep := range sortedKeysOf(remap) {
			m := remap[ep]
			h, ok := byName[m]
			if !ok {
				return nil, &remapError{endpoint: ep, method: m, handlers: sortedKeysOf(byName)}
			}
			bindings[ep] = h
		}
	}
	out := &routes{bindings: bindings, writes: map[string]bool{}}
	for ep, h := range bindings {
		if r.writes[h.Name] {
			out.writes[ep] = true
		}
	}
	return out, nil
}

// remapError is a `requests:` / uses_requests entry naming a method that
// is not one of the executor's handlers.
type remapError struct {
	endpoint, method string
	handlers         []string
}

func (e *remapError) Error() string {
	return fmt.Sprintf("endpoint %s names method %q, which is not a handler (handlers: %s)", e.endpoint, e.method, strings.Join(e.handlers, ", "))
}

// lookup finds the handler for an endpoint: the exact one, else the
// default, else none (the request passes through unchanged).
func (rt *routes) lookup(endpoint string) (*Handler, bool) {
	if h, ok := rt.bindings[endpoint]; ok {
		return h, rt.writes[endpoint]
	}
	if h, ok := rt.bindings[DefaultEndpoint]; ok {
		return h, rt.writes[DefaultEndpoint]
	}
	return nil, false
}

// endpoints lists the bound endpoints and the write endpoints, sorted.
func (rt *routes) endpoints() (all, writes []string) {
	for ep := range rt.bindings {
		all = append(all, ep)
		if rt.writes[ep] {
			writes = append(writes, ep)
		}
	}
	sort.Strings(all)
	sort.Strings(writes)
	return all, writes
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
