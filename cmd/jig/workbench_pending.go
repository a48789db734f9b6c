package main

import (
	"errors"
	"log/slog"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/spf13/cobra"
)

// runWorkbench is replaced when the tui package lands.
func runWorkbench(cmd *cobra.Command, f *flow.Flow, o *runFlowOptions, level slog.Level) error {
	return errors.New("the workbench is not available yet; use --headless")
}
