package export_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jig-dev/jig/engine/export"
	"github.com/jig-dev/jig/engine/flow"
	"gopkg.in/yaml.v3"
)

// updateComposeGolden rewrites testdata/compose-golden from the current
// code. The files there were written by the export when it marshalled
// compose-go's types.Project (compose-go's own MarshalYAML, commit
// 58ba9b0); the export now writes its own structs, and
// TestComposeMatchesGolden holds it to the same meaning. Rewrite them
// only for an intended change of the output, and read the diff.
var updateComposeGolden = flag.Bool("update-compose-golden", false, "rewrite testdata/compose-golden")

// repoMarker stands, in a golden file, for the path from the Compose
// file's folder to the repository root (which differs between checkouts
// and temporary folders).
const repoMarker = "JIG-REPOSITORY"

// composeGoldenCase is one export whose output is kept.
type composeGoldenCase struct {
	name string
	flow func(t *testing.T) *flow.Flow
	opts func(repo, dir string) export.ComposeOptions
}

// resourcesFlow is a flow with every resource Compose expresses (cpu,
// memory, GPUs in either block), ones it does not (left out, with a
// warning, their block kept empty), and values Compose would interpolate
// without escaping.
const resourcesFlow = `jtype: Flow
name: resources
with:
  env: {PRICE: "$5 and ${HOME}"}
executors:
  - name: gpu
    uses: builtin:Echo
    env: {MODE: "$$fast", PLAIN: ""}
    uses_with: {note: "${USER} pays $(HOME)"}
    resources:
      requests: {cpu: 500m, memory: 1Gi, nvidia.com/gpu: 1}
      limits: {cpu: "2", memory: 2G, nvidia.com/gpu: 2, ephemeral-storage: 1Gi}
  - name: cpuonly
    uses: builtin:Echo
    resources:
      limits: {cpu: 1500m}
  - name: memonly
    uses: builtin:Echo
    resources:
      requests: {memory: 100M}
  - name: gpulimit
    uses: builtin:Echo
    resources:
      limits: {ephemeral-storage: 1Gi, nvidia.com/gpu: 1}
  - name: nothing
    uses: builtin:Echo
    resources:
      requests: {ephemeral-storage: 1Gi, cpu: lots}
`

func composeGoldenCases(t *testing.T) []composeGoldenCase {
	t.Helper()
	var cases []composeGoldenCase
	withRepo := func(repo, dir string) export.ComposeOptions { return export.ComposeOptions{JigRoot: repo} }
	// The testdata flows only: the examples change with the product, and
	// a golden file rewritten from this code would no longer be one
	// compose-go's marshaller wrote.
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil || len(files) < 6 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	for _, path := range files {
		load := func(t *testing.T) *flow.Flow { return loadFixture(t, path) }
		cases = append(cases, composeGoldenCase{name: strings.TrimSuffix(filepath.Base(path), ".yml"), flow: load, opts: withRepo})
	}
	fixture := func(path string) func(t *testing.T) *flow.Flow {
		return func(t *testing.T) *flow.Flow { return loadFixture(t, path) }
	}
	cases = append(cases,
		composeGoldenCase{name: "source-nojig", flow: fixture("testdata/source.yml"), opts: func(_, _ string) export.ComposeOptions {
			return export.ComposeOptions{ImagePrefix: "registry.example/team", Tag: "v1.2", JigImage: "registry.example/jig:v9"}
		}},
		composeGoldenCase{name: "replicas-shared", flow: fixture("testdata/replicas.yml"), opts: func(_, _ string) export.ComposeOptions {
			return export.ComposeOptions{Shared: true}
		}},
		composeGoldenCase{name: "source-shared-secret", flow: fixture("testdata/source.yml"), opts: func(repo, dir string) export.ComposeOptions {
			return export.ComposeOptions{Shared: true, JigRoot: repo, SecretFile: filepath.Join(dir, "secrets", "flow.secret")}
		}},
		composeGoldenCase{name: "resources", flow: func(t *testing.T) *flow.Flow {
			f, err := flow.Parse("flow.yml", t.TempDir(), []byte(resourcesFlow))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, opts: withRepo},
	)
	return cases
}

// exportGolden exports c into dir/docker-compose.yml and returns the file
// without its header comment (it names the flow's file, an absolute
// path), the repository written as repoMarker.
func exportGolden(t *testing.T, c composeGoldenCase, dir string) string {
	t.Helper()
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "docker-compose.yml")
	if _, err := export.Compose(c.flow(t), file, c.opts(repo, dir)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for strings.HasPrefix(text, "#") {
		_, text, _ = strings.Cut(text, "\n")
	}
	rel, err := filepath.Rel(dir, repo)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(text, rel, repoMarker)
}

// loadComposeText loads text as the Compose file dir/docker-compose.yml,
// as loadCompose does.
func loadComposeText(t *testing.T, dir, text string) *types.Project {
	t.Helper()
	file := filepath.Join(dir, "docker-compose.yml")
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: file, Content: []byte(text)}},
		Environment: types.Mapping{"JIG_AUTH_TOKEN": "from-the-env"},
	})
	if err != nil {
		t.Fatalf("compose-go does not load %s: %v\n%s", file, err, text)
	}
	return p
}

// TestComposeMatchesGolden exports every fixture (with and without
// Shared, a jig checkout, a secret file, resources) and checks that the
// project compose-go loads from the file is the one it loads from the
// file the export wrote when it marshalled compose-go's own types: same
// services with their commands, images, ports, configs (and contents),
// secrets, volumes, tmpfs, healthchecks, depends_on, deploy resources,
// labels, environment, builds, restart, stop grace period and networks.
func TestComposeMatchesGolden(t *testing.T) {
	for _, c := range composeGoldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			golden := filepath.Join("testdata", "compose-golden", c.name+".yml")
			dir := t.TempDir()
			text := exportGolden(t, c, dir)
			if *updateComposeGolden {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run the test with -update-compose-golden)", err)
			}
			rel, err := filepath.Rel(dir, mustAbs(t, filepath.Join("..", "..")))
			if err != nil {
				t.Fatal(err)
			}
			// The same YAML tree (key order aside) as the golden file...
			var gotTree, wantTree any
			if err := yaml.Unmarshal([]byte(text), &gotTree); err != nil {
				t.Fatalf("export: %v\n%s", err, text)
			}
			if err := yaml.Unmarshal(want, &wantTree); err != nil {
				t.Fatalf("%s: %v", golden, err)
			}
			if !reflect.DeepEqual(gotTree, wantTree) {
				gotJ, _ := json.MarshalIndent(gotTree, "", " ")
				wantJ, _ := json.MarshalIndent(wantTree, "", " ")
				t.Errorf("the export's YAML differs from %s (besides key order):\n%s", golden, lineDiff(string(gotJ), string(wantJ)))
			}
			// ... and, what matters to Docker, the same project once
			// compose-go has loaded, interpolated and normalised both.
			expand := func(s string) string { return strings.ReplaceAll(s, repoMarker, rel) }
			wantP := loadComposeText(t, dir, expand(string(want)))
			gotP := loadComposeText(t, dir, expand(text))
			if len(gotP.Services) == 0 {
				t.Fatal("no services loaded")
			}
			if !reflect.DeepEqual(gotP, wantP) {
				gotJ, _ := json.MarshalIndent(gotP, "", " ")
				wantJ, _ := json.MarshalIndent(wantP, "", " ")
				t.Fatalf("the project loaded from the export differs from the golden one\n%s\n--- export:\n%s\n--- golden (%s):\n%s",
					lineDiff(string(gotJ), string(wantJ)), text, golden, want)
			}
		})
	}
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// lineDiff lists the lines of got and want that the other lacks.
func lineDiff(got, want string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	g, w := count(got), count(want)
	var b strings.Builder
	for _, l := range strings.Split(got, "\n") {
		if w[l] > 0 {
			w[l]--
			continue
		}
		b.WriteString("+ " + l + "\n")
	}
	for _, l := range strings.Split(want, "\n") {
		if g[l] > 0 {
			g[l]--
			continue
		}
		b.WriteString("- " + l + "\n")
	}
	return b.String()
}
