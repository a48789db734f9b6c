package flow

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jig-dev/jig/engine/build"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/safepath"
	"github.com/jig-dev/jig/internal/yamlutil"
	"gopkg.in/yaml.v3"
)

// rawFlow is the YAML shape of a flow; flexible fields stay nodes and are
// parsed by hand so errors keep their lines.
type rawFlow struct {
	JType     string      `yaml:"jtype"`
	Version   string      `yaml:"version"`
	Name      string      `yaml:"name"`
	With      rawGateway  `yaml:"with"`
	Executors []yaml.Node `yaml:"executors"`
}

type rawGateway struct {
	Port            yaml.Node         `yaml:"port"`
	Protocol        yaml.Node         `yaml:"protocol"`
	Host            string            `yaml:"host"`
	Workspace       string            `yaml:"workspace"`
	TimeoutReady    yaml.Node         `yaml:"timeout_ready"`
	SSLCertfile     string            `yaml:"ssl_certfile"`
	SSLKeyfile      string            `yaml:"ssl_keyfile"`
	AuthToken       string            `yaml:"auth_token"`
	Monitoring      bool              `yaml:"monitoring"`
	PortMonitoring  int               `yaml:"port_monitoring"`
	Prefetch        *int              `yaml:"prefetch"`
	MaxMessageSize  int               `yaml:"max_message_size"`
	HTTPBodyBudget  yaml.Node         `yaml:"http_body_budget"`
	HTTPBodyTimeout yaml.Node         `yaml:"http_body_timeout"`
	Env             map[string]string `yaml:"env"`
	rawTracing      `yaml:",inline"`
}

// rawTracing are Jina's tracing keys, in a flow's `with:` and on each
// executor.
type rawTracing struct {
	Tracing            *bool  `yaml:"tracing"`
	TracesExporterHost string `yaml:"traces_exporter_host"`
	TracesExporterPort *int   `yaml:"traces_exporter_port"`
}

// settings returns inherit overridden by the keys that are set; field
// is where they sit (for errors).
func (r *rawTracing) settings(file string, node *yaml.Node, field string, inherit Tracing) (Tracing, error) {
	t := inherit
	if r.Tracing != nil {
		t.Enabled = *r.Tracing
	}
	if r.TracesExporterHost != "" {
		t.ExporterHost = r.TracesExporterHost
	}
	if r.TracesExporterPort != nil {
		p := *r.TracesExporterPort
		if p < 1 || p > 65535 {
			n := yamlutil.Lookup(node, "traces_exporter_port")
			if n == nil {
				n = node
			}
			return t, yamlutil.At(file, n, field+"traces_exporter_port", "port %d is out of range (1-65535)", p)
		}
		t.ExporterPort = p
	}
	return t, nil
}

type rawDeployment struct {
	Name                string                           `yaml:"name"`
	Uses                yaml.Node                        `yaml:"uses"`
	UsesWith            yaml.Node                        `yaml:"uses_with"`
	UsesMetas           yaml.Node                        `yaml:"uses_metas"`
	UsesRequests        map[string]string                `yaml:"uses_requests"`
	UsesDynamicBatching map[string]executors.BatchConfig `yaml:"uses_dynamic_batching"`
	Replicas            *int                             `yaml:"replicas"`
	Shards              *int                             `yaml:"shards"`
	Polling             yaml.Node                        `yaml:"polling"`
	Needs               yaml.Node                        `yaml:"needs"`
	When                yaml.Node                        `yaml:"when"`
	Workspace           string                           `yaml:"workspace"`
	Env                 map[string]string                `yaml:"env"`
	Stateful            bool                             `yaml:"stateful"`
	PeerPorts           yaml.Node                        `yaml:"peer_ports"`
	Consistency         string                           `yaml:"consistency"`
	RaftConfiguration   yaml.Node                        `yaml:"raft_configuration"`
	Reload              bool                             `yaml:"reload"`
	Restart             bool                             `yaml:"restart"`
	External            bool                             `yaml:"external"`
	AuthToken           string                           `yaml:"auth_token"`
	AuthTokenFile       string                           `yaml:"auth_token_file"`
	Host                yaml.Node                        `yaml:"host"`
	ShardHosts          yaml.Node                        `yaml:"shard_hosts"`
	Port                yaml.Node                        `yaml:"port"`
	TimeoutSend         yaml.Node                        `yaml:"timeout_send"`
	Retries             *int                             `yaml:"retries"`
	Resources           Resources                        `yaml:"resources"`
	rawTracing          `yaml:",inline"`
}

// rawRaft is `raft_configuration:`; timeouts in milliseconds, the snapshot
// interval in seconds (as Jina and hashicorp/raft's Python bridge take
// them), or Go durations such as "500ms".
type rawRaft struct {
	SnapshotInterval  yaml.Node `yaml:"snapshot_interval"`
	SnapshotThreshold uint64    `yaml:"snapshot_threshold"`
	TrailingLogs      uint64    `yaml:"trailing_logs"`
	HeartbeatTimeout  yaml.Node `yaml:"heartbeat_timeout"`
	ElectionTimeout   yaml.Node `yaml:"election_timeout"`
}

// Gateway is the reserved name of the flow's entry point in `needs`.
const GatewayName = "gateway"

// DefaultTimeoutReady is how long a deployment may take to start when the
// flow does not say.
const DefaultTimeoutReady = 60 * time.Second

// Load reads and validates a flow YAML file.
func Load(path string) (*Flow, error) {
	node, err := yamlutil.LoadFile(path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load flow %s: %w", path, err)
	}
	return FromNode(path, filepath.Dir(abs), node)
}

// Parse validates flow YAML text; file names it in errors and dir resolves
// relative paths.
func Parse(file, dir string, data []byte) (*Flow, error) {
	node, err := yamlutil.Parse(file, data)
	if err != nil {
		return nil, err
	}
	return FromNode(file, dir, node)
}

// FromNode validates a parsed flow. A `jtype: Deployment` document (one
// executor's keys at the top level, Jina's Deployment YAML) becomes a flow
// of that one deployment.
func FromNode(file, dir string, node *yaml.Node) (*Flow, error) {
	if node.Kind != yaml.MappingNode {
		return nil, yamlutil.At(file, node, "", "a flow must be a mapping with jtype: Flow and executors:")
	}
	if jt := yamlutil.Lookup(node, "jtype"); jt != nil && jt.Value == "Deployment" {
		return deploymentFlow(file, dir, node)
	}
	var raw rawFlow
	if err := yamlutil.Decode(file, node, "", &raw); err != nil {
		return nil, err
	}
	if raw.JType != "" && raw.JType != "Flow" {
		return nil, yamlutil.At(file, yamlutil.Lookup(node, "jtype"), "jtype", "want Flow or Deployment, got %q", raw.JType)
	}
	f := &Flow{File: file, Dir: dir, Name: raw.Name}
	if f.Name == "" {
		// examples/quickstart/flow.yml is "quickstart", search.yml "search".
		f.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		if f.Name == "flow" && dir != "" {
			f.Name = filepath.Base(dir)
		}
		if safepath.CheckName(f.Name) != nil {
			f.Name = "flow" // a file named "..yml" or a flow.yml in /
		}
	} else if err := safepath.CheckName(f.Name); err != nil {
		// The name is a folder of the default workspace (RAFT state).
		return nil, yamlutil.At(file, yamlutil.Lookup(node, "name"), "name", "%v", err)
	}
	if err := f.loadGateway(file, yamlutil.Lookup(node, "with"), &raw.With); err != nil {
		return nil, err
	}
	if len(raw.Executors) == 0 {
		return nil, yamlutil.At(file, node, "executors", "a flow needs at least one executor")
	}
	for i := range raw.Executors {
		d, err := f.loadDeployment(file, &raw.Executors[i], i)
		if err != nil {
			return nil, err
		}
		f.Deployments = append(f.Deployments, d)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// deploymentFlow loads Jina's Deployment YAML: `with:` holds the gateway
// settings and the executor keys sit at the top level.
func deploymentFlow(file, dir string, node *yaml.Node) (*Flow, error) {
	dep := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: node.Line, Column: node.Column}
	flowNode := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: node.Line, Column: node.Column}
	for i := 0; i+1 < len(node.Content); i += 2 {
		switch node.Content[i].Value {
		case "jtype":
		case "with":
			flowNode.Content = append(flowNode.Content, node.Content[i], node.Content[i+1])
		default:
			dep.Content = append(dep.Content, node.Content[i], node.Content[i+1])
		}
	}
	if yamlutil.Lookup(dep, "name") == nil {
		dep.Content = append(dep.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "name"}, &yaml.Node{Kind: yaml.ScalarNode, Value: "executor"})
	}
	flowNode.Content = append(flowNode.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: "executors"},
		&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{dep}, Line: node.Line})
	return FromNode(file, dir, flowNode)
}

func (f *Flow) loadGateway(file string, with *yaml.Node, raw *rawGateway) error {
	g := &f.Gateway
	g.Host = raw.Host
	if g.Host == "" {
		g.Host = "127.0.0.1"
	}
	g.Workspace = raw.Workspace
	if g.Workspace != "" && !filepath.IsAbs(g.Workspace) {
		g.Workspace = filepath.Join(f.Dir, g.Workspace)
	}
	g.TLSCert, g.TLSKey, g.AuthToken = raw.SSLCertfile, raw.SSLKeyfile, raw.AuthToken
	if (g.TLSCert == "") != (g.TLSKey == "") {
		return yamlutil.At(file, with, "with.ssl_certfile", "ssl_certfile and ssl_keyfile go together")
	}
	for _, p := range []*string{&g.TLSCert, &g.TLSKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(f.Dir, *p)
		}
	}
	var err error
	if g.Tracing, err = raw.settings(file, with, "with.", Tracing{}); err != nil {
		return err
	}
	g.MonitoringPort = raw.PortMonitoring
	g.MaxMessageSize = raw.MaxMessageSize
	g.Env = raw.Env
	g.Prefetch = 1000
	if raw.Prefetch != nil {
		g.Prefetch = *raw.Prefetch
	}
	if raw.HTTPBodyBudget.Kind != 0 {
		n := &raw.HTTPBodyBudget
		if n.Kind != yaml.ScalarNode {
			return yamlutil.At(file, n, "with.http_body_budget", "want a size in bytes such as 536870912 or 512MiB")
		}
		g.HTTPBodyBudget, err = ParseSize(n.Value)
		if err != nil {
			return yamlutil.At(file, n, "with.http_body_budget", "%v", err)
		}
	}
	// http_body_timeout: milliseconds or a duration; -1: no deadline.
	g.HTTPBodyTimeout, err = parseMillis(file, &raw.HTTPBodyTimeout, "with.http_body_timeout", 0)
	if err != nil {
		return err
	}
	g.TimeoutReady, err = parseMillis(file, &raw.TimeoutReady, "with.timeout_ready", DefaultTimeoutReady)
	if err != nil {
		return err
	}
	if g.TimeoutReady < 0 {
		g.TimeoutReady = 0 // Jina's -1: wait forever
	}

	// protocol: grpc | [grpc, http]
	g.Protocols = []Protocol{GRPC}
	if raw.Protocol.Kind != 0 {
		names, err := stringOrList(file, &raw.Protocol, "with.protocol")
		if err != nil {
			return err
		}
		g.Protocols = nil
		seen := map[Protocol]bool{}
		for _, n := range names {
			p := Protocol(strings.ToLower(n))
			if p != GRPC && p != HTTP {
				if p == "websocket" {
					return yamlutil.At(file, &raw.Protocol, "with.protocol", "websocket is not supported by jig; use grpc or http")
				}
				return yamlutil.At(file, &raw.Protocol, "with.protocol", "unknown protocol %q (want grpc or http)", n)
			}
			if seen[p] {
				return yamlutil.At(file, &raw.Protocol, "with.protocol", "protocol %s listed twice", p)
			}
			seen[p] = true
			g.Protocols = append(g.Protocols, p)
		}
	}
	// port: 12345 | [12345, 12346] (one per protocol, in order). A single
	// port with several protocols gives the next ones port+1, port+2...
	g.Ports = map[Protocol]int{}
	if raw.Port.Kind != 0 {
		ports, err := intOrList(file, &raw.Port, "with.port")
		if err != nil {
			return err
		}
		switch {
		case len(ports) == 1:
			for i, p := range g.Protocols {
				if ports[0] == 0 {
					g.Ports[p] = 0
				} else {
					g.Ports[p] = ports[0] + i
				}
			}
		case len(ports) == len(g.Protocols):
			for i, p := range g.Protocols {
				g.Ports[p] = ports[i]
			}
		default:
			return yamlutil.At(file, &raw.Port, "with.port", "%d ports for %d protocols: give one port, or one per protocol", len(ports), len(g.Protocols))
		}
	}
	for p, port := range g.Ports {
		if port < 0 || port > 65535 {
			return yamlutil.At(file, &raw.Port, "with.port", "port %d of %s is out of range", port, p)
		}
	}
	if raw.Monitoring && g.MonitoringPort == 0 && !g.Serves(HTTP) {
		return yamlutil.At(file, with, "with.monitoring", "monitoring needs port_monitoring, or http among the protocols (metrics are served at /metrics)")
	}
	return nil
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

func (f *Flow) loadDeployment(file string, node *yaml.Node, index int) (*Deployment, error) {
	p := &deploymentParser{f: f, file: file, node: node, field: fmt.Sprintf("executors[%d]", index)}
	if err := yamlutil.Decode(file, node, p.field, &p.raw); err != nil {
		return nil, err
	}
	p.d = &Deployment{Name: p.raw.Name, node: node, file: file, idx: index}
	// The sections in the order their checks depend on each other: scale
	// before peer_ports (sized by it), stateful before consistency.
	for _, section := range []func() error{
		p.name, p.scale, p.environment, p.executorOptions, p.polling, p.topology, p.consensus, p.source,
	} {
		if err := section(); err != nil {
			return nil, err
		}
	}
	return p.d, nil
}

// deploymentParser reads one entry of executors: into d, section by
// section; every error names file:line and the entry's field.
type deploymentParser struct {
	f     *Flow
	file  string
	node  *yaml.Node // the entry
	field string     // "executors[i]"
	raw   rawDeployment
	d     *Deployment
}

// at is an error about key of the entry (the entry itself when absent).
func (p *deploymentParser) at(key, format string, args ...any) error {
	n := yamlutil.Lookup(p.node, key)
	if n == nil {
		n = p.node
	}
	return yamlutil.At(p.file, n, p.field+"."+key, format, args...)
}

// name checks the deployment's name (executor<i> when unset).
func (p *deploymentParser) name() error {
	d := p.d
	if d.Name == "" {
		d.Name = fmt.Sprintf("executor%d", d.idx)
	} else if !nameRe.MatchString(d.Name) {
		return yamlutil.At(p.file, yamlutil.Lookup(p.node, "name"), p.field+".name", "invalid name %q: use letters, digits, - and _ (at most 63)", d.Name)
	}
	if d.Name == GatewayName {
		return yamlutil.At(p.file, yamlutil.Lookup(p.node, "name"), p.field+".name", "%q is reserved for the flow's entry point", GatewayName)
	}
	return nil
}

// scale reads replicas and shards.
func (p *deploymentParser) scale() error {
	d, raw := p.d, &p.raw
	d.Replicas, d.Shards = 1, 1
	if raw.Replicas != nil {
		if *raw.Replicas < 1 || *raw.Replicas > MaxReplicas {
			return p.at("replicas", "want 1 to %d, got %d", MaxReplicas, *raw.Replicas)
		}
		d.Replicas = *raw.Replicas
	}
	if raw.Shards != nil {
		if *raw.Shards < 1 || *raw.Shards > MaxShards {
			return p.at("shards", "want 1 to %d, got %d", MaxShards, *raw.Shards)
		}
		d.Shards = *raw.Shards
	}
	if d.Replicas*d.Shards > MaxReplicasTotal {
		return p.at("replicas", "%d replicas × %d shards is %d workers, more than %d", d.Replicas, d.Shards, d.Replicas*d.Shards, MaxReplicasTotal)
	}
	return nil
}

// environment reads workspace and env, on top of the gateway's.
func (p *deploymentParser) environment() error {
	d, raw, f := p.d, &p.raw, p.f
	d.Workspace = raw.Workspace
	if d.Workspace == "" {
		d.Workspace = f.Gateway.Workspace
	} else if !filepath.IsAbs(d.Workspace) {
		d.Workspace = filepath.Join(f.Dir, d.Workspace)
	}
	d.Env = map[string]string{}
	for k, v := range f.Gateway.Env {
		d.Env[k] = v
	}
	for k, v := range raw.Env {
		d.Env[k] = v
	}
	return nil
}

// executorOptions reads the flags and the executor's overrides: stateful,
// reload, restart, external, uses_requests, uses_dynamic_batching,
// resources, retries, timeout_send, uses_with and uses_metas.
func (p *deploymentParser) executorOptions() error {
	d, raw, file, field := p.d, &p.raw, p.file, p.field
	d.Stateful, d.Reload, d.Restart, d.External = raw.Stateful, raw.Reload, raw.Restart, raw.External
	d.UsesRequests, d.UsesDynamicBatching, d.Resources = raw.UsesRequests, raw.UsesDynamicBatching, raw.Resources
	if n := yamlutil.Lookup(p.node, "uses_requests"); n != nil {
		d.UsesRequestsAt = &executors.Override{Node: n, File: file, Field: field + ".uses_requests"}
	}
	var terr error
	if d.Tracing, terr = raw.settings(file, p.node, field+".", p.f.Gateway.Tracing); terr != nil {
		return terr
	}
	d.Retries = -1
	if raw.Retries != nil {
		if *raw.Retries < -1 {
			return p.at("retries", "want -1 (default: max(3, replicas)) or more, got %d", *raw.Retries)
		}
		d.Retries = *raw.Retries
	}
	var err error
	if d.TimeoutSend, err = parseMillis(file, &raw.TimeoutSend, field+".timeout_send", 0); err != nil {
		return err
	}
	if d.TimeoutSend < 0 {
		d.TimeoutSend = 0
	}
	if raw.UsesWith.Kind != 0 {
		if raw.UsesWith.Kind != yaml.MappingNode {
			return p.at("uses_with", "want a mapping of the executor's fields")
		}
		d.UsesWith = &executors.Override{Node: &raw.UsesWith, File: file, Field: field + ".uses_with"}
	}
	if raw.UsesMetas.Kind != 0 {
		if raw.UsesMetas.Kind != yaml.MappingNode {
			return p.at("uses_metas", "want a mapping")
		}
		// Check the keys now, so typos fail at load time.
		var m executors.Metas
		if err := yamlutil.Decode(file, &raw.UsesMetas, field+".uses_metas", &m); err != nil {
			return err
		}
		d.UsesMetas = &executors.Override{Node: &raw.UsesMetas, File: file, Field: field + ".uses_metas"}
	}
	return nil
}

// polling reads polling: ANY | ALL | {endpoint: ANY|ALL, "*": ...}.
func (p *deploymentParser) polling() error {
	d, raw := p.d, &p.raw
	d.Polling = PollingMap{}
	switch raw.Polling.Kind {
	case 0:
	case yaml.ScalarNode:
		pol, err := parsePolling(p.file, &raw.Polling, p.field+".polling")
		if err != nil {
			return err
		}
		d.Polling["*"] = pol
	case yaml.MappingNode:
		for i := 0; i+1 < len(raw.Polling.Content); i += 2 {
			k, v := raw.Polling.Content[i], raw.Polling.Content[i+1]
			pol, err := parsePolling(p.file, v, p.field+".polling."+k.Value)
			if err != nil {
				return err
			}
			d.Polling[k.Value] = pol
		}
	default:
		return p.at("polling", "want ANY, ALL or a mapping {endpoint: ANY|ALL}")
	}
	return nil
}

// topology reads needs (name | [names]) and when.
func (p *deploymentParser) topology() error {
	d, raw := p.d, &p.raw
	var err error
	if raw.Needs.Kind != 0 {
		if d.Needs, err = stringOrList(p.file, &raw.Needs, p.field+".needs"); err != nil {
			return err
		}
		if len(d.Needs) == 0 {
			return p.at("needs", "empty list: use `needs: gateway` to start a parallel branch")
		}
	}
	if raw.When.Kind != 0 {
		if d.When, err = ParseFilter(p.file, &raw.When, p.field+".when"); err != nil {
			return err
		}
	}
	return nil
}

// consensus reads the settings of stateful deployments: consistency,
// raft_configuration and peer_ports.
func (p *deploymentParser) consensus() error {
	d, raw, file := p.d, &p.raw, p.file
	d.Consistency = Local
	if raw.Consistency != "" {
		if !d.Stateful {
			return p.at("consistency", "only stateful deployments have a read consistency")
		}
		switch Consistency(strings.ToLower(raw.Consistency)) {
		case Local, Leader:
			d.Consistency = Consistency(strings.ToLower(raw.Consistency))
		default:
			return p.at("consistency", "want local or leader, got %q", raw.Consistency)
		}
	}
	var err error
	if raw.RaftConfiguration.Kind != 0 {
		if !d.Stateful {
			return p.at("raft_configuration", "only stateful deployments run RAFT")
		}
		var rr rawRaft
		rf := p.field + ".raft_configuration"
		if err := yamlutil.Decode(file, &raw.RaftConfiguration, rf, &rr); err != nil {
			return err
		}
		d.Raft.SnapshotThreshold, d.Raft.TrailingLogs = rr.SnapshotThreshold, rr.TrailingLogs
		if d.Raft.SnapshotInterval, err = parseDuration(file, &rr.SnapshotInterval, rf+".snapshot_interval", time.Second, 0); err != nil {
			return err
		}
		if d.Raft.HeartbeatTimeout, err = parseMillis(file, &rr.HeartbeatTimeout, rf+".heartbeat_timeout", 0); err != nil {
			return err
		}
		if d.Raft.ElectionTimeout, err = parseMillis(file, &rr.ElectionTimeout, rf+".election_timeout", 0); err != nil {
			return err
		}
	}
	if raw.PeerPorts.Kind != 0 {
		if !d.Stateful {
			return p.at("peer_ports", "only stateful deployments have RAFT peer ports")
		}
		if d.PeerPorts, err = parsePeerPorts(file, &raw.PeerPorts, p.field+".peer_ports", d.Shards, d.Replicas); err != nil {
			return err
		}
	}
	return nil
}

// source reads where the executor comes from: an external one's addresses
// and token, or uses (and port) for jig's own replicas.
func (p *deploymentParser) source() error {
	if p.raw.External {
		return p.external()
	}
	d, raw, file, field := p.d, &p.raw, p.file, p.field
	if raw.ShardHosts.Kind != 0 {
		return p.at("shard_hosts", "only external executors take shard_hosts")
	}
	if raw.AuthToken != "" || raw.AuthTokenFile != "" {
		return p.at("auth_token", "only external executors take auth_token or auth_token_file (jig's own replicas get the flow's secret)")
	}
	if raw.Host.Kind != 0 && raw.Host.Value != "" && raw.Host.Value != "127.0.0.1" && raw.Host.Value != "localhost" {
		return p.at("host", "only external executors take a host; jig runs its own executors on 127.0.0.1")
	}
	if raw.Port.Kind != 0 {
		ports, err := intOrList(file, &raw.Port, field+".port")
		if err != nil {
			return err
		}
		if len(ports) != 1 || ports[0] < 0 || ports[0] > 65535 {
			return p.at("port", "want one port (replicas take the following ones)")
		}
		d.Port = ports[0]
	}
	return p.f.resolveUses(d, file, &raw.Uses, field)
}

// external reads an external executor's addresses (host/port or
// shard_hosts) and token.
func (p *deploymentParser) external() error {
	d, raw, file, field := p.d, &p.raw, p.file, p.field
	if raw.Uses.Kind != 0 && raw.Uses.Value != "" {
		d.Uses = raw.Uses.Value
	}
	if d.Stateful || d.Reload {
		return p.at("external", "external executors are run by someone else: stateful and reload do not apply")
	}
	var err error
	if d.AuthToken, err = externalToken(file, raw); err != nil {
		return p.at("auth_token_file", "%s", err.Error())
	}
	if raw.ShardHosts.Kind != 0 {
		return d.externalShards(file, p.node, field, raw)
	}
	if raw.Shards != nil {
		return p.at("shards", "an external deployment's shards are given by shard_hosts (one list of addresses per shard)")
	}
	if d.Addresses, err = externalAddresses(file, p.node, field, field+".host", &raw.Host, &raw.Port); err != nil {
		return err
	}
	d.Replicas = len(d.Addresses)
	return nil
}

// resolveUses finds the executor config of a deployment.
func (f *Flow) resolveUses(d *Deployment, file string, uses *yaml.Node, field string) error {
	ufield := field + ".uses"
	switch uses.Kind {
	case 0:
		return yamlutil.At(file, d.node, ufield, "missing: name the executor (builtin:Name, a config.yml, or a folder holding one)")
	case yaml.MappingNode:
		if src := yamlutil.Lookup(uses, "source"); src != nil {
			return f.inlineSource(d, file, uses, src, ufield)
		}
		cfg, err := executors.ConfigFromNode(file, uses)
		if err != nil {
			return err
		}
		d.Config, d.Uses = cfg, "jtype:"+cfg.JType
		return nil
	case yaml.ScalarNode:
	default:
		return yamlutil.At(file, uses, ufield, "want a string or an inline executor mapping")
	}
	u := uses.Value
	d.Uses = u
	switch {
	case strings.HasPrefix(u, "builtin:"):
		name := strings.TrimPrefix(u, "builtin:")
		if !executors.IsRegistered(name) {
			return yamlutil.At(file, uses, ufield, "unknown built-in executor %q (available: %s)", name, strings.Join(executors.Registered(), ", "))
		}
		d.Config = &executors.Config{JType: name, File: u}
		return nil
	case strings.Contains(u, "://"):
		return yamlutil.At(file, uses, ufield, "%q: container and hub executors are not run by jig; start them yourself and add them with external: true, host and port", u)
	}
	path := u
	if !filepath.IsAbs(path) {
		path = filepath.Join(f.Dir, path)
	}
	st, err := os.Stat(path)
	if err != nil {
		if executors.IsRegistered(u) {
			d.Config = &executors.Config{JType: u, File: u}
			return nil
		}
		return yamlutil.At(file, uses, ufield, "%s: no such file or folder (relative paths start at %s)", u, f.Dir)
	}
	dir := path
	if !st.IsDir() {
		dir = filepath.Dir(path)
	}
	if build.IsMainPackage(dir) {
		cfg, err := executors.LoadSourceConfig(path)
		if err != nil {
			return err
		}
		d.Config, d.Source = cfg, dir
		return nil
	}
	cfg, err := executors.LoadConfig(path)
	if err != nil {
		return err
	}
	d.Config = cfg
	return nil
}

// inlineSource resolves `uses: {jtype: T, source: ./folder, with: …}`: the
// Go executor in folder (built and run as a child process, like `uses:
// ./folder`) with the inline config instead of the folder's config.yml.
// source names the folder as py_modules names the Python module in Jina.
func (f *Flow) inlineSource(d *Deployment, file string, uses, src *yaml.Node, ufield string) error {
	if src.Kind != yaml.ScalarNode || src.Value == "" {
		return yamlutil.At(file, src, ufield+".source", "want the folder of a Go executor, e.g. ./greeter")
	}
	dir := src.Value
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(f.Dir, dir)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return yamlutil.At(file, src, ufield+".source", "%s: no such folder (relative paths start at %s)", src.Value, f.Dir)
	}
	if !build.IsMainPackage(dir) {
		return yamlutil.At(file, src, ufield+".source", "%s holds no Go main package (an executor made with `jig new`)", src.Value)
	}
	// The config is the mapping without source (executor configs have no
	// such key).
	cfgNode := &yaml.Node{Kind: yaml.MappingNode, Tag: uses.Tag, Line: uses.Line, Column: uses.Column}
	for i := 0; i+1 < len(uses.Content); i += 2 {
		if uses.Content[i].Value != "source" {
			cfgNode.Content = append(cfgNode.Content, uses.Content[i], uses.Content[i+1])
		}
	}
	cfg, err := executors.SourceConfigFromNode(file, cfgNode)
	if err != nil {
		return err
	}
	d.Config, d.Source, d.Uses = cfg, dir, "jtype:"+cfg.JType
	d.ConfigAt = &executors.Override{Node: cfgNode, File: file, Field: ufield}
	return nil
}

// externalShards reads `shard_hosts:` of an external deployment: one entry
// per shard, each an address or a list of replica addresses (the same
// forms as `host`, paired with `port` when an entry has no port). Every
// shard must have the same number of replicas, because a deployment has
// one replica count. This is how a sharded deployment run elsewhere (an
// exported flow's gateway reaching its shards' Kubernetes Services) is
// routed with its polling and reduce.
func (d *Deployment) externalShards(file string, node *yaml.Node, field string, raw *rawDeployment) error {
	sh := &raw.ShardHosts
	sfield := field + ".shard_hosts"
	if raw.Host.Kind != 0 {
		return yamlutil.At(file, yamlutil.Lookup(node, "host"), field+".host", "give host (one shard) or shard_hosts (several), not both")
	}
	if sh.Kind != yaml.SequenceNode || len(sh.Content) == 0 {
		return yamlutil.At(file, sh, sfield, "want a list with one entry per shard, each an address or a list of replica addresses")
	}
	if raw.Shards != nil && *raw.Shards != len(sh.Content) {
		return yamlutil.At(file, yamlutil.Lookup(node, "shards"), field+".shards", "shards is %d but shard_hosts lists %d shards", *raw.Shards, len(sh.Content))
	}
	d.Addresses = nil
	for s, entry := range sh.Content {
		efield := fmt.Sprintf("%s[%d]", sfield, s)
		if entry.Kind == yaml.SequenceNode && len(entry.Content) == 0 {
			return yamlutil.At(file, entry, efield, "shard %d has no address", s)
		}
		addrs, err := externalAddresses(file, entry, field, efield, entry, &raw.Port)
		if err != nil {
			return err
		}
		if s > 0 && len(addrs) != d.Replicas {
			return yamlutil.At(file, entry, efield, "shard %d has %d replicas, shard 0 has %d: every shard needs the same number", s, len(addrs), d.Replicas)
		}
		d.Replicas = len(addrs)
		d.Addresses = append(d.Addresses, addrs...)
	}
	d.Shards = len(sh.Content)
	return nil
}

// externalAddresses pairs host and port values into addresses; hostField
// names hostN in messages.
func externalAddresses(file string, node *yaml.Node, field, hostField string, hostN, portN *yaml.Node) ([]string, error) {
	var hosts []string
	if hostN.Kind != 0 {
		var err error
		if hosts, err = stringOrList(file, hostN, hostField); err != nil {
			return nil, err
		}
	}
	var ports []int
	if portN.Kind != 0 {
		var err error
		if ports, err = intOrList(file, portN, field+".port"); err != nil {
			return nil, err
		}
	}
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1"}
	}
	// host may carry the port ("h:1234"); lists pair up, a single value
	// pairs with every element of the other list.
	n := max(len(hosts), len(ports))
	if len(hosts) != 1 && len(ports) > 1 && len(hosts) != len(ports) {
		return nil, yamlutil.At(file, node, hostField, "%d hosts and %d ports: give lists of the same length, or one of either", len(hosts), len(ports))
	}
	var out []string
	for i := 0; i < n; i++ {
		h := hosts[min(i, len(hosts)-1)]
		if strings.Contains(h, "://") {
			h = h[strings.Index(h, "://")+3:]
		}
		if _, _, err := splitHostPort(h); err == nil && len(ports) == 0 {
			out = append(out, h)
			continue
		}
		if len(ports) == 0 {
			return nil, yamlutil.At(file, node, field+".port", "external executors need a port (or host:port)")
		}
		p := ports[min(i, len(ports)-1)]
		if p <= 0 || p > 65535 {
			return nil, yamlutil.At(file, portN, field+".port", "port %d is out of range", p)
		}
		out = append(out, h+":"+strconv.Itoa(p))
	}
	return out, nil
}

func splitHostPort(s string) (string, int, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 {
		return "", 0, fmt.Errorf("no port")
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil || p <= 0 || p > 65535 {
		return "", 0, fmt.Errorf("bad port")
	}
	return s[:i], p, nil
}

func parsePolling(file string, n *yaml.Node, field string) (Polling, error) {
	switch p := Polling(strings.ToUpper(n.Value)); {
	case n.Kind == yaml.ScalarNode && (p == Any || p == All):
		return p, nil
	}
	return "", yamlutil.At(file, n, field, "want ANY or ALL, got %q", n.Value)
}

func parsePeerPorts(file string, n *yaml.Node, field string, shards, replicas int) ([][]int, error) {
	out := make([][]int, shards)
	switch n.Kind {
	case yaml.SequenceNode:
		if shards != 1 {
			return nil, yamlutil.At(file, n, field, "with %d shards, give a mapping {shard: [ports]}", shards)
		}
		ports, err := intOrList(file, n, field)
		if err != nil {
			return nil, err
		}
		out[0] = ports
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			s, err := strconv.Atoi(k.Value)
			if err != nil || s < 0 || s >= shards {
				return nil, yamlutil.At(file, k, field, "shard %q: want 0..%d", k.Value, shards-1)
			}
			if out[s], err = intOrList(file, v, field+"."+k.Value); err != nil {
				return nil, err
			}
		}
	default:
		return nil, yamlutil.At(file, n, field, "want a list of ports, or a mapping {shard: [ports]}")
	}
	for s, ports := range out {
		if len(ports) != replicas {
			return nil, yamlutil.At(file, n, field, "shard %d has %d peer ports for %d replicas", s, len(ports), replicas)
		}
		for _, p := range ports {
			if p <= 0 || p > 65535 {
				return nil, yamlutil.At(file, n, field, "port %d is out of range", p)
			}
		}
	}
	return out, nil
}

func stringOrList(file string, n *yaml.Node, field string) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for i, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, yamlutil.At(file, c, fmt.Sprintf("%s[%d]", field, i), "want a string")
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, yamlutil.At(file, n, field, "want a string or a list of strings")
}

func intOrList(file string, n *yaml.Node, field string) ([]int, error) {
	one := func(c *yaml.Node, f string) (int, error) {
		v, err := strconv.Atoi(c.Value)
		if c.Kind != yaml.ScalarNode || err != nil {
			return 0, yamlutil.At(file, c, f, "want an integer, got %q", c.Value)
		}
		return v, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := one(n, field)
		return []int{v}, err
	case yaml.SequenceNode:
		out := make([]int, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := one(c, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, yamlutil.At(file, n, field, "want an integer or a list of integers")
}

// parseMillis reads a timeout given as integer milliseconds (Jina's unit)
// or a Go duration ("2s").
func parseMillis(file string, n *yaml.Node, field string, def time.Duration) (time.Duration, error) {
	return parseDuration(file, n, field, time.Millisecond, def)
}

func parseDuration(file string, n *yaml.Node, field string, unit, def time.Duration) (time.Duration, error) {
	if n == nil || n.Kind == 0 {
		return def, nil
	}
	if n.Kind != yaml.ScalarNode {
		return 0, yamlutil.At(file, n, field, "want a number or a duration like 500ms")
	}
	if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
		if v < 0 {
			return -1, nil
		}
		return time.Duration(v * float64(unit)), nil
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		return 0, yamlutil.At(file, n, field, "want a number or a duration like 500ms, got %q", n.Value)
	}
	return d, nil
}

// ParseSize reads a positive size in bytes: a whole number, optionally
// followed by KiB, MiB or GiB (with.http_body_budget, --http-body-budget).
func ParseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if v, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("want a positive whole size in bytes such as 536870912 or 512MiB, got %q", s)
	}
	return n * mult, nil
}

// externalToken is the bearer token jig sends to an external deployment:
// auth_token (usually "${{ ENV.NAME }}"), else the first line of
// auth_token_file (relative to the flow file), else none. The file's
// content is never quoted in errors.
func externalToken(file string, raw *rawDeployment) (string, error) {
	if raw.AuthToken != "" && raw.AuthTokenFile != "" {
		return "", errors.New("give auth_token or auth_token_file, not both")
	}
	if raw.AuthTokenFile == "" {
		return raw.AuthToken, nil
	}
	path := raw.AuthTokenFile
	if !filepath.IsAbs(path) && file != "" {
		path = filepath.Join(filepath.Dir(file), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("the token file %s is empty", path)
	}
	return tok, nil
}
