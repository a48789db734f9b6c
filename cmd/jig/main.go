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

	"github.com/jig-dev/jig/internal/yamlutil"
)

func main() {
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
	var usage *usageError
	if errors.Is(err, yamlutil.ErrBadInput) || errors.As(err, &usage) {
		return 2
	}
	return 1
}
