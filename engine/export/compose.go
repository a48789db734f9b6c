package export

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jig-dev/jig/consensus/clusterconf"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// ComposeOptions configure Compose.
type ComposeOptions struct {
	// ImagePrefix, Tag and JigImage name the images, as in K8sOptions.
	ImagePrefix, Tag, JigImage string
	// Shared leaves the gateway out (Jina's shared executor): other
	// Compose projects reach the executors on the network, and the host
	// on the published ports (the deployment's port, else 8080, one port
	// per replica).
	Shared bool
	// JigRoot is the jig checkout Go executor images build against (their
	// Dockerfile's "jig" build context). "" leaves additional_contexts out
	// and says so in Warnings.
	JigRoot string
	// SecretFile is the file holding the flow secret, a Compose secret
	// every worker requires (and RAFT peers authenticate with) and the
	// gateway sends. Without Shared it defaults to <file's name>.flow-secret
	// beside the Compose file: an earlier export's is kept, else the
	// export writes a new random token there with mode 0600. With Shared,
	// "" leaves the workers open (other flows and Jina gateways call them)
	// and a file makes them require its token (made as above if missing).
	SecretFile string
}

// ComposeResult says what Compose wrote.
type ComposeResult struct {
	// Project is the Compose project name; Network the name of its
	// network (other projects can join it as an external network).
	Project, Network string
	// Services are the services, in flow order (the gateway last).
	Services []string
	// Images are the images the services run.
	Images []Image
	// Gateway is the host address of the gateway's first port ("" with
	// Shared).
	Gateway string
	// Published maps each executor service to its host address, with
	// Shared (the address other flows use as an external deployment).
	Published map[string]string
	// Warnings are things of the flow Compose cannot express.
	Warnings []string
	// SecretFile is the file holding the flow secret ("" with open
	// workers).
	SecretFile string
}

// composeService is the name of the service of replica rep of w: Jina's
// <name>-rep-<i>, with the shard when sharded (w.name carries it).
func composeService(w *workload, rep int) string {
	return w.name + "-rep-" + strconv.Itoa(rep)
}

// Compose writes f as a Docker Compose file: one service per replica of
// every shard of every deployment jig runs (<name>[-<shard>]-rep-<i>), the
// gateway service publishing the flow's ports (unless opts.Shared), one
// network, a named workspace volume per stateful replica, healthchecks and
// a restart policy. An existing file is only replaced if an earlier export
// wrote it. Run it with `docker compose -f FILE up -d`.
func Compose(f *flow.Flow, file string, opts ComposeOptions) (*ComposeResult, error) {
	p, err := newPlan(f, imageOptions{prefix: opts.ImagePrefix, tag: opts.Tag, jig: opts.JigImage})
	if err != nil {
		return nil, err
	}
	project := dnsName(f.Name, 63)
	res := &ComposeResult{Project: project, Network: "jig-" + project}
	res.Images = p.usedImages(!opts.Shared)
	proj := &composeProject{
		Name:     project,
		Services: map[string]*composeServiceConfig{},
		Networks: map[string]composeNetwork{"jig": {Name: res.Network, Driver: "bridge"}},
		Volumes:  map[string]composeVolume{},
		Configs:  map[string]composeConfigObj{},
	}
	if opts.SecretFile == "" && !opts.Shared {
		base := filepath.Base(file)
		opts.SecretFile = filepath.Join(filepath.Dir(file), strings.TrimSuffix(base, filepath.Ext(base))+".flow-secret")
	}
	c := &composer{plan: p, proj: proj, res: res, dir: filepath.Dir(file), opts: opts}
	if opts.SecretFile != "" {
		// Compose mounts the file; its content is never in the Compose file.
		proj.Secrets = map[string]composeSecretObj{composeSecret: {File: relPath(c.dir, opts.SecretFile)}}
		p.hopTokenFile = composeSecretPath
		res.SecretFile = opts.SecretFile
	}
	if opts.Shared {
		res.Published = map[string]string{}
		c.usedPorts = map[int]bool{}
	}
	if opts.JigRoot == "" && slices.ContainsFunc(res.Images, func(i Image) bool { return i.Source != "" }) {
		res.Warnings = append(res.Warnings, "no jig checkout found: the build sections have no additional_contexts \"jig\"; add it (or pass --build-context jig=PATH to docker build)")
	}
	var deps []string
	for _, w := range p.workloads {
		names, err := c.addWorkload(w)
		if err != nil {
			return nil, err
		}
		deps = append(deps, names...)
	}
	if !opts.Shared {
		if err := c.addGateway(deps); err != nil {
			return nil, err
		}
	}
	data, err := proj.marshal()
	if err != nil {
		return nil, fmt.Errorf("export %s: marshal compose file: %w", f.Name, err)
	}
	if old, err := os.ReadFile(file); err == nil && !bytes.HasPrefix(old, []byte(exportMarker)) {
		return nil, &yamlutil.Error{File: file, Msg: "exists and was not written by jig export; choose another file or remove it"}
	}
	if opts.SecretFile != "" {
		if err := ensureComposeSecret(opts.SecretFile); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	src := f.File
	if src == "" {
		src = f.Name
	}
	fmt.Fprintf(&b, "%s compose from %s; re-export instead of editing.\n", exportMarker, src)
	b.WriteString("# Build the images (Go executors also build with `docker compose build`):\n")
	for _, cmd := range buildCommands(res.Images, filepath.Dir(file)) {
		b.WriteString("#   " + cmd + "\n")
	}
	fmt.Fprintf(&b, "# Run: docker compose -f %s up -d\n", filepath.Base(file))
	b.WriteString("# Healthchecks run `jig health` in services of the jig image; Go executor\n")
	b.WriteString("# images hold only their binary, so those have none: the gateway waits for them.\n")
	b.Write(data)
	if err := writeFile(file, b.Bytes()); err != nil {
		return nil, err
	}
	return res, nil
}

// composer builds the services of a Compose project.
type composer struct {
	plan *plan
	proj *composeProject
	res  *ComposeResult
	dir  string // the compose file's folder, for build contexts
	opts ComposeOptions
	// usedPorts are the host ports published so far (Shared).
	usedPorts map[int]bool
}

// publish picks the host port of a shared export's replica: the
// deployment's port (replicas take the following ones), else 8080, the
// next free one when taken.
func (c *composer) publish(d *flow.Deployment) int {
	port := defaultGatewayPort
	if d.Port > 0 {
		port = d.Port
	}
	for c.usedPorts[port] {
		port++
	}
	c.usedPorts[port] = true
	return port
}

// addWorkload adds one service per replica of w and returns their names.
func (c *composer) addWorkload(w *workload) ([]string, error) {
	d := w.dep
	base, err := c.plan.workerFlags(w, 0)
	if err != nil {
		return nil, err
	}
	configName := ""
	if w.config != nil {
		configName = w.name + "-config"
		c.proj.Configs[configName] = composeConfigObj{Content: escapeCompose(string(w.config))}
	}
	env := map[string]string{}
	for k, v := range d.Env {
		env[k] = escapeCompose(v)
	}
	deploy, warnings := composeResources(d)
	c.res.Warnings = append(c.res.Warnings, warnings...)
	var peers []clusterconf.Peer
	if d.Stateful {
		for i := range d.Replicas {
			svc := composeService(w, i)
			peers = append(peers, clusterconf.Peer{ID: strconv.Itoa(i), RaftAddr: svc + ":" + strconv.Itoa(RaftPort), WorkerAddr: svc + ":" + strconv.Itoa(WorkerPort)})
		}
	}
	var names []string
	for i := range d.Replicas {
		name := composeService(w, i)
		f := base
		f.ReplicaID = i
		if d.Stateful {
			f.Raft = raftFlags(d, strconv.Itoa(i), name+":"+strconv.Itoa(RaftPort), peers)
		}
		args := workerArgs(w, f)
		s := c.service(w.image, args)
		s.Labels = map[string]string{labelFlow: c.proj.Name, labelComponent: "executor", labelDeployment: d.Name, labelShard: strconv.Itoa(w.shard)}
		s.Environment = env
		if c.opts.SecretFile != "" {
			s.Environment = maps.Clone(env)
			s.Environment[workerTokenFileEnv] = composeSecretPath
			s.Secrets = append(s.Secrets, c.secretMount())
		}
		s.Deploy = deploy
		if d.Source != "" {
			s.Build = &composeBuild{Context: relPath(c.dir, d.Source)}
			if c.opts.JigRoot != "" {
				// The Dockerfile of `jig new` takes the jig checkout as its
				// "jig" build context (its go.mod replaces jig with it).
				s.Build.AdditionalContexts = map[string]string{"jig": relPath(c.dir, c.opts.JigRoot)}
			}
		}
		if c.opts.Shared {
			port := c.publish(d)
			s.Ports = []composePort{{Name: "grpc", Target: WorkerPort, Published: strconv.Itoa(port), Protocol: "tcp", Mode: "ingress"}}
			c.res.Published[name] = "127.0.0.1:" + strconv.Itoa(port)
		}
		if configName != "" {
			s.Configs = []composeFileMount{{Source: configName, Target: configDir + "/" + configFile}}
		}
		if d.Stateful {
			vol := name + "-workspace"
			c.proj.Volumes[vol] = composeVolume{}
			s.Volumes = []composeVolumeMount{{Type: "volume", Source: vol, Target: workspaceDir}}
		} else {
			s.Tmpfs = append(s.Tmpfs, workspaceDir)
		}
		if w.jig {
			// The jig image has jig; a Go executor's image has only its
			// binary, whose health the gateway checks before it serves.
			s.HealthCheck = healthcheck([]string{"CMD", "jig", "health", "127.0.0.1:" + strconv.Itoa(WorkerPort)}, c.plan.flow.Gateway.TimeoutReady)
		}
		c.proj.Services[name] = s
		c.res.Services = append(c.res.Services, name)
		names = append(names, name)
	}
	return names, nil
}

// addGateway adds the gateway service, which starts once every executor
// service has started (or is healthy, when it has a healthcheck).
func (c *composer) addGateway(deps []string) error {
	p := c.plan
	g := &p.flow.Gateway
	flowYAML, err := p.gatewayFlowYAML(func(w *workload) []string {
		out := make([]string, w.dep.Replicas)
		for i := range out {
			out[i] = composeService(w, i) + ":" + strconv.Itoa(WorkerPort)
		}
		return out
	})
	if err != nil {
		return err
	}
	c.proj.Configs["gateway-flow"] = composeConfigObj{Content: escapeCompose(string(flowYAML))}
	s := c.service(p.images[0].name, []string{"up", configDir + "/" + gatewayFlow, "--headless"})
	s.Labels = map[string]string{labelFlow: c.proj.Name, labelComponent: "gateway"}
	s.Configs = []composeFileMount{{Source: "gateway-flow", Target: configDir + "/" + gatewayFlow}}
	s.Environment = map[string]string{"HOME": tmpDir}
	for _, gp := range p.gatewayPorts {
		s.Ports = append(s.Ports, composePort{Name: gp.name, Target: gp.port, Published: strconv.Itoa(gp.port), Protocol: "tcp", Mode: "ingress"})
	}
	if c.res.Gateway == "" && len(p.gatewayPorts) > 0 {
		c.res.Gateway = "127.0.0.1:" + strconv.Itoa(p.gatewayPorts[0].port)
	}
	if g.AuthToken != "" {
		// Interpolated by Compose from the shell or .env when it starts:
		// the token is never in the file.
		s.Environment[authTokenEnv] = "${" + authTokenEnv + ":?set " + authTokenEnv + " to the gateway's auth token}"
	}
	if c.opts.SecretFile != "" {
		s.Secrets = append(s.Secrets, c.secretMount())
	}
	if g.TLSCert != "" {
		// The certificate and key stay where they are; Compose mounts them.
		if c.proj.Secrets == nil {
			c.proj.Secrets = map[string]composeSecretObj{}
		}
		c.proj.Secrets["gateway-tls-cert"] = composeSecretObj{File: relPath(c.dir, g.TLSCert)}
		c.proj.Secrets["gateway-tls-key"] = composeSecretObj{File: relPath(c.dir, g.TLSKey)}
		s.Secrets = append(s.Secrets,
			composeSecretMount{Source: "gateway-tls-cert", Target: tlsDir + "/tls.crt", Mode: 0o444},
			composeSecretMount{Source: "gateway-tls-key", Target: tlsDir + "/tls.key", Mode: 0o444},
		)
	}
	if port := p.port(flow.GRPC); port != 0 {
		test := []string{"CMD", "jig", "health", "127.0.0.1:" + strconv.Itoa(port)}
		if g.TLSCert != "" {
			test = append(test, "--tls")
		}
		// The gateway listens once every executor is ready.
		s.HealthCheck = healthcheck(test, g.TimeoutReady+time.Minute)
	}
	s.DependsOn = map[string]composeDependency{}
	for _, name := range deps {
		cond := composeServiceStarted
		if c.proj.Services[name].HealthCheck != nil {
			cond = composeServiceHealthy
		}
		s.DependsOn[name] = composeDependency{Condition: cond, Required: true}
	}
	c.proj.Services["gateway"] = s
	c.res.Services = append(c.res.Services, "gateway")
	return nil
}

// service is a service with the settings every exported one shares.
func (c *composer) service(image string, args []string) *composeServiceConfig {
	command := make([]string, len(args))
	for i, a := range args {
		command[i] = escapeCompose(a)
	}
	return &composeServiceConfig{
		Image:           image,
		Command:         command,
		Restart:         composeUnlessStopped,
		Networks:        map[string]*composeServiceNetwork{"jig": nil},
		ReadOnly:        true,
		User:            strconv.Itoa(nonRootID) + ":" + strconv.Itoa(nonRootID),
		CapDrop:         []string{"ALL"},
		SecurityOpt:     []string{"no-new-privileges:true"},
		Tmpfs:           []string{tmpDir},
		StopGracePeriod: composeDuration(30 * time.Second),
	}
}

// healthcheck runs test every 5s; start covers the time the service may
// take to become healthy (0: ten minutes).
func healthcheck(test []string, start time.Duration) *composeHealthCheck {
	if start <= 0 {
		start = 10 * time.Minute
	}
	return &composeHealthCheck{
		Test:          test,
		Interval:      composeDuration(5 * time.Second),
		Timeout:       composeDuration(3 * time.Second),
		Retries:       3,
		StartPeriod:   composeDuration(start),
		StartInterval: composeDuration(time.Second),
	}
}

// composeResources maps the flow's resources to deploy.resources: cpu,
// memory and nvidia.com/gpu (a device reservation). Other resources have
// no Compose equivalent and are reported.
func composeResources(d *flow.Deployment) (*composeDeploy, []string) {
	if len(d.Resources.Requests) == 0 && len(d.Resources.Limits) == 0 {
		return nil, nil
	}
	var warnings []string
	gpus := int64(0) // the most either block names: one device request
	conv := func(in map[string]string) *composeResource {
		if len(in) == 0 {
			return nil
		}
		r := &composeResource{}
		for _, name := range sortedKeys(in) {
			q, err := parseQuantity(in[name])
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: resource %s: %q is not a quantity; left out", d.Name, name, in[name]))
				continue
			}
			switch name {
			case "cpu":
				r.CPUs = float32(q.float())
			case "memory":
				r.Memory = composeBytes(q.value())
			case "nvidia.com/gpu":
				gpus = max(gpus, q.value())
			default:
				warnings = append(warnings, fmt.Sprintf("%s: resource %s has no Compose equivalent; left out", d.Name, name))
			}
		}
		return r
	}
	res := composeDeployResources{Limits: conv(d.Resources.Limits), Reservations: conv(d.Resources.Requests)}
	// A GPU is reserved in Compose, whichever block the flow names it in,
	// as one device request: a request of 1 and a limit of 2 is 2 GPUs, not
	// 3, and 0 is none (a device request without a count is every GPU).
	if gpus > 0 {
		if res.Reservations == nil {
			res.Reservations = &composeResource{}
		}
		res.Reservations.Devices = []composeDevice{{Driver: "nvidia", Count: gpus, Capabilities: []string{"gpu"}}}
	}
	return &composeDeploy{Resources: res}, warnings
}

// escapeCompose protects a value from Compose's ${VAR} interpolation.
func escapeCompose(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// secretMount mounts the flow secret at composeSecretPath, owned by the
// containers' user and readable by it alone where Compose copies secrets
// in; where it bind-mounts the file, the host file's owner and mode apply
// (see the README's Security section).
func (c *composer) secretMount() composeSecretMount {
	id := strconv.Itoa(nonRootID)
	return composeSecretMount{Source: composeSecret, Target: composeSecretPath, UID: id, GID: id, Mode: 0o400}
}
