package main

import (
	"github.com/jig-dev/jig/executors/worker"
	"github.com/spf13/cobra"
)

func init() {
	subcommands = append(subcommands, newExecutorCmd)
}

func newExecutorCmd() *cobra.Command {
	var f worker.Flags
	cmd := &cobra.Command{
		Use:   "executor --uses EXECUTOR [--port N]",
		Short: "Serve one executor as a bare worker (no gateway)",
		Long: `Serve one executor over Jina's worker protocol (process_single_data,
process_data, endpoint_discovery, _status, health, reflection), without a
gateway: a "shared" executor other flows can use as external, and what the
engine starts for child-process replicas.

Once serving it prints one JSON line on stdout:
  {"jig":"ready","address":"127.0.0.1:50051","pid":1234}`,
		Example: `  jig executor --uses builtin:Echo --port 50051
  jig executor --uses examples/indexer/config.yml --uses-with '{"limit": 5}'`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := f.NewLogger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return worker.Run(cmd.Context(), &f, cmd.OutOrStdout(), logger)
		},
	}
	f.Register(cmd.Flags())
	return cmd
}
