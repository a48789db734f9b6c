package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/flow"
)

// runJig runs the command line in-process, with an empty stdin (not a
// terminal), and returns its output and the exit code main would return.
func runJig(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetIn(strings.NewReader(""))
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		errb.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), exitCode(err)
}

const exportFixtures = "../../engine/export/testdata"

func TestExportKubernetesFlow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "k8s")
	out, errOut, code := runJig(t, "export", "kubernetes", filepath.Join(exportFixtures, "shards.yml"), dir, "--namespace", "search", "--tag", "v1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"namespace search", filepath.Join(dir, "index", "index-1.yml"), filepath.Join(dir, "gateway", "gateway.yml"),
		"jig/jig:v1", "kubectl create namespace search", "kubectl apply -R -f " + dir} {
		if !strings.Contains(out, want) {
			t.Fatalf("output misses %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"index/index-0.yml", "index/index-1.yml", "gateway/gateway.yml", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExportExecutor exports one executor (Jina's Deployment export), with
// and without the gateway.
func TestExportExecutor(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "echo")
	out, errOut, code := runJig(t, "export", "k8s", "builtin:Echo", dir, "--shared", "--replicas", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "gateway")); !os.IsNotExist(err) {
		t.Fatal("--shared must leave the gateway out")
	}
	if !strings.Contains(out, filepath.Join(dir, "echo", "echo.yml")) || !strings.Contains(out, "namespace echo-executor") {
		t.Fatalf("output:\n%s", out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "echo", "echo.yml"))
	if err != nil || !strings.Contains(string(data), "replicas: 2") || !strings.Contains(string(data), "builtin:Echo") {
		t.Fatalf("echo.yml (%v):\n%s", err, data)
	}

	// A Go executor folder, to Compose, with its gateway.
	file := filepath.Join(t.TempDir(), "compose.yml")
	out, errOut, code = runJig(t, "export", "compose", filepath.Join(exportFixtures, "greeter"), file, "--image-prefix", "ghcr.io/acme")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"greeter-rep-0, gateway", "ghcr.io/acme/greeter:latest", "docker compose -f " + file + " build", "docker compose -f " + file + " up -d", "jig post 127.0.0.1:8080"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output misses %q:\n%s", want, out)
		}
	}
}

// TestExportFlowAndExecutorApart: a flow export and an executor export of
// the same folder default to different namespaces and Compose projects,
// so applying one never overwrites the other; --cluster-domain reaches
// every address.
func TestExportFlowAndExecutorApart(t *testing.T) {
	tmp := t.TempDir()
	folder := filepath.Join(exportFixtures, "greeter")
	flowFile := filepath.Join(tmp, "greeter.yml")
	abs, _ := filepath.Abs(folder)
	os.WriteFile(flowFile, []byte("jtype: Flow\nname: greeter\nexecutors:\n  - {name: greeter, uses: "+abs+"}\n"), 0o600)
	namespace := func(args ...string) string {
		t.Helper()
		out, errOut, code := runJig(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		i := strings.Index(out, "(namespace ")
		if i < 0 {
			t.Fatalf("output:\n%s", out)
		}
		return out[i+len("(namespace ") : i+strings.Index(out[i:], ")")]
	}
	nsFlow := namespace("export", "kubernetes", flowFile, filepath.Join(tmp, "k1"))
	nsExec := namespace("export", "kubernetes", folder, filepath.Join(tmp, "k2"), "--cluster-domain", "corp.internal")
	if nsFlow == nsExec {
		t.Fatalf("both exports are in namespace %s", nsFlow)
	}
	gw, err := os.ReadFile(filepath.Join(tmp, "k2", "gateway", "gateway.yml"))
	if err != nil || !strings.Contains(string(gw), ".svc.corp.internal:8080") || strings.Contains(string(gw), "cluster.local") {
		t.Fatalf("--cluster-domain: %v\n%s", err, gw)
	}
	project := func(args ...string) string {
		t.Helper()
		out, errOut, code := runJig(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		i := strings.Index(out, "(project ")
		return out[i+len("(project ") : i+strings.Index(out[i:], ",")]
	}
	if a, b := project("export", "compose", flowFile, filepath.Join(tmp, "c1.yml")), project("export", "compose", folder, filepath.Join(tmp, "c2.yml")); a == b {
		t.Fatalf("both Compose exports are project %s", a)
	}
}

func TestExportBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("jtype: Flow\nexecutors:\n  - {name: a, uses: builtin:Echo, replicas: 0}\n"), 0o600)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"export"}, "name a target"},
		{[]string{"export", "kubernetes", "flow.yml"}, "accepts 2 arg(s)"},
		{[]string{"export", "kubernetes", bad, filepath.Join(dir, "out")}, "executors[0].replicas: want 1 to 64, got 0"},
		{[]string{"export", "kubernetes", filepath.Join(exportFixtures, "shards.yml"), filepath.Join(dir, "o2"), "--replicas", "3"}, "--replicas applies to a single executor"},
		{[]string{"export", "kubernetes", "builtin:Nope", filepath.Join(dir, "o3")}, `unknown built-in executor "Nope"`},
		{[]string{"export", "kubernetes", "builtin:Echo", filepath.Join(dir, "o4"), "--image-pull-policy", "Sometimes"}, "want Always, IfNotPresent or Never"},
		{[]string{"export", "compose", "builtin:Echo", filepath.Join(dir, "c.yml"), "--shards", "0"}, "at least 1"},
		{[]string{"export", "compose", "builtin:Echo", bad}, "was not written by jig export"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, errOut, code := runJig(t, c.args...)
			if code != 2 || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, c.want)
			}
		})
	}
}

// TestHealthCommand checks `jig health`, the healthcheck of exported
// Compose services, against a running gateway and a closed port.
func TestHealthCommand(t *testing.T) {
	f, err := flow.Parse("flow.yml", t.TempDir(), []byte("executors:\n  - {name: e, uses: builtin:Echo}\n"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Start(context.Background(), f, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(context.Background())
	out, errOut, code := runJig(t, "health", eng.Addresses().GRPC)
	if code != 0 || !strings.Contains(out, "SERVING") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	worker := eng.Status().Deployments[0].ReplicaStatus[0].Address
	if _, errOut, code := runJig(t, "health", worker); code != 0 {
		t.Fatalf("worker health: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runJig(t, "health", "127.0.0.1:1", "--timeout", "300ms"); code != 1 || !strings.Contains(errOut, "health of 127.0.0.1:1") {
		t.Fatalf("closed port: exit %d: %s", code, errOut)
	}
}
