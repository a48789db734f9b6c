// Command upper is a test executor built and run as a child process by the
// engine's tests: it upper-cases texts and logs each request.
package main

import (
	"context"
	"os"
	"strings"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
)

// Upper upper-cases document texts.
type Upper struct {
	executors.Base
	Prefix string `yaml:"prefix"`
}

// Endpoints binds the default endpoint and /pid.
func (u *Upper) Endpoints(r *executors.Router) {
	r.Default(u.Upper)
	r.On("/pid", u.PID)
}

// Upper upper-cases texts and adds the prefix.
func (u *Upper) Upper(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	for _, d := range docs {
		d.Text = u.Prefix + strings.ToUpper(d.Text)
	}
	u.Logger.Debug("upper-cased", "docs", len(docs))
	return nil, nil
}

// PID reports the process id, so tests can tell replicas apart.
func (u *Upper) PID(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, executors.Results, error) {
	return nil, executors.Results{"pid": os.Getpid(), "env": os.Getenv("UPPER_ENV")}, nil
}

func main() {
	worker.Main(func() executors.Executor { return &Upper{} })
}
