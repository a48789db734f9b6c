package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() {
	subcommands = append(subcommands, newUpCmd)
}

// runFlowOptions are the flags `jig up` and `jig serve` share.
type runFlowOptions struct {
	headless bool
	grpcPort int
	httpPort int
	logLevel string
	// sslCert and sslKey override the flow's with.ssl_certfile and
	// with.ssl_keyfile (TLS on the gateway).
	sslCert string
	sslKey  string
	// bodyBudget and bodyTimeout override with.http_body_budget and
	// with.http_body_timeout.
	bodyBudget  string
	bodyTimeout time.Duration
	// tracing, tracesHost and tracesPort override with.tracing,
	// with.traces_exporter_host and with.traces_exporter_port.
	tracing    bool
	tracesHost string
	tracesPort int
}

func (o *runFlowOptions) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.headless, "headless", false, "run without the workbench: print logs, stop on SIGINT/SIGTERM")
	cmd.Flags().IntVar(&o.grpcPort, "port", 0, "gRPC gateway port (overrides the flow's)")
	cmd.Flags().IntVar(&o.httpPort, "http-port", 0, "HTTP gateway port (overrides the flow's; enables HTTP)")
	cmd.Flags().StringVar(&o.logLevel, "log-level", workerflags.DefaultLogLevel(), "log level: debug, info, warn or error (default $"+workerflags.LogLevelEnv+", else info)")
	cmd.Flags().StringVar(&o.sslCert, "ssl-certfile", "", "PEM certificate: serve the gateway over TLS (grpcs://, https://); overrides with.ssl_certfile")
	cmd.Flags().StringVar(&o.sslKey, "ssl-keyfile", "", "PEM private key of --ssl-certfile; overrides with.ssl_keyfile")
	cmd.Flags().StringVar(&o.bodyBudget, "http-body-budget", "", "memory for HTTP requests in flight, each body byte counted 4 times, e.g. 2GiB (default 1GiB; past it: 503 + Retry-After; bodies over a quarter of it: 413); overrides with.http_body_budget")
	cmd.Flags().DurationVar(&o.bodyTimeout, "http-body-timeout", 0, "grace for an HTTP request body to arrive, on top of 1s per 128KiB of it (default 30s; -1s: none); overrides with.http_body_timeout")
	cmd.Flags().BoolVar(&o.tracing, "tracing", false, "export OpenTelemetry spans of every request over OTLP/gRPC (with.tracing)")
	cmd.Flags().StringVar(&o.tracesHost, "traces-exporter-host", "", "host of the OTLP/gRPC collector (default 127.0.0.1; overrides with.traces_exporter_host)")
	cmd.Flags().IntVar(&o.tracesPort, "traces-exporter-port", 0, "port of the OTLP/gRPC collector (default 4317; overrides with.traces_exporter_port)")
}

// applyTracing puts --tracing and --traces-exporter-* into the flow:
// the gateway's settings, and those of every deployment that inherits
// them (sets no tracing keys of its own).
func (o *runFlowOptions) applyTracing(cmd *cobra.Command, f *flow.Flow) error {
	if o.tracesPort < 0 || o.tracesPort > 65535 {
		return &usageError{fmt.Errorf("--traces-exporter-port: want a port number from 1 to 65535, got %d", o.tracesPort)}
	}
	old, t := f.Gateway.Tracing, f.Gateway.Tracing
	if cmd.Flags().Changed("tracing") {
		t.Enabled = o.tracing
	}
	if o.tracesHost != "" {
		t.ExporterHost = o.tracesHost
	}
	if o.tracesPort != 0 {
		t.ExporterPort = o.tracesPort
	}
	f.Gateway.Tracing = t
	for _, d := range f.Deployments {
		if d.Tracing == old {
			d.Tracing = t
		}
	}
	return nil
}

// applyTLS puts --ssl-certfile/--ssl-keyfile into the flow's gateway.
// Relative paths are taken from the working folder, as for any flag.
func (o *runFlowOptions) applyTLS(f *flow.Flow) error {
	if o.sslCert == "" && o.sslKey == "" {
		return nil
	}
	if o.sslCert == "" || o.sslKey == "" {
		return &usageError{errors.New("--ssl-certfile and --ssl-keyfile go together")}
	}
	for _, p := range []struct {
		flag string
		path *string
	}{{"--ssl-certfile", &o.sslCert}, {"--ssl-keyfile", &o.sslKey}} {
		abs, err := filepath.Abs(*p.path)
		if err != nil {
			return &usageError{fmt.Errorf("%s: %w", p.flag, err)}
		}
		if _, err := os.Stat(abs); err != nil {
			return &usageError{fmt.Errorf("%s: %s: no such file", p.flag, *p.path)}
		}
		*p.path = abs
	}
	f.Gateway.TLSCert, f.Gateway.TLSKey = o.sslCert, o.sslKey
	return nil
}

// checkTLS loads the gateway's certificate and key before anything
// starts, so a wrong path or a mismatched pair is reported as bad input
// (exit code 2) naming where it was given. The flow loader cannot do it:
// exports name files that exist only where the flow is deployed.
func checkTLS(f *flow.Flow, o *runFlowOptions) error {
	g := f.Gateway
	if g.TLSCert == "" {
		return nil
	}
	where := f.File + ": with.ssl_certfile/ssl_keyfile"
	if o.sslCert != "" {
		where = "--ssl-certfile/--ssl-keyfile"
	}
	if _, err := tls.LoadX509KeyPair(g.TLSCert, g.TLSKey); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return &usageError{fmt.Errorf("%s: %s: %v", where, pe.Path, pe.Err)}
		}
		return &usageError{fmt.Errorf("%s: %s and %s: %v", where, g.TLSCert, g.TLSKey, err)}
	}
	return nil
}

func newUpCmd() *cobra.Command {
	var o runFlowOptions
	cmd := &cobra.Command{
		Use:   "up FLOW.yml",
		Short: "Run a flow",
		Long: `Run a flow: start every executor (built-in executors in-process, Go
executors built and run as child processes, external ones connected), open
the gateway, and wait. With --headless it prints the ready banner and logs,
and stops cleanly on SIGINT/SIGTERM (every executor's Close is called);
otherwise it opens the workbench.`,
		Example: `  jig up examples/quickstart/flow.yml --headless
  jig up flow.yml --headless --port 50000 --http-port 50001`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := flow.Load(args[0])
			if err != nil {
				return err
			}
			return runFlow(cmd, f, &o)
		},
	}
	o.register(cmd)
	return cmd
}

// runFlow starts f and blocks until the context ends (headless) or the
// workbench quits.
func runFlow(cmd *cobra.Command, f *flow.Flow, o *runFlowOptions) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return &usageError{fmt.Errorf("--log-level: want debug, info, warn or error (also in $%s), got %q", workerflags.LogLevelEnv, o.logLevel)}
	}
	for _, p := range []struct {
		flag string
		port int
	}{{"--port", o.grpcPort}, {"--http-port", o.httpPort}} {
		if p.port < 0 || p.port > 65535 {
			return &usageError{fmt.Errorf("%s: want a port number from 1 to 65535 (0: the flow's), got %d", p.flag, p.port)}
		}
	}
	if err := o.applyTLS(f); err != nil {
		return err
	}
	if err := o.applyTracing(cmd, f); err != nil {
		return err
	}
	if o.bodyBudget != "" {
		n, err := flow.ParseSize(o.bodyBudget)
		if err != nil {
			return &usageError{fmt.Errorf("--http-body-budget: %v", err)}
		}
		f.Gateway.HTTPBodyBudget = n
	}
	if o.bodyTimeout != 0 {
		f.Gateway.HTTPBodyTimeout = o.bodyTimeout
	}
	if err := checkTLS(f, o); err != nil {
		return err
	}
	if o.httpPort > 0 && !f.Gateway.Serves(flow.HTTP) {
		f.Gateway.Protocols = append(f.Gateway.Protocols, flow.HTTP)
	}
	if !o.headless {
		return runWorkbench(cmd, f, o, level)
	}
	ctx := cmd.Context()
	errOut := cmd.ErrOrStderr()
	// Subscribed before Start, so the start-up (builds and their
	// progress, replicas coming up) prints as it happens.
	bus := events.NewBus(5000)
	sub := bus.Subscribe(4096)
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		color := isTerminal(errOut)
		for e := range sub.C {
			printEvent(errOut, e, color)
		}
	}()
	// startInterruptible: a signal while building or starting stops the
	// flow within stopGrace too (stop.go).
	eng, err := startInterruptible(ctx, errOut, f, engine.Options{GRPCPort: o.grpcPort, HTTPPort: o.httpPort, LogLevel: level, Bus: bus})
	if err != nil || eng == nil {
		bus.Close() // the engine may have closed it already; the printer ends
		<-printed
		return err
	}
	printBanner(cmd.OutOrStdout(), eng)
	<-ctx.Done()
	fmt.Fprintln(errOut, "stopping (SIGINT again to force)...")
	force := forceSignal()
	err = stopWithin(eng, stopGrace, force)
	signal.Stop(force)
	sub.Close()
	<-printed
	return err
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}

// printBanner prints where the flow can be reached, as Jina's "Flow is
// ready to serve" panel does.
func printBanner(w io.Writer, eng *engine.Engine) {
	st := eng.Status()
	a := eng.Addresses()
	fmt.Fprintf(w, "Flow %s is ready to serve! (started in %s)\n", st.Flow, time.Since(st.Started).Round(time.Millisecond))
	grpcScheme, httpScheme := "grpc", "http"
	if eng.Flow().Gateway.TLSCert != "" {
		grpcScheme, httpScheme = "grpcs", "https"
	}
	if a.GRPC != "" {
		fmt.Fprintf(w, "  gRPC     %s://%s\n", grpcScheme, a.GRPC)
	}
	if a.HTTP != "" {
		fmt.Fprintf(w, "  HTTP     %s://%s   (OpenAPI: %s://%s/docs)\n", httpScheme, a.HTTP, httpScheme, a.HTTP)
	}
	if a.Metrics != "" {
		fmt.Fprintf(w, "  Metrics  %s\n", a.Metrics)
	}
	for _, d := range st.Deployments {
		var extra []string
		if d.Replicas > 1 {
			extra = append(extra, fmt.Sprintf("%d replicas", d.Replicas))
		}
		if d.Shards > 1 {
			extra = append(extra, fmt.Sprintf("%d shards", d.Shards))
		}
		if d.Stateful {
			extra = append(extra, "stateful")
		}
		if d.Reload {
			extra = append(extra, "reload")
		}
		desc := ""
		if len(extra) > 0 {
			desc = " (" + strings.Join(extra, ", ") + ")"
		}
		fmt.Fprintf(w, "  - %-12s %s%s  ports %v\n", d.Name, d.Uses, desc, d.Ports())
	}
}

// printEvent writes one event as a log line.
func printEvent(w io.Writer, e events.Event, color bool) {
	ts := e.When().Format("15:04:05.000")
	switch ev := e.(type) {
	case events.Log:
		lvl := ev.Level.String()
		if color {
			switch {
			case ev.Level >= slog.LevelError:
				lvl = "\x1b[31m" + lvl + "\x1b[0m"
			case ev.Level >= slog.LevelWarn:
				lvl = "\x1b[33m" + lvl + "\x1b[0m"
			}
		}
		fmt.Fprintf(w, "%s %-5s %-18s %s\n", ts, lvl, ev.Source, ev.String())
	case events.Update:
		if ev.Kind == events.Build && ev.Outcome != events.Failure {
			return // the engine logs builds (what, for which deployments, how long)
		}
		line := fmt.Sprintf("%s %-5s %-18s %s %s", ts, "EVENT", ev.Deployment, ev.Kind, ev.Outcome)
		if len(ev.Trigger) > 0 {
			line += fmt.Sprintf(" trigger=%v", ev.Trigger)
		}
		if ev.Duration > 0 {
			line += " took=" + ev.Duration.Round(time.Millisecond).String()
		}
		fmt.Fprintln(w, line)
		if ev.Output != "" && ev.Outcome == events.Failure {
			fmt.Fprintln(w, strings.TrimRight(ev.Output, "\n"))
		}
	case events.Leader:
		fmt.Fprintf(w, "%s %-5s %-18s new RAFT leader of shard %d: %s (term %d)\n", ts, "EVENT", ev.Deployment, ev.Shard, ev.Replica, ev.Term)
	}
}
