package export_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/export"
	"github.com/jig-dev/jig/engine/flow"
)

// TestReadmeListsGeneratedObjects: the README's table names the ConfigMaps
// the export has (a built-in executor without env has none) and the
// PodDisruptionBudgets of replicated workloads.
func TestReadmeListsGeneratedObjects(t *testing.T) {
	f, err := flow.Parse("flow.yml", t.TempDir(), []byte("jtype: Flow\nname: objs\nexecutors:\n  - {name: norm, uses: builtin:TextNormalizer, replicas: 2}\n  - {name: echo, uses: {jtype: Echo, metas: {name: e2}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, res := exportK8s(t, f, export.K8sOptions{})
	readme := c.files["README.md"]
	for _, w := range res.Workloads {
		_, has := c.configMaps[w.Name+"-config"]
		if has != (w.ConfigMap != "") || has != strings.Contains(readme, "ConfigMap `"+w.Name+"-config`") {
			t.Fatalf("%s: ConfigMap generated %v, result %q, README:\n%s", w.Name, has, w.ConfigMap, readme)
		}
		_, pdb := c.pdbs[w.Name]
		if pdb != w.DisruptionBudget || pdb != strings.Contains(readme, "PodDisruptionBudget `"+w.Name+"`") {
			t.Fatalf("%s: PodDisruptionBudget generated %v, README:\n%s", w.Name, pdb, readme)
		}
	}
	if strings.Contains(readme, "`norm-config`") || !strings.Contains(readme, "PodDisruptionBudget `norm`") || !strings.Contains(readme, "ConfigMap `echo-config`") {
		t.Fatalf("README:\n%s", readme)
	}
}

// goFolder copies testdata/greeter to a temporary folder, with a
// Dockerfile or without.
func goFolder(t *testing.T, dockerfile bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "greeter")
	os.MkdirAll(dir, 0o755)
	for _, name := range []string{"config.yml", "main.go"} {
		data, err := os.ReadFile(filepath.Join("testdata", "greeter", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	if dockerfile {
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch AS jig\n"), 0o644)
	}
	return dir
}

func goFlow(t *testing.T, folder string, shared bool) *flow.Flow {
	t.Helper()
	f, err := flow.Parse(filepath.Join(filepath.Dir(folder), "flow.yml"), filepath.Dir(folder), []byte("jtype: Flow\nname: gof\nexecutors:\n  - {name: greet, uses: ./greeter, replicas: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestBuildCommandsNeedADockerfile: `docker build` is printed for a folder
// with a Dockerfile; one without gets how to make one.
func TestBuildCommandsNeedADockerfile(t *testing.T) {
	for _, has := range []bool{true, false} {
		folder := goFolder(t, has)
		f := goFlow(t, folder, false)
		c, res := exportK8s(t, f, export.K8sOptions{})
		i := slices.IndexFunc(res.Images, func(i export.Image) bool { return i.Source != "" })
		if i < 0 || res.Images[i].Dockerfile != has {
			t.Fatalf("images %+v, Dockerfile %v", res.Images, has)
		}
		readme := c.files["README.md"]
		hint := strings.Contains(readme, "has no Dockerfile") && strings.Contains(readme, "jig new --yes --name Greeter")
		if hint == has {
			t.Fatalf("Dockerfile %v, README hint %v:\n%s", has, hint, readme)
		}
		_, _, text := exportCompose(t, f, export.ComposeOptions{JigRoot: t.TempDir()})
		if strings.Contains(text, "has no Dockerfile") == has {
			t.Fatalf("Dockerfile %v, compose header:\n%s", has, text)
		}
	}
}

// TestGatewayDialsServiceOnce: a replicated stateless deployment is one
// Service host in the gateway's flow; a stateful one lists its pods.
func TestGatewayDialsServiceOnce(t *testing.T) {
	f := loadFixture(t, "testdata/replicas.yml")
	c, res := exportK8s(t, f, export.K8sOptions{})
	gf := parseGatewayFlow(t, c.configMaps["gateway-flow"].Data["flow.yml"])
	if n := gf.Deployment("norm"); len(n.Addresses) != 1 || n.Addresses[0] != "norm.replicas.svc.cluster.local:8080" {
		t.Fatalf("gateway dials norm at %v", n.Addresses)
	}
	if w := res.Workloads[0]; len(w.Addresses) != 1 {
		t.Fatalf("workload addresses %v", w.Addresses)
	}
}

// TestClusterDomain: every address the export writes uses the domain.
func TestClusterDomain(t *testing.T) {
	f := loadFixture(t, "testdata/stateful.yml")
	c, res := exportK8s(t, f, export.K8sOptions{ClusterDomain: "corp.internal"})
	for file, data := range c.files {
		if strings.Contains(data, "cluster.local") {
			t.Fatalf("%s still says cluster.local", file)
		}
	}
	if !strings.HasSuffix(res.Gateway, ".svc.corp.internal:8080") || !strings.Contains(res.Workloads[0].Addresses[0], ".svc.corp.internal:8080") {
		t.Fatalf("gateway %s, workload %v", res.Gateway, res.Workloads[0].Addresses)
	}
}

// TestComposeBuildContexts: a Go executor's build section carries the jig
// checkout as the "jig" context its Dockerfile expects.
func TestComposeBuildContexts(t *testing.T) {
	folder := goFolder(t, true)
	root := t.TempDir()
	p, res, _ := exportCompose(t, goFlow(t, folder, false), export.ComposeOptions{JigRoot: root})
	b := p.Services["greet-rep-0"].Build
	if b == nil || b.AdditionalContexts["jig"] == "" {
		t.Fatalf("build %+v", b)
	}
	// compose-go resolves the context against the file's folder.
	if got := b.AdditionalContexts["jig"]; filepath.Clean(got) != root {
		t.Fatalf("jig context %s, want %s", got, root)
	}
	if len(res.Warnings) != 0 {
		t.Fatalf("warnings %v", res.Warnings)
	}
	_, res, _ = exportCompose(t, goFlow(t, folder, false), export.ComposeOptions{})
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "additional_contexts") {
		t.Fatalf("no jig checkout: warnings %v", res.Warnings)
	}
}

// TestComposeSharedPublishes: a shared export publishes every replica's
// worker port and does not ask to build the jig image it does not run.
func TestComposeSharedPublishes(t *testing.T) {
	folder := goFolder(t, true)
	p, res, _ := exportCompose(t, goFlow(t, folder, true), export.ComposeOptions{Shared: true, JigRoot: t.TempDir()})
	if slices.ContainsFunc(res.Images, func(i export.Image) bool { return i.Source == "" }) {
		t.Fatalf("images %+v list the jig image; nothing runs it", res.Images)
	}
	var published []string
	for _, name := range []string{"greet-rep-0", "greet-rep-1"} {
		ports := p.Services[name].Ports
		if len(ports) != 1 || ports[0].Target != 8080 || ports[0].Published == "" {
			t.Fatalf("%s ports %+v", name, ports)
		}
		published = append(published, ports[0].Published)
		if res.Published[name] != "127.0.0.1:"+ports[0].Published {
			t.Fatalf("%s published %v", name, res.Published)
		}
	}
	if published[0] == published[1] {
		t.Fatalf("both replicas on host port %s", published[0])
	}
	// A shared export with a built-in keeps the jig image.
	_, res, _ = exportCompose(t, loadFixture(t, "testdata/replicas.yml"), export.ComposeOptions{Shared: true})
	if res.Images[0].Source != "" {
		t.Fatalf("images %+v", res.Images)
	}
	// Kubernetes alike.
	_, kres := exportK8s(t, goFlow(t, folder, true), export.K8sOptions{Shared: true})
	if slices.ContainsFunc(kres.Images, func(i export.Image) bool { return i.Source == "" }) {
		t.Fatalf("k8s images %+v", kres.Images)
	}
}
