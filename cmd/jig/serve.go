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
		o        runFlowOptions
		replicas int
		shards   int
		reload   bool
		name     string
		usesWith string
	)
	cmd := &cobra.Command{
		Use:   "serve EXECUTOR",
		Short: "Serve one executor behind a gateway",
		Long: `Serve one executor behind a gateway, like Jina's Executor.serve: EXECUTOR is
builtin:Name, a config.yml, or a folder holding a Go executor (built with
go build). Runs headless: prints the addresses and logs, stops on SIGINT.`,
		Example: `  jig serve builtin:Echo --port 12345
  jig serve ./greeter --replicas 2 --reload
  jig serve builtin:SimpleIndexer --shards 2 --http-port 8080`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := serveFlow(args[0], name, replicas, shards, reload, usesWith)
			if err != nil {
				return err
			}
			o.headless = true
			return runFlow(cmd, f, &o)
		},
	}
	o.register(cmd)
	cmd.Flags().MarkHidden("headless")
	cmd.Flags().IntVar(&replicas, "replicas", 1, "number of replicas")
	cmd.Flags().IntVar(&shards, "shards", 1, "number of shards")
	cmd.Flags().BoolVar(&reload, "reload", false, "rebuild and roll the replicas when the executor's source changes")
	cmd.Flags().StringVar(&name, "name", "", "deployment name (default: from the executor)")
	cmd.Flags().StringVar(&usesWith, "uses-with", "", `override the executor's "with:" block, as JSON or YAML`)
	return cmd
}

// serveFlow builds the one-deployment flow `jig serve` runs.
func serveFlow(uses, name string, replicas, shards int, reload bool, usesWith string) (*flow.Flow, error) {
	if name == "" {
		name = strings.TrimPrefix(uses, "builtin:")
		if !strings.HasPrefix(uses, "builtin:") {
			base := filepath.Base(strings.TrimSuffix(uses, string(filepath.Separator)))
			if base == "config.yml" || base == "config.yaml" || base == "." {
				abs, _ := filepath.Abs(uses)
				if base != "." {
					abs = filepath.Dir(abs)
				}
				base = filepath.Base(abs)
			}
			name = base
		}
		name = strings.ToLower(strings.Map(func(r rune) rune {
			if r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
				return r
			}
			return '-'
		}, name))
	}
	if _, err := os.Stat(uses); err == nil {
		// Logs and the banner then say which folder is served, not ".".
		if abs, err := filepath.Abs(uses); err == nil {
			uses = abs
		}
	}
	// Flags are checked here, so errors name the flag rather than the
	// flow YAML built from them.
	if replicas < 1 || replicas > flow.MaxReplicas {
		return nil, &usageError{fmt.Errorf("--replicas: want 1 to %d, got %d", flow.MaxReplicas, replicas)}
	}
	if shards < 1 || shards > flow.MaxShards {
		return nil, &usageError{fmt.Errorf("--shards: want 1 to %d, got %d", flow.MaxShards, shards)}
	}
	var withNode *yaml.Node
	if usesWith != "" {
		var err error
		if withNode, err = yamlutil.FromJSONOrYAML("--uses-with", usesWith); err != nil {
			return nil, err
		}
	}
	dep := map[string]any{"name": name, "uses": uses, "replicas": replicas, "shards": shards, "reload": reload}
	doc := map[string]any{"jtype": "Flow", "name": name, "executors": []any{dep}}
	text, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	wd, _ := os.Getwd()
	f, err := flow.Parse("jig serve "+uses, wd, text)
	if err != nil {
		return nil, err
	}
	if withNode != nil {
		// Errors about its fields then point into the flag's text.
		f.Deployments[0].UsesWith = &executors.Override{Node: withNode, File: "--uses-with"}
	}
	return f, nil
}
