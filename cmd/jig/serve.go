package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

func init() {
	subcommands = append(subcommands, newServeCmd)
}

func newServeCmd() *cobra.Command {
	var (
		o    runFlowOptions
		spec serveSpec
	)
	cmd := &cobra.Command{
		Use:   "serve EXECUTOR",
		Short: "Serve one executor behind a gateway",
		Long: `Serve one executor behind a gateway, like Jina's Executor.serve: EXECUTOR is
builtin:Name, a config.yml, or a folder holding a Go executor (built with
go build). Runs headless: prints the addresses and logs, stops on SIGINT.`,
		Example: `  jig serve builtin:Echo --port 12345
  jig serve ./greeter --replicas 2 --reload
  jig serve builtin:SimpleIndexer --shards 2 --http-port 8080
  jig serve ./greeter --uses-metas '{name: hello}' --uses-requests '{/hi: Greet}'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec.uses, spec.label = args[0], "jig serve"
			f, err := serveFlow(spec)
			if err != nil {
				return err
			}
			o.headless = true
			return runFlow(cmd, f, &o)
		},
	}
	o.register(cmd)
	cmd.Flags().MarkHidden("headless")
	cmd.Flags().IntVar(&spec.replicas, "replicas", 1, "number of replicas")
	cmd.Flags().IntVar(&spec.shards, "shards", 1, "number of shards")
	cmd.Flags().BoolVar(&spec.reload, "reload", false, "rebuild and roll the replicas when the executor's source changes")
	spec.register(cmd, "")
	return cmd
}

// serveSpec is one executor made into a one-deployment flow, by `jig
// serve` and `jig export` (a single executor).
type serveSpec struct {
	uses, name       string
	replicas, shards int
	reload           bool
	// The executor's overrides, as JSON or YAML (the --uses-* flags).
	usesWith, usesMetas, usesRequests, usesDynamicBatching string
	// label is the command, for errors ("jig serve", "jig export").
	label string
}

// register adds --name and the --uses-* flags; what says when they apply
// (e.g. ", when exporting one executor").
func (s *serveSpec) register(cmd *cobra.Command, what string) {
	fl := cmd.Flags()
	fl.StringVar(&s.name, "name", "", "deployment name"+what+" (default: metas.name of a config, else the folder's or file's name)")
	fl.StringVar(&s.usesWith, "uses-with", "", `override the executor's "with:" block`+what+`, as JSON or YAML`)
	fl.StringVar(&s.usesMetas, "uses-metas", "", `override "metas:"`+what+`, as JSON or YAML, e.g. '{name: enc}'`)
	fl.StringVar(&s.usesRequests, "uses-requests", "", `override "requests:" (endpoint -> method)`+what+`, as JSON or YAML`)
	fl.StringVar(&s.usesDynamicBatching, "uses-dynamic-batching", "", `override "dynamic_batching:" (endpoint -> {preferred_batch_size, timeout})`+what+`, as JSON or YAML`)
}

// singleExecutorFlags are the flags of serveSpec, for "applies to a single
// executor" errors.
var singleExecutorFlags = []string{"name", "uses-with", "uses-metas", "uses-requests", "uses-dynamic-batching"}

// defaultServeName is the deployment name of an executor served without
// --name: a config's metas.name, else the name of its folder (a folder,
// config.yml) or of the file without its extension (enc.yml: enc), else
// the built-in's name; made a valid deployment name.
func defaultServeName(uses string) string {
	name, ok := strings.CutPrefix(uses, "builtin:")
	if !ok {
		abs, err := filepath.Abs(uses)
		if err != nil {
			abs = uses
		}
		st, err := os.Stat(abs)
		cfg := abs
		if err == nil && st.IsDir() {
			cfg = filepath.Join(abs, "config.yml")
			name = filepath.Base(abs)
		} else {
			stem := strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs))
			name = stem
			if stem == "config" {
				name = filepath.Base(filepath.Dir(abs))
			}
		}
		if node, err := yamlutil.LoadFile(cfg); err == nil {
			if m := yamlutil.Lookup(node, "metas"); m != nil {
				if n := yamlutil.Lookup(m, "name"); n != nil && n.Kind == yaml.ScalarNode && strings.TrimSpace(n.Value) != "" {
					name = n.Value
				}
			}
		}
	}
	name = strings.Trim(strings.ToLower(strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '-'
	}, name)), "-")
	if name == "" {
		name = "executor"
	}
	return name
}

// serveFlow builds the one-deployment flow of s. Flag values are checked
// here, so errors name the flag rather than the flow YAML built from them.
func serveFlow(s serveSpec) (*flow.Flow, error) {
	uses, name := s.uses, s.name
	if name == "" {
		name = defaultServeName(uses)
	}
	label := s.label
	if label == "" {
		label = "jig serve"
	}
	if _, err := os.Stat(uses); err != nil && !strings.HasPrefix(uses, "builtin:") {
		// Said here: the flow's loader would point into the YAML built below.
		return nil, &usageError{fmt.Errorf("%s %s: no such file or folder; EXECUTOR is builtin:Name, an executor config (.yml) or a Go executor folder", label, uses)}
	} else if err == nil {
		// Logs and the banner then say which folder is served, not ".".
		if abs, err := filepath.Abs(uses); err == nil {
			uses = abs
		}
	}
	// Flags are checked here, so errors name the flag rather than the
	// flow YAML built from them.
	if s.replicas < 1 || s.replicas > flow.MaxReplicas {
		return nil, &usageError{fmt.Errorf("--replicas: want 1 to %d, got %d", flow.MaxReplicas, s.replicas)}
	}
	if s.shards < 1 || s.shards > flow.MaxShards {
		return nil, &usageError{fmt.Errorf("--shards: want 1 to %d, got %d", flow.MaxShards, s.shards)}
	}
	// Each override is parsed and its keys checked now; errors point into
	// the flag's text.
	override := func(flag, text string, into any) (*yaml.Node, error) {
		if text == "" {
			return nil, nil
		}
		n, err := yamlutil.FromJSONOrYAML(flag, text)
		if err != nil {
			return nil, err
		}
		if n.Kind != yaml.MappingNode {
			return nil, &yamlutil.Error{Field: flag, Msg: "want a mapping"}
		}
		if into != nil {
			if err := yamlutil.Decode(flag, n, "", into); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
	withNode, err := override("--uses-with", s.usesWith, nil)
	if err != nil {
		return nil, err
	}
	var metas executors.Metas
	metasNode, err := override("--uses-metas", s.usesMetas, &metas)
	if err != nil {
		return nil, err
	}
	var requests map[string]string
	requestsNode, err := override("--uses-requests", s.usesRequests, &requests)
	if err != nil {
		return nil, err
	}
	var batching map[string]executors.BatchConfig
	if _, err := override("--uses-dynamic-batching", s.usesDynamicBatching, &batching); err != nil {
		return nil, err
	}
	dep := map[string]any{"name": name, "uses": uses, "replicas": s.replicas, "shards": s.shards, "reload": s.reload}
	doc := map[string]any{"jtype": "Flow", "name": name, "executors": []any{dep}}
	text, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	wd, _ := os.Getwd()
	f, err := flow.Parse(label+" "+uses, wd, text)
	if err != nil {
		return nil, err
	}
	d := f.Deployments[0]
	if withNode != nil {
		d.UsesWith = &executors.Override{Node: withNode, File: "--uses-with"}
	}
	if metasNode != nil {
		d.UsesMetas = &executors.Override{Node: metasNode, File: "--uses-metas"}
	}
	if requestsNode != nil {
		d.UsesRequests, d.UsesRequestsAt = requests, &executors.Override{Node: requestsNode, File: "--uses-requests"}
	}
	if batching != nil {
		d.UsesDynamicBatching = batching
	}
	return f, nil
}
