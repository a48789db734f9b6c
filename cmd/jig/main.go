// Command jig is the workbench and command-line tool for jig executors and
// flows: scaffold an executor, serve it, run flows, send documents, watch
// everything in a terminal UI, and export flows to Kubernetes or Compose.
//
// Exit codes: 0 ok, 1 runtime failure, 2 bad input (configuration, flags).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/jig-dev/jig/internal/gcfloor"
	"github.com/jig-dev/jig/internal/yamlutil"
)

func main() {
	// The gateway and in-process executors allocate per request on a
	// small live heap: a floor under it keeps the collector from running
	// every few dozen requests (internal/gcfloor).
	gcfloor.Set()
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the exit code.
func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(root.ErrOrStderr(), "error:", err)
	return exitCode(err)
}

// exitCode is the exit code for a command's error: 2 for bad input
// (configuration, flags), 1 for other failures, 0 for none.
func exitCode(err error) int {
	var usage *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, yamlutil.ErrBadInput) || errors.As(err, &usage):
		return 2
	}
	return 1
}
