package worker

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

	"github.com/jig-dev/jig/consensus"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
)

// Flags are the command-line options of a worker process: `jig executor`
// and the main function of every user executor (Main) accept the same ones,
// which is how the engine starts child-process replicas.
type Flags struct {
	Uses string
	// AuthToken, when set (or $JIG_AUTH_TOKEN), is required from callers.
	AuthToken string
	// AuthTokenFile names a file holding the token (or $JIG_AUTH_TOKEN_FILE).
	AuthTokenFile string
	// SSLCertfile and SSLKeyfile, both set, make the worker serve TLS.
	SSLCertfile, SSLKeyfile string
	Host                    string
	Port                    int
	Name                    string
	Replicas                int
	Shards                  int
	ShardID                 int
	ReplicaID               int
	Workspace               string
	UsesWith                string
	UsesMetas               string
	UsesRequests            string
	UsesDynamicBatching     string
	LogFormat               string
	LogLevel                string
	MaxMessageSize          int
	GracePeriod             time.Duration
	// Tracing, TracesExporterHost and TracesExporterPort export the
	// worker's spans over OTLP/gRPC (Jina's --tracing,
	// --traces-exporter-host, --traces-exporter-port).
	Tracing            bool
	TracesExporterHost string
	TracesExporterPort int

	// RAFT (stateful deployments): with RaftID set, the worker runs a
	// consensus.Node beside the executor; write endpoints go through the
	// RAFT log and reads follow ReadConsistency.
	RaftID          string
	RaftDir         string
	RaftAddr        string
	RaftPeers       string
	RaftConfig      string
	RaftJoin        bool
	ReadConsistency string
}

// Register adds the worker flags to fs. usesRequired says whether --uses
// must be given (a user binary defaults it to its own config.yml).
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Uses, "uses", f.Uses, "executor to serve: builtin:Name, a registered type name, a config.yml, or a folder holding one")
	fs.StringVar(&f.AuthToken, "auth-token", "", "require this bearer token from every caller but health checks (default: $"+AuthTokenEnv+"; unset: open, for Jina gateways)")
	fs.StringVar(&f.AuthTokenFile, "auth-token-file", "", "read the bearer token from this file (a mounted secret; default: $"+AuthTokenFileEnv+")")
	fs.StringVar(&f.SSLCertfile, "ssl-certfile", "", "serve TLS with this PEM certificate (with --ssl-keyfile); callers then dial with TLS")
	fs.StringVar(&f.SSLKeyfile, "ssl-keyfile", "", "PEM private key of --ssl-certfile")
	fs.StringVar(&f.Host, "host", "127.0.0.1", "address to listen on (127.0.0.1 keeps the worker private to this machine)")
	fs.IntVar(&f.Port, "port", 0, "port to listen on (0 picks a free one and prints it)")
	fs.StringVar(&f.Name, "name", "", "deployment name (default: metas.name)")
	fs.IntVar(&f.Replicas, "replicas", 1, "number of replicas of the deployment (set by the engine)")
	fs.IntVar(&f.Shards, "shards", 1, "number of shards of the deployment (set by the engine)")
	fs.IntVar(&f.ShardID, "shard-id", 0, "shard of this worker (set by the engine)")
	fs.IntVar(&f.ReplicaID, "replica-id", 0, "replica of this worker (set by the engine)")
	fs.StringVar(&f.Workspace, "workspace", "", "base folder for the executor's files")
	fs.StringVar(&f.UsesWith, "uses-with", "", `override the "with:" block, as JSON or YAML, e.g. '{"dim": 64}'`)
	fs.StringVar(&f.UsesMetas, "uses-metas", "", `override "metas:", as JSON or YAML`)
	fs.StringVar(&f.UsesRequests, "uses-requests", "", `override "requests:" (endpoint -> method), as JSON or YAML`)
	fs.StringVar(&f.UsesDynamicBatching, "uses-dynamic-batching", "", `override "dynamic_batching:", as JSON or YAML`)
	fs.StringVar(&f.LogFormat, "log-format", "text", "log format on stderr: text or json")
	fs.StringVar(&f.LogLevel, "log-level", DefaultLogLevel(), "log level: debug, info, warn or error (default $"+LogLevelEnv+", else info)")
	fs.IntVar(&f.MaxMessageSize, "max-message-size", DefaultMaxMessageSize, "largest request or response in bytes")
	fs.BoolVar(&f.Tracing, "tracing", false, "export OpenTelemetry spans of every request (OTLP over gRPC), continuing the caller's W3C traceparent")
	fs.StringVar(&f.TracesExporterHost, "traces-exporter-host", tracing.DefaultExporterHost, "host of the OTLP/gRPC collector spans go to, with --tracing")
	fs.IntVar(&f.TracesExporterPort, "traces-exporter-port", tracing.DefaultExporterPort, "port of the OTLP/gRPC collector, with --tracing")
	fs.DurationVar(&f.GracePeriod, "grace-period", 10*time.Second, "how long in-flight requests may finish on shutdown")
	fs.StringVar(&f.RaftID, "raft-id", "", "RAFT server id of this replica: runs a RAFT node beside the executor, so write endpoints are replicated (stateful deployments; set by the engine)")
	fs.StringVar(&f.RaftDir, "raft-dir", "", "folder for this replica's RAFT log and snapshots (required with --raft-id)")
	fs.StringVar(&f.RaftAddr, "raft-addr", "127.0.0.1:0", "host:port of the RAFT transport; port 0 means this replica's address in --raft-peers, else a free port (the ready line reports it)")
	fs.StringVar(&f.RaftPeers, "raft-peers", "", `every member of the shard, this one included, as JSON: '[{"id":"0","raft":"127.0.0.1:7000","worker":"127.0.0.1:7100"},...]' (default: this replica alone)`)
	fs.StringVar(&f.RaftConfig, "raft-config", "", `RAFT knobs as JSON, e.g. '{"heartbeat_timeout":"500ms","snapshot_threshold":1024}' (durations: Go strings or milliseconds)`)
	fs.BoolVar(&f.RaftJoin, "raft-join", false, "this replica joins an existing cluster (scale-up): it waits for the leader's AddVoter instead of bootstrapping")
	fs.StringVar(&f.ReadConsistency, "read-consistency", "local", "reads of a RAFT replica: local (fast, possibly stale) or leader (served by the leader, sees every acknowledged write)")
}

// Consensus builds the RAFT node configuration the flags describe for inst,
// whose worker listens on workerAddr, and the default read consistency.
// Errors are bad input (exit code 2).
func (f *Flags) Consensus(inst *executors.Instance, workerAddr string, logger *slog.Logger) (consensus.Config, consensus.Consistency, error) {
	bad := func(field string, err error) error { return &yamlutil.Error{Field: field, Msg: err.Error()} }
	cfg := consensus.DefaultConfig()
	cfg.ID, cfg.Dir, cfg.BindAddr, cfg.Join = f.RaftID, f.RaftDir, f.RaftAddr, f.RaftJoin
	cfg.Instance, cfg.Logger = inst, logger
	if cfg.Dir == "" {
		return cfg, 0, &yamlutil.Error{Field: "--raft-dir", Msg: "required with --raft-id"}
	}
	if cfg.BindAddr == "" {
		cfg.BindAddr = "127.0.0.1:0"
	}
	consistency, err := consensus.ParseConsistency(f.ReadConsistency)
	if err != nil {
		return cfg, 0, bad("--read-consistency", err)
	}
	if f.RaftConfig != "" {
		if err := cfg.SetKnobs([]byte(f.RaftConfig)); err != nil {
			return cfg, 0, bad("--raft-config", err)
		}
	}
	if f.RaftPeers != "" {
		if cfg.Peers, err = consensus.ParsePeers(f.RaftPeers); err != nil {
			return cfg, 0, bad("--raft-peers", err)
		}
	}
	self := -1
	for i, p := range cfg.Peers {
		if p.ID == cfg.ID {
			self = i
		}
	}
	switch {
	case self < 0 && !cfg.Join && f.RaftPeers != "":
		return cfg, 0, &yamlutil.Error{Field: "--raft-peers", Msg: fmt.Sprintf("no member with id %q (--raft-id); use --raft-join for a replica added later", cfg.ID)}
	case self < 0:
		cfg.Peers = append(cfg.Peers, consensus.Peer{ID: cfg.ID})
		self = len(cfg.Peers) - 1
	}
	// This replica's own entry: the addresses actually bound. Its raft
	// address in --raft-peers is where it binds unless --raft-addr says
	// otherwise; the two must not disagree, or the others dial nobody.
	p := &cfg.Peers[self]
	if p.WorkerAddr == "" || strings.HasSuffix(p.WorkerAddr, ":0") {
		p.WorkerAddr = workerAddr
	}
	if p.RaftAddr != "" && !strings.HasSuffix(p.RaftAddr, ":0") {
		switch {
		case strings.HasSuffix(cfg.BindAddr, ":0"):
			cfg.BindAddr = p.RaftAddr
		case cfg.BindAddr != p.RaftAddr:
			return cfg, 0, &yamlutil.Error{Field: "--raft-addr", Msg: fmt.Sprintf("%s, but --raft-peers says member %q is at %s", cfg.BindAddr, cfg.ID, p.RaftAddr)}
		}
	}
	return cfg, consistency, nil
}

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
func (f *Flags) Spec(logger *slog.Logger) (executors.Spec, error) {
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

// LogLevelEnv is the environment variable that sets the default log level
// of jig's processes (Jina's JINA_LOG_LEVEL), for those a user does not
// start by hand: exported containers, workers started by scripts. An
// explicit --log-level wins.
const LogLevelEnv = "JIG_LOG_LEVEL"

// DefaultLogLevel is $JIG_LOG_LEVEL (lower case), else "info".
func DefaultLogLevel() string {
	if v := strings.TrimSpace(os.Getenv(LogLevelEnv)); v != "" {
		return strings.ToLower(v)
	}
	return "info"
}

// NewLogger builds the process logger the flags ask for, on w.
func (f *Flags) NewLogger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.LogLevel)); err != nil {
		return nil, &yamlutil.Error{Field: "--log-level", Msg: fmt.Sprintf("want debug, info, warn or error (also in $%s), got %q", LogLevelEnv, f.LogLevel)}
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
	return nil, &yamlutil.Error{Field: "--log-format", Msg: fmt.Sprintf("want text or json, got %q", f.LogFormat)}
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
func Run(ctx context.Context, f *Flags, stdout io.Writer, logger *slog.Logger) error {
	spec, err := f.Spec(logger)
	if err != nil {
		return err
	}
	tok, err := f.authToken()
	if err != nil {
		return err
	}
	tlsOpts, err := f.tlsServerOptions()
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
	stopTracing, err := tracing.Setup(ctx, tracing.Config{Tracing: f.Tracing, ExporterHost: f.TracesExporterHost, ExporterPort: f.TracesExporterPort, Service: spec.Runtime.Name})
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
	opts := Options{Instance: inst, Logger: logger, MaxMessageSize: f.MaxMessageSize}
	var node *consensus.Node
	if f.RaftID != "" {
		cfg, consistency, err := f.Consensus(inst, lis.Addr().String(), logger)
		if err != nil {
			lis.Close()
			return err
		}
		if tok != "" {
			cfg.ForwardDialOptions = append(cfg.ForwardDialOptions, AuthDialOption(tok))
			cfg.TransportSecret = []byte(tok)
		}
		if node, err = consensus.NewNode(cfg); err != nil {
			lis.Close()
			return fmt.Errorf("start raft node %s: %w", f.RaftID, err)
		}
		// Runs before inst.Close (deferred earlier) and after srv.Stop:
		// the executor outlives the node that applies writes to it.
		defer func() {
			if err := node.Shutdown(); err != nil {
				logger.Error("raft shutdown failed", "err", err)
			}
		}()
		opts.Writes = node
		opts.Reads = consensus.Reads{Node: node, Consistency: consistency}
	}
	if node != nil {
		opts.Register = func(s *grpc.Server) { consensus.RegisterAdmin(s, node) }
	}
	opts.ServerOptions = append(opts.ServerOptions, tlsOpts...)
	if tok != "" {
		opts.ServerOptions = append(opts.ServerOptions, AuthServerOptions(tok)...)
	}
	srv, err := NewServer(opts)
	if err != nil {
		lis.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	r := Ready{Jig: "ready", Address: lis.Addr().String(), PID: os.Getpid()}
	if node != nil {
		r.RaftAddress = node.RaftAddr()
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
	if node != nil {
		resign(stopCtx, node, logger)
	}
	srv.Stop(stopCtx)
	<-errc
	return nil
}

// resign hands leadership to another member before a leader drains, so
// writes keep flowing (followers forward them to the new leader) instead
// of waiting for an election after the node stops. A failure only costs
// that election.
func resign(ctx context.Context, node *consensus.Node, logger *slog.Logger) {
	if !node.IsLeader() || node.Stats().Peers == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := node.TransferLeadership(ctx, ""); err != nil {
		logger.Warn("leadership transfer before shutdown failed; the others will elect a leader", "err", err)
		return
	}
	// The successor is known here only at its first heartbeat; its own
	// log says it took over.
	logger.Info("leadership transferred before shutdown", "took", time.Since(start))
}

// Main is the main function of a user executor binary:
//
//	func main() { worker.Main(func() executors.Executor { return &Greeter{} }) }
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
	var f Flags
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
	logger, err := f.NewLogger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, &f, stdout, logger); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		if errors.Is(err, yamlutil.ErrBadInput) {
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
