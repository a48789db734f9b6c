package export

import (
	"strconv"
	"time"
)

// The Compose file the export writes, as plain structs: only the fields
// jig sets, with the keys and value forms of the Compose specification
// (https://github.com/compose-spec/compose-spec/blob/main/spec.md), marshalled
// with gopkg.in/yaml.v3 (which sorts map keys, so the file is the same on
// every export of the same flow).
//
// They are not compose-go's types (github.com/compose-spec/compose-go/v2)
// because those brought a second YAML library, logrus, mapstructure and
// docker's reference, units and nat packages into every cold build of
// jig, for a feature that only writes YAML. The tests load every file
// with compose-go's loader (schema validation, interpolation,
// consistency checks) and check that it loads the project the
// compose-go marshaller wrote (compose_golden_test.go).

// composeProject is the top level of a Compose file.
type composeProject struct {
	Name     string                           `yaml:"name"`
	Services map[string]*composeServiceConfig `yaml:"services"`
	Networks map[string]composeNetwork        `yaml:"networks,omitempty"`
	Volumes  map[string]composeVolume         `yaml:"volumes,omitempty"`
	Secrets  map[string]composeSecretObj      `yaml:"secrets,omitempty"`
	Configs  map[string]composeConfigObj      `yaml:"configs,omitempty"`
}

// marshal writes p as YAML (marshalYAML).
func (p *composeProject) marshal() ([]byte, error) { return marshalYAML(p) }

// composeNetwork is a top-level network.
type composeNetwork struct {
	Name   string `yaml:"name,omitempty"`
	Driver string `yaml:"driver,omitempty"`
}

// composeVolume is a top-level named volume with Compose's defaults
// (written as {}).
type composeVolume struct{}

// composeSecretObj is a top-level secret read from a file.
type composeSecretObj struct {
	File string `yaml:"file"`
}

// composeConfigObj is a top-level config given inline. Compose
// interpolates Content: values with `$` go through escapeCompose.
type composeConfigObj struct {
	Content string `yaml:"content"`
}

// composeServiceConfig is one service. Command, Environment and the values of
// configs are interpolated by Compose (escapeCompose); Labels are not
// escaped (they hold names only).
type composeServiceConfig struct {
	Image           string                            `yaml:"image,omitempty"`
	Build           *composeBuild                     `yaml:"build,omitempty"`
	Command         []string                          `yaml:"command,omitempty"`
	Environment     map[string]string                 `yaml:"environment,omitempty"`
	Labels          map[string]string                 `yaml:"labels,omitempty"`
	Networks        map[string]*composeServiceNetwork `yaml:"networks,omitempty"`
	Ports           []composePort                     `yaml:"ports,omitempty"`
	Configs         []composeFileMount                `yaml:"configs,omitempty"`
	Secrets         []composeSecretMount              `yaml:"secrets,omitempty"`
	Volumes         []composeVolumeMount              `yaml:"volumes,omitempty"`
	Tmpfs           []string                          `yaml:"tmpfs,omitempty"`
	ReadOnly        bool                              `yaml:"read_only,omitempty"`
	User            string                            `yaml:"user,omitempty"`
	CapDrop         []string                          `yaml:"cap_drop,omitempty"`
	SecurityOpt     []string                          `yaml:"security_opt,omitempty"`
	Deploy          *composeDeploy                    `yaml:"deploy,omitempty"`
	HealthCheck     *composeHealthCheck               `yaml:"healthcheck,omitempty"`
	DependsOn       map[string]composeDependency      `yaml:"depends_on,omitempty"`
	Restart         string                            `yaml:"restart,omitempty"`
	StopGracePeriod composeDuration                   `yaml:"stop_grace_period,omitempty"`
}

// composeServiceNetwork is a service's attachment to a network; nil (null
// in the file) takes Compose's defaults.
type composeServiceNetwork struct{}

// composeBuild is a service's build section.
type composeBuild struct {
	Context            string            `yaml:"context,omitempty"`
	AdditionalContexts map[string]string `yaml:"additional_contexts,omitempty"`
}

// composePort is a published port in the long syntax.
type composePort struct {
	Name      string `yaml:"name,omitempty"`
	Mode      string `yaml:"mode,omitempty"`
	Target    int    `yaml:"target"`
	Published string `yaml:"published,omitempty"`
	Protocol  string `yaml:"protocol,omitempty"`
}

// composeFileMount mounts a config in a service.
type composeFileMount struct {
	Source string `yaml:"source"`
	Target string `yaml:"target,omitempty"`
}

// composeSecretMount mounts a secret in a service, with owner and mode.
type composeSecretMount struct {
	Source string          `yaml:"source"`
	Target string          `yaml:"target,omitempty"`
	UID    string          `yaml:"uid,omitempty"`
	GID    string          `yaml:"gid,omitempty"`
	Mode   composeFileMode `yaml:"mode,omitempty"`
}

// composeVolumeMount mounts a volume in a service (long syntax).
type composeVolumeMount struct {
	Type   string `yaml:"type"`
	Source string `yaml:"source,omitempty"`
	Target string `yaml:"target"`
}

// composeDeploy is a service's deploy section (resources only).
type composeDeploy struct {
	Resources composeDeployResources `yaml:"resources"`
}

// composeDeployResources are a service's resource limits and reservations; an
// empty block (every resource of the flow's left out) is written as {}.
type composeDeployResources struct {
	Limits       *composeResource `yaml:"limits,omitempty"`
	Reservations *composeResource `yaml:"reservations,omitempty"`
}

// composeResource is one block of resources.
type composeResource struct {
	// CPUs is a number of CPUs; float32 as in Docker's API, written in
	// its shortest form (0.25, 2).
	CPUs float32 `yaml:"cpus,omitempty"`
	// Memory is in bytes.
	Memory  composeBytes    `yaml:"memory,omitempty"`
	Devices []composeDevice `yaml:"devices,omitempty"`
}

// composeDevice is a device request (GPUs).
type composeDevice struct {
	Capabilities []string `yaml:"capabilities,omitempty"`
	Driver       string   `yaml:"driver,omitempty"`
	Count        int64    `yaml:"count,omitempty"`
}

// composeHealthCheck is a service's healthcheck.
type composeHealthCheck struct {
	Test          []string        `yaml:"test"`
	Interval      composeDuration `yaml:"interval,omitempty"`
	Timeout       composeDuration `yaml:"timeout,omitempty"`
	Retries       int             `yaml:"retries,omitempty"`
	StartPeriod   composeDuration `yaml:"start_period,omitempty"`
	StartInterval composeDuration `yaml:"start_interval,omitempty"`
}

// composeDependency is how a service waits for another.
type composeDependency struct {
	Condition string `yaml:"condition"`
	Required  bool   `yaml:"required"`
}

// The depends_on conditions and the restart policy the export uses.
const (
	composeServiceStarted = "service_started"
	composeServiceHealthy = "service_healthy"
	composeUnlessStopped  = "unless-stopped"
)

// composeDuration is written as Go writes durations ("30s", "1m0s"),
// which Compose reads.
type composeDuration time.Duration

// MarshalYAML writes the duration as a string.
func (d composeDuration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// composeBytes is a size in bytes, written as a string of digits as
// Compose writes it.
type composeBytes int64

// MarshalYAML writes the byte count as a string.
func (b composeBytes) MarshalYAML() (any, error) { return strconv.FormatInt(int64(b), 10), nil }

// composeFileMode is a file mode, written in octal ("0400"): a plain
// number would be read as decimal.
type composeFileMode uint32

// MarshalYAML writes the mode as an octal string.
func (m composeFileMode) MarshalYAML() (any, error) {
	return "0" + strconv.FormatUint(uint64(m), 8), nil
}
