package tui

import (
	"context"
	"errors"
	"iter"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/tui/panes/request"
)

var _ request.StreamSender = (*clientSender)(nil)

// StreamDoc implements request.StreamSender with client.StreamDoc: the
// documents a generator endpoint yields, as they arrive.
func (s *clientSender) StreamDoc(ctx context.Context, addr string, req request.Request, doc *docarray.Document) iter.Seq2[*docarray.Document, error] {
	return func(yield func(*docarray.Document, error) bool) {
		c, err := s.client(addr)
		if err != nil {
			yield(nil, err)
			return
		}
		var opts []client.PostOption
		if len(req.Parameters) > 0 {
			opts = append(opts, client.Parameters(req.Parameters))
		}
		if req.Target != "" {
			opts = append(opts, client.TargetExecutor(req.Target))
		}
		for d, err := range c.StreamDoc(ctx, req.Endpoint, doc, opts...) {
			var ee *client.ExecutorError
			if errors.As(err, &ee) {
				f := &request.ExecutorFailure{Exception: request.Exception{Name: ee.Name(), Args: ee.Args(), Executor: ee.Executor()}}
				if ex := ee.Status.Exception; ex != nil {
					f.Stacks = ex.Stacks
				}
				if f.Name == "" {
					f.Name = ee.Status.Description
				}
				err = f
			}
			if !yield(d, err) || err != nil {
				return
			}
		}
	}
}
