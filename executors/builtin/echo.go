package builtin

import (
	"context"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

func init() {
	executors.Register("Echo", func() executors.Executor { return &Echo{} })
}

// Echo returns the documents it receives unchanged on every endpoint.
//
// Unlike an executor without a handler for the endpoint (which the flow's
// router skips, so the request never reaches it), Echo counts as handling
// every request: the request travels to it and its documents are decoded
// and re-encoded. That makes it the reference no-op for measuring gateway
// and routing overhead, and a placeholder in a flow under construction.
type Echo struct {
	executors.Base
}

// Endpoints binds Echo to the default endpoint, so it serves every endpoint.
func (e *Echo) Endpoints(r *executors.Router) {
	executors.Default(r, e.Echo)
}

// Echo returns docs as they are.
func (e *Echo) Echo(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	return docs, nil
}
