package export_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors/workerflags"
	"github.com/jig-dev/jig/internal/yamlutil"

	_ "github.com/jig-dev/jig/executors/builtin" // fixtures and examples use built-in executors
)

// testToken is the auth token of testdata/gateway.yml: it must never show
// up in an export.
const testToken = "tok-7f3a-never-in-a-configmap"

// testFlowSecret is what the gateway flow's references to the flow secret
// resolve to in parseGatewayFlow.
const testFlowSecret = "flow-secret-as-the-container-sees-it"

// fixtures are the flows every export test runs on: testdata/*.yml and
// every examples/**/flow.yml of the repository.
func fixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil || len(files) < 6 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	examples := filepath.Join("..", "..", "examples")
	filepath.WalkDir(examples, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "flow.yml" {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files
}

// loadFixture loads a flow; fixtures read the token from the environment.
func loadFixture(t *testing.T, path string) *flow.Flow {
	t.Helper()
	t.Setenv("JIG_EXPORT_TEST_TOKEN", testToken)
	f, err := flow.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return f
}

// parseGatewayFlow loads a generated gateway flow as `jig up` would.
func parseGatewayFlow(t *testing.T, text string) *flow.Flow {
	t.Helper()
	t.Setenv("JIG_AUTH_TOKEN", "from-the-secret")
	// The flow secret reaches the gateway from its Secret (Kubernetes:
	// $JIG_FLOW_SECRET) or as a mounted file (Compose: /run/secrets/...,
	// here a file of the test's).
	t.Setenv("JIG_FLOW_SECRET", testFlowSecret)
	secretFile := filepath.Join(t.TempDir(), "flow-secret")
	if err := os.WriteFile(secretFile, []byte(testFlowSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text = strings.ReplaceAll(text, "/run/secrets/jig-flow-secret", secretFile)
	gf, err := flow.Parse("gateway flow.yml", t.TempDir(), []byte(text))
	if err != nil {
		t.Fatalf("the gateway flow does not load: %v\n%s", err, text)
	}
	for _, d := range gf.Deployments {
		if !d.External {
			t.Fatalf("gateway flow: %s is not external", d.Name)
		}
	}
	return gf
}

// checkTopology checks that the gateway flow routes like the original:
// same deployments in the same order, needs, output, polling, filters,
// timeouts and retries; external deployments keep their addresses.
func checkTopology(t *testing.T, f, gf *flow.Flow) {
	t.Helper()
	if len(gf.Deployments) != len(f.Deployments) || gf.Graph.Output != f.Graph.Output || !slices.Equal(gf.Graph.Order, f.Graph.Order) {
		t.Fatalf("gateway flow topology %v (output %s), want %v (output %s)", gf.Graph.Order, gf.Graph.Output, f.Graph.Order, f.Graph.Output)
	}
	for _, d := range f.Deployments {
		g := gf.Deployment(d.Name)
		if g == nil {
			t.Fatalf("gateway flow misses %s", d.Name)
		}
		if !slices.Equal(g.Needs, d.Needs) || g.Shards != d.Shards ||
			// A Kubernetes Service is one address for all replicas.
			g.Replicas != d.Replicas && (g.Replicas != 1 || d.Stateful || d.External) ||
			g.TimeoutSend != d.TimeoutSend || g.EffectiveRetries() != d.EffectiveRetries() || whenText(g) != whenText(d) {
			t.Fatalf("gateway flow's %s differs: needs %v/%v shards %d/%d replicas %d/%d timeout %v/%v retries %d/%d when %q/%q",
				d.Name, g.Needs, d.Needs, g.Shards, d.Shards, g.Replicas, d.Replicas, g.TimeoutSend, d.TimeoutSend, g.Retries, d.Retries, whenText(g), whenText(d))
		}
		for ep, p := range d.Polling {
			if g.Polling[ep] != p {
				t.Fatalf("%s polling %v, want %v", d.Name, g.Polling, d.Polling)
			}
		}
		if d.External && !slices.Equal(g.Addresses, d.Addresses) {
			t.Fatalf("external %s: gateway dials %v, want its own addresses %v", d.Name, g.Addresses, d.Addresses)
		}
		// The exported workers require the flow secret; an external
		// executor is someone else's and never gets it.
		if want := map[bool]string{true: "", false: testFlowSecret}[d.External]; g.AuthToken != want {
			t.Fatalf("gateway flow's %s sends token %q, want %q", d.Name, g.AuthToken, want)
		}
	}
	og, gg := f.Gateway, gf.Gateway
	if !slices.Equal(og.Protocols, gg.Protocols) || gg.Host != "0.0.0.0" || (og.TLSCert != "") != (gg.TLSCert != "") ||
		(og.AuthToken != "") != (gg.AuthToken != "") || og.MonitoringPort != gg.MonitoringPort || og.Prefetch != gg.Prefetch {
		t.Fatalf("gateway settings %+v, want those of %+v", gg, og)
	}
	for _, p := range og.Protocols {
		if port := og.Port(p); port != 0 && gg.Port(p) != port {
			t.Fatalf("gateway %s port %d, want the flow's %d", p, gg.Port(p), port)
		}
	}
	if gg.AuthToken != "" && gg.AuthToken != "from-the-secret" {
		t.Fatalf("the gateway's token must come from JIG_AUTH_TOKEN, got %q", gg.AuthToken)
	}
}

// walkFiles returns the contents of every file under dir.
func walkFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// argValue returns the value after flag in args ("" if absent).
func argValue(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

func hasArgs(args []string, seq ...string) bool {
	for i := 0; i+len(seq) <= len(args); i++ {
		if slices.Equal(args[i:i+len(seq)], seq) {
			return true
		}
	}
	return false
}

func fixtureName(path string) string {
	return strings.TrimSuffix(filepath.ToSlash(path), ".yml")
}

func whenText(d *flow.Deployment) string {
	if d.When == nil {
		return ""
	}
	return d.When.String()
}

// checkWorkerFlags parses a container's arguments with the worker's own
// flag set (as `jig executor` and every Go executor binary do), so a flag
// the worker does not know, or a malformed value, fails here rather than
// in a crash-looping pod. expand replaces platform variables first.
func checkWorkerFlags(t *testing.T, name string, args []string, expand *strings.Replacer) workerflags.Flags {
	t.Helper()
	if len(args) > 0 && args[0] == "executor" {
		args = args[1:]
	}
	expanded := make([]string, len(args))
	for i, a := range args {
		expanded[i] = expand.Replace(a)
	}
	f, err := workerflags.Parse(expanded)
	if err != nil {
		t.Fatalf("%s: the worker rejects its arguments: %v\n%v", name, err, expanded)
	}
	for flag, v := range map[string]string{"--uses-with": f.UsesWith, "--uses-metas": f.UsesMetas, "--uses-requests": f.UsesRequests, "--uses-dynamic-batching": f.UsesDynamicBatching} {
		if v == "" {
			continue
		}
		if _, err := yamlutil.FromJSONOrYAML(flag, v); err != nil {
			t.Fatalf("%s: %s: %v", name, flag, err)
		}
	}
	if f.Host != "0.0.0.0" || f.Port != 8080 || f.Workspace != "/workspace" {
		t.Fatalf("%s: worker listens on %s:%d, workspace %s", name, f.Host, f.Port, f.Workspace)
	}
	return f
}
