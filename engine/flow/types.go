// Package flow is the Flow and Deployment model of jig: the Flow YAML
// (Jina's Flow YAML, the keys jig supports being the fields of Flow and
// Deployment below) loaded and validated up front, and the
// topology (the `needs` DAG) the gateway routes along.
//
// Every validation error names the file, line and field it comes from and
// matches yamlutil.ErrBadInput, so commands exit with code 2 on it.
package flow

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jig-dev/jig/consensus/clusterconf"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/yamlutil"
	"gopkg.in/yaml.v3"
)

// Flow is a loaded, validated Flow YAML.
type Flow struct {
	// File is the path the flow was loaded from ("" when built in code).
	File string
	// Dir is the folder relative paths in the flow are resolved against.
	Dir string
	// Name is the flow's name (`name:` or the file's base name).
	Name string
	// Gateway is the `with:` block: the gateway and flow-wide settings.
	Gateway Gateway
	// Deployments are the executors in declaration order.
	Deployments []*Deployment
	// Graph is the topology derived from `needs`.
	Graph *Graph
}

// Deployment returns the deployment named name, or nil.
func (f *Flow) Deployment(name string) *Deployment {
	for _, d := range f.Deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Protocol is a gateway protocol.
type Protocol string

// Gateway protocols.
const (
	GRPC Protocol = "grpc"
	HTTP Protocol = "http"
)

// Gateway is the `with:` block of a flow.
type Gateway struct {
	// Host is the address the gateway binds (default 127.0.0.1: local
	// only; set 0.0.0.0 to expose it).
	Host string
	// Protocols are the protocols served, each on its own port.
	Protocols []Protocol
	// Ports holds the port of each protocol (0 = pick a free one).
	Ports map[Protocol]int
	// Workspace is the base folder of every deployment's workspace.
	Workspace string
	// TimeoutReady bounds how long a deployment may take to become ready
	// (0 = wait forever).
	TimeoutReady time.Duration
	// TLSCert and TLSKey enable TLS on the gateway (ssl_certfile,
	// ssl_keyfile).
	TLSCert, TLSKey string
	// AuthToken, when set, is required from clients as a bearer token.
	AuthToken string
	// MonitoringPort serves Prometheus /metrics on its own port (0 = only
	// on the HTTP port, when HTTP is served).
	MonitoringPort int
	// Prefetch bounds the requests in flight per client stream.
	Prefetch int
	// MaxMessageSize bounds request and response sizes in bytes.
	MaxMessageSize int
	// HTTPBodyBudget bounds the bytes of HTTP request bodies the gateway
	// holds at once, across all requests (with.http_body_budget; 0: the
	// gateway's default, 1 GiB). Each body byte counts 4 (decoded
	// forms and the answer); requests past it get 503 + Retry-After, and
	// bodies over a quarter of it 413.
	HTTPBodyBudget int64
	// HTTPBodyTimeout is the grace an HTTP request body has to arrive, on
	// top of 1 s per 128 KiB of it (with.http_body_timeout; 0: 30 s;
	// < 0: no deadline).
	HTTPBodyTimeout time.Duration
	// Env is set for every deployment.
	Env map[string]string
	// Tracing is `with: {tracing, traces_exporter_host,
	// traces_exporter_port}`: OpenTelemetry spans of every request.
	Tracing Tracing
}

// Tracing are Jina's tracing settings of a flow or a deployment.
type Tracing struct {
	// Enabled turns spans on (`tracing: true`).
	Enabled bool
	// ExporterHost and ExporterPort name the OTLP/gRPC collector (empty
	// and 0: tracing's defaults, 127.0.0.1:4317).
	ExporterHost string
	ExporterPort int
}

// Port returns the port of protocol p, or 0.
func (g *Gateway) Port(p Protocol) int { return g.Ports[p] }

// Serves reports whether the gateway serves protocol p.
func (g *Gateway) Serves(p Protocol) bool {
	for _, q := range g.Protocols {
		if q == p {
			return true
		}
	}
	return false
}

// Polling selects which shards receive a request.
type Polling string

// Polling modes.
const (
	// Any sends the request to one shard.
	Any Polling = "ANY"
	// All sends it to every shard and reduces the results.
	All Polling = "ALL"
)

// PollingMap is a deployment's polling per endpoint; "*" is the default.
type PollingMap map[string]Polling

// For returns the polling of endpoint.
func (m PollingMap) For(endpoint string) Polling {
	if p, ok := m[endpoint]; ok {
		return p
	}
	if p, ok := m["*"]; ok {
		return p
	}
	return Any
}

// Consistency is how reads of a stateful deployment are served.
type Consistency string

// Read consistencies.
const (
	// Local reads are served by whichever replica gets them: fast, but a
	// follower may not have applied the latest writes yet (stale reads).
	Local Consistency = "local"
	// Leader reads are served by the RAFT leader after confirming its
	// leadership: they see every acknowledged write.
	Leader Consistency = "leader"
)

// Deployment is one executor of a flow, with its replicas and shards.
type Deployment struct {
	// Name identifies the deployment in the flow (routes, logs, needs).
	Name string
	// Uses is the executor as written: builtin:Name, a config path, a
	// folder, or "" for external executors.
	Uses string
	// Config is the resolved executor YAML (nil for external executors).
	Config *executors.Config
	// Source is the folder of a Go executor that must be built (its own
	// main package beside config.yml); "" for built-in executors, which
	// run in-process.
	Source string
	// UsesWith, UsesMetas override `with:` and `metas:` of the config.
	UsesWith, UsesMetas *executors.Override
	// UsesRequests replaces the config's endpoint remap.
	UsesRequests map[string]string
	// UsesRequestsAt is where UsesRequests was written, for errors found
	// when the executor starts (a method it does not have).
	UsesRequestsAt *executors.Override
	// ConfigAt is where an inline config of a Go executor's folder was
	// written (`uses: {jtype, source, with}`): the mapping without source,
	// for errors its child process reports against the --uses text.
	ConfigAt *executors.Override
	// UsesDynamicBatching overrides dynamic batching per endpoint.
	UsesDynamicBatching map[string]executors.BatchConfig
	// Replicas and Shards size the deployment (each at least 1).
	Replicas, Shards int
	// Polling chooses ANY or ALL shards per endpoint.
	Polling PollingMap
	// Needs lists the deployments whose output this one takes ("gateway"
	// for the flow's input). Set explicitly or implied by list order.
	Needs []string
	// When filters the documents this deployment receives.
	When *Filter
	// Workspace is the deployment's base workspace folder.
	Workspace string
	// Env is set in the executor's process.
	Env map[string]string
	// Stateful replicates write endpoints through RAFT.
	Stateful bool
	// PeerPorts are the RAFT ports per shard and replica (empty: pick).
	PeerPorts [][]int
	// Consistency is the read consistency of a stateful deployment.
	Consistency Consistency
	// Raft holds raft settings (snapshot_interval, snapshot_threshold,
	// trailing_logs, election/heartbeat timeouts).
	Raft RaftSettings
	// Reload rebuilds and rolls the replicas when the source changes.
	Reload bool
	// Restart restarts the deployment when its YAML changes.
	Restart bool
	// External deployments are not started by jig: Addresses lists the
	// host:port of each replica, shard after shard (`host:`, or
	// `shard_hosts:` for a sharded external deployment), so replica r of
	// shard s is Addresses[s*Replicas+r]; use Address.
	External  bool
	Addresses []string
	// AuthToken is the bearer token jig sends to an external deployment
	// (auth_token, or auth_token_file's content); "" sends none.
	AuthToken string
	// Port is the worker port of replica 0 of shard 0 (0 = pick); further
	// replicas take the following ports.
	Port int
	// TimeoutSend bounds each call to the deployment (0 = no bound).
	TimeoutSend time.Duration
	// Retries is how many times a failed call is tried on another replica.
	Retries int
	// Resources are Kubernetes resource requests/limits for the export.
	Resources Resources
	// Tracing is the deployment's tracing (the flow's `with:` unless the
	// executor sets its own keys); it reaches child-process replicas as
	// flags, while in-process replicas share the engine's tracer.
	Tracing Tracing

	// node is the YAML mapping the deployment came from (for errors), at
	// index idx of executors in file.
	node *yaml.Node
	file string
	idx  int
}

// RaftSettings are the configurable RAFT parameters of a stateful
// deployment (raft_configuration sets snapshot_interval,
// snapshot_threshold, trailing_logs and the election/heartbeat timeouts).
// It is clusterconf.Knobs, the one knob struct consensus and the worker's
// --raft-config use; zero values take consensus defaults.
type RaftSettings = clusterconf.Knobs

// Resources are container resource requests and limits ("500m", "1Gi").
type Resources struct {
	Requests map[string]string `yaml:"requests"`
	Limits   map[string]string `yaml:"limits"`
}

// Errorf returns a located error about field of this deployment.
func (d *Deployment) Errorf(field, format string, args ...any) error {
	node := d.node
	if n := yamlutil.Lookup(d.node, field); n != nil {
		node = n
	}
	return yamlutil.At(d.file, node, d.path()+"."+field, format, args...)
}

func (d *Deployment) path() string {
	return "executors[" + strconv.Itoa(d.idx) + "]"
}

// Line returns the line of the deployment in its file (0 if unknown).
func (d *Deployment) Line() int {
	if d.node == nil {
		return 0
	}
	return d.node.Line
}

// Address returns the address of replica rep of shard shard of an
// external deployment.
func (d *Deployment) Address(shard, rep int) string {
	return d.Addresses[shard*d.Replicas+rep]
}

// InProcess reports whether replicas run inside the engine's process.
func (d *Deployment) InProcess() bool { return !d.External && d.Source == "" }

// ReplicaName is the conventional name of one replica ("rep-1", or
// "shard-0/rep-1" when sharded), used in logs, routes and the TUI.
func (d *Deployment) ReplicaName(shard, replica int) string {
	if d.Shards > 1 {
		return "shard-" + strconv.Itoa(shard) + "/rep-" + strconv.Itoa(replica)
	}
	return "rep-" + strconv.Itoa(replica)
}

// EffectiveRetries is Retries, or Jina's default max(3, replicas) when
// unset (-1).
func (d *Deployment) EffectiveRetries() int {
	if d.Retries >= 0 {
		return d.Retries
	}
	return max(3, d.Replicas)
}

// String describes the deployment for logs.
func (d *Deployment) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s", d.Name, d.Uses)
	if d.Replicas > 1 {
		fmt.Fprintf(&b, ", %d replicas", d.Replicas)
	}
	if d.Shards > 1 {
		fmt.Fprintf(&b, ", %d shards", d.Shards)
	}
	b.WriteString(")")
	return b.String()
}
