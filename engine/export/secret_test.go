package export_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/export"
	"github.com/jig-dev/jig/engine/flow"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// podEnv is the environment of the first container of every Deployment
// and StatefulSet, by workload name.
func podEnv(c *cluster) map[string][]corev1.EnvVar {
	out := map[string][]corev1.EnvVar{}
	for name, d := range c.deployments {
		out[name] = d.Spec.Template.Spec.Containers[0].Env
	}
	for name, s := range c.statefulSets {
		out[name] = s.Spec.Template.Spec.Containers[0].Env
	}
	return out
}

// fromSecret reports whether env sets name from key "token" of Secret secret.
func fromSecret(env []corev1.EnvVar, name, secret string) bool {
	return slices.ContainsFunc(env, func(e corev1.EnvVar) bool {
		return e.Name == name && e.Value == "" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
			e.ValueFrom.SecretKeyRef.Name == secret && e.ValueFrom.SecretKeyRef.Key == "token"
	})
}

// TestKubernetesFlowSecret: every export of a fixture writes one Secret
// (flow-secret.yml, mode 0600) with a 256-bit token that appears in no
// other file; every worker reads it as JIG_AUTH_TOKEN and the gateway as
// JIG_FLOW_SECRET, by secretKeyRef; and a re-export keeps the token.
func TestKubernetesFlowSecret(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(fixtureName(path), func(t *testing.T) {
			f := loadFixture(t, path)
			dir := filepath.Join(t.TempDir(), "k8s")
			token := checkK8sFlowSecret(t, f, dir)
			if again := checkK8sFlowSecret(t, f, dir); again != token {
				t.Fatal("a re-export made a new flow secret; running pods would keep the old one")
			}
		})
	}
}

func checkK8sFlowSecret(t *testing.T, f *flow.Flow, dir string) string {
	t.Helper()
	res, err := export.Kubernetes(f, dir, export.K8sOptions{Namespace: "jig-test"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Files, "flow-secret.yml") {
		t.Fatalf("files %v: no flow-secret.yml", res.Files)
	}
	st, err := os.Stat(filepath.Join(dir, "flow-secret.yml"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("flow-secret.yml: %v %v, want mode 0600", st, err)
	}
	c := &cluster{files: walkFiles(t, dir)}
	objs := decodeStrict(t, "flow-secret.yml", []byte(c.files["flow-secret.yml"]))
	if len(objs) != 1 {
		t.Fatalf("flow-secret.yml holds %d objects", len(objs))
	}
	sec, ok := objs[0].(*corev1.Secret)
	if !ok || sec.Name != "flow-secret" || sec.Namespace != "jig-test" {
		t.Fatalf("flow-secret.yml holds %T %+v", objs[0], objs[0])
	}
	token := sec.StringData["token"]
	if len(token) != 64 {
		t.Fatalf("flow secret of %d characters, want a 256-bit hex token", len(token))
	}
	for file, data := range c.files {
		if file != "flow-secret.yml" && strings.Contains(data, token) {
			t.Fatalf("%s contains the flow secret", file)
		}
	}
	// Decode the rest through the usual checks, then look at every pod.
	envs := podEnv(decodeCluster(t, c.files))
	if len(envs) == 0 {
		t.Fatal("no workloads")
	}
	for name, env := range envs {
		want := "JIG_AUTH_TOKEN"
		if name == "gateway" {
			want = "JIG_FLOW_SECRET"
		}
		if !fromSecret(env, want, "flow-secret") {
			t.Fatalf("%s does not take %s from the flow-secret Secret: %+v", name, want, env)
		}
	}
	return token
}

// decodeCluster decodes the workloads of an export's files.
func decodeCluster(t *testing.T, files map[string]string) *cluster {
	t.Helper()
	c := &cluster{deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{}}
	for file, data := range files {
		if !strings.HasSuffix(file, ".yml") {
			continue
		}
		for _, obj := range decodeStrict(t, file, []byte(data)) {
			switch o := obj.(type) {
			case *appsv1.Deployment:
				c.deployments[o.Name] = o
			case *appsv1.StatefulSet:
				c.statefulSets[o.Name] = o
			}
		}
	}
	return c
}

// TestSharedExportsStayOpen: a shared executor is called by other flows
// and Jina gateways, so without an option its workers require nothing;
// naming a Secret (Kubernetes) or a file (Compose) makes them require it,
// and the export does not write the Secret the user keeps.
func TestSharedExportsStayOpen(t *testing.T) {
	f := loadFixture(t, "testdata/replicas.yml")
	c, res := exportK8s(t, f, export.K8sOptions{Shared: true, Namespace: "shared"})
	if len(c.secrets) != 0 || slices.Contains(res.Files, "flow-secret.yml") {
		t.Fatalf("a shared export wrote a Secret: %v", res.Files)
	}
	for name, env := range podEnv(c) {
		if slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.Name == "JIG_AUTH_TOKEN" }) {
			t.Fatalf("shared %s requires a token without --auth-token-secret", name)
		}
	}
	c, res = exportK8s(t, f, export.K8sOptions{Shared: true, Namespace: "shared", FlowSecret: "my-token"})
	if len(c.secrets) != 0 {
		t.Fatalf("a shared export wrote the user's Secret: %v", res.Files)
	}
	for name, env := range podEnv(c) {
		if !fromSecret(env, "JIG_AUTH_TOKEN", "my-token") {
			t.Fatalf("shared %s does not take its token from my-token: %+v", name, env)
		}
	}

	p, cres, _ := exportCompose(t, f, export.ComposeOptions{Shared: true})
	if len(p.Secrets) != 0 || cres.SecretFile != "" {
		t.Fatalf("a shared compose export has secrets %+v", p.Secrets)
	}
	for name, svc := range p.Services {
		if svc.Environment["JIG_AUTH_TOKEN_FILE"] != nil || len(svc.Secrets) != 0 {
			t.Fatalf("shared %s requires a token without --auth-token-secret", name)
		}
	}
	mine := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(mine, []byte("users-own-token\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, cres, text := exportCompose(t, f, export.ComposeOptions{Shared: true, SecretFile: mine})
	if cres.SecretFile != mine || p.Secrets["jig-flow-secret"].File != mine || strings.Contains(text, "users-own-token") {
		t.Fatalf("shared compose export with a secret file: %+v %q", p.Secrets, cres.SecretFile)
	}
	if data, _ := os.ReadFile(mine); string(data) != "users-own-token\n" {
		t.Fatalf("the export changed the user's token file: %q", data)
	}
	for name, svc := range p.Services {
		if v := svc.Environment["JIG_AUTH_TOKEN_FILE"]; v == nil || *v != "/run/secrets/jig-flow-secret" {
			t.Fatalf("shared %s does not read the token file", name)
		}
	}
}

// TestComposeKeepsFlowSecret: re-exporting a Compose file keeps the
// secret file's token (running containers share it).
func TestComposeKeepsFlowSecret(t *testing.T) {
	f := loadFixture(t, "testdata/stateful.yml")
	file := filepath.Join(t.TempDir(), "docker-compose.yml")
	res, err := export.Compose(f, file, export.ComposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(res.SecretFile)
	if _, err := export.Compose(f, file, export.ComposeOptions{}); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(res.SecretFile)
	if len(first) == 0 || string(first) != string(second) {
		t.Fatal("a re-export changed the flow secret")
	}
}

// TestKubernetesKeepsEarlierSecretForms: the export keeps the token of
// the flow-secret.yml an earlier export wrote, whether the token is under
// stringData (as jig writes it) or base64 under data (as the API server
// returns it), after other documents; a file whose data is not base64
// gets a new token.
func TestKubernetesKeepsEarlierSecretForms(t *testing.T) {
	const header = "# Generated by jig export kubernetes from flow.yml; re-export instead of editing.\n"
	for _, c := range []struct {
		name, earlier, want string
	}{
		{"stringData", "---\napiVersion: v1\nkind: Secret\nstringData:\n  token: \"0400\"\n", "0400"},
		{"data", "---\napiVersion: v1\nkind: ConfigMap\ndata:\n  token: not-this\n---\napiVersion: v1\nkind: Secret\ndata:\n  token: ZnJvbS1kYXRh\n", "from-data"},
		{"bad-base64", "---\nkind: Secret\ndata:\n  token: '!!!'\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "k8s")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "flow-secret.yml"), []byte(header+c.earlier), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := export.Kubernetes(loadFixture(t, "testdata/replicas.yml"), dir, export.K8sOptions{}); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, "flow-secret.yml"))
			if err != nil {
				t.Fatal(err)
			}
			objs := decodeStrict(t, "flow-secret.yml", data)
			sec, ok := objs[0].(*corev1.Secret)
			if len(objs) != 1 || !ok {
				t.Fatalf("flow-secret.yml holds %v", objs)
			}
			tok := sec.StringData["token"]
			if c.want != "" && tok != c.want {
				t.Fatalf("token %q, want the earlier %q", tok, c.want)
			}
			if c.want == "" && len(tok) != 64 {
				t.Fatalf("token %q, want a new 256-bit one", tok)
			}
		})
	}
}
