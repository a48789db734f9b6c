package export_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/export"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/internal/yamlutil"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// kubectl is not available here (no cluster, no Kubernetes registry), so
// the offline equivalent of `kubectl apply --dry-run=client --validate=strict`
// is used: every generated document is decoded by the Kubernetes API
// machinery into its typed object, strictly (unknown or duplicate fields
// fail).
var k8sDecoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}()

// decodeStrict decodes a multi-document YAML file into typed objects.
func decodeStrict(t *testing.T, name string, data []byte) []runtime.Object {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []runtime.Object
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if isComment(doc) {
			continue
		}
		obj, _, err := k8sDecoder.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s does not decode strictly: %v\n%s", name, err, doc)
		}
		out = append(out, obj)
	}
	return out
}

func isComment(doc []byte) bool {
	for _, l := range strings.Split(string(doc), "\n") {
		if l = strings.TrimSpace(l); l != "" && l != "---" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// TestStrictDecoderRejectsUnknownFields proves the offline check is
// strict: a typo in a field fails, as kubectl's strict validation would.
func TestStrictDecoderRejectsUnknownFields(t *testing.T) {
	doc := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicaz: 2\n")
	if _, _, err := k8sDecoder.Decode(doc, nil, nil); err == nil || !strings.Contains(err.Error(), "replicaz") {
		t.Fatalf("want a strict decoding error naming replicaz, got %v", err)
	}
}

// cluster is an export decoded back into typed objects, by kind and name.
type cluster struct {
	ns           string
	configMaps   map[string]*corev1.ConfigMap
	services     map[string]*corev1.Service
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	pdbs         map[string]*policyv1.PodDisruptionBudget
	secrets      map[string]*corev1.Secret
	files        map[string]string
}

func exportK8s(t *testing.T, f *flow.Flow, opts export.K8sOptions) (*cluster, *export.K8sResult) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "k8s")
	res, err := export.Kubernetes(f, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{ns: res.Namespace, configMaps: map[string]*corev1.ConfigMap{}, services: map[string]*corev1.Service{},
		deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{}, pdbs: map[string]*policyv1.PodDisruptionBudget{}, secrets: map[string]*corev1.Secret{},
		files: walkFiles(t, dir)}
	var want []string
	for _, file := range res.Files {
		want = append(want, filepath.ToSlash(file))
	}
	var got []string
	for file := range c.files {
		got = append(got, file)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, result says %v", got, want)
	}
	for file, data := range c.files {
		if !strings.HasSuffix(file, ".yml") {
			continue
		}
		for _, obj := range decodeStrict(t, file, []byte(data)) {
			var ns, name string
			switch o := obj.(type) {
			case *corev1.ConfigMap:
				ns, name = o.Namespace, o.Name
				c.configMaps[name] = o
			case *corev1.Service:
				ns, name = o.Namespace, o.Name
				c.services[name] = o
			case *appsv1.Deployment:
				ns, name = o.Namespace, o.Name
				c.deployments[name] = o
			case *appsv1.StatefulSet:
				ns, name = o.Namespace, o.Name
				c.statefulSets[name] = o
			case *policyv1.PodDisruptionBudget:
				ns, name = o.Namespace, o.Name
				c.pdbs[name] = o
			case *corev1.Secret:
				ns, name = o.Namespace, o.Name
				c.secrets[name] = o
			default:
				t.Fatalf("%s: unexpected object %T", file, obj)
			}
			if ns != res.Namespace {
				t.Fatalf("%s: %s is in namespace %q, want %q", file, name, ns, res.Namespace)
			}
		}
	}
	return c, res
}

// TestKubernetesFixtures exports every fixture and example flow and checks
// the manifests decode strictly and are wired as the flow says.
func TestKubernetesFixtures(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(fixtureName(path), func(t *testing.T) {
			f := loadFixture(t, path)
			c, res := exportK8s(t, f, export.K8sOptions{Namespace: "jig-test"})
			checkK8s(t, f, c, res)
		})
	}
}

func checkK8s(t *testing.T, f *flow.Flow, c *cluster, res *export.K8sResult) {
	t.Helper()
	host := func(svc string) string { return svc + "." + c.ns + ".svc.cluster.local" }
	wls := map[string][]export.Workload{}
	for _, w := range res.Workloads {
		wls[w.Deployment] = append(wls[w.Deployment], w)
	}
	for _, d := range f.Deployments {
		if d.External {
			if len(wls[d.Name]) != 0 {
				t.Fatalf("external %s was exported", d.Name)
			}
			continue
		}
		if len(wls[d.Name]) != d.Shards {
			t.Fatalf("%s: %d workloads for %d shards", d.Name, len(wls[d.Name]), d.Shards)
		}
		for s, w := range wls[d.Name] {
			if w.Shard != s || (d.Shards > 1) != strings.HasSuffix(w.Name, "-"+strconv.Itoa(s)) {
				t.Fatalf("%s shard %d is workload %s", d.Name, s, w.Name)
			}
			checkWorkload(t, f, c, d, w, host)
		}
	}

	// Gateway.
	gwCM := c.configMaps["gateway-flow"]
	if gwCM == nil {
		t.Fatal("no gateway-flow ConfigMap")
	}
	gf := parseGatewayFlow(t, gwCM.Data["flow.yml"])
	checkTopology(t, f, gf)
	for _, d := range f.Deployments {
		if d.External {
			continue
		}
		g := gf.Deployment(d.Name)
		for s, w := range wls[d.Name] {
			if !d.Stateful && g.Replicas != 1 {
				// The Service once: more addresses would only be more
				// connections to the same virtual IP.
				t.Fatalf("the gateway dials %s's Service %d times: %v", d.Name, g.Replicas, g.Addresses)
			}
			for r := range g.Replicas {
				want := host(w.Name) + ":8080"
				if d.Stateful {
					want = w.Name + "-" + strconv.Itoa(r) + "." + host(w.Name+"-headless") + ":8080"
				}
				if got := g.Address(s, r); got != want {
					t.Fatalf("gateway dials %s shard %d replica %d at %s, want %s", d.Name, s, r, got, want)
				}
				svcName := strings.Split(want, ".")[0]
				if d.Stateful {
					svcName = w.Name + "-headless"
				}
				if svc := c.services[svcName]; svc == nil || svc.Spec.Ports[0].Port != 8080 {
					t.Fatalf("%s: the gateway dials Service %s, which does not serve 8080: %+v", d.Name, svcName, svc)
				}
			}
		}
	}
	dep := c.deployments["gateway"]
	svc := c.services["gateway"]
	if dep == nil || svc == nil {
		t.Fatal("no gateway Deployment or Service")
	}
	pod := dep.Spec.Template.Spec
	ctr := pod.Containers[0]
	if !slices.Equal(ctr.Args, []string{"up", "/config/flow.yml", "--headless"}) || ctr.Image != "jig/jig:latest" {
		t.Fatalf("gateway runs %s %v", ctr.Image, ctr.Args)
	}
	if !selects(svc, dep.Spec.Template.Labels) || !selects(svc, dep.Spec.Selector.MatchLabels) {
		t.Fatalf("gateway Service selector %v does not select its pods %v", svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	for _, p := range f.Gateway.Protocols {
		port := gf.Gateway.Port(p)
		if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Port == int32(port) && sp.Name == string(p) }) ||
			!slices.ContainsFunc(ctr.Ports, func(cp corev1.ContainerPort) bool { return cp.ContainerPort == int32(port) && cp.Name == string(p) }) {
			t.Fatalf("gateway %s port %d not exposed: service %+v container %+v", p, port, svc.Spec.Ports, ctr.Ports)
		}
	}
	checkPodSecurity(t, "gateway", pod)
	checkRollingUpdate(t, dep)
	tls := f.Gateway.TLSCert != ""
	grpcPort := gf.Gateway.Port(flow.GRPC)
	for _, pr := range []*corev1.Probe{ctr.StartupProbe, ctr.ReadinessProbe, ctr.LivenessProbe} {
		switch {
		case pr == nil:
			t.Fatal("gateway probe missing")
		case !tls && grpcPort != 0:
			if pr.GRPC == nil || pr.GRPC.Port != int32(grpcPort) {
				t.Fatalf("gateway probe %+v, want gRPC on %d", pr.ProbeHandler, grpcPort)
			}
		default:
			if pr.TCPSocket == nil {
				t.Fatalf("TLS or HTTP-only gateway probe %+v, want a TCP probe", pr.ProbeHandler)
			}
		}
	}
	hasVolume := func(secret string) bool {
		return slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == secret })
	}
	if tls != hasVolume("gateway-tls") {
		t.Fatalf("TLS %v but gateway-tls volume %v", tls, hasVolume("gateway-tls"))
	}
	tokenEnv := slices.ContainsFunc(ctr.Env, func(e corev1.EnvVar) bool {
		return e.Name == "JIG_AUTH_TOKEN" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
			e.ValueFrom.SecretKeyRef.Name == "gateway-auth" && e.ValueFrom.SecretKeyRef.Key == "token"
	})
	if (f.Gateway.AuthToken != "") != tokenEnv {
		t.Fatalf("auth token %q but token env from the Secret %v: %+v", f.Gateway.AuthToken, tokenEnv, ctr.Env)
	}

	// Secrets stay out of the export.
	for file, data := range c.files {
		if f.Gateway.AuthToken != "" && strings.Contains(data, f.Gateway.AuthToken) {
			t.Fatalf("%s contains the auth token", file)
		}
	}
	for name, cm := range c.configMaps {
		for k, v := range cm.Data {
			if strings.Contains(v, "BEGIN") && strings.Contains(v, "PRIVATE KEY") || strings.Contains(k, "token") {
				t.Fatalf("ConfigMap %s holds secret material in %s", name, k)
			}
		}
	}
	if !strings.Contains(c.files["README.md"], "kubectl apply -R -f .") || !strings.Contains(c.files["README.md"], "kubectl create namespace "+c.ns) {
		t.Fatalf("README misses the commands:\n%s", c.files["README.md"])
	}
}

// checkWorkload checks one shard's objects.
func checkWorkload(t *testing.T, f *flow.Flow, c *cluster, d *flow.Deployment, w export.Workload, host func(string) string) {
	t.Helper()
	var pod corev1.PodTemplateSpec
	if d.Stateful {
		ss := c.statefulSets[w.Name]
		if ss == nil || c.deployments[w.Name] != nil {
			t.Fatalf("stateful %s: want a StatefulSet %s only", d.Name, w.Name)
		}
		pod = ss.Spec.Template
		hl := c.services[w.Name+"-headless"]
		if hl == nil || hl.Spec.ClusterIP != corev1.ClusterIPNone || !hl.Spec.PublishNotReadyAddresses || ss.Spec.ServiceName != hl.Name || !selects(hl, pod.Labels) {
			t.Fatalf("%s: headless Service %+v for StatefulSet serviceName %s", w.Name, hl, ss.Spec.ServiceName)
		}
		if *ss.Spec.Replicas != int32(d.Replicas) || ss.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
			t.Fatalf("%s: replicas %d policy %s", w.Name, *ss.Spec.Replicas, ss.Spec.PodManagementPolicy)
		}
		if len(ss.Spec.VolumeClaimTemplates) != 1 || ss.Spec.VolumeClaimTemplates[0].Name != "workspace" ||
			!slices.ContainsFunc(pod.Spec.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "workspace" && m.MountPath == "/workspace" }) {
			t.Fatalf("%s: workspace claim %+v", w.Name, ss.Spec.VolumeClaimTemplates)
		}
		checkRaft(t, d, w, pod.Spec.Containers[0], host)
	} else {
		dep := c.deployments[w.Name]
		if dep == nil || c.statefulSets[w.Name] != nil {
			t.Fatalf("%s: want a Deployment %s only", d.Name, w.Name)
		}
		if *dep.Spec.Replicas != int32(d.Replicas) {
			t.Fatalf("%s: replicas %d, want %d", w.Name, *dep.Spec.Replicas, d.Replicas)
		}
		checkRollingUpdate(t, dep)
		pod = dep.Spec.Template
		svc := c.services[w.Name]
		if svc == nil || !selects(svc, pod.Labels) || svc.Spec.Ports[0].TargetPort.String() != "grpc" {
			t.Fatalf("%s: Service %+v does not reach the pods %v", w.Name, svc, pod.Labels)
		}
	}
	if pdb := c.pdbs[w.Name]; (d.Replicas > 1) != (pdb != nil) || pdb != nil && pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Fatalf("%s: %d replicas, disruption budget %+v", w.Name, d.Replicas, pdb)
	}
	l := pod.Labels
	if l["app"] != w.Name || l["jig.dev/component"] != "executor" || l["jig.dev/shard"] != strconv.Itoa(w.Shard) || l["jig.dev/deployment"] == "" || l["jig.dev/flow"] == "" {
		t.Fatalf("%s: labels %v", w.Name, l)
	}
	checkPodSecurity(t, w.Name, pod.Spec)
	ctr := pod.Spec.Containers[0]
	args := ctr.Args
	// What Kubernetes makes of $(VAR) and $$( in pod 1.
	wf := checkWorkerFlags(t, w.Name, args, strings.NewReplacer("$(POD_INDEX)", "1", "$(POD_IP)", "10.0.0.1", "$$(", "$("))
	if d.Stateful && (wf.Raft.ID != "1" || wf.ReplicaID != 1) || !d.Stateful && wf.Raft.ID != "" {
		t.Fatalf("%s: raft id %q replica id %d", w.Name, wf.Raft.ID, wf.ReplicaID)
	}
	if !hasArgs(args, "--host", "0.0.0.0", "--port", "8080") || wf.Name != d.Name ||
		wf.ShardID != w.Shard || wf.Shards != d.Shards || wf.Replicas != d.Replicas || wf.Workspace != "/workspace" {
		t.Fatalf("%s: args %v", w.Name, args)
	}
	if d.Source != "" {
		if ctr.Image != "jig/"+filepath.Base(d.Source)+":latest" || args[0] == "executor" {
			t.Fatalf("Go executor %s runs %s %v", d.Name, ctr.Image, args)
		}
	} else if ctr.Image != "jig/jig:latest" || args[0] != "executor" {
		t.Fatalf("built-in executor %s runs %s %v", d.Name, ctr.Image, args)
	}
	// The executor's config comes from its ConfigMap.
	cm := c.configMaps[w.Name+"-config"]
	uses := argValue(args, "--uses")
	if strings.HasPrefix(d.Uses, "builtin:") {
		if uses != d.Uses {
			t.Fatalf("%s: --uses %s, want %s", w.Name, uses, d.Uses)
		}
	} else {
		if uses != "/config/config.yml" || cm == nil {
			t.Fatalf("%s: --uses %s, ConfigMap %v", w.Name, uses, cm)
		}
		var cfg struct {
			JType string `yaml:"jtype"`
		}
		if err := yaml.Unmarshal([]byte(cm.Data["config.yml"]), &cfg); err != nil || cfg.JType != d.Config.JType {
			t.Fatalf("%s: config.yml %q (%v), want jtype %s", w.Name, cm.Data["config.yml"], err, d.Config.JType)
		}
		if !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.ConfigMap != nil && v.ConfigMap.Name == cm.Name }) ||
			!slices.ContainsFunc(ctr.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/config" && m.ReadOnly }) {
			t.Fatalf("%s: config not mounted", w.Name)
		}
	}
	for k, v := range d.Env {
		if cm == nil || cm.Data[k] != v || !slices.ContainsFunc(ctr.Env, func(e corev1.EnvVar) bool {
			return e.Name == k && e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil && e.ValueFrom.ConfigMapKeyRef.Name == cm.Name
		}) {
			t.Fatalf("%s: env %s not set from the ConfigMap", w.Name, k)
		}
	}
	if d.UsesWith != nil {
		var want, got any
		d.UsesWith.Node.Decode(&want)
		raw := strings.ReplaceAll(argValue(args, "--uses-with"), "$$(", "$(") // Kubernetes unescapes $$( to $(
		if err := json.Unmarshal([]byte(raw), &got); err != nil || !jsonEqual(got, want) {
			t.Fatalf("%s: --uses-with %s (%v), want %v", w.Name, raw, err, want)
		}
	}
	for name, q := range d.Resources.Requests {
		if got := ctr.Resources.Requests[corev1.ResourceName(name)]; got.Cmp(resource.MustParse(q)) != 0 {
			t.Fatalf("%s: request %s = %s, want %s", w.Name, name, got.String(), q)
		}
	}
	for name, q := range d.Resources.Limits {
		if got := ctr.Resources.Limits[corev1.ResourceName(name)]; got.Cmp(resource.MustParse(q)) != 0 {
			t.Fatalf("%s: limit %s = %s, want %s", w.Name, name, got.String(), q)
		}
	}
	// Native gRPC probes on the worker's container port.
	var grpcPort int32
	for _, p := range ctr.Ports {
		if p.Name == "grpc" {
			grpcPort = p.ContainerPort
		}
	}
	if grpcPort != 8080 {
		t.Fatalf("%s: container ports %+v", w.Name, ctr.Ports)
	}
	for _, pr := range []*corev1.Probe{ctr.StartupProbe, ctr.ReadinessProbe, ctr.LivenessProbe} {
		if pr == nil || pr.GRPC == nil || pr.GRPC.Port != grpcPort {
			t.Fatalf("%s: probe %+v is not a gRPC probe on port %d", w.Name, pr, grpcPort)
		}
	}
	if h := pod.Annotations["jig.dev/config-hash"]; h == "" {
		t.Fatalf("%s: no config hash annotation", w.Name)
	}
}

// checkRaft checks the RAFT flags of a StatefulSet's pods: every peer is
// <name>-<i>.<name>-headless.<ns>.svc.cluster.local:8081, pod i (once
// Kubernetes expands $(POD_INDEX) and $(POD_IP)) is peer i and binds its
// own IP, and the consensus settings are ones the worker accepts.
func checkRaft(t *testing.T, d *flow.Deployment, w export.Workload, ctr corev1.Container, host func(string) string) {
	t.Helper()
	var peers []struct{ ID, Raft, Worker string }
	if err := json.Unmarshal([]byte(argValue(ctr.Args, "--raft-peers")), &peers); err != nil || len(peers) != d.Replicas {
		t.Fatalf("%s: --raft-peers %q (%v)", w.Name, argValue(ctr.Args, "--raft-peers"), err)
	}
	for i, p := range peers {
		pod := w.Name + "-" + strconv.Itoa(i)
		want := pod + "." + host(w.Name+"-headless")
		if p.ID != strconv.Itoa(i) || p.Raft != want+":8081" || p.Worker != want+":8080" {
			t.Fatalf("%s: peer %d is %+v, want %s", w.Name, i, p, want)
		}
		for _, ip := range []string{"10.0.0." + strconv.Itoa(i), "fd00::" + strconv.Itoa(i)} {
			bind := strings.NewReplacer("$(POD_IP)", ip).Replace(argValue(ctr.Args, "--raft-addr"))
			addr, err := net.ResolveTCPAddr("tcp", bind)
			if err != nil || !addr.IP.Equal(net.ParseIP(ip)) || addr.Port != 8081 {
				t.Fatalf("%s: pod %d with IP %s binds %s (%v), want its IP on 8081", w.Name, i, ip, bind, err)
			}
		}
		expand := strings.NewReplacer("$(POD_INDEX)", strconv.Itoa(i))
		if expand.Replace(argValue(ctr.Args, "--raft-id")) != p.ID || expand.Replace(argValue(ctr.Args, "--replica-id")) != p.ID {
			t.Fatalf("%s: pod %d: raft id %s replica id %s", w.Name, i, argValue(ctr.Args, "--raft-id"), argValue(ctr.Args, "--replica-id"))
		}
	}
	checkConsensusArgs(t, d, ctr.Args)
	fields := map[string]string{}
	for _, e := range ctr.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			fields[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	if fields["POD_IP"] != "status.podIP" || fields["POD_INDEX"] != "metadata.labels['apps.kubernetes.io/pod-index']" {
		t.Fatalf("%s: downward API env %v", w.Name, fields)
	}
	if !slices.ContainsFunc(ctr.Ports, func(p corev1.ContainerPort) bool { return p.Name == "raft" && p.ContainerPort == 8081 }) {
		t.Fatalf("%s: no raft port", w.Name)
	}
}

// checkConsensusArgs checks the RAFT data folder, read consistency and
// raft_configuration flags, as the worker parses them.
func checkConsensusArgs(t *testing.T, d *flow.Deployment, args []string) {
	t.Helper()
	wf := checkWorkerFlags(t, d.Name, args, strings.NewReplacer("$(POD_INDEX)", "1", "$(POD_IP)", "10.0.0.1", "$$(", "$("))
	if wf.Raft.Dir != "/workspace/raft" {
		t.Fatalf("%s: RAFT data off the volume: %v", d.Name, args)
	}
	if got := wf.Raft.Consistency.String(); got != string(d.Consistency) && (d.Consistency != "" || got != "local") {
		t.Fatalf("%s: --read-consistency %s, want %s", d.Name, got, d.Consistency)
	}
	knobs := argValue(args, "--raft-config")
	if (knobs != "") != (d.Raft != flow.RaftSettings{}) {
		t.Fatalf("%s: --raft-config %q for raft settings %+v", d.Name, knobs, d.Raft)
	}
	if wf.Raft.Knobs != d.Raft {
		t.Fatalf("%s: --raft-config %s gives %+v, want %+v", d.Name, knobs, wf.Raft.Knobs, d.Raft)
	}
}

func checkPodSecurity(t *testing.T, name string, pod corev1.PodSpec) {
	t.Helper()
	sc, csc := pod.SecurityContext, pod.Containers[0].SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation || pod.TerminationGracePeriodSeconds == nil {
		t.Fatalf("%s: security %+v %+v", name, sc, csc)
	}
}

func checkRollingUpdate(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	ru := dep.Spec.Strategy.RollingUpdate
	if dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Fatalf("%s: strategy %+v", dep.Name, dep.Spec.Strategy)
	}
}

func selects(svc *corev1.Service, labels map[string]string) bool {
	if len(svc.Spec.Selector) == 0 {
		return false
	}
	for k, v := range svc.Spec.Selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// TestKubernetesShared leaves the gateway out, and tells other flows how to
// use the executors as external deployments.
func TestKubernetesShared(t *testing.T) {
	f := loadFixture(t, "testdata/shards.yml")
	c, res := exportK8s(t, f, export.K8sOptions{Shared: true, Namespace: "shared"})
	if c.deployments["gateway"] != nil || c.configMaps["gateway-flow"] != nil || res.Gateway != "" {
		t.Fatal("a shared export has no gateway")
	}
	readme := c.files["README.md"]
	i := strings.Index(readme, "```yaml\n")
	if i < 0 {
		t.Fatalf("README has no external snippet:\n%s", readme)
	}
	snippet := readme[i+len("```yaml\n"):]
	snippet = snippet[:strings.Index(snippet, "```")]
	other, err := flow.Parse("other.yml", t.TempDir(), []byte(snippet))
	if err != nil {
		t.Fatalf("the README's snippet does not load: %v\n%s", err, snippet)
	}
	idx := other.Deployment("index")
	if idx == nil || idx.Shards != 2 || idx.Address(1, 0) != "index-1.shared.svc.cluster.local:8080" {
		t.Fatalf("snippet: %+v", idx)
	}
}

// TestKubernetesOptions covers the namespace default, image naming and
// pull policy.
func TestKubernetesOptions(t *testing.T) {
	f := loadFixture(t, "testdata/source.yml")
	c, res := exportK8s(t, f, export.K8sOptions{ImagePrefix: "ghcr.io/acme/", Tag: "v2", ImagePullPolicy: export.PullIfNotPresent})
	if res.Namespace != "source" {
		t.Fatalf("namespace %s, want the flow's name", res.Namespace)
	}
	want := []export.Image{{Name: "ghcr.io/acme/jig:v2"}, {Name: "ghcr.io/acme/greeter:v2", Source: f.Deployment("greet").Source}}
	if !slices.Equal(res.Images, want) {
		t.Fatalf("images %+v, want %+v", res.Images, want)
	}
	ctr := c.deployments["greet"].Spec.Template.Spec.Containers[0]
	if ctr.Image != "ghcr.io/acme/greeter:v2" || ctr.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Fatalf("greet runs %s (%s)", ctr.Image, ctr.ImagePullPolicy)
	}
	if !strings.Contains(c.files["README.md"], "docker build --build-context jig=<path to the jig repository> -t ghcr.io/acme/greeter:v2 ") {
		t.Fatalf("README does not say how to build the image:\n%s", c.files["README.md"])
	}
}

// TestKubernetesOutputDir: an earlier export is replaced (no stale files
// for kubectl apply -R), anything else in the folder is refused.
func TestKubernetesOutputDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := export.Kubernetes(loadFixture(t, "testdata/stateful.yml"), dir, export.K8sOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := export.Kubernetes(loadFixture(t, "testdata/shards.yml"), dir, export.K8sOptions{}); err != nil {
		t.Fatal(err)
	}
	files := walkFiles(t, dir)
	if _, stale := files["store/store.yml"]; stale {
		t.Fatal("the earlier export's files are still there")
	}
	if _, ok := files["index/index-1.yml"]; !ok {
		t.Fatalf("files %v", files)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
		t.Fatal("the earlier export's folder is still there")
	}
	os.WriteFile(filepath.Join(dir, "mine.yml"), []byte("kind: Secret\n"), 0o600)
	_, err := export.Kubernetes(loadFixture(t, "testdata/shards.yml"), dir, export.K8sOptions{})
	if err == nil || !errors.Is(err, yamlutil.ErrBadInput) || !strings.Contains(err.Error(), "mine.yml") {
		t.Fatalf("want a bad-input error naming mine.yml, got %v", err)
	}
}

func TestKubernetesBadInput(t *testing.T) {
	cases := []struct{ name, yml, want string }{
		{"name clash", "executors:\n  - {name: my_exec, uses: builtin:Echo}\n  - {name: my-exec, uses: builtin:Echo}\n", `would both be named "my-exec"`},
		{"gateway clash", "executors:\n  - {name: Gateway, uses: builtin:Echo}\n", `the gateway and deployment Gateway would both be named "gateway"`},
		{"shard clash", "executors:\n  - {name: a, uses: builtin:Echo, shards: 2}\n  - {name: a-1, uses: builtin:Echo}\n", `would both be named "a-1"`},
		{"bad quantity", "executors:\n  - name: a\n    uses: builtin:Echo\n    resources: {limits: {cpu: lots}}\n", `flow.yml:4:16: executors[0].resources: limits.cpu: "lots" is not a Kubernetes quantity`},
		{"bad env", "executors:\n  - {name: a, uses: builtin:Echo, env: {'A B': x}}\n", `environment variable "A B" cannot be exported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := flow.Parse("flow.yml", t.TempDir(), []byte(c.yml))
			if err != nil {
				t.Fatal(err)
			}
			_, err = export.Kubernetes(f, t.TempDir(), export.K8sOptions{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// TestHTTPOnlyGateway: without a gRPC port, the gateway is probed over TCP
// (Kubernetes) and has no healthcheck (Compose), and its HTTP port is the
// first free default.
func TestHTTPOnlyGateway(t *testing.T) {
	f, err := flow.Parse("flow.yml", t.TempDir(), []byte("with: {protocol: http}\nexecutors:\n  - {name: a, uses: builtin:Echo}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, res := exportK8s(t, f, export.K8sOptions{})
	checkK8s(t, f, c, res)
	ctr := c.deployments["gateway"].Spec.Template.Spec.Containers[0]
	if len(ctr.Ports) != 1 || ctr.Ports[0].Name != "http" || ctr.Ports[0].ContainerPort != 8080 || ctr.ReadinessProbe.TCPSocket == nil {
		t.Fatalf("gateway ports %+v probe %+v", ctr.Ports, ctr.ReadinessProbe)
	}
	p, _, _ := exportCompose(t, f, export.ComposeOptions{})
	if gw := p.Services["gateway"]; gw.HealthCheck != nil || len(gw.Ports) != 1 || gw.Ports[0].Published != "8080" {
		t.Fatalf("compose gateway %+v", gw)
	}
}
