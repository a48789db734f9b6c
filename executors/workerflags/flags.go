// Package workerflags is the worker's command line as one typed value:
// the flags of `jig executor` and of every user executor binary, which is
// how the engine and exported containers start child-process replicas.
// Flags.Register and Parse read it; Flags.Args writes it, and is their
// exact inverse (Parse(f.Args()) == f), so the processes that start
// workers never assemble flag text by hand.
//
// The package links neither the server nor RAFT: the engine's planner,
// export and a worker built without RAFT support all use it.
package workerflags

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jig-dev/jig/consensus/clusterconf"
	"github.com/jig-dev/jig/internal/badinput"
	"github.com/spf13/pflag"
)

// AuthTokenEnv is the environment variable a worker reads its token from
// when --auth-token is not given. The engine hands its per-flow secret
// to child processes this way: argv is visible to every local user (ps,
// /proc/PID/cmdline), a process's environment only to its owner.
const AuthTokenEnv = "JIG_AUTH_TOKEN"

// AuthTokenFileEnv names a file holding the token, the way container
// orchestrators hand secrets over (a Compose secret mounted under
// /run/secrets): used when neither --auth-token, --auth-token-file nor
// $JIG_AUTH_TOKEN is set.
const AuthTokenFileEnv = "JIG_AUTH_TOKEN_FILE"

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

// Flags are the command-line options of a worker process.
type Flags struct {
	// Uses is the executor: builtin:Name, a registered type name, inline
	// YAML, a config.yml or a folder holding one.
	Uses string
	// AuthToken, when set (or $JIG_AUTH_TOKEN), is required from callers.
	AuthToken string
	// AuthTokenFile names a file holding the token (or $JIG_AUTH_TOKEN_FILE).
	AuthTokenFile string
	// SSLCertfile and SSLKeyfile, both set, make the worker serve TLS.
	SSLCertfile, SSLKeyfile string
	// Host and Port are where the worker listens (port 0: a free one).
	Host string
	Port int
	// Name is the deployment name (default: metas.name).
	Name string
	// Replicas, Shards, ShardID and ReplicaID place the worker in its
	// deployment (the executor's runtime arguments).
	Replicas, Shards   int
	ShardID, ReplicaID int
	// Workspace is the base folder for the executor's files.
	Workspace string
	// UsesWith, UsesMetas, UsesRequests and UsesDynamicBatching override
	// the config's blocks; each is JSON or YAML text.
	UsesWith, UsesMetas, UsesRequests, UsesDynamicBatching string
	// LogFormat is text or json; LogLevel debug, info, warn or error (""
	// means $JIG_LOG_LEVEL, else info).
	LogFormat, LogLevel string
	// MaxMessageSize bounds requests and responses in bytes (0: the
	// server's default, 256 MiB).
	MaxMessageSize int
	// GracePeriod bounds how long in-flight requests may finish on
	// shutdown.
	GracePeriod time.Duration
	// Tracing exports the worker's spans over OTLP/gRPC.
	Tracing Tracing
	// Raft are the flags of a stateful replica.
	Raft Raft
}

// Tracing are Jina's tracing flags (--tracing, --traces-exporter-host,
// --traces-exporter-port): with Enabled, the worker exports a span for
// every request, continuing the caller's W3C traceparent. An empty host
// or a zero port means the collector's default, 127.0.0.1:4317 (kept in
// internal/tracing, which this package does not link).
type Tracing struct {
	Enabled      bool
	ExporterHost string
	ExporterPort int
}

// Raft are the flags of a stateful replica: with ID set, the worker runs
// a RAFT node beside the executor; write endpoints go through the RAFT log
// and reads follow Consistency.
type Raft struct {
	// ID is the RAFT server id (--raft-id); "" runs no node.
	ID string
	// Dir holds the replica's RAFT log and snapshots.
	Dir string
	// Addr is the host:port of the RAFT transport; port 0 means this
	// replica's address in Peers, else a free port.
	Addr string
	// Peers is every member of the shard, this one included (nil: this
	// replica alone).
	Peers []clusterconf.Peer
	// Knobs tune RAFT (--raft-config); zero ones take defaults.
	Knobs clusterconf.Knobs
	// Join makes the replica join an existing cluster instead of
	// bootstrapping (scale-up).
	Join bool
	// Consistency is how reads are served (--read-consistency).
	Consistency clusterconf.Consistency
}

// Default returns the flags' default values: what Parse of no arguments
// gives, and what Args leaves out.
func Default() Flags {
	return Flags{
		Host: "127.0.0.1", Replicas: 1, Shards: 1, LogFormat: "text",
		GracePeriod: 10 * time.Second,
		Raft:        Raft{Addr: "127.0.0.1:0"},
	}
}

// Register adds the worker flags to fs, with f's current values as
// defaults (start from Default()).
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Uses, "uses", f.Uses, "executor to serve: builtin:Name, a registered type name, a config.yml, or a folder holding one")
	fs.StringVar(&f.AuthToken, "auth-token", f.AuthToken, "require this bearer token from every caller but health checks (default: $"+AuthTokenEnv+"; unset: open, for Jina gateways)")
	fs.StringVar(&f.AuthTokenFile, "auth-token-file", f.AuthTokenFile, "read the bearer token from this file (a mounted secret; default: $"+AuthTokenFileEnv+")")
	fs.StringVar(&f.SSLCertfile, "ssl-certfile", f.SSLCertfile, "serve TLS with this PEM certificate (with --ssl-keyfile); callers then dial with TLS")
	fs.StringVar(&f.SSLKeyfile, "ssl-keyfile", f.SSLKeyfile, "PEM private key of --ssl-certfile")
	fs.StringVar(&f.Host, "host", f.Host, "address to listen on (127.0.0.1 keeps the worker private to this machine)")
	fs.IntVar(&f.Port, "port", f.Port, "port to listen on (0 picks a free one and prints it)")
	fs.StringVar(&f.Name, "name", f.Name, "deployment name (default: metas.name)")
	fs.IntVar(&f.Replicas, "replicas", f.Replicas, "number of replicas of the deployment (set by the engine)")
	fs.IntVar(&f.Shards, "shards", f.Shards, "number of shards of the deployment (set by the engine)")
	fs.IntVar(&f.ShardID, "shard-id", f.ShardID, "shard of this worker (set by the engine)")
	fs.IntVar(&f.ReplicaID, "replica-id", f.ReplicaID, "replica of this worker (set by the engine)")
	fs.StringVar(&f.Workspace, "workspace", f.Workspace, "base folder for the executor's files")
	fs.StringVar(&f.UsesWith, "uses-with", f.UsesWith, `override the "with:" block, as JSON or YAML, e.g. '{"dim": 64}'`)
	fs.StringVar(&f.UsesMetas, "uses-metas", f.UsesMetas, `override "metas:", as JSON or YAML`)
	fs.StringVar(&f.UsesRequests, "uses-requests", f.UsesRequests, `override "requests:" (endpoint -> method), as JSON or YAML`)
	fs.StringVar(&f.UsesDynamicBatching, "uses-dynamic-batching", f.UsesDynamicBatching, `override "dynamic_batching:", as JSON or YAML`)
	fs.StringVar(&f.LogFormat, "log-format", f.LogFormat, "log format on stderr: text or json")
	fs.StringVar(&f.LogLevel, "log-level", f.LogLevel, "log level: debug, info, warn or error (default $"+LogLevelEnv+", else info)")
	fs.IntVar(&f.MaxMessageSize, "max-message-size", f.MaxMessageSize, "largest request or response in bytes (0: 256 MiB)")
	fs.DurationVar(&f.GracePeriod, "grace-period", f.GracePeriod, "how long in-flight requests may finish on shutdown")
	fs.BoolVar(&f.Tracing.Enabled, "tracing", f.Tracing.Enabled, "export OpenTelemetry spans of every request (OTLP over gRPC), continuing the caller's W3C traceparent")
	fs.StringVar(&f.Tracing.ExporterHost, "traces-exporter-host", f.Tracing.ExporterHost, "host of the OTLP/gRPC collector spans go to, with --tracing (default 127.0.0.1)")
	fs.IntVar(&f.Tracing.ExporterPort, "traces-exporter-port", f.Tracing.ExporterPort, "port of the OTLP/gRPC collector, with --tracing (default 4317)")
	fs.StringVar(&f.Raft.ID, "raft-id", f.Raft.ID, "RAFT server id of this replica: runs a RAFT node beside the executor, so write endpoints are replicated (stateful deployments; set by the engine)")
	fs.StringVar(&f.Raft.Dir, "raft-dir", f.Raft.Dir, "folder for this replica's RAFT log and snapshots (required with --raft-id)")
	fs.StringVar(&f.Raft.Addr, "raft-addr", f.Raft.Addr, "host:port of the RAFT transport; port 0 means this replica's address in --raft-peers, else a free port (the ready line reports it)")
	fs.Var((*peersValue)(&f.Raft.Peers), "raft-peers", `every member of the shard, this one included, as JSON: '[{"id":"0","raft":"127.0.0.1:7000","worker":"127.0.0.1:7100"},...]' (default: this replica alone)`)
	fs.Var((*knobsValue)(&f.Raft.Knobs), "raft-config", `RAFT knobs as JSON, e.g. '{"heartbeat_timeout":"500ms","snapshot_threshold":1024}' (durations: Go strings or milliseconds)`)
	fs.BoolVar(&f.Raft.Join, "raft-join", f.Raft.Join, "this replica joins an existing cluster (scale-up): it waits for the leader's AddVoter instead of bootstrapping")
	fs.Var((*consistencyValue)(&f.Raft.Consistency), "read-consistency", "reads of a RAFT replica: local (fast, possibly stale) or leader (served by the leader, sees every acknowledged write)")
}

// Parse reads a worker command line (without the program name). Errors
// are bad input (errors.Is(err, badinput.Err)).
func Parse(args []string) (Flags, error) {
	f := Default()
	fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	fs.SetOutput(discard{})
	f.Register(fs)
	if err := fs.Parse(args); err != nil {
		return f, &badinput.Error{Msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return f, &badinput.Error{Msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return f, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Args renders f as a command line: every flag whose value differs from
// Default(), in a fixed order, each as two arguments ("--name", "value";
// booleans alone). Parse(f.Args()) returns f.
func (f *Flags) Args() []string {
	d := Default()
	var args []string
	str := func(name, v, def string) {
		if v != def {
			args = append(args, "--"+name, v)
		}
	}
	num := func(name string, v, def int) {
		if v != def {
			args = append(args, "--"+name, strconv.Itoa(v))
		}
	}
	str("uses", f.Uses, d.Uses)
	str("auth-token", f.AuthToken, d.AuthToken)
	str("auth-token-file", f.AuthTokenFile, d.AuthTokenFile)
	str("ssl-certfile", f.SSLCertfile, d.SSLCertfile)
	str("ssl-keyfile", f.SSLKeyfile, d.SSLKeyfile)
	str("host", f.Host, d.Host)
	num("port", f.Port, d.Port)
	str("name", f.Name, d.Name)
	num("replicas", f.Replicas, d.Replicas)
	num("shards", f.Shards, d.Shards)
	num("shard-id", f.ShardID, d.ShardID)
	num("replica-id", f.ReplicaID, d.ReplicaID)
	str("workspace", f.Workspace, d.Workspace)
	str("uses-with", f.UsesWith, d.UsesWith)
	str("uses-metas", f.UsesMetas, d.UsesMetas)
	str("uses-requests", f.UsesRequests, d.UsesRequests)
	str("uses-dynamic-batching", f.UsesDynamicBatching, d.UsesDynamicBatching)
	str("log-format", f.LogFormat, d.LogFormat)
	str("log-level", f.LogLevel, d.LogLevel)
	num("max-message-size", f.MaxMessageSize, d.MaxMessageSize)
	if f.GracePeriod != d.GracePeriod {
		args = append(args, "--grace-period", f.GracePeriod.String())
	}
	if f.Tracing.Enabled {
		args = append(args, "--tracing")
	}
	str("traces-exporter-host", f.Tracing.ExporterHost, d.Tracing.ExporterHost)
	num("traces-exporter-port", f.Tracing.ExporterPort, d.Tracing.ExporterPort)
	return append(args, f.Raft.Args()...)
}

// Args renders the RAFT flags alone, as Flags.Args does: those whose
// value differs from Default().Raft. A caller that renders the rest of a
// command line apart (an export escaping user text) appends them.
func (r *Raft) Args() []string {
	d := Default().Raft
	var args []string
	str := func(name, v, def string) {
		if v != def {
			args = append(args, "--"+name, v)
		}
	}
	str("raft-id", r.ID, d.ID)
	str("raft-dir", r.Dir, d.Dir)
	str("raft-addr", r.Addr, d.Addr)
	if r.Peers != nil {
		args = append(args, "--raft-peers", (*peersValue)(&r.Peers).String())
	}
	if !r.Knobs.IsZero() {
		args = append(args, "--raft-config", r.Knobs.JSON())
	}
	if r.Join {
		args = append(args, "--raft-join")
	}
	if r.Consistency != d.Consistency {
		args = append(args, "--read-consistency", r.Consistency.String())
	}
	return args
}

// peersValue is --raft-peers as a pflag.Value.
type peersValue []clusterconf.Peer

func (p *peersValue) String() string {
	if *p == nil {
		return ""
	}
	b, _ := json.Marshal([]clusterconf.Peer(*p)) // strings only: never fails
	return string(b)
}

func (p *peersValue) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		*p = nil // "": this replica alone, as if not given
		return nil
	}
	peers, err := clusterconf.ParsePeers(s)
	if err != nil {
		return err
	}
	if peers == nil {
		peers = []clusterconf.Peer{}
	}
	*p = peers
	return nil
}

func (*peersValue) Type() string { return "json" }

// knobsValue is --raft-config as a pflag.Value.
type knobsValue clusterconf.Knobs

func (k *knobsValue) String() string { return (*clusterconf.Knobs)(k).JSON() }

func (k *knobsValue) Set(s string) error {
	var v clusterconf.Knobs
	if err := v.Set([]byte(s)); err != nil {
		return err
	}
	*k = knobsValue(v)
	return nil
}

func (*knobsValue) Type() string { return "json" }

// consistencyValue is --read-consistency as a pflag.Value.
type consistencyValue clusterconf.Consistency

func (c *consistencyValue) String() string { return clusterconf.Consistency(*c).String() }

func (c *consistencyValue) Set(s string) error {
	v, err := clusterconf.ParseConsistency(s)
	*c = consistencyValue(v)
	return err
}

func (*consistencyValue) Type() string { return "string" }

// RaftBuildTag is the Go build tag that links RAFT support into a worker
// binary (executors/workercmd): `go build -tags jig_raft`. Without it a
// user executor serves everything but --raft-id, and does not link
// hashicorp/raft and its stores. The engine builds with it when a
// deployment of the executor's folder is stateful.
const RaftBuildTag = "jig_raft"

// TracingBuildTag is the Go build tag that links the OpenTelemetry SDK and
// OTLP exporter (internal/tracing/tracingsdk) into a worker binary: `go
// build -tags jig_tracing`. Without it the worker refuses --tracing and
// does not link the SDK. The engine builds with it when a deployment of
// the executor's folder has tracing: true.
const TracingBuildTag = "jig_tracing"
