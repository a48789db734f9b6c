package executors

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/jig-dev/jig/executors/docarray"
)

// HandlerFunc is the set of handler shapes, the way net/http's HandlerFunc
// names the one shape of an HTTP handler: On, Default, Write, Func and
// Method accept exactly these, so a function of any other shape is a
// compile error where it is bound, not a failure when the executor loads.
//
//	func(ctx context.Context, docs docarray.DocList, p Params) error                               // batch, in place
//	func(ctx context.Context, docs docarray.DocList, p Params) (docarray.DocList, error)           // batch
//	func(ctx context.Context, docs docarray.DocList, p Params) (docarray.DocList, Results, error)  // batch with results
//	func(ctx context.Context, doc *docarray.Document, p Params) error                              // one document, in place
//	func(ctx context.Context, doc *docarray.Document, p Params) (*docarray.Document, error)         // one document
//	func(ctx context.Context, c *Call) error                                                       // the whole call
//	Handler                                                                                        // from Typed, TypedDoc, TypedResults, Generator, TypedGenerator, Func, Method
//
// A batch handler returning nil documents changed them in place. The
// single-document shapes are called once per document, one after the
// other; their errors name the failing document.
type HandlerFunc interface {
	Handler |
		func(context.Context, docarray.DocList, Params) error |
		func(context.Context, docarray.DocList, Params) (docarray.DocList, error) |
		func(context.Context, docarray.DocList, Params) (docarray.DocList, Results, error) |
		func(context.Context, *docarray.Document, Params) error |
		func(context.Context, *docarray.Document, Params) (*docarray.Document, error) |
		func(context.Context, *Call) error
}

// On binds fn to one or more endpoints (Jina's `@requests(on=...)`); the
// compiler checks that fn has one of the HandlerFunc shapes.
//
//	func (g *Greeter) Endpoints(r *executors.Router) {
//		executors.Default(r, g.Greet)                 // @requests
//		executors.On(r, "/hello", g.Greet)            // @requests(on="/hello")
//		executors.On(r, "/embed", executors.Typed(g.Embed))
//		executors.Write(r, "/index", g.Index)         // @requests(on="/index") + @write
//	}
func On[F HandlerFunc](r *Router, endpoint string, fn F, more ...string) {
	r.On(endpoint, Func(fn), more...)
}

// Default binds fn to the default endpoint (Jina's bare `@requests`): it
// serves every endpoint that has no handler of its own.
func Default[F HandlerFunc](r *Router, fn F) { r.On(DefaultEndpoint, Func(fn)) }

// Write binds fn to endpoints and marks it a write handler (Jina's
// `@write`): write handlers run one at a time, never alongside other
// handlers or a snapshot, and in a stateful deployment they are replicated
// through RAFT.
func Write[F HandlerFunc](r *Router, endpoint string, fn F, more ...string) {
	r.Write(endpoint, Func(fn), more...)
}

// Func turns a function of one of the HandlerFunc shapes into a Handler,
// named after the function (the method name `requests:` remaps refer to).
func Func[F HandlerFunc](fn F) Handler {
	return *toHandler(fn)
}

// PassThrough turns fn into a handler that neither reads nor changes the
// documents: the executor answers with the request's documents exactly as
// they came, never decoded or encoded again, which makes a request whose
// documents no handler reads cost no more than its header and parameters.
// fn sees the parameters and may return results. Builtin Echo is one.
func PassThrough(fn func(ctx context.Context, p Params) (Results, error)) Handler {
	return Handler{Name: funcName(fn), passThrough: true, call: func(ctx context.Context, c *Call) error {
		res, err := fn(ctx, c.Params)
		c.Results = res
		return err
	}}
}

// shapeError explains why fn cannot be a handler: which wrapper a typed or
// generator function needs, else the shapes there are.
func shapeError(name string, fn any) error {
	t := reflect.TypeOf(fn)
	if t == nil || t.Kind() != reflect.Func {
		return fmt.Errorf("handler is a %T, not a function", fn)
	}
	switch {
	case generatorSignature(t):
		return fmt.Errorf("handler %s (%s) yields documents: bind it as executors.Generator(fn), or TypedGenerator(fn) on typed documents", name, t)
	case typedSignature(t):
		return fmt.Errorf("handler %s (%s) works on typed documents: wrap it with executors.Typed(fn) (a batch: func(ctx, []In, Params) ([]Out, error)), TypedResults(fn) (with results) or TypedDoc(fn) (one document: func(ctx, In, Params) (Out, error))", name, t)
	}
	return fmt.Errorf("handler %s has unsupported signature %s; a handler is one of:\n%s\nbind it with executors.On(r, endpoint, fn) to have the compiler check its shape", name, t, strings.Join(shapeList, "\n"))
}

// shapeList is the HandlerFunc shapes as shapeError lists them.
var shapeList = []string{
	"  func(context.Context, docarray.DocList, executors.Params) error",
	"  func(context.Context, docarray.DocList, executors.Params) (docarray.DocList, error)",
	"  func(context.Context, docarray.DocList, executors.Params) (docarray.DocList, executors.Results, error)",
	"  func(context.Context, *docarray.Document, executors.Params) error",
	"  func(context.Context, *docarray.Document, executors.Params) (*docarray.Document, error)",
	"  func(context.Context, *executors.Call) error",
	"  an executors.Handler (Typed, TypedDoc, TypedResults, Generator, TypedGenerator, Func, Method)",
}

// generatorSignature reports whether t returns an iterator (iter.Seq2), the
// shape of a generator that must be wrapped with Generator.
func generatorSignature(t reflect.Type) bool {
	if t.NumOut() != 1 {
		return false
	}
	o := t.Out(0)
	return o.Kind() == reflect.Func && o.NumIn() == 1 && o.In(0).Kind() == reflect.Func && o.NumOut() == 0
}
