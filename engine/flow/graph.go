package flow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jig-dev/jig/internal/yamlutil"
)

// Graph is the topology of a flow: which deployment takes whose output.
type Graph struct {
	// Order lists the deployments in a topological order (every deployment
	// after all it needs), ties broken by declaration order.
	Order []string
	// Needs maps a deployment to its inputs; GatewayName is the flow input.
	Needs map[string][]string
	// Next maps a deployment (or GatewayName) to the deployments that take
	// its output.
	Next map[string][]string
	// Output is the deployment whose result is the flow's response: the
	// last one declared.
	Output string
	// Floating marks deployments whose output nobody takes (other than
	// Output): the gateway runs them but does not wait for them.
	Floating map[string]bool
}

// Upstream returns every deployment that d depends on, transitively.
func (g *Graph) Upstream(d string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		for _, p := range g.Needs[n] {
			if p != GatewayName && !seen[p] {
				seen[p] = true
				walk(p)
			}
		}
	}
	walk(d)
	var out []string
	for _, n := range g.Order {
		if seen[n] {
			out = append(out, n)
		}
	}
	return out
}

// Linear reports whether the flow is a single chain (no branches, joins or
// floating deployments), which the gateway walks without fan-out.
func (g *Graph) Linear() bool {
	for _, n := range g.Order {
		if len(g.Needs[n]) != 1 || len(g.Next[n]) > 1 || g.Floating[n] {
			return false
		}
	}
	return len(g.Next[GatewayName]) == 1
}

// buildGraph derives the topology: a deployment without `needs` takes the
// output of the one declared before it (the first takes the gateway's).
func (f *Flow) buildGraph() error {
	g := &Graph{Needs: map[string][]string{}, Next: map[string][]string{}, Floating: map[string]bool{}}
	names := map[string]*Deployment{}
	for _, d := range f.Deployments {
		names[d.Name] = d
	}
	prev := GatewayName
	for _, d := range f.Deployments {
		needs := d.Needs
		if len(needs) == 0 {
			needs = []string{prev}
			d.Needs = needs
		}
		seen := map[string]bool{}
		for _, n := range needs {
			if n != GatewayName && names[n] == nil {
				return d.Errorf("needs", "unknown deployment %q (deployments: %s)", n, strings.Join(deploymentNames(f), ", "))
			}
			if n == d.Name {
				return d.Errorf("needs", "%s cannot need itself", d.Name)
			}
			if seen[n] {
				return d.Errorf("needs", "%q listed twice", n)
			}
			seen[n] = true
			g.Needs[d.Name] = append(g.Needs[d.Name], n)
			g.Next[n] = append(g.Next[n], d.Name)
		}
		prev = d.Name
	}
	// Kahn's algorithm; declaration order breaks ties so the order is
	// stable and matches what the user wrote for linear flows.
	indeg := map[string]int{}
	for _, d := range f.Deployments {
		for _, n := range g.Needs[d.Name] {
			if n != GatewayName {
				indeg[d.Name]++
			}
		}
	}
	done := map[string]bool{}
	for len(g.Order) < len(f.Deployments) {
		progressed := false
		for _, d := range f.Deployments {
			if done[d.Name] || indeg[d.Name] > 0 {
				continue
			}
			done[d.Name] = true
			g.Order = append(g.Order, d.Name)
			for _, n := range g.Next[d.Name] {
				indeg[n]--
			}
			progressed = true
		}
		if !progressed {
			var cycle []string
			for _, d := range f.Deployments {
				if !done[d.Name] {
					cycle = append(cycle, d.Name)
				}
			}
			d := names[cycle[0]]
			return d.Errorf("needs", "cycle in needs among %s", strings.Join(cycle, ", "))
		}
	}
	g.Output = f.Deployments[len(f.Deployments)-1].Name
	for _, d := range f.Deployments {
		if d.Name != g.Output && len(g.Next[d.Name]) == 0 {
			g.Floating[d.Name] = true
		}
	}
	// The output must not depend on a floating branch only: that is
	// impossible by construction, but a floating deployment that the output
	// reaches would be a contradiction, so check the invariant.
	for _, up := range g.Upstream(g.Output) {
		if g.Floating[up] {
			return fmt.Errorf("internal: %s is floating but feeds the output", up)
		}
	}
	f.Graph = g
	return nil
}

func deploymentNames(f *Flow) []string {
	out := make([]string, len(f.Deployments))
	for i, d := range f.Deployments {
		out[i] = d.Name
	}
	return out
}

// validate checks what spans deployments: names, needs, ports.
func (f *Flow) validate() error {
	seen := map[string]*Deployment{}
	for _, d := range f.Deployments {
		if prev, dup := seen[d.Name]; dup {
			return yamlutil.At(d.file, yamlutil.Lookup(d.node, "name"), d.path()+".name", "duplicate name %q (first used on line %d)", d.Name, prev.Line())
		}
		seen[d.Name] = d
	}
	if err := f.buildGraph(); err != nil {
		return err
	}
	return f.checkPorts()
}

// checkPorts rejects two listeners on one fixed port. Ports picked at run
// time (0) cannot clash.
func (f *Flow) checkPorts() error {
	type owner struct {
		what string
		d    *Deployment
	}
	used := map[int]owner{}
	claim := func(port int, what string, d *Deployment, field string) error {
		if port == 0 {
			return nil
		}
		if prev, ok := used[port]; ok {
			msg := fmt.Sprintf("port %d is used twice: by %s and by %s", port, prev.what, what)
			if d != nil {
				return d.Errorf(field, "%s", msg)
			}
			return yamlutil.At(f.File, nil, "with.port", "%s", msg)
		}
		used[port] = owner{what, d}
		return nil
	}
	protocols := slices.Clone(f.Gateway.Protocols)
	for _, p := range protocols {
		if err := claim(f.Gateway.Ports[p], "the gateway ("+string(p)+")", nil, ""); err != nil {
			return err
		}
	}
	if err := claim(f.Gateway.MonitoringPort, "the gateway (monitoring)", nil, ""); err != nil {
		return err
	}
	for _, d := range f.Deployments {
		if d.External {
			continue
		}
		if d.Port != 0 {
			for i := 0; i < d.Shards*d.Replicas; i++ {
				if err := claim(d.Port+i, fmt.Sprintf("%s worker %d", d.Name, i), d, "port"); err != nil {
					return err
				}
			}
		}
		for s, ports := range d.PeerPorts {
			for r, p := range ports {
				if err := claim(p, fmt.Sprintf("%s RAFT %s", d.Name, d.ReplicaName(s, r)), d, "peer_ports"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// WithDeployment returns a copy of the flow with d appended as the new last
// deployment (so it takes the previous output and becomes the flow's
// output, as Jina's Flow.add does), validated like a loaded flow.
func (f *Flow) WithDeployment(d *Deployment) (*Flow, error) {
	if f.Deployment(d.Name) != nil {
		return nil, fmt.Errorf("a deployment named %q already runs", d.Name)
	}
	c := *f
	c.Deployments = append(append([]*Deployment(nil), f.Deployments...), d)
	d.idx = len(c.Deployments) - 1
	if len(d.Needs) == 0 {
		d.Needs = []string{f.Graph.Output}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}
