package flow

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/jig-dev/jig/consensus/clusterconf"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/workerflags"
	"gopkg.in/yaml.v3"
)

// WorkerFlags is the command line of replica rep of shard s of d, the one
// mapping from a deployment to worker flags that the engine (child-process
// replicas) and exports (containers) share: the executor (its config file,
// or the config's text when it was written inside the flow), its place in
// the deployment, its overrides and, for a stateful deployment, the RAFT
// id, read consistency and raft_configuration.
//
// What depends on where the worker runs is the caller's to set: Host and
// Port, Workspace, LogLevel, MaxMessageSize and Raft.Dir, Addr, Peers and
// Join; an export also replaces Uses with the config's path in the
// container. An override that cannot be written as JSON is an error; the
// flags are complete but for it.
func (d *Deployment) WorkerFlags(s, rep int) (workerflags.Flags, error) {
	f := workerflags.Default()
	f.Name, f.Replicas, f.Shards, f.ShardID, f.ReplicaID = d.Name, d.Replicas, d.Shards, s, rep
	if c := d.Config; c != nil {
		f.Uses = c.File
		if c.Inline {
			// Written inside the flow (uses: {jtype, source, with}): the
			// worker takes the config as text.
			if text, err := c.YAML(); err == nil {
				f.Uses = string(text)
			}
		}
	}
	var errs []error
	for _, o := range []struct {
		flag string
		dst  *string
		node *yaml.Node
	}{{"uses_with", &f.UsesWith, overrideNode(d.UsesWith)}, {"uses_metas", &f.UsesMetas, overrideNode(d.UsesMetas)}} {
		if o.node == nil {
			continue
		}
		j, err := nodeJSON(o.node)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s of %s: %w", o.flag, d.Name, err))
			continue
		}
		*o.dst = j
	}
	if d.UsesRequests != nil {
		j, _ := json.Marshal(d.UsesRequests) // map of strings: never fails
		f.UsesRequests = string(j)
	}
	if d.UsesDynamicBatching != nil {
		j, err := json.Marshal(d.UsesDynamicBatching)
		if err != nil {
			errs = append(errs, fmt.Errorf("uses_dynamic_batching of %s: %w", d.Name, err))
		} else {
			f.UsesDynamicBatching = string(j)
		}
	}
	f.Tracing = workerflags.Tracing{Enabled: d.Tracing.Enabled, ExporterHost: d.Tracing.ExporterHost, ExporterPort: d.Tracing.ExporterPort}
	if d.Stateful {
		f.Raft.ID = strconv.Itoa(rep)
		f.Raft.Knobs = d.Raft
		if d.Consistency == Leader {
			f.Raft.Consistency = clusterconf.ConsistencyLeader
		}
	}
	if len(errs) > 0 {
		return f, errs[0]
	}
	return f, nil
}

// overrideNode is o's YAML, nil when there is none.
func overrideNode(o *executors.Override) *yaml.Node {
	if o == nil {
		return nil
	}
	return o.Node
}

// nodeJSON renders a YAML mapping as JSON for a command-line flag.
func nodeJSON(n *yaml.Node) (string, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}
