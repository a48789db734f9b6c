package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/examples"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/tui"
	"github.com/jig-dev/jig/tui/prefs"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() {
	subcommands = append(subcommands, newTUICmd)
}

func newTUICmd() *cobra.Command {
	var o runFlowOptions
	cmd := &cobra.Command{
		Use:   "tui [FLOW.yml]",
		Short: "Open the workbench on a flow (default: the embedded quickstart)",
		Long: `Open the workbench: it runs the flow in-process and shows its deployments,
RAFT consensus, logs, reload events, a request composer, parameters and the
new-executor wizard. Without FLOW it runs the embedded quickstart flow
(built-in executors only, no compile step). q quits and stops the flow.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := loadFlowOrQuickstart(args)
			if err != nil {
				return err
			}
			return runFlow(cmd, f, &o)
		},
	}
	o.register(cmd)
	cmd.Flags().MarkHidden("headless")
	return cmd
}

// loadFlowOrQuickstart loads the flow named in args, or the embedded
// quickstart.
func loadFlowOrQuickstart(args []string) (*flow.Flow, error) {
	if len(args) == 1 {
		return flow.Load(args[0])
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	f, err := flow.Parse("quickstart", wd, examples.Quickstart)
	if err != nil {
		return nil, fmt.Errorf("embedded quickstart: %w", err)
	}
	f.Name = "quickstart"
	return f, nil
}

// runWorkbench starts the engine quietly (its logs go to the workbench, not
// the terminal) and opens the TUI.
func runWorkbench(cmd *cobra.Command, f *flow.Flow, o *runFlowOptions, level slog.Level) error {
	if !term.IsTerminal(int(os.Stdin.Fd())) || !term.IsTerminal(int(os.Stdout.Fd())) {
		return &usageError{fmt.Errorf("the workbench needs a terminal; use --headless to run without it")}
	}
	// The start-up screen shows from the first moment what the engine is
	// doing (a first build takes minutes on a cold cache), from the bus
	// the engine publishes on, subscribed before Start.
	bus := events.NewBus(5000)
	// The Request pane's timing waterfall: the spans of its requests,
	// recorded in process whether or not the flow exports them.
	traces := tracing.NewRecorder(0)
	eng, err := tui.StartWithProgress(cmd.Context(), f.Name, bus, func(ctx context.Context) (tui.Engine, error) {
		eng, err := engine.Start(ctx, f, engine.Options{GRPCPort: o.grpcPort, HTTPPort: o.httpPort, LogLevel: level, Bus: bus, Traces: traces})
		if err != nil {
			return nil, err
		}
		return eng, nil
	})
	if err != nil {
		return err
	}
	// The theme and request history are remembered in the XDG folders;
	// without a home folder the workbench simply forgets them.
	store, _ := prefs.Default()
	return tui.Run(cmd.Context(), eng, tui.Options{Store: store, Traces: traces, TraceURL: jaegerTraceURL(f)})
}

// jaegerTraceURL is where Jaeger's UI shows a trace of f, when f exports
// its spans: $JIG_JAEGER_UI, else the UI's default port (16686) on the
// collector's host; "" when f does not export.
func jaegerTraceURL(f *flow.Flow) string {
	t := f.Gateway.Tracing
	if !t.Enabled {
		return ""
	}
	base := os.Getenv("JIG_JAEGER_UI")
	if base == "" {
		host := t.ExporterHost
		if host == "" {
			host = tracing.DefaultExporterHost
		}
		base = "http://" + net.JoinHostPort(host, "16686")
	}
	return strings.TrimSuffix(base, "/") + "/trace/"
}
