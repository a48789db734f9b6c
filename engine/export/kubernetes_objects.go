package export

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jig-dev/jig/consensus/clusterconf"
	"github.com/jig-dev/jig/engine/flow"
)

// Labels and annotations of exported objects.
const (
	labelApp        = "app"
	labelFlow       = "jig.dev/flow"
	labelDeployment = "jig.dev/deployment"
	labelShard      = "jig.dev/shard"
	labelComponent  = "jig.dev/component"
	// annotationConfig carries a hash of a pod's ConfigMap data, so that
	// applying a changed export rolls the pods (Kubernetes does not restart
	// pods when a ConfigMap they use changes).
	annotationConfig = "jig.dev/config-hash"
)

// nonRootID is the user and group exported containers run as (distroless'
// "nonroot"), so runAsNonRoot holds even for images whose USER is root.
const nonRootID = 65532

// k8s builds the Kubernetes objects of a plan.
type k8s struct {
	plan *plan
	opts K8sOptions
}

// serviceHost is the cluster DNS name of Service svc.
func (k *k8s) serviceHost(svc string) string {
	return svc + "." + k.opts.Namespace + ".svc." + k.opts.ClusterDomain
}

// headless is the name of the headless Service of a stateful workload.
func headless(w *workload) string { return w.name + "-headless" }

// podHost is the stable DNS name of pod i of a stateful workload.
func (k *k8s) podHost(w *workload, i int) string {
	return w.name + "-" + strconv.Itoa(i) + "." + k.serviceHost(headless(w))
}

// addresses are the replica addresses the gateway dials for w. A stateful
// workload's pods have stable names, so the gateway sees each replica
// (and fails over between them) exactly as it does locally. A Deployment's
// pods do not: the gateway dials its Service, once. (Listing the Service
// once per replica would only open more connections to the same virtual
// IP; kube-proxy balances connections, not requests, so the README says
// how to get per-request balancing.)
func (k *k8s) addresses(w *workload) []string {
	if !w.dep.Stateful {
		return []string{k.serviceHost(w.name) + ":" + strconv.Itoa(WorkerPort)}
	}
	out := make([]string, w.dep.Replicas)
	for i := range out {
		out[i] = k.podHost(w, i) + ":" + strconv.Itoa(WorkerPort)
	}
	return out
}

func (k *k8s) meta(name string, labels map[string]string) objectMeta {
	return objectMeta{Name: name, Namespace: k.opts.Namespace, Labels: labels}
}

func (k *k8s) labels(w *workload) map[string]string {
	l := map[string]string{
		labelApp:        "gateway",
		labelFlow:       dnsName(k.plan.flow.Name, 63),
		labelComponent:  "gateway",
		labelDeployment: "gateway",
	}
	if w != nil {
		l[labelApp] = w.name
		l[labelComponent] = "executor"
		l[labelDeployment] = dnsName(w.dep.Name, 63)
		l[labelShard] = strconv.Itoa(w.shard)
	}
	return l
}

// envKeyRe is what a ConfigMap key may be.
var envKeyRe = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// workloadObjects are the objects of one shard of a deployment: its
// ConfigMap (config.yml and env), its Service, its Deployment or
// StatefulSet, and a PodDisruptionBudget when it has several replicas.
func (k *k8s) workloadObjects(w *workload) ([]kubeObject, error) {
	d := w.dep
	labels := k.labels(w)
	selector := map[string]string{labelApp: w.name}
	var objs []kubeObject

	cmName := w.name + "-config"
	data := map[string]string{}
	if w.config != nil {
		data[configFile] = string(w.config)
	}
	var env []envVar
	for _, key := range sortedKeys(d.Env) {
		if !envKeyRe.MatchString(key) {
			return nil, d.Errorf("env", "environment variable %q cannot be exported to Kubernetes: use letters, digits, '-', '.' and '_'", key)
		}
		data[key] = d.Env[key]
		env = append(env, envVar{Name: key, ValueFrom: &envVarSource{
			ConfigMapKeyRef: &keySelector{Name: cmName, Key: key},
		}})
	}
	if len(data) > 0 {
		objs = append(objs, &configMap{
			typeMeta: typeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			Metadata: k.meta(cmName, labels),
			Data:     data,
		})
	}

	if k.opts.FlowSecret != "" {
		// The worker requires it on its port and, in a StatefulSet, keys
		// the RAFT transport's handshake with it.
		env = append(env, k.secretEnv(authTokenEnv))
	}
	f, err := k.plan.workerFlags(w, 0)
	if err != nil {
		return nil, err
	}
	args := escapeK8s(workerArgs(w, f))
	ports := []containerPort{{Name: "grpc", ContainerPort: WorkerPort, Protocol: protocolTCP}}
	if d.Stateful {
		// Every pod of a StatefulSet has the same spec: its identity comes
		// from the downward API, and Kubernetes expands $(VAR) in args.
		peers := make([]clusterconf.Peer, d.Replicas)
		for i := range peers {
			host := k.podHost(w, i)
			peers[i] = clusterconf.Peer{ID: strconv.Itoa(i), RaftAddr: host + ":" + strconv.Itoa(RaftPort), WorkerAddr: host + ":" + strconv.Itoa(WorkerPort)}
		}
		// The transport binds the pod's IP, which exists as soon as the
		// container starts, while its DNS name may take a moment to
		// appear; members still reach each other by the stable names of
		// --raft-peers. Brackets keep an IPv6 pod IP a valid host:port
		// (and are accepted around IPv4 too).
		// $(POD_INDEX) is expanded by Kubernetes: the typed ReplicaID (an
		// int) cannot hold it, so it is the one flag written by hand.
		args = append(args, "--replica-id", "$(POD_INDEX)")
		// The RAFT flags are not escaped: $(POD_INDEX) and $(POD_IP) are
		// there to be expanded.
		raft := raftFlags(d, "$(POD_INDEX)", "[$(POD_IP)]:"+strconv.Itoa(RaftPort), peers)
		args = append(args, raft.Args()...)
		env = append(env,
			envVar{Name: "POD_INDEX", ValueFrom: &envVarSource{FieldRef: &fieldSelector{FieldPath: "metadata.labels['" + podIndexLabel + "']"}}},
			envVar{Name: "POD_IP", ValueFrom: &envVarSource{FieldRef: &fieldSelector{FieldPath: "status.podIP"}}},
		)
		ports = append(ports, containerPort{Name: "raft", ContainerPort: RaftPort, Protocol: protocolTCP})
	}
	res, err := resources(d)
	if err != nil {
		return nil, err
	}
	mounts := []volumeMount{
		{Name: "workspace", MountPath: workspaceDir},
		{Name: "tmp", MountPath: tmpDir},
	}
	volumes := []volume{{Name: "tmp", EmptyDir: &struct{}{}}}
	if w.config != nil {
		mounts = append(mounts, volumeMount{Name: "config", MountPath: configDir, ReadOnly: true})
		volumes = append(volumes, volume{Name: "config", ConfigMap: &configMapVolumeSource{
			Name:  cmName,
			Items: []keyToPath{{Key: configFile, Path: configFile}},
		}})
	}
	if !d.Stateful {
		volumes = append(volumes, volume{Name: "workspace", EmptyDir: &struct{}{}})
	}
	timeoutReady := k.plan.flow.Gateway.TimeoutReady
	c := container{
		Name:            "executor",
		Image:           w.image,
		ImagePullPolicy: k.opts.ImagePullPolicy,
		Args:            args,
		Ports:           ports,
		Env:             env,
		Resources:       res,
		VolumeMounts:    mounts,
		// The worker serves grpc.health.v1 on its port: the kubelet asks
		// it directly (no probe binary in the image).
		StartupProbe:    grpcProbe(WorkerPort, 5, probeBudget(timeoutReady, 5*time.Second)),
		ReadinessProbe:  grpcProbe(WorkerPort, 5, 2),
		LivenessProbe:   grpcProbe(WorkerPort, 10, 3),
		Lifecycle:       preStopSleep(),
		SecurityContext: containerSecurity(),
	}
	pod := podTemplateSpec{
		Metadata: objectMeta{Labels: labels, Annotations: map[string]string{annotationConfig: hashConfig(data)}},
		Spec:     newPodSpec(c, volumes),
	}
	replicas := int32(d.Replicas)
	if d.Stateful {
		objs = append(objs, &service{
			typeMeta: typeMeta{APIVersion: "v1", Kind: "Service"},
			Metadata: k.meta(headless(w), labels),
			Spec: serviceSpec{
				ClusterIP: clusterIPNone,
				Selector:  selector,
				// RAFT peers must find each other before they are ready:
				// a replica is only ready once the cluster has formed.
				PublishNotReadyAddresses: true,
				Ports: []servicePort{
					{Name: "grpc", Port: WorkerPort, TargetPort: intOrStr("grpc"), Protocol: protocolTCP},
					{Name: "raft", Port: RaftPort, TargetPort: intOrStr("raft"), Protocol: protocolTCP},
				},
			},
		})
		claim := persistentVolumeClaim{
			Metadata: objectMeta{Name: "workspace", Labels: labels},
			Spec: pvcSpec{
				AccessModes: []string{readWriteOnce},
				Resources:   resourceRequirements{Requests: resourceList{}},
			},
		}
		size := k.opts.StorageSize
		if _, err := parseQuantity(size); err != nil {
			return nil, fmt.Errorf("export %s: storage size %q: %w", k.plan.flow.Name, k.opts.StorageSize, err)
		}
		claim.Spec.Resources.Requests[resourceStorage] = size
		if k.opts.StorageClass != "" {
			sc := k.opts.StorageClass
			claim.Spec.StorageClassName = &sc
		}
		objs = append(objs, &statefulSet{
			typeMeta: typeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
			Metadata: k.meta(w.name, labels),
			Spec: statefulSetSpec{
				Replicas:    &replicas,
				Selector:    &labelSelector{MatchLabels: selector},
				ServiceName: headless(w),
				// All replicas start together: the RAFT cluster needs a
				// quorum before any replica is ready, so starting them one
				// at a time (OrderedReady) would never finish.
				PodManagementPolicy: parallelPods,
				// Rolling updates replace one pod at a time, highest
				// ordinal first, so a quorum always stays up.
				UpdateStrategy:       updateStrategy{Type: rollingUpdateType},
				Template:             pod,
				VolumeClaimTemplates: []persistentVolumeClaim{claim},
			},
		})
	} else {
		objs = append(objs, &service{
			typeMeta: typeMeta{APIVersion: "v1", Kind: "Service"},
			Metadata: k.meta(w.name, labels),
			Spec: serviceSpec{
				Type:     serviceTypeClusterIP,
				Selector: selector,
				Ports:    []servicePort{{Name: "grpc", Port: WorkerPort, TargetPort: intOrStr("grpc"), Protocol: protocolTCP}},
			},
		})
		objs = append(objs, &deployment{
			typeMeta: typeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			Metadata: k.meta(w.name, labels),
			Spec: deploymentSpec{
				Replicas: &replicas,
				Selector: &labelSelector{MatchLabels: selector},
				Strategy: rollingUpdate(),
				Template: pod,
			},
		})
	}
	if d.Replicas > 1 {
		one := intOrInt(1)
		objs = append(objs, &podDisruptionBudget{
			typeMeta: typeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
			Metadata: k.meta(w.name, labels),
			Spec:     pdbSpec{MaxUnavailable: &one, Selector: &labelSelector{MatchLabels: selector}},
		})
	}
	return objs, nil
}

// gatewayObjects are the gateway's ConfigMap (its flow), Service and
// Deployment. TLS material and the auth token come from Secrets the user
// creates; they never appear in the export.
func (k *k8s) gatewayObjects() ([]kubeObject, error) {
	p := k.plan
	g := &p.flow.Gateway
	flowYAML, err := p.gatewayFlowYAML(k.addresses)
	if err != nil {
		return nil, err
	}
	labels := k.labels(nil)
	selector := map[string]string{labelApp: "gateway"}
	cm := &configMap{
		typeMeta: typeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		Metadata: k.meta("gateway-flow", labels),
		Data:     map[string]string{gatewayFlow: string(flowYAML)},
	}
	var ports []containerPort
	var svcPorts []servicePort
	for _, gp := range p.gatewayPorts {
		ports = append(ports, containerPort{Name: gp.name, ContainerPort: int32(gp.port), Protocol: protocolTCP})
		svcPorts = append(svcPorts, servicePort{Name: gp.name, Port: int32(gp.port), TargetPort: intOrStr(gp.name), Protocol: protocolTCP})
	}
	env := []envVar{{Name: "HOME", Value: tmpDir}}
	mounts := []volumeMount{
		{Name: "flow", MountPath: configDir, ReadOnly: true},
		{Name: "tmp", MountPath: tmpDir},
	}
	volumes := []volume{
		{Name: "flow", ConfigMap: &configMapVolumeSource{Name: cm.Metadata.Name}},
		{Name: "tmp", EmptyDir: &struct{}{}},
	}
	if g.AuthToken != "" {
		env = append(env, envVar{Name: authTokenEnv, ValueFrom: &envVarSource{SecretKeyRef: &keySelector{Name: k.opts.AuthSecret, Key: "token"}}})
	}
	if k.opts.FlowSecret != "" {
		env = append(env, k.secretEnv(flowSecretEnv))
	}
	if g.TLSCert != "" {
		mounts = append(mounts, volumeMount{Name: "tls", MountPath: tlsDir, ReadOnly: true})
		volumes = append(volumes, volume{Name: "tls", Secret: &secretVolumeSource{
			SecretName: k.opts.TLSSecret,
			Items:      []keyToPath{{Key: tlsCertKey, Path: "tls.crt"}, {Key: tlsPrivateKeyKey, Path: "tls.key"}},
		}})
	}
	// The gateway opens its ports only once every executor is ready (at
	// most timeout_ready), so its startup budget covers that wait.
	startup, ready, live := k.gatewayProbes()
	annotations := map[string]string{annotationConfig: hashConfig(cm.Data)}
	if g.MonitoringPort != 0 {
		annotations["prometheus.io/scrape"] = "true"
		annotations["prometheus.io/port"] = strconv.Itoa(g.MonitoringPort)
		annotations["prometheus.io/path"] = "/metrics"
	}
	c := container{
		Name:            "gateway",
		Image:           p.images[0].name,
		ImagePullPolicy: k.opts.ImagePullPolicy,
		Args:            []string{"up", configDir + "/" + gatewayFlow, "--headless"},
		Ports:           ports,
		Env:             env,
		VolumeMounts:    mounts,
		StartupProbe:    startup,
		ReadinessProbe:  ready,
		LivenessProbe:   live,
		Lifecycle:       preStopSleep(),
		SecurityContext: containerSecurity(),
	}
	one := int32(1)
	dep := &deployment{
		typeMeta: typeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		Metadata: k.meta("gateway", labels),
		Spec: deploymentSpec{
			Replicas: &one,
			Selector: &labelSelector{MatchLabels: selector},
			Strategy: rollingUpdate(),
			Template: podTemplateSpec{
				Metadata: objectMeta{Labels: labels, Annotations: annotations},
				Spec:     newPodSpec(c, volumes),
			},
		},
	}
	svc := &service{
		typeMeta: typeMeta{APIVersion: "v1", Kind: "Service"},
		Metadata: k.meta("gateway", labels),
		Spec:     serviceSpec{Type: serviceTypeClusterIP, Selector: selector, Ports: svcPorts},
	}
	return []kubeObject{cm, svc, dep}, nil
}

// gatewayProbes probe the gateway's gRPC health service when it serves
// plain gRPC. The kubelet's gRPC probe cannot speak TLS (and an HTTP-only
// gateway has no gRPC port), so otherwise the probes only check that the
// first port accepts connections.
func (k *k8s) gatewayProbes() (startup, ready, live *probe) {
	p := k.plan
	budget := probeBudget(p.flow.Gateway.TimeoutReady, 5*time.Second) + 12
	if p.flow.Gateway.TLSCert == "" && p.port(flow.GRPC) != 0 {
		port := p.port(flow.GRPC)
		return grpcProbe(port, 5, budget), grpcProbe(port, 5, 2), grpcProbe(port, 10, 3)
	}
	tcp := func(period, failures int32) *probe {
		return &probe{
			TCPSocket:     &tcpSocketAction{Port: intOrInt(int32(p.gatewayPorts[0].port))},
			PeriodSeconds: period, FailureThreshold: failures, TimeoutSeconds: 3,
		}
	}
	return tcp(5, budget), tcp(5, 2), tcp(10, 3)
}

func grpcProbe(port int, period, failures int32) *probe {
	service := "" // the server's overall health
	return &probe{
		GRPC:          &grpcAction{Port: int32(port), Service: &service},
		PeriodSeconds: period, FailureThreshold: failures, TimeoutSeconds: 3,
	}
}

// preStopSleep keeps a terminating pod serving for a moment, so Services
// and the gateway stop sending it requests before it drains. It is the
// kubelet's own sleep: the images have no shell.
func preStopSleep() *lifecycle {
	return &lifecycle{PreStop: &lifecycleHandler{Sleep: &sleepAction{Seconds: 2}}}
}

// rollingUpdate never takes a replica down before its replacement is
// ready.
func rollingUpdate() updateStrategy {
	zero, one := intOrInt(0), intOrInt(1)
	return updateStrategy{
		Type:          rollingUpdateType,
		RollingUpdate: &rollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &one},
	}
}

func newPodSpec(c container, volumes []volume) podSpec {
	yes, no := true, false
	id := int64(nonRootID)
	// Long enough for the worker's drain (10s grace period) after the
	// preStop sleep.
	grace := int64(30)
	return podSpec{
		Containers:                    []container{c},
		Volumes:                       volumes,
		TerminationGracePeriodSeconds: &grace,
		// Service environment variables are noise for jig and grow with
		// the namespace.
		EnableServiceLinks:           &no,
		AutomountServiceAccountToken: &no,
		SecurityContext: &podSecurityContext{
			RunAsNonRoot: &yes, RunAsUser: &id, RunAsGroup: &id,
			// Volumes (the workspace claim) become writable by that group.
			FSGroup:        &id,
			SeccompProfile: &seccompProfile{Type: seccompRuntime},
		},
	}
}

func containerSecurity() *securityContext {
	yes, no := true, false
	return &securityContext{
		AllowPrivilegeEscalation: &no,
		ReadOnlyRootFilesystem:   &yes,
		Capabilities:             &capabilities{Drop: []string{"ALL"}},
	}
}

// resources converts the flow's `resources:` ("500m", "1Gi") to
// Kubernetes quantities; a value Kubernetes would reject is a bad-input
// error at its line.
func resources(d *flow.Deployment) (resourceRequirements, error) {
	var out resourceRequirements
	conv := func(in map[string]string, what string) (resourceList, error) {
		if len(in) == 0 {
			return nil, nil
		}
		l := resourceList{}
		for _, name := range sortedKeys(in) {
			if _, err := parseQuantity(in[name]); err != nil {
				return nil, d.Errorf("resources", "%s.%s: %q is not a Kubernetes quantity (like 500m, 2, 1Gi)", what, name, in[name])
			}
			l[name] = in[name]
		}
		return l, nil
	}
	var err error
	if out.Requests, err = conv(d.Resources.Requests, "requests"); err != nil {
		return out, err
	}
	if out.Limits, err = conv(d.Resources.Limits, "limits"); err != nil {
		return out, err
	}
	return out, nil
}

// escapeK8s protects user-provided arguments (uses_with JSON and the
// like) from Kubernetes' $(VAR) expansion.
func escapeK8s(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "$(", "$$(")
	}
	return out
}

// hashConfig is a short stable hash of ConfigMap data.
func hashConfig(data map[string]string) string {
	h := sha256.New()
	for _, k := range sortedKeys(data) {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(data[k]), data[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// probeBudget is how many probe periods cover d (0 = no bound: ten
// minutes), at least 3.
func probeBudget(d time.Duration, period time.Duration) int32 {
	if d <= 0 {
		d = 10 * time.Minute
	}
	n := int32((d + period - 1) / period)
	return max(n, 3)
}

// secretEnv is the variable name holding the flow secret, from its Secret.
func (k *k8s) secretEnv(name string) envVar {
	return envVar{Name: name, ValueFrom: &envVarSource{SecretKeyRef: &keySelector{Name: k.opts.FlowSecret, Key: flowSecretKey}}}
}
