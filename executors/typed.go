package executors

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/jig-dev/jig/executors/docarray"
)

// Typed wraps a handler on typed documents (docarray's DocList[T]): In and
// Out are struct types (or pointers to them) whose fields map to document
// keys by `doc` struct tags — see the docarray package for the mapping.
//
//	type Query struct {
//		Text string `doc:"text,required"`
//	}
//	type Embedded struct {
//		Embedding []float32 `doc:"embedding"`
//	}
//	executors.On(r, "/embed", executors.Typed(e.Embed)) // func(ctx, []Query, Params) ([]Embedded, error)
//
// The SDK decodes the request's documents into In values; a document that
// does not fit fails the request with a BadRequest naming the document and
// field (`doc 3 (id x): field "text" (Text string): required, but missing`).
// The Out values are merged onto the input documents they answer — the one
// with the same ID, or the one at the same position when the handler
// returns as many as it got — so IDs and the keys Out does not declare pass
// through. A nil result leaves the documents unchanged; an empty one
// returns no documents. Endpoint discovery publishes In and Out as JSON
// Schemas.
func Typed[In, Out any](fn func(ctx context.Context, docs []In, p Params) ([]Out, error)) Handler {
	return typed[In, Out](funcName(fn), func(ctx context.Context, in []In, _ docarray.DocList, p Params) ([]Out, Results, error) {
		out, err := fn(ctx, in, p)
		return out, nil, err
	})
}

// TypedResults is Typed for handlers that also return a results map.
func TypedResults[In, Out any](fn func(ctx context.Context, docs []In, p Params) ([]Out, Results, error)) Handler {
	return typed[In, Out](funcName(fn), func(ctx context.Context, in []In, _ docarray.DocList, p Params) ([]Out, Results, error) {
		return fn(ctx, in, p)
	})
}

// TypedDoc wraps a handler on one typed document (a single-document
// endpoint): the SDK calls it for each document of the batch in turn, and
// an error stops the batch, naming the document. When Out is a pointer
// type, a nil result leaves that document unchanged.
func TypedDoc[In, Out any](fn func(ctx context.Context, doc In, p Params) (Out, error)) Handler {
	return typed[In, Out](funcName(fn), func(ctx context.Context, in []In, docs docarray.DocList, p Params) ([]Out, Results, error) {
		out := make([]Out, len(in))
		for i := range in {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			o, err := fn(ctx, in[i], p)
			if err != nil {
				return nil, nil, docError(i, idOf(docs[i]), err)
			}
			out[i] = o
		}
		return out, nil, nil
	})
}

// typed builds the Handler of a typed batch function. Type errors are
// reported when the executor loads (Router.On records them).
func typed[In, Out any](name string, run func(context.Context, []In, docarray.DocList, Params) ([]Out, Results, error)) Handler {
	h := Handler{Name: name}
	inC, err := docarray.CodecOf[In]()
	if err != nil {
		h.err = fmt.Errorf("handler %s: input: %w", name, err)
		return h
	}
	outC, err := docarray.CodecOf[Out]()
	if err != nil {
		h.err = fmt.Errorf("handler %s: output: %w", name, err)
		return h
	}
	h.Input = &Schema{Name: inC.Name(), Model: inC.Schema()}
	h.Output = &Schema{Name: outC.Name(), Model: outC.Schema()}
	h.call = func(ctx context.Context, c *Call) error {
		in := make([]In, len(c.Docs))
		for i, d := range c.Docs {
			if err := inC.Decode(d, &in[i]); err != nil {
				return docError(i, idOf(d), &Error{Name: "BadRequest", Args: []string{err.Error()}, Err: err})
			}
		}
		out, res, err := run(ctx, in, c.Docs, c.Params)
		if err != nil {
			return err
		}
		c.Results = res
		if out == nil {
			return nil
		}
		docs, err := outC.EncodeList(out, c.Docs)
		if err != nil {
			return &Error{Name: "BadResult", Args: []string{fmt.Sprintf("handler %s: %v", name, err)}, Err: err}
		}
		c.Docs = docs
		return nil
	}
	return h
}

func idOf(d *docarray.Document) string {
	if d == nil {
		return ""
	}
	return d.ID
}

// docError names document i (and its id) in err. A named *Error keeps its
// name, with the document in its message, so that clients see both.
func docError(i int, id string, err error) error {
	prefix := fmt.Sprintf("doc %d", i)
	if id != "" {
		prefix = fmt.Sprintf("doc %d (id %s)", i, id)
	}
	wrapped := fmt.Errorf("%s: %w", prefix, err)
	var e *Error
	if !errors.As(err, &e) {
		return wrapped
	}
	direct, ok := err.(*Error)
	if !ok { // wrapped further: keep the whole message
		return &Error{Name: e.Name, Args: []string{wrapped.Error()}, Err: wrapped}
	}
	msg, inner := direct.Name, direct.Err
	switch {
	case len(direct.Args) > 0:
		msg = direct.Args[0]
	case inner != nil:
		msg = inner.Error()
	}
	if inner == nil {
		inner = errors.New(msg)
	}
	args := append([]string{prefix + ": " + msg}, direct.Args[min(1, len(direct.Args)):]...)
	return &Error{Name: direct.Name, Args: args, Err: fmt.Errorf("%s: %w", prefix, inner)}
}

// typedSignature reports whether t looks like a handler on typed
// documents, which must be wrapped with Typed or TypedDoc: Router.On
// cannot infer the type parameters itself.
func typedSignature(t reflect.Type) bool {
	if t == nil || t.Kind() != reflect.Func || t.NumIn() != 3 {
		return false
	}
	in := t.In(1)
	if in.Kind() == reflect.Slice {
		in = in.Elem()
	}
	if in.Kind() == reflect.Pointer {
		in = in.Elem()
	}
	// docarray.DocList and *docarray.Document are the untyped documents.
	return in.Kind() == reflect.Struct && in != reflect.TypeFor[docarray.Document]()
}
