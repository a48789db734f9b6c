package export

import (
	"encoding/json"
	"strconv"
)

// The Kubernetes objects the export writes, as plain structs: only the
// fields jig sets, with the JSON names and omitempty rules of the
// Kubernetes API types (k8s.io/api core/v1, apps/v1, policy/v1 and
// apimachinery's meta/v1), so that they marshal to the same manifests.
//
// They are not the API types themselves because those (with apimachinery,
// structured-merge-diff, klog, cbor and json-iterator) were a fifth of
// what a cold `go build ./cmd/jig` compiled, k8s.io/api/core/v1 alone the
// longest single package on the critical path, for a feature that only
// writes YAML. The tests decode every manifest strictly with the real API
// types (kubernetes_test.go), so a field misspelt here fails there.

// kubeObject is one manifest document.
type kubeObject interface{ kind() string }

// typeMeta is metav1.TypeMeta.
type typeMeta struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

func (t typeMeta) kind() string { return t.Kind }

// objectMeta is the part of metav1.ObjectMeta jig sets.
type objectMeta struct {
	Name        string            `json:"name,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// labelSelector is metav1.LabelSelector without expressions.
type labelSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// intOrString is intstr.IntOrString: a port number or name.
type intOrString struct {
	isStr bool
	i     int32
	s     string
}

func intOrStr(s string) intOrString { return intOrString{isStr: true, s: s} }
func intOrInt(i int32) intOrString  { return intOrString{i: i} }

// MarshalJSON writes the number or the string, as intstr does.
func (v intOrString) MarshalJSON() ([]byte, error) {
	if v.isStr {
		return json.Marshal(v.s)
	}
	return []byte(strconv.FormatInt(int64(v.i), 10)), nil
}

// Kubernetes constants jig writes (the names of the API's own).
const (
	protocolTCP          = "TCP"
	podIndexLabel        = "apps.kubernetes.io/pod-index"
	tlsCertKey           = "tls.crt"
	tlsPrivateKeyKey     = "tls.key"
	resourceStorage      = "storage"
	clusterIPNone        = "None"
	serviceTypeClusterIP = "ClusterIP"
	secretTypeOpaque     = "Opaque"
	readWriteOnce        = "ReadWriteOnce"
	seccompRuntime       = "RuntimeDefault"
	parallelPods         = "Parallel"
	rollingUpdateType    = "RollingUpdate"
)

// Image pull policies K8sOptions.ImagePullPolicy accepts (corev1.PullPolicy).
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// resourceList is corev1.ResourceList; quantities are validated strings
// (see quantity.go).
type resourceList map[string]string

type configMap struct {
	typeMeta
	Metadata objectMeta        `json:"metadata,omitempty"`
	Data     map[string]string `json:"data,omitempty"`
}

type secret struct {
	typeMeta
	Metadata   objectMeta        `json:"metadata,omitempty"`
	Data       map[string][]byte `json:"data,omitempty"`
	StringData map[string]string `json:"stringData,omitempty"`
	Type       string            `json:"type,omitempty"`
}

type envVar struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	ValueFrom *envVarSource `json:"valueFrom,omitempty"`
}

type envVarSource struct {
	FieldRef        *fieldSelector `json:"fieldRef,omitempty"`
	ConfigMapKeyRef *keySelector   `json:"configMapKeyRef,omitempty"`
	SecretKeyRef    *keySelector   `json:"secretKeyRef,omitempty"`
}

type fieldSelector struct {
	FieldPath string `json:"fieldPath"`
}

// keySelector is corev1.ConfigMapKeySelector and SecretKeySelector.
type keySelector struct {
	Name string `json:"name,omitempty"`
	Key  string `json:"key"`
}

type containerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
}

type volumeMount struct {
	Name      string `json:"name"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	MountPath string `json:"mountPath"`
}

type volume struct {
	Name      string                 `json:"name"`
	EmptyDir  *struct{}              `json:"emptyDir,omitempty"`
	Secret    *secretVolumeSource    `json:"secret,omitempty"`
	ConfigMap *configMapVolumeSource `json:"configMap,omitempty"`
}

type configMapVolumeSource struct {
	Name  string      `json:"name,omitempty"`
	Items []keyToPath `json:"items,omitempty"`
}

type secretVolumeSource struct {
	SecretName string      `json:"secretName,omitempty"`
	Items      []keyToPath `json:"items,omitempty"`
}

type keyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
}

type container struct {
	Name            string               `json:"name"`
	Image           string               `json:"image,omitempty"`
	Args            []string             `json:"args,omitempty"`
	Ports           []containerPort      `json:"ports,omitempty"`
	Env             []envVar             `json:"env,omitempty"`
	Resources       resourceRequirements `json:"resources,omitempty"`
	VolumeMounts    []volumeMount        `json:"volumeMounts,omitempty"`
	LivenessProbe   *probe               `json:"livenessProbe,omitempty"`
	ReadinessProbe  *probe               `json:"readinessProbe,omitempty"`
	StartupProbe    *probe               `json:"startupProbe,omitempty"`
	Lifecycle       *lifecycle           `json:"lifecycle,omitempty"`
	ImagePullPolicy string               `json:"imagePullPolicy,omitempty"`
	SecurityContext *securityContext     `json:"securityContext,omitempty"`
}

type resourceRequirements struct {
	Limits   resourceList `json:"limits,omitempty"`
	Requests resourceList `json:"requests,omitempty"`
}

type probe struct {
	TCPSocket        *tcpSocketAction `json:"tcpSocket,omitempty"`
	GRPC             *grpcAction      `json:"grpc,omitempty"`
	TimeoutSeconds   int32            `json:"timeoutSeconds,omitempty"`
	PeriodSeconds    int32            `json:"periodSeconds,omitempty"`
	FailureThreshold int32            `json:"failureThreshold,omitempty"`
}

type tcpSocketAction struct {
	Port intOrString `json:"port"`
}

type grpcAction struct {
	Port    int32   `json:"port"`
	Service *string `json:"service"`
}

type lifecycle struct {
	PreStop *lifecycleHandler `json:"preStop,omitempty"`
}

type lifecycleHandler struct {
	Sleep *sleepAction `json:"sleep,omitempty"`
}

type sleepAction struct {
	Seconds int64 `json:"seconds"`
}

type securityContext struct {
	Capabilities             *capabilities `json:"capabilities,omitempty"`
	ReadOnlyRootFilesystem   *bool         `json:"readOnlyRootFilesystem,omitempty"`
	AllowPrivilegeEscalation *bool         `json:"allowPrivilegeEscalation,omitempty"`
}

type capabilities struct {
	Drop []string `json:"drop,omitempty"`
}

type podTemplateSpec struct {
	Metadata objectMeta `json:"metadata,omitempty"`
	Spec     podSpec    `json:"spec,omitempty"`
}

type podSpec struct {
	Volumes                       []volume            `json:"volumes,omitempty"`
	Containers                    []container         `json:"containers"`
	TerminationGracePeriodSeconds *int64              `json:"terminationGracePeriodSeconds,omitempty"`
	AutomountServiceAccountToken  *bool               `json:"automountServiceAccountToken,omitempty"`
	SecurityContext               *podSecurityContext `json:"securityContext,omitempty"`
	EnableServiceLinks            *bool               `json:"enableServiceLinks,omitempty"`
}

type podSecurityContext struct {
	RunAsUser      *int64          `json:"runAsUser,omitempty"`
	RunAsGroup     *int64          `json:"runAsGroup,omitempty"`
	RunAsNonRoot   *bool           `json:"runAsNonRoot,omitempty"`
	FSGroup        *int64          `json:"fsGroup,omitempty"`
	SeccompProfile *seccompProfile `json:"seccompProfile,omitempty"`
}

type seccompProfile struct {
	Type string `json:"type"`
}

type service struct {
	typeMeta
	Metadata objectMeta  `json:"metadata,omitempty"`
	Spec     serviceSpec `json:"spec,omitempty"`
}

type serviceSpec struct {
	Ports                    []servicePort     `json:"ports,omitempty"`
	Selector                 map[string]string `json:"selector,omitempty"`
	ClusterIP                string            `json:"clusterIP,omitempty"`
	Type                     string            `json:"type,omitempty"`
	PublishNotReadyAddresses bool              `json:"publishNotReadyAddresses,omitempty"`
}

type servicePort struct {
	Name       string      `json:"name,omitempty"`
	Protocol   string      `json:"protocol,omitempty"`
	Port       int32       `json:"port"`
	TargetPort intOrString `json:"targetPort,omitempty"`
}

type persistentVolumeClaim struct {
	Metadata objectMeta `json:"metadata,omitempty"`
	Spec     pvcSpec    `json:"spec,omitempty"`
}

type pvcSpec struct {
	AccessModes      []string             `json:"accessModes,omitempty"`
	Resources        resourceRequirements `json:"resources,omitempty"`
	StorageClassName *string              `json:"storageClassName,omitempty"`
}

type statefulSet struct {
	typeMeta
	Metadata objectMeta      `json:"metadata,omitempty"`
	Spec     statefulSetSpec `json:"spec,omitempty"`
}

type statefulSetSpec struct {
	Replicas             *int32                  `json:"replicas,omitempty"`
	Selector             *labelSelector          `json:"selector"`
	Template             podTemplateSpec         `json:"template"`
	VolumeClaimTemplates []persistentVolumeClaim `json:"volumeClaimTemplates,omitempty"`
	ServiceName          string                  `json:"serviceName"`
	PodManagementPolicy  string                  `json:"podManagementPolicy,omitempty"`
	UpdateStrategy       updateStrategy          `json:"updateStrategy,omitempty"`
}

// updateStrategy is appsv1.StatefulSetUpdateStrategy and, with
// RollingUpdate, appsv1.DeploymentStrategy.
type updateStrategy struct {
	RollingUpdate *rollingUpdateDeployment `json:"rollingUpdate,omitempty"`
	Type          string                   `json:"type,omitempty"`
}

type rollingUpdateDeployment struct {
	MaxUnavailable *intOrString `json:"maxUnavailable,omitempty"`
	MaxSurge       *intOrString `json:"maxSurge,omitempty"`
}

type deployment struct {
	typeMeta
	Metadata objectMeta     `json:"metadata,omitempty"`
	Spec     deploymentSpec `json:"spec,omitempty"`
}

type deploymentSpec struct {
	Replicas *int32          `json:"replicas,omitempty"`
	Selector *labelSelector  `json:"selector"`
	Template podTemplateSpec `json:"template"`
	Strategy updateStrategy  `json:"strategy,omitempty"`
}

type podDisruptionBudget struct {
	typeMeta
	Metadata objectMeta `json:"metadata,omitempty"`
	Spec     pdbSpec    `json:"spec,omitempty"`
}

type pdbSpec struct {
	Selector       *labelSelector `json:"selector,omitempty"`
	MaxUnavailable *intOrString   `json:"maxUnavailable,omitempty"`
}
