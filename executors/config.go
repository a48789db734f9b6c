package executors

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/jig-dev/jig/internal/safepath"
	"github.com/jig-dev/jig/internal/yamlutil"
	"gopkg.in/yaml.v3"
)

// Config is an executor YAML file (Jina's executor YAML spec):
//
//	jtype: SimpleIndexer          # registered type name
//	with: {dim: 128}              # fields of the type, by yaml tag
//	metas: {name: idx, description: ...}
//	requests: {/find: Search}     # endpoint -> method remap
//	dynamic_batching: {/embed: {preferred_batch_size: 32, timeout: 10}}
type Config struct {
	JType           string                 `yaml:"jtype"`
	With            yaml.Node              `yaml:"with"`
	Metas           Metas                  `yaml:"metas"`
	Requests        map[string]string      `yaml:"requests"`
	DynamicBatching map[string]BatchConfig `yaml:"dynamic_batching"`

	// File is where the config was read from ("" when built in code).
	File string `yaml:"-"`
	// Inline is set when the config was written inside File (a flow's
	// `uses:` mapping) rather than being a file of its own: a worker
	// process then gets it as text (YAML), not as a path.
	Inline bool `yaml:"-"`
	// node is the parsed YAML, for errors found later (a `requests:`
	// remap naming a method the executor lacks) to point at their line.
	node *yaml.Node
}

// BatchConfig is the dynamic batching of one endpoint: requests are queued
// and merged into batches of at most PreferredBatchSize documents, waiting
// at most Timeout milliseconds after the first one.
type BatchConfig struct {
	PreferredBatchSize int `yaml:"preferred_batch_size" json:"preferred_batch_size"`
	Timeout            int `yaml:"timeout" json:"timeout"` // milliseconds
}

// LoadConfig reads an executor YAML file. path may also be a folder holding
// config.yml (or config.yaml).
func LoadConfig(path string) (*Config, error) {
	file, err := configFile(path)
	if err != nil {
		return nil, err
	}
	node, err := yamlutil.LoadFile(file)
	if err != nil {
		return nil, err
	}
	return ConfigFromNode(file, node)
}

// configFile resolves a folder to the config.yml (or config.yaml) in it.
func configFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", &yamlutil.Error{File: path, Msg: "no such file or folder"}
	}
	if !st.IsDir() {
		return path, nil
	}
	for _, name := range []string{"config.yml", "config.yaml"} {
		if _, err := os.Stat(filepath.Join(path, name)); err == nil {
			return filepath.Join(path, name), nil
		}
	}
	return "", &yamlutil.Error{File: path, Msg: "folder has no config.yml"}
}

// ParseConfig parses executor YAML text; file names it in errors.
func ParseConfig(file string, data []byte) (*Config, error) {
	node, err := yamlutil.Parse(file, data)
	if err != nil {
		return nil, err
	}
	return ConfigFromNode(file, node)
}

// ConfigFromNode decodes an executor config from a parsed node (e.g. an
// inline `uses:` mapping inside a flow YAML); jtype must be registered.
func ConfigFromNode(file string, node *yaml.Node) (*Config, error) {
	return configFromNode(file, node, true)
}

// LoadSourceConfig reads the config.yml of an executor built from its own
// Go source: its jtype is registered inside that binary, not here, so only
// its presence is checked. path may be the file or its folder.
func LoadSourceConfig(path string) (*Config, error) {
	file, err := configFile(path)
	if err != nil {
		return nil, err
	}
	node, err := yamlutil.LoadFile(file)
	if err != nil {
		return nil, err
	}
	return configFromNode(file, node, false)
}

// SourceConfigFromNode decodes an inline executor config of a Go executor
// built from its folder (a flow's `uses: {jtype: T, source: ./folder}`,
// without the source key): like LoadSourceConfig, its jtype is registered
// in that binary, so only its presence is checked.
func SourceConfigFromNode(file string, node *yaml.Node) (*Config, error) {
	c, err := configFromNode(file, node, false)
	if err != nil {
		return nil, err
	}
	c.Inline = true
	return c, nil
}

// YAML renders the config as an executor YAML document (jtype first), for
// a worker's --uses.
func (c *Config) YAML() ([]byte, error) {
	type doc struct {
		JType           string                 `yaml:"jtype"`
		With            *yaml.Node             `yaml:"with,omitempty"`
		Metas           *Metas                 `yaml:"metas,omitempty"`
		Requests        map[string]string      `yaml:"requests,omitempty"`
		DynamicBatching map[string]BatchConfig `yaml:"dynamic_batching,omitempty"`
	}
	out := doc{JType: c.JType, Requests: c.Requests, DynamicBatching: c.DynamicBatching}
	if c.With.Kind != 0 && !(c.With.Kind == yaml.ScalarNode && c.With.Tag == "!!null") {
		w := c.With
		out.With = &w
	}
	if m := c.Metas; m.Name != "" || m.Description != "" || m.URL != "" || m.Workspace != "" || len(m.Keywords) > 0 {
		m := c.Metas
		out.Metas = &m
	}
	return yaml.Marshal(out)
}

// unknownTypeHint says how to use an executor type that is not
// registered here: a Go executor of one's own runs from its folder.
func unknownTypeHint(jtype string) string {
	return fmt.Sprintf("; a Go executor of your own runs from its folder: `uses: ./folder` (with uses_with / uses_metas to override its config), or inline `uses: {jtype: %s, source: ./folder, with: {...}, metas: {...}}`", jtype)
}

func configFromNode(file string, node *yaml.Node, checkType bool) (*Config, error) {
	if pm := yamlutil.Lookup(node, "py_modules"); pm != nil {
		return nil, yamlutil.At(file, pm, "py_modules", "Python executors cannot run inside jig; serve them with Jina and add them to the flow with `external: true`")
	}
	c := &Config{File: file, node: node}
	if err := yamlutil.Decode(file, node, "", c); err != nil {
		return nil, err
	}
	if c.JType == "" {
		return nil, yamlutil.At(file, node, "jtype", "missing: name the executor type (registered: %s)", strings.Join(Registered(), ", "))
	}
	if _, ok := lookup(c.JType); checkType && !ok {
		return nil, yamlutil.At(file, yamlutil.Lookup(node, "jtype"), "jtype", "unknown executor type %q (registered: %s)%s", c.JType, strings.Join(Registered(), ", "), unknownTypeHint(c.JType))
	}
	if c.Metas.Name != "" {
		if err := safepath.CheckName(c.Metas.Name); err != nil {
			return nil, yamlutil.At(file, yamlutil.Lookup(yamlutil.Lookup(node, "metas"), "name"), "metas.name", "%v", err)
		}
	}
	for ep, b := range c.DynamicBatching {
		if b.PreferredBatchSize < 0 || b.Timeout < 0 {
			return nil, yamlutil.At(file, yamlutil.Lookup(yamlutil.Lookup(node, "dynamic_batching"), ep), "dynamic_batching."+ep, "preferred_batch_size and timeout must not be negative")
		}
	}
	return c, nil
}

// Override is a configuration fragment from somewhere else (a flow's
// uses_with, a --uses-with flag) with the file it came from, so errors
// point at the right place.
type Override struct {
	Node *yaml.Node
	File string
	// Field is the path of Node in File, e.g. "executors[2].uses_with".
	Field string
}

// --- registry ---

// Factory creates a zero executor of a registered type; the configuration
// is applied to it afterwards.
type Factory func() Executor

var (
	regMu    sync.RWMutex
	registry = map[string]Factory{}
)

// Register makes an executor type available as `jtype: name` (and, for
// built-in executors, `uses: builtin:name`). It panics if name is taken,
// as registration happens in init functions where a clash is a bug.
func Register(name string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("executors: type %q registered twice", name))
	}
	registry[name] = f
}

// Registered lists the registered type names, sorted.
func Registered() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsRegistered reports whether name is a registered executor type.
func IsRegistered(name string) bool {
	_, ok := lookup(name)
	return ok
}

func lookup(name string) (Factory, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	f, ok := registry[name]
	return f, ok
}

// TypeName returns the name an executor type registers under by
// convention: its Go type name ("Greeter" for *Greeter).
func TypeName(e Executor) string {
	t := reflect.TypeOf(e)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
