package export

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jig-dev/jig/consensus/clusterconf"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/workerflags"
	"gopkg.in/yaml.v3"
)

// Fixed ports inside every exported container. Each replica has its own
// network namespace (a pod, a Compose container), so they never clash and
// the addresses stay predictable.
const (
	// WorkerPort is where every executor replica serves the worker
	// protocol (and grpc.health.v1).
	WorkerPort = 8080
	// RaftPort is where every replica of a stateful deployment serves
	// RAFT. A flow's peer_ports pin local ports across restarts; exported
	// replicas have stable DNS names instead, so they all use this port.
	RaftPort = 8081
	// defaultGatewayPort is the first gateway port when the flow lets jig
	// pick them at run time; further protocols take the next ports.
	defaultGatewayPort = 8080
)

// Paths inside exported containers.
const (
	configDir     = "/config"
	configFile    = "config.yml"
	workspaceDir  = "/workspace"
	tmpDir        = "/tmp"
	tlsDir        = "/tls"
	gatewayFlow   = "flow.yml"
	authTokenEnv  = "JIG_AUTH_TOKEN"
	builtinPrefix = "builtin:"
)

// plan is what both exports are made of: the workloads of every deployment
// jig runs, the images they need and the gateway.
type plan struct {
	flow *flow.Flow
	// workloads lists one entry per shard of every non-external
	// deployment, in flow order.
	workloads []*workload
	// shards maps a deployment's name to its workloads, by shard.
	shards map[string][]*workload
	// images lists the images to build, the jig image first.
	images []image
	// gatewayPorts are the gateway's ports, in protocol order.
	gatewayPorts []gatewayPort
	// hopToken and hopTokenFile are what the gateway flow's deployments
	// say about the flow secret (auth_token, auth_token_file): a
	// reference to the container's environment or a mounted file, never
	// the value. Both "": the workers are open.
	hopToken, hopTokenFile string
}

// workload is one shard of a deployment: a Kubernetes Deployment or
// StatefulSet, or a group of Compose services (one per replica).
type workload struct {
	dep   *flow.Deployment
	shard int
	// name is the DNS-safe name of the workload: the deployment's name, or
	// <name>-<shard> when it is sharded.
	name string
	// image runs the workload; jig says whether it is the jig image (the
	// worker is then the `executor` subcommand).
	image string
	jig   bool
	// uses is the --uses value; config the config.yml it points to (nil
	// when uses is builtin:Name).
	uses   string
	config []byte
}

// image is a container image the export refers to; source is the Go
// executor folder it is built from ("" for the jig image).
type image struct {
	name, source string
}

// usedImages are the images the export runs: the jig image when it runs
// the gateway or a built-in executor, and every Go executor's image.
func (p *plan) usedImages(gateway bool) []Image {
	var out []Image
	for _, i := range p.images {
		if i.source == "" {
			if !gateway && !slices.ContainsFunc(p.workloads, func(w *workload) bool { return w.jig }) {
				continue
			}
			out = append(out, Image{Name: i.name})
			continue
		}
		_, err := os.Stat(filepath.Join(i.source, "Dockerfile"))
		out = append(out, Image{Name: i.name, Source: i.source, Dockerfile: err == nil})
	}
	return out
}

// gatewayPort is one port of the gateway.
type gatewayPort struct {
	name     string // grpc, http or metrics
	protocol flow.Protocol
	port     int
}

// imageOptions are the image settings shared by both exports.
type imageOptions struct {
	prefix, tag, jig string
}

func (o *imageOptions) defaults() {
	if o.prefix == "" {
		o.prefix = "jig"
	}
	o.prefix = strings.TrimRight(o.prefix, "/")
	if o.tag == "" {
		o.tag = "latest"
	}
	if o.jig == "" {
		o.jig = o.prefix + "/jig:" + o.tag
	}
}

// newPlan lays out f. Deployment names are made DNS-safe; two that end up
// the same are an error, as is a deployment named like the gateway.
func newPlan(f *flow.Flow, io imageOptions) (*plan, error) {
	io.defaults()
	p := &plan{flow: f, shards: map[string][]*workload{}}
	p.images = append(p.images, image{name: io.jig})
	taken := map[string]string{"gateway": "the gateway"}
	// A clash is the flow's problem (exit code 2), located at the name.
	claim := func(name, owner string, d *flow.Deployment) error {
		if prev, ok := taken[name]; ok {
			return d.Errorf("name", "%s and %s would both be named %q in the export; rename one of them", prev, owner, name)
		}
		taken[name] = owner
		return nil
	}
	for _, d := range f.Deployments {
		if d.External {
			continue
		}
		base := dnsName(d.Name, maxNameLen-4) // room for -<shard>
		for s := range d.Shards {
			w := &workload{dep: d, shard: s, name: base}
			if d.Shards > 1 {
				w.name = base + "-" + strconv.Itoa(s)
			}
			owner := "deployment " + d.Name
			if d.Shards > 1 {
				owner += " (shard " + strconv.Itoa(s) + ")"
			}
			if err := claim(w.name, owner, d); err != nil {
				return nil, err
			}
			if err := p.setExecutor(w, io); err != nil {
				return nil, err
			}
			p.workloads = append(p.workloads, w)
			p.shards[d.Name] = append(p.shards[d.Name], w)
		}
	}
	p.gatewayPorts = gatewayPorts(&f.Gateway)
	return p, nil
}

// setExecutor decides the image, --uses and config of w.
func (p *plan) setExecutor(w *workload, io imageOptions) error {
	d := w.dep
	if d.Source != "" {
		// Deployments of the same folder share its image.
		w.image = io.prefix + "/" + dnsName(filepath.Base(d.Source), 63) + ":" + io.tag
		switch i := slices.IndexFunc(p.images, func(i image) bool { return i.name == w.image }); {
		case i < 0:
			p.images = append(p.images, image{name: w.image, source: d.Source})
		case p.images[i].source != d.Source:
			return d.Errorf("uses", "the executors in %s and %s would both be the image %s; rename one of the folders", p.images[i].source, d.Source, w.image)
		}
	} else {
		w.image, w.jig = io.jig, true
	}
	if strings.HasPrefix(d.Uses, builtinPrefix) {
		w.uses = d.Uses
		return nil
	}
	cfg, err := configYAML(d.Config)
	if err != nil {
		return fmt.Errorf("export %s: config of %s: %w", p.flow.Name, d.Name, err)
	}
	w.uses, w.config = configDir+"/"+configFile, cfg
	return nil
}

// configYAML renders an executor config as the config.yml the exported
// worker loads. It is rebuilt from the loaded config rather than copied,
// so inline `uses:` mappings and configs of Go executors work alike.
func configYAML(c *executors.Config) ([]byte, error) {
	if c == nil {
		return nil, fmt.Errorf("no executor config")
	}
	type doc struct {
		JType           string                           `yaml:"jtype"`
		With            *yaml.Node                       `yaml:"with,omitempty"`
		Metas           *executors.Metas                 `yaml:"metas,omitempty"`
		Requests        map[string]string                `yaml:"requests,omitempty"`
		DynamicBatching map[string]executors.BatchConfig `yaml:"dynamic_batching,omitempty"`
	}
	out := doc{JType: c.JType, Requests: c.Requests, DynamicBatching: c.DynamicBatching}
	if c.With.Kind != 0 && !(c.With.Kind == yaml.ScalarNode && c.With.Tag == "!!null") {
		w := c.With
		out.With = &w
	}
	if m := c.Metas; m.Name != "" || m.Description != "" || m.URL != "" || len(m.Keywords) > 0 {
		m.Workspace = "" // the exported worker gets --workspace
		out.Metas = &m
	}
	return yaml.Marshal(out)
}

// gatewayPorts assigns the gateway's ports: the flow's, or 8080, 8081...
// for the protocols whose port jig would pick at run time.
func gatewayPorts(g *flow.Gateway) []gatewayPort {
	var out []gatewayPort
	used := map[int]bool{g.MonitoringPort: g.MonitoringPort != 0}
	for _, pr := range g.Protocols {
		if port := g.Port(pr); port != 0 {
			used[port] = true
		}
	}
	next := defaultGatewayPort
	for _, pr := range g.Protocols {
		port := g.Port(pr)
		if port == 0 {
			for used[next] {
				next++
			}
			port = next
			used[port] = true
		}
		out = append(out, gatewayPort{name: string(pr), protocol: pr, port: port})
	}
	if g.MonitoringPort != 0 {
		out = append(out, gatewayPort{name: "metrics", port: g.MonitoringPort})
	}
	return out
}

// port returns the gateway's port for protocol pr (0 if not served).
func (p *plan) port(pr flow.Protocol) int {
	for _, gp := range p.gatewayPorts {
		if gp.protocol == pr {
			return gp.port
		}
	}
	return 0
}

// workerFlags are the flags of replica rep of w: the deployment's
// (flow.Deployment.WorkerFlags, as the engine starts it) with what the
// container decides: the config's path in the image, every interface on
// the fixed WorkerPort, the /workspace volume, the flow's message limit.
// The RAFT flags are left for raftFlags, which knows the platform's
// addresses.
func (p *plan) workerFlags(w *workload, rep int) (workerflags.Flags, error) {
	f, err := w.dep.WorkerFlags(w.shard, rep)
	if err != nil {
		return f, fmt.Errorf("export %s: %w", p.flow.Name, err)
	}
	f.Uses, f.Host, f.Port, f.Workspace = w.uses, "0.0.0.0", WorkerPort, workspaceDir
	if m := p.flow.Gateway.MaxMessageSize; m > 0 {
		f.MaxMessageSize = m
	}
	f.Raft = workerflags.Default().Raft
	return f, nil
}

// workerArgs is the command line of f in w's image: the jig image runs the
// worker as its `executor` subcommand.
func workerArgs(w *workload, f workerflags.Flags) []string {
	args := f.Args()
	if w.jig {
		args = append([]string{"executor"}, args...)
	}
	return args
}

// raftFlags are the RAFT flags of one replica of a stateful deployment:
// its id, the address its RAFT transport binds, the full static membership
// (the same on every replica, so the cluster bootstraps itself; members
// dial each other by the addresses listed there), the read consistency and
// the flow's raft_configuration.
func raftFlags(d *flow.Deployment, id, bind string, peers []clusterconf.Peer) workerflags.Raft {
	consistency := clusterconf.ConsistencyLocal
	if d.Consistency == flow.Leader {
		consistency = clusterconf.ConsistencyLeader
	}
	return workerflags.Raft{ID: id, Dir: workspaceDir + "/raft", Addr: bind, Peers: peers, Knobs: d.Raft, Consistency: consistency}
}

// sortedKeys returns the keys of m in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
