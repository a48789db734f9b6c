package export_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jig-dev/jig/engine/export"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// loadCompose loads a generated file with compose-go's loader, schema
// validation, interpolation and consistency checks included, as
// `docker compose config` does.
func loadCompose(t *testing.T, file string) *types.Project {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(file),
		ConfigFiles: []types.ConfigFile{{Filename: file, Content: data}},
		Environment: types.Mapping{"JIG_AUTH_TOKEN": "from-the-env"},
	})
	if err != nil {
		t.Fatalf("compose-go does not load %s: %v\n%s", file, err, data)
	}
	return p
}

func exportCompose(t *testing.T, f *flow.Flow, opts export.ComposeOptions) (*types.Project, *export.ComposeResult, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "docker-compose.yml")
	res, err := export.Compose(f, file, opts)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	return loadCompose(t, file), res, string(data)
}

// TestComposeFixtures exports every fixture and example flow, loads the
// file with compose-go and checks its services, wiring, healthchecks,
// volumes and network.
func TestComposeFixtures(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(fixtureName(path), func(t *testing.T) {
			f := loadFixture(t, path)
			p, res, text := exportCompose(t, f, export.ComposeOptions{})
			checkCompose(t, f, p, res, text)
		})
	}
}

func checkCompose(t *testing.T, f *flow.Flow, p *types.Project, res *export.ComposeResult, text string) {
	t.Helper()
	if net, ok := p.Networks["jig"]; !ok || net.Name != res.Network || net.Driver != "bridge" {
		t.Fatalf("network %+v", p.Networks)
	}
	services := map[string]string{} // service -> deployment
	for _, d := range f.Deployments {
		if d.External {
			continue
		}
		for s := range d.Shards {
			for r := range d.Replicas {
				name := strings.ReplaceAll(strings.ToLower(d.Name), "_", "-")
				if d.Shards > 1 {
					name += "-" + strconv.Itoa(s)
				}
				name += "-rep-" + strconv.Itoa(r)
				svc, ok := p.Services[name]
				if !ok {
					t.Fatalf("no service %s (have %v)", name, p.ServiceNames())
				}
				services[name] = d.Name
				checkComposeService(t, d, s, r, name, svc, p)
			}
		}
	}
	gw, ok := p.Services["gateway"]
	if !ok {
		t.Fatal("no gateway service")
	}
	if len(p.Services) != len(services)+1 {
		t.Fatalf("services %v, want those of %v and the gateway", p.ServiceNames(), services)
	}
	if !slices.Equal([]string(gw.Command), []string{"up", "/config/flow.yml", "--headless"}) || gw.Image != "jig/jig:latest" || gw.Restart != types.RestartPolicyUnlessStopped {
		t.Fatalf("gateway: %s %v restart %s", gw.Image, gw.Command, gw.Restart)
	}
	if _, ok := gw.Networks["jig"]; !ok {
		t.Fatal("gateway is not on the network")
	}
	for name := range services {
		if _, ok := gw.DependsOn[name]; !ok {
			t.Fatalf("gateway does not wait for %s: %v", name, gw.DependsOn)
		}
	}
	// The gateway's flow, as the container sees it (after interpolation).
	if len(gw.Configs) != 1 || gw.Configs[0].Target != "/config/flow.yml" {
		t.Fatalf("gateway configs %+v", gw.Configs)
	}
	gf := parseGatewayFlow(t, p.Configs[gw.Configs[0].Source].Content)
	checkTopology(t, f, gf)
	for _, d := range f.Deployments {
		if d.External {
			continue
		}
		g := gf.Deployment(d.Name)
		for s := range d.Shards {
			for r := range d.Replicas {
				addr := g.Address(s, r)
				svc, port, _ := strings.Cut(addr, ":")
				if services[svc] != d.Name || port != "8080" {
					t.Fatalf("gateway dials %s shard %d replica %d at %s: not one of its services", d.Name, s, r, addr)
				}
			}
		}
	}
	for _, pr := range f.Gateway.Protocols {
		port := strconv.Itoa(gf.Gateway.Port(pr))
		if !slices.ContainsFunc(gw.Ports, func(pc types.ServicePortConfig) bool {
			return pc.Published == port && strconv.Itoa(int(pc.Target)) == port
		}) {
			t.Fatalf("gateway does not publish %s port %s: %+v", pr, port, gw.Ports)
		}
	}
	if grpc := gf.Gateway.Port(flow.GRPC); grpc != 0 {
		want := []string{"CMD", "jig", "health", "127.0.0.1:" + strconv.Itoa(grpc)}
		if f.Gateway.TLSCert != "" {
			want = append(want, "--tls")
		}
		if gw.HealthCheck == nil || !slices.Equal([]string(gw.HealthCheck.Test), want) {
			t.Fatalf("gateway healthcheck %+v, want %v", gw.HealthCheck, want)
		}
	}
	if f.Gateway.AuthToken != "" {
		if v := gw.Environment["JIG_AUTH_TOKEN"]; v == nil || *v != "from-the-env" {
			t.Fatalf("gateway token env %v, want it from the environment", gw.Environment)
		}
		if strings.Contains(text, f.Gateway.AuthToken) {
			t.Fatal("the compose file contains the auth token")
		}
	}
	if f.Gateway.TLSCert != "" {
		if len(gw.Secrets) != 3 || p.Secrets[gw.Secrets[1].Source].File != f.Gateway.TLSCert || gw.Secrets[1].Target != "/tls/tls.crt" {
			t.Fatalf("gateway TLS secrets %+v %+v", gw.Secrets, p.Secrets)
		}
	}
	checkComposeFlowSecret(t, p, res, text)
}

// checkComposeFlowSecret checks that the flow secret is a Compose secret
// whose file (mode 0600) holds a 256-bit token found nowhere in the
// Compose file, that every worker requires it (JIG_AUTH_TOKEN_FILE naming
// the mounted secret) and that the gateway has it mounted.
func checkComposeFlowSecret(t *testing.T, p *types.Project, res *export.ComposeResult, text string) {
	t.Helper()
	sec, ok := p.Secrets["jig-flow-secret"]
	if !ok || res.SecretFile == "" || sec.File != res.SecretFile {
		t.Fatalf("flow secret %+v, result says %q", p.Secrets, res.SecretFile)
	}
	st, err := os.Stat(res.SecretFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file %v %v, want mode 0600", st, err)
	}
	data, _ := os.ReadFile(res.SecretFile)
	token := strings.TrimSpace(string(data))
	if len(token) != 64 {
		t.Fatalf("secret file holds %d characters, want a 256-bit hex token", len(token))
	}
	if strings.Contains(text, token) {
		t.Fatal("the compose file contains the flow secret")
	}
	for name, svc := range p.Services {
		mounted := slices.ContainsFunc(svc.Secrets, func(s types.ServiceSecretConfig) bool {
			return s.Source == "jig-flow-secret" && s.Target == "/run/secrets/jig-flow-secret"
		})
		if !mounted {
			t.Fatalf("service %s does not mount the flow secret: %+v", name, svc.Secrets)
		}
		for k, v := range svc.Environment {
			if v != nil && strings.Contains(*v, token) {
				t.Fatalf("service %s has the flow secret in env %s", name, k)
			}
		}
		if name == "gateway" {
			continue
		}
		if v := svc.Environment["JIG_AUTH_TOKEN_FILE"]; v == nil || *v != "/run/secrets/jig-flow-secret" {
			t.Fatalf("worker %s does not read the flow secret: env %v", name, svc.Environment)
		}
	}
}

func checkComposeService(t *testing.T, d *flow.Deployment, shard, rep int, name string, svc types.ServiceConfig, p *types.Project) {
	t.Helper()
	args := []string(svc.Command)
	wf := checkWorkerFlags(t, name, args, strings.NewReplacer())
	if wf.ReplicaID != rep || wf.ShardID != shard {
		t.Fatalf("%s: replica %d shard %d", name, wf.ReplicaID, wf.ShardID)
	}
	if !hasArgs(args, "--host", "0.0.0.0", "--port", "8080") || wf.Name != d.Name {
		t.Fatalf("%s: command %v", name, args)
	}
	if svc.Restart != types.RestartPolicyUnlessStopped || !svc.ReadOnly || svc.User == "" || svc.User[0] == '0' {
		t.Fatalf("%s: restart %s read-only %v user %s", name, svc.Restart, svc.ReadOnly, svc.User)
	}
	if _, ok := svc.Networks["jig"]; !ok {
		t.Fatalf("%s: not on the network", name)
	}
	if d.Source != "" {
		if svc.Image != "jig/"+filepath.Base(d.Source)+":latest" || svc.Build == nil || svc.Build.Context != d.Source || svc.HealthCheck != nil {
			t.Fatalf("Go executor %s: image %s build %+v healthcheck %+v", name, svc.Image, svc.Build, svc.HealthCheck)
		}
	} else {
		want := []string{"CMD", "jig", "health", "127.0.0.1:8080"}
		if svc.Image != "jig/jig:latest" || args[0] != "executor" || svc.HealthCheck == nil || !slices.Equal([]string(svc.HealthCheck.Test), want) {
			t.Fatalf("built-in executor %s: image %s command %v healthcheck %+v", name, svc.Image, args, svc.HealthCheck)
		}
	}
	if uses := argValue(args, "--uses"); !strings.HasPrefix(d.Uses, "builtin:") {
		if uses != "/config/config.yml" || len(svc.Configs) != 1 || svc.Configs[0].Target != "/config/config.yml" || p.Configs[svc.Configs[0].Source].Content == "" {
			t.Fatalf("%s: --uses %s configs %+v", name, uses, svc.Configs)
		}
	}
	for k, v := range d.Env {
		if got := svc.Environment[k]; got == nil || *got != v {
			t.Fatalf("%s: env %s = %v, want %q", name, k, got, v)
		}
	}
	if d.UsesWith != nil {
		var want, got any
		d.UsesWith.Node.Decode(&want)
		if err := json.Unmarshal([]byte(argValue(args, "--uses-with")), &got); err != nil || !jsonEqual(got, want) {
			t.Fatalf("%s: --uses-with %s, want %v (compose must not interpolate it)", name, argValue(args, "--uses-with"), want)
		}
	}
	if d.Stateful {
		vol := name + "-workspace"
		if _, ok := p.Volumes[vol]; !ok || !slices.ContainsFunc(svc.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Source == vol && v.Target == "/workspace"
		}) {
			t.Fatalf("%s: workspace volume %+v (project volumes %v)", name, svc.Volumes, p.Volumes)
		}
		var peers []struct{ ID, Raft, Worker string }
		if err := json.Unmarshal([]byte(argValue(args, "--raft-peers")), &peers); err != nil || len(peers) != d.Replicas {
			t.Fatalf("%s: --raft-peers %s", name, argValue(args, "--raft-peers"))
		}
		base := strings.TrimSuffix(name, "-rep-"+strconv.Itoa(rep))
		for i, peer := range peers {
			svcName := base + "-rep-" + strconv.Itoa(i)
			if _, ok := p.Services[svcName]; !ok || peer.ID != strconv.Itoa(i) || peer.Raft != svcName+":8081" || peer.Worker != svcName+":8080" {
				t.Fatalf("%s: peer %d %+v", name, i, peer)
			}
		}
		if argValue(args, "--raft-addr") != name+":8081" || argValue(args, "--raft-id") != strconv.Itoa(rep) {
			t.Fatalf("%s: raft addr %s id %s", name, argValue(args, "--raft-addr"), argValue(args, "--raft-id"))
		}
		checkConsensusArgs(t, d, args)
	} else if len(svc.Volumes) != 0 || !slices.Contains([]string(svc.Tmpfs), "/workspace") {
		t.Fatalf("%s: stateless workspace should be a tmpfs: %+v %v", name, svc.Volumes, svc.Tmpfs)
	}
	if cpu, ok := d.Resources.Limits["cpu"]; ok {
		if svc.Deploy == nil || svc.Deploy.Resources.Limits == nil || svc.Deploy.Resources.Limits.NanoCPUs == 0 {
			t.Fatalf("%s: cpu limit %s not exported: %+v", name, cpu, svc.Deploy)
		}
	}
}

// TestComposeShared leaves the gateway out.
func TestComposeShared(t *testing.T) {
	p, res, _ := exportCompose(t, loadFixture(t, "testdata/replicas.yml"), export.ComposeOptions{Shared: true})
	if _, ok := p.Services["gateway"]; ok || res.Gateway != "" {
		t.Fatal("a shared export has no gateway")
	}
	if !slices.Equal(res.Services, []string{"norm-rep-0", "norm-rep-1", "norm-rep-2", "echo-rep-0"}) {
		t.Fatalf("services %v", res.Services)
	}
}

func TestComposeWarningsAndFile(t *testing.T) {
	f, err := flow.Parse("flow.yml", t.TempDir(), []byte("executors:\n  - name: a\n    uses: builtin:Echo\n    resources: {limits: {ephemeral-storage: 1Gi, nvidia.com/gpu: 1}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, res, _ := exportCompose(t, f, export.ComposeOptions{})
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "ephemeral-storage has no Compose equivalent") {
		t.Fatalf("warnings %v", res.Warnings)
	}
	dev := p.Services["a-rep-0"].Deploy.Resources.Reservations.Devices
	if len(dev) != 1 || dev[0].Count != 1 || !slices.Contains(dev[0].Capabilities, "gpu") {
		t.Fatalf("GPU reservation %+v", dev)
	}
	file := filepath.Join(t.TempDir(), "compose.yml")
	os.WriteFile(file, []byte("services: {mine: {image: x}}\n"), 0o600)
	if _, err := export.Compose(f, file, export.ComposeOptions{}); err == nil || !errors.Is(err, yamlutil.ErrBadInput) {
		t.Fatalf("overwriting a file jig did not write: %v", err)
	}
}

// TestComposeGPUCount: a flow's GPUs become one device request with the
// most either block names (a request of 1 and a limit of 2 is 2 GPUs, as
// in Kubernetes, not 3), and a count of 0 reserves none: a device request
// without a count would give the container every GPU of the host.
func TestComposeGPUCount(t *testing.T) {
	for _, c := range []struct {
		resources string
		want      int64 // 0: no device request
	}{
		{"{requests: {nvidia.com/gpu: 1}, limits: {nvidia.com/gpu: 2}}", 2},
		{"{requests: {nvidia.com/gpu: 2}, limits: {nvidia.com/gpu: 2}}", 2},
		{"{requests: {nvidia.com/gpu: 3}}", 3},
		{"{limits: {nvidia.com/gpu: 0}}", 0},
		{"{requests: {nvidia.com/gpu: 0, cpu: 1}}", 0},
	} {
		f, err := flow.Parse("flow.yml", t.TempDir(), []byte("executors:\n  - name: a\n    uses: builtin:Echo\n    resources: "+c.resources+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		p, _, _ := exportCompose(t, f, export.ComposeOptions{})
		var got []types.DeviceRequest
		if d := p.Services["a-rep-0"].Deploy; d != nil {
			if r := d.Resources.Reservations; r != nil {
				got = r.Devices
			}
			if l := d.Resources.Limits; l != nil && len(l.Devices) > 0 {
				t.Errorf("%s: devices under limits: %+v", c.resources, l.Devices)
			}
		}
		switch {
		case c.want == 0 && len(got) != 0:
			t.Errorf("%s: %+v, want no device request", c.resources, got)
		case c.want > 0 && (len(got) != 1 || int64(got[0].Count) != c.want):
			t.Errorf("%s: %+v, want one request of %d GPUs", c.resources, got, c.want)
		}
	}
}
