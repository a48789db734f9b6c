package main

import (
	"fmt"
	"runtime"

	"github.com/jig-dev/jig/executors"
	"github.com/spf13/cobra"
)

func init() {
	subcommands = append(subcommands, func() *cobra.Command {
		return &cobra.Command{
			Use:   "version",
			Short: "Print the jig version",
			Args:  exactArgs(0),
			RunE: func(cmd *cobra.Command, _ []string) error {
				fmt.Fprintf(cmd.OutOrStdout(), "jig %s (%s %s/%s; Jina 3 protocol, docarray 0.40)\n", executors.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
				return nil
			},
		}
	})
}
