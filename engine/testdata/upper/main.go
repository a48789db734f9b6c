// Command upper is a test executor built and run as a child process by the
// engine's tests: it upper-cases texts and logs each request.
package main

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/workercmd"
)

// Upper upper-cases document texts.
type Upper struct {
	executors.Base
	Prefix string `yaml:"prefix"`
}

// Endpoints binds the default endpoint, /pid and /sleep.
func (u *Upper) Endpoints(r *executors.Router) {
	executors.Default(r, u.Upper)
	executors.On(r, "/pid", u.PID)
	executors.On(r, "/sleep", u.Sleep)
}

// Sleep blocks until the request's context ends (or a minute passes) and
// logs how it ended, so tests can see a client's cancellation reach a
// child process.
func (u *Upper) Sleep(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	u.Logger.Info("sleep started")
	select {
	case <-ctx.Done():
		u.Logger.Info("sleep cancelled", "err", ctx.Err().Error())
		return nil, ctx.Err()
	case <-time.After(time.Minute):
		return nil, nil
	}
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
	workercmd.Main(func() executors.Executor { return &Upper{} })
}
