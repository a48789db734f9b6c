// Package workercmd is the worker process: Main, the main function of
// every user executor binary, and Run, which `jig executor` calls. It
// reads the command line (workerflags), loads the executor, serves it with
// executors/worker and prints the ready line the engine waits for.
//
// RAFT (stateful replicas, --raft-id) is wired in only when the binary was
// built with the jig_raft build tag (workerflags.RaftBuildTag), which the
// engine adds when a deployment of the executor's folder is stateful, or
// when the program called EnableRaft (jig itself): a worker that does not
// replicate does not link hashicorp/raft, raft-wal, bbolt and the rest.
// The OpenTelemetry SDK (--tracing) is cut the same way: linked only with
// the jig_tracing tag (workerflags.TracingBuildTag, tracing_tag.go) or by a
// program that links internal/tracing/tracingsdk itself (jig).
package workercmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/worker"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/internal/badinput"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/spf13/pflag"
)

// ResolveUses turns a --uses value into an executor config: builtin:Name,
// a registered type name, inline YAML ("jtype: X ..."), a config file or a
// folder holding config.yml.
func ResolveUses(uses string) (*executors.Config, error) {
	switch {
	case uses == "":
		return nil, &yamlutil.Error{Field: "--uses", Msg: "missing: name an executor (builtin:Name or a config.yml)"}
	case strings.HasPrefix(uses, "builtin:"):
		name := strings.TrimPrefix(uses, "builtin:")
		if !executors.IsRegistered(name) {
			return nil, &yamlutil.Error{Field: "uses", Msg: fmt.Sprintf("unknown built-in executor %q (available: %s)", name, strings.Join(executors.Registered(), ", "))}
		}
		return &executors.Config{JType: name, File: uses}, nil
	case strings.HasPrefix(strings.TrimSpace(uses), "jtype:") || strings.Contains(uses, "\n"):
		return executors.ParseConfig("--uses", []byte(uses))
	}
	if _, err := os.Stat(uses); err == nil {
		return executors.LoadConfig(uses)
	}
	if executors.IsRegistered(uses) {
		return &executors.Config{JType: uses, File: uses}, nil
	}
	return nil, &yamlutil.Error{Field: "uses", Msg: fmt.Sprintf("%q is neither a file nor a registered executor (registered: %s)", uses, strings.Join(executors.Registered(), ", "))}
}

// Spec builds the executor spec the flags describe.
func Spec(f *workerflags.Flags, logger *slog.Logger) (executors.Spec, error) {
	if f.Port < 0 || f.Port > 65535 {
		return executors.Spec{}, &yamlutil.Error{Field: "--port", Msg: fmt.Sprintf("want a port number from 0 to 65535, got %d", f.Port)}
	}
	cfg, err := ResolveUses(f.Uses)
	if err != nil {
		return executors.Spec{}, err
	}
	spec := executors.Spec{
		Config: cfg,
		Logger: logger,
		Runtime: executors.RuntimeArgs{
			Name: f.Name, Replicas: f.Replicas, Shards: f.Shards,
			ShardID: f.ShardID, ReplicaID: f.ReplicaID, Workspace: f.Workspace,
			Port: f.Port,
		},
	}
	if f.UsesWith != "" {
		n, err := yamlutil.FromJSONOrYAML("--uses-with", f.UsesWith)
		if err != nil {
			return spec, err
		}
		spec.UsesWith = &executors.Override{Node: n, File: "--uses-with"}
	}
	if f.UsesMetas != "" {
		n, err := yamlutil.FromJSONOrYAML("--uses-metas", f.UsesMetas)
		if err != nil {
			return spec, err
		}
		spec.UsesMetas = &executors.Override{Node: n, File: "--uses-metas"}
	}
	if f.UsesRequests != "" {
		n, err := yamlutil.FromJSONOrYAML("--uses-requests", f.UsesRequests)
		if err != nil {
			return spec, err
		}
		if err := yamlutil.Decode("--uses-requests", n, "", &spec.UsesRequests); err != nil {
			return spec, err
		}
	}
	if f.UsesDynamicBatching != "" {
		n, err := yamlutil.FromJSONOrYAML("--uses-dynamic-batching", f.UsesDynamicBatching)
		if err != nil {
			return spec, err
		}
		if err := yamlutil.Decode("--uses-dynamic-batching", n, "", &spec.UsesDynamicBatching); err != nil {
			return spec, err
		}
	}
	return spec, nil
}

// NewLogger builds the process logger f asks for, on w.
func NewLogger(f *workerflags.Flags, w io.Writer) (*slog.Logger, error) {
	name := f.LogLevel
	if name == "" {
		name = workerflags.DefaultLogLevel()
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(name)); err != nil {
		return nil, &badinput.Error{Field: "--log-level", Msg: fmt.Sprintf("want debug, info, warn or error (also in $%s), got %q", workerflags.LogLevelEnv, name)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f.LogFormat {
	case "json":
		// JSON has no duration type: slog writes nanoseconds, which the
		// engine reading these lines re-emits as took=3.83e+08. The
		// duration's text (383ms) reads the same in both places.
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				a.Value = slog.StringValue(a.Value.Duration().String())
			}
			return a
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, &badinput.Error{Field: "--log-format", Msg: fmt.Sprintf("want text or json, got %q", f.LogFormat)}
}

// Ready is the line a worker prints on stdout once it serves, so whoever
// started it learns the address (the port may have been picked by the
// kernel). It is one JSON object: {"jig":"ready","address":...,"pid":...}.
type Ready struct {
	Jig     string `json:"jig"`
	Address string `json:"address"`
	PID     int    `json:"pid"`
	// RaftAddress is the RAFT transport's address when the worker runs a
	// RAFT node (--raft-id).
	RaftAddress string `json:"raft_address,omitempty"`
}

// ParseReady recognises a ready line.
func ParseReady(line string) (Ready, bool) {
	var r Ready
	if !strings.HasPrefix(line, `{"jig":"ready"`) || json.Unmarshal([]byte(line), &r) != nil {
		return Ready{}, false
	}
	return r, r.Address != ""
}

// Run loads the executor the flags describe and serves it until ctx is
// done; then it drains requests (at most GracePeriod) and closes the
// executor. The ready line goes to stdout once serving.
func Run(ctx context.Context, f *workerflags.Flags, stdout io.Writer, logger *slog.Logger) error {
	spec, err := Spec(f, logger)
	if err != nil {
		return err
	}
	tok, err := authToken(f)
	if err != nil {
		return err
	}
	tlsOpts, err := tlsServerOptions(f)
	if err != nil {
		return err
	}
	// Listen first: with --port 0 (how the engine starts child replicas)
	// the kernel picks the port, and the executor's Runtime.Port is that
	// port, not 0.
	lis, err := net.Listen("tcp", net.JoinHostPort(f.Host, strconv.Itoa(f.Port)))
	if err != nil {
		return fmt.Errorf("listen on %s:%d: %w", f.Host, f.Port, err)
	}
	if a, ok := lis.Addr().(*net.TCPAddr); ok {
		spec.Runtime.Port = a.Port
	}
	t := f.Tracing
	stopTracing, err := tracing.Setup(ctx, tracing.Config{Tracing: t.Enabled, ExporterHost: t.ExporterHost, ExporterPort: t.ExporterPort, Service: spec.Runtime.Name})
	if errors.Is(err, tracing.ErrNoSDK) {
		err = &badinput.Error{Field: "--tracing", Msg: "this executor binary was built without tracing support; build it with `go build -tags " + workerflags.TracingBuildTag + "` (jig does so when a deployment of the executor has tracing: true)"}
	}
	if err != nil {
		lis.Close()
		return err
	}
	defer func() { // flush the last spans, without hanging on a dead collector
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = stopTracing(fctx)
	}()
	inst, err := executors.New(ctx, spec)
	if err != nil {
		lis.Close()
		// An inline config (YAML text) would spread the one "error:"
		// line the engine reads over many; name the flag instead.
		uses := f.Uses
		if strings.Contains(uses, "\n") {
			uses = "(inline --uses config)"
		}
		return fmt.Errorf("load executor %s: %w", uses, err)
	}
	defer func() {
		if err := inst.Close(); err != nil {
			logger.Error("executor close failed", "err", err)
		}
	}()
	opts := worker.Options{Instance: inst, Logger: logger, MaxMessageSize: f.MaxMessageSize}
	var raft *raftNode
	if f.Raft.ID != "" {
		if raft, err = startRaft(ctx, f, inst, &opts, lis.Addr().String(), tok, logger); err != nil {
			lis.Close()
			return err
		}
		// Runs before inst.Close (deferred earlier) and after srv.Stop:
		// the executor outlives the node that applies writes to it.
		defer raft.shutdown()
	}
	opts.ServerOptions = append(opts.ServerOptions, tlsOpts...)
	if tok != "" {
		opts.ServerOptions = append(opts.ServerOptions, worker.AuthServerOptions(tok)...)
	}
	srv, err := worker.NewServer(opts)
	if err != nil {
		lis.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	r := Ready{Jig: "ready", Address: lis.Addr().String(), PID: os.Getpid()}
	if raft != nil {
		r.RaftAddress = raft.addr
	}
	ready, _ := json.Marshal(r)
	fmt.Fprintln(stdout, string(ready))
	logger.Info("executor serving", "executor", inst.Name(), "jtype", inst.JType(), "address", lis.Addr().String(), "raft_address", r.RaftAddress)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("executor stopping", "executor", inst.Name())
	stopCtx, cancel := context.WithTimeout(context.Background(), f.GracePeriod)
	defer cancel()
	if raft != nil {
		raft.resign(stopCtx)
	}
	srv.Stop(stopCtx)
	<-errc
	return nil
}

// Main is the main function of a user executor binary:
//
//	func main() { workercmd.Main(func() executors.Executor { return &Greeter{} }) }
//
// It registers each factory under its type name (TypeName), parses the
// worker flags (--uses defaults to config.yml beside the working directory
// or the binary), serves until SIGINT/SIGTERM and exits with code 2 on bad
// configuration, 1 on other failures.
func Main(factories ...executors.Factory) {
	for _, f := range factories {
		executors.Register(executors.TypeName(f()), f)
	}
	os.Exit(MainArgs(os.Args[1:], os.Stdout, os.Stderr))
}

// MainArgs runs a worker with the given arguments; it returns the process
// exit code. Main calls it; tests call it directly.
func MainArgs(args []string, stdout, stderr io.Writer) int {
	f := workerflags.Default()
	fs := pflag.NewFlagSet("executor", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	f.Register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	if f.Uses == "" {
		f.Uses = defaultUses()
	}
	logger, err := NewLogger(&f, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, &f, stdout, logger); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		if errors.Is(err, badinput.Err) {
			return 2
		}
		return 1
	}
	return 0
}

// defaultUses finds config.yml in the working directory, else beside the
// binary, else falls back to the only registered type.
func defaultUses() string {
	if _, err := os.Stat("config.yml"); err == nil {
		return "config.yml"
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "config.yml")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if reg := executors.Registered(); len(reg) == 1 {
		return reg[0]
	}
	return ""
}
