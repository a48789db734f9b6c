package builtin

import (
	"context"

	"github.com/jig-dev/jig/executors"
)

func init() {
	executors.Register("Echo", func() executors.Executor { return &Echo{} })
}

// Echo returns the documents it receives unchanged on every endpoint.
//
// Unlike an executor without a handler for the endpoint (which the flow's
// router skips, so the request never reaches it), Echo counts as handling
// every request: the request travels to it. Its handler is a pass-through
// (executors.PassThrough): the documents are not decoded, they go back as
// the bytes they came in. That makes it the reference no-op for measuring
// gateway and routing overhead, and a placeholder in a flow under
// construction.
type Echo struct {
	executors.Base
}

// Endpoints binds Echo to the default endpoint, so it serves every endpoint.
func (e *Echo) Endpoints(r *executors.Router) {
	executors.Default(r, executors.PassThrough(e.Echo))
}

// Echo leaves the documents as they are.
func (e *Echo) Echo(ctx context.Context, p executors.Params) (executors.Results, error) {
	return nil, nil
}
