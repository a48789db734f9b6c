package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jig-dev/jig/engine/export"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/jig-dev/jig/scaffold"
	"github.com/spf13/cobra"
)

func init() {
	subcommands = append(subcommands, newExportCmd)
}

// exportSource are the flags that pick and shape what is exported.
type exportSource struct {
	prefix, tag, jigImage string
	shared                bool
	// For a single executor (like `jig serve`).
	spec serveSpec
}

func (s *exportSource) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.prefix, "image-prefix", "jig", "image prefix: images are PREFIX/jig:TAG and PREFIX/<executor folder>:TAG")
	cmd.Flags().StringVar(&s.tag, "tag", "latest", "tag of every image")
	cmd.Flags().StringVar(&s.jigImage, "jig-image", "", "image of the gateway and built-in executors (default PREFIX/jig:TAG)")
	cmd.Flags().BoolVar(&s.shared, "shared", false, "leave the gateway out: a shared executor other flows use as external")
	cmd.Flags().IntVar(&s.spec.replicas, "replicas", 1, "replicas, when exporting one executor")
	cmd.Flags().IntVar(&s.spec.shards, "shards", 1, "shards, when exporting one executor")
	s.spec.register(cmd, ", when exporting one executor")
}

// load reads what to export: a flow YAML, or one executor (builtin:Name, a
// config.yml, a folder) made into a one-deployment flow as `jig serve`
// does.
func (s *exportSource) load(cmd *cobra.Command, arg string) (*flow.Flow, error) {
	if isFlowFile(arg) {
		for _, name := range append([]string{"replicas", "shards"}, singleExecutorFlags...) {
			if cmd.Flags().Changed(name) {
				return nil, &usageError{fmt.Errorf("--%s applies to a single executor; %s is a flow: set it in the flow", name, arg)}
			}
		}
		return flow.Load(arg)
	}
	if s.spec.replicas < 1 || s.spec.shards < 1 {
		return nil, &usageError{fmt.Errorf("--replicas and --shards must be at least 1")}
	}
	spec := s.spec
	spec.uses, spec.label = arg, cmd.CommandPath()
	f, err := serveFlow(spec)
	if err != nil {
		return nil, err
	}
	// Name the export after the executor, not after `jig serve`, and keep
	// it apart from a flow export of the same folder (whose namespace and
	// Compose project are the flow's name, often the folder's too):
	// applying one must not overwrite the other.
	f.Name, f.File = f.Deployments[0].Name+"-executor", arg
	return f, nil
}

// isFlowFile reports whether path is a flow YAML (jtype Flow or
// Deployment, or an executors list) rather than an executor's config.
func isFlowFile(path string) bool {
	st, err := os.Stat(path)
	if err != nil || st.IsDir() {
		return false
	}
	node, err := yamlutil.LoadFile(path)
	if err != nil {
		return true // let the flow loader report the problem
	}
	if jt := yamlutil.Lookup(node, "jtype"); jt != nil {
		return jt.Value == "Flow" || jt.Value == "Deployment"
	}
	return yamlutil.Lookup(node, "executors") != nil
}

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export a flow or an executor to Kubernetes or Docker Compose",
		Long: `Export a flow (or one executor) to run without jig's engine: Kubernetes
manifests or a Docker Compose file. Executors run in containers (built-in
ones in the jig image, Go executors in images built from their folder's
Dockerfile); the gateway is 'jig up --headless' on a generated flow whose
deployments point at those containers.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return &usageError{fmt.Errorf("name a target: kubernetes or compose (see '%s --help')", cmd.CommandPath())}
		},
	}
	cmd.AddCommand(newExportKubernetesCmd(), newExportComposeCmd())
	return cmd
}

func newExportKubernetesCmd() *cobra.Command {
	var (
		src           exportSource
		namespace     string
		pullPolicy    string
		clusterDomain string
		flowSecret    string
	)
	cmd := &cobra.Command{
		Use:     "kubernetes FLOW.yml|EXECUTOR DIR",
		Aliases: []string{"k8s"},
		Short:   "Write Kubernetes manifests for a flow or an executor",
		Long: `Write Kubernetes manifests under DIR: DIR/<deployment>/<deployment>.yml (one
file per shard when sharded: Deployment or StatefulSet, Service, ConfigMap),
DIR/gateway/gateway.yml, and DIR/README.md saying how to build the images
and apply them. EXECUTOR (builtin:Name, a config.yml, a Go executor folder)
is exported as a one-deployment flow; --shared leaves the gateway out.`,
		Example: `  jig export kubernetes flow.yml k8s/ --namespace search
  jig export kubernetes ./greeter k8s-greeter/ --shared --image-prefix ghcr.io/me`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			policy := pullPolicy
			switch policy {
			case "", export.PullAlways, export.PullIfNotPresent, export.PullNever:
			default:
				return &usageError{fmt.Errorf("--image-pull-policy: want Always, IfNotPresent or Never, got %q", pullPolicy)}
			}
			f, err := src.load(cmd, args[0])
			if err != nil {
				return err
			}
			dir := args[1]
			res, err := export.Kubernetes(f, dir, export.K8sOptions{
				Namespace: namespace, ImagePrefix: src.prefix, Tag: src.tag, JigImage: src.jigImage,
				ImagePullPolicy: policy, Shared: src.shared, ClusterDomain: clusterDomain, FlowSecret: flowSecret,
			})
			if err != nil {
				return err
			}
			printK8sResult(cmd.OutOrStdout(), f, dir, res)
			return nil
		},
	}
	src.register(cmd)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of every object (default: the flow's name)")
	cmd.Flags().StringVar(&clusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain, in the addresses the gateway and RAFT peers dial")
	cmd.Flags().StringVar(&pullPolicy, "image-pull-policy", "", "imagePullPolicy of every container: Always, IfNotPresent or Never (default: Kubernetes')")
	cmd.Flags().StringVar(&flowSecret, "auth-token-secret", "", `Secret whose "token" key the executors require: default "flow-secret", written to DIR/flow-secret.yml with a random token; with --shared the executors are open unless this names a Secret you create`)
	return cmd
}

func printK8sResult(w io.Writer, f *flow.Flow, dir string, res *export.K8sResult) {
	fmt.Fprintf(w, "Kubernetes manifests for %s (namespace %s) written to %s:\n", f.Name, res.Namespace, dir)
	for _, file := range res.Files {
		fmt.Fprintf(w, "  %s\n", filepath.Join(dir, file))
	}
	printImages(w, res.Images)
	fmt.Fprintf(w, "\nNext (details in %s):\n", filepath.Join(dir, "README.md"))
	fmt.Fprintf(w, "  kubectl create namespace %s\n", res.Namespace)
	fmt.Fprintf(w, "  kubectl apply -R -f %s\n", dir)
	if res.Gateway != "" {
		fmt.Fprintf(w, "  kubectl -n %s port-forward svc/gateway %s\n", res.Namespace, portPair(res.Gateway))
	}
}

// portPair is "P:P" for the port of address addr.
func portPair(addr string) string {
	port := addr[strings.LastIndex(addr, ":")+1:]
	return port + ":" + port
}

// printImages lists the images an export runs and how to build them.
func printImages(w io.Writer, images []export.Image) {
	fmt.Fprintln(w, "\nImages to build:")
	root, err := scaffold.FindJigRoot("")
	if err != nil {
		root = "<jig repository>"
	}
	for _, i := range images {
		if i.Source == "" {
			fmt.Fprintf(w, "  %-28s the jig image (gateway, built-in executors): docker build -t %s <jig repository>\n", i.Name, i.Name)
			continue
		}
		rel, err := filepath.Rel(".", i.Source)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = i.Source
		}
		if !i.Dockerfile {
			fmt.Fprintf(w, "  %-28s %s has no Dockerfile: copy the one `jig new` writes (jig new --yes --name X --path /tmp/x --no-tidy) into it, then:\n  %-28s docker build --build-context jig=%s -t %s %s\n", i.Name, rel, "", root, i.Name, rel)
			continue
		}
		fmt.Fprintf(w, "  %-28s docker build --build-context jig=%s -t %s %s\n", i.Name, root, i.Name, rel)
	}
}

func newExportComposeCmd() *cobra.Command {
	var (
		src        exportSource
		secretFile string
	)
	cmd := &cobra.Command{
		Use:     "compose FLOW.yml|EXECUTOR FILE",
		Aliases: []string{"docker-compose"},
		Short:   "Write a Docker Compose file for a flow or an executor",
		Long: `Write a Docker Compose file: one service per replica (and shard) of every
executor, the gateway publishing the flow's ports, a network, a named
workspace volume per stateful replica, healthchecks and restart policies.
EXECUTOR (builtin:Name, a config.yml, a Go executor folder) is exported as a
one-deployment flow; --shared leaves the gateway out.`,
		Example: `  jig export compose flow.yml docker-compose.yml
  docker compose -f docker-compose.yml up -d`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := src.load(cmd, args[0])
			if err != nil {
				return err
			}
			file := args[1]
			root, _ := scaffold.FindJigRoot("") // "" is reported in the warnings
			res, err := export.Compose(f, file, export.ComposeOptions{ImagePrefix: src.prefix, Tag: src.tag, JigImage: src.jigImage, Shared: src.shared, JigRoot: root, SecretFile: secretFile})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Compose file for %s written to %s (project %s, network %s).\n", f.Name, file, res.Project, res.Network)
			fmt.Fprintf(out, "Services: %s\n", strings.Join(res.Services, ", "))
			if res.SecretFile != "" {
				fmt.Fprintf(out, "The executors require the token in %s (mode 0600, a Compose secret); keep it out of version control.\n", res.SecretFile)
			}
			for _, warn := range res.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", warn)
			}
			printImages(out, res.Images)
			fmt.Fprintln(out, "\nNext:")
			for _, i := range res.Images {
				if i.Source != "" {
					fmt.Fprintf(out, "  docker compose -f %s build\n", file)
					break
				}
			}
			fmt.Fprintf(out, "  docker compose -f %s up -d\n", file)
			if res.Gateway != "" {
				fmt.Fprintf(out, "  jig post %s --on /default --text hello\n", res.Gateway)
			}
			if len(res.Published) > 0 {
				fmt.Fprintln(out, "\nPublished (use them as external deployments of other flows):")
				for _, svc := range res.Services {
					if a, ok := res.Published[svc]; ok {
						fmt.Fprintf(out, "  %-28s %s\n", svc, a)
					}
				}
			}
			return nil
		},
	}
	src.register(cmd)
	cmd.Flags().StringVar(&secretFile, "auth-token-secret", "", "file holding the token the executors require (a Compose secret): default FILE's name with .flow-secret, made with a random token (mode 0600) unless it exists; with --shared the executors are open unless this names a file")
	return cmd
}
