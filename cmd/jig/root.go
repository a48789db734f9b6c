package main

import (
	"fmt"

	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/spf13/cobra"
)

// subcommands are added by the init functions of the files defining them,
// so each command lives in its own file.
var subcommands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "jig",
		Short: "Build, run and watch Jina-compatible executors and flows",
		Long: `jig runs Executors (small gRPC services that process batches of Documents)
and Flows of them, speaking Jina's protocol, with an interactive workbench.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// `jig` alone opens the workbench on the quickstart flow; anything
		// else is an unknown command (a usage error, exit code 2).
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return &usageError{fmt.Errorf("%w (see 'jig --help')", err)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := loadFlowOrQuickstart(nil)
			if err != nil {
				return err
			}
			return runFlow(cmd, f, &runFlowOptions{logLevel: workerflags.DefaultLogLevel()})
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}

// usageError marks a wrong command line (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// exactArgs is cobra.ExactArgs with a usage error (exit code 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &usageError{fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())}
		}
		return nil
	}
}
