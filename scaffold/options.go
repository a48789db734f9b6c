// Package scaffold generates new Go executors: the templates and the
// generator behind `jig new` and the workbench's New executor pane, and the
// huh form (Wizard) both of them ask the questions with.
//
// A generated folder is a complete Go module: executor.go (a type that
// embeds executors.Base, a default endpoint and, when stateful, a write
// endpoint with Snapshot/Restore), executor_test.go (tests of those
// endpoints through the SDK, from config.yml), config.yml, README.md, an
// optional Dockerfile, and go.mod/go.sum wired to the jig checkout that
// generated it (a replace directive), so that `go test ./...`, `go build`
// and `jig serve DIR` work in it at once.
package scaffold

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/jig-dev/jig/internal/yamlutil"
)

// Dockerfile is the template of the generated Dockerfile.
type Dockerfile string

// The Dockerfile templates.
const (
	// DockerCPU is a multi-stage build of a static binary on distroless.
	DockerCPU Dockerfile = "cpu"
	// DockerGPU runs the binary on an NVIDIA CUDA runtime image.
	DockerGPU Dockerfile = "gpu"
	// DockerNone writes no Dockerfile.
	DockerNone Dockerfile = "none"
)

// Dockerfiles lists the templates in the order the wizard offers them.
var Dockerfiles = []Dockerfile{DockerCPU, DockerGPU, DockerNone}

// ParseDockerfile checks a --dockerfile value.
func ParseDockerfile(s string) (Dockerfile, error) {
	for _, d := range Dockerfiles {
		if string(d) == s {
			return d, nil
		}
	}
	return "", fmt.Errorf("want cpu, gpu or none, got %q", s)
}

// WriteEndpoint is the write endpoint of a stateful executor.
const WriteEndpoint = "/remember"

// DefaultName is the executor name when none is given.
const DefaultName = "MyExecutor"

// Options describe the executor to generate. Zero fields take defaults
// (see Normalize).
type Options struct {
	// Name is the Go type name and jtype, in CamelCase (e.g. "Greeter").
	Name string
	// Path is the folder to write (default: the name in kebab case, e.g.
	// "text-cleaner" for TextCleaner, in the working directory).
	Path string
	// Description goes into metas.description and the docs.
	Description string
	// Endpoints are read endpoints besides /default, e.g. "/hello"; each
	// gets its own handler method.
	Endpoints []string
	// Stateful adds the write endpoint /remember and Snapshot/Restore, so
	// the executor can run with `stateful: true` (RAFT) in a flow.
	Stateful bool
	// Dockerfile picks the Dockerfile template (default cpu).
	Dockerfile Dockerfile
	// Force writes into a folder that is not empty, overwriting files
	// with the generated names and leaving the others alone.
	Force bool
	// Module is the Go module path (default example.com/<kebab name>).
	Module string
	// JigRoot is the jig checkout to build against (default: FindJigRoot).
	JigRoot string
	// NoTidy skips `go mod tidy` after generating: go.mod then lists every
	// requirement of jig itself, which builds offline but is long.
	NoTidy bool
}

var (
	nameRe     = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	endpointRe = regexp.MustCompile(`^/[A-Za-z][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_-]*)*$`)
	moduleRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*$`)
)

// reserved are the method and field names an executor type already has
// (its own handlers and hooks, and what executors.Base promotes), so an
// endpoint must not turn into one of them.
var reserved = map[string]bool{
	"Greet": true, "Remember": true, "Endpoints": true, "Init": true, "Close": true,
	"Snapshot": true, "Restore": true, "Workspace": true, "Base": true,
	"Metas": true, "Runtime": true, "Logger": true, "Greeting": true,
}

// packageNames are the top-level names of the generated main package (its
// tests included) that a type name could collide with.
var packageNames = map[string]bool{
	"TestMain": true, "TestGreet": true, "TestGreetingParameter": true, "TestEndpoints": true,
	"TestRemember": true, "TestRememberRejectsEmptyText": true, "TestSnapshotRestore": true,
}

// ValidateName checks an executor name: a CamelCase Go identifier, at
// most 63 characters (it is also the default deployment name).
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("missing: name the executor in CamelCase, e.g. Greeter")
	case len(name) > 63:
		return fmt.Errorf("%q is longer than 63 characters", name)
	case !nameRe.MatchString(name):
		suggest := "Greeter"
		if c := camel(name); strings.EqualFold(c, strings.Map(func(r rune) rune {
			if strings.ContainsRune("_- .", r) {
				return -1
			}
			return r
		}, name)) {
			suggest = c // the same letters, only cased and joined
		}
		if unicode.IsLower(rune(name[0])) {
			return fmt.Errorf("%q must start with a capital letter (CamelCase, e.g. %s)", name, suggest)
		}
		return fmt.Errorf("%q is not CamelCase: use ASCII letters and digits, starting with a capital letter, e.g. %s", name, suggest)
	case packageNames[name]:
		return fmt.Errorf("%q is already a name in the generated package; pick another name", name)
	}
	return nil
}

// camel suggests a CamelCase spelling of s ("text_cleaner" -> TextCleaner).
func camel(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		switch {
		case r == '_' || r == '-' || r == ' ' || r == '.':
			up = true
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if r < unicode.MaxASCII {
				if up {
					r = unicode.ToUpper(r)
				}
				if b.Len() > 0 || unicode.IsLetter(r) {
					b.WriteRune(r)
				}
			}
			up = false
		}
	}
	if b.Len() == 0 {
		return "Greeter"
	}
	return b.String()
}

// Kebab turns a CamelCase name into the default folder and deployment
// name: TextCleaner -> text-cleaner, HTTPProxy -> http-proxy.
func Kebab(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ParseEndpoints splits a comma- or space-separated list of endpoints and
// checks each. /default is always served and may be left out; with
// stateful, /remember is taken by the write endpoint.
func ParseEndpoints(s string, stateful bool) ([]string, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	return CheckEndpoints(fields, stateful)
}

// CheckEndpoints checks endpoint names (see ParseEndpoints) and returns
// them without /default and duplicates.
func CheckEndpoints(eps []string, stateful bool) ([]string, error) {
	var out []string
	methods := map[string]string{}
	for _, ep := range eps {
		ep = strings.TrimSpace(ep)
		switch {
		case ep == "" || ep == "/default":
			continue
		case !endpointRe.MatchString(ep):
			return nil, fmt.Errorf("endpoint %q: want /name (letters, digits, - and _, starting with a letter), e.g. /hello", ep)
		case stateful && ep == WriteEndpoint:
			return nil, fmt.Errorf("endpoint %s is the write endpoint of a stateful executor; it is added for you", ep)
		}
		m := MethodName(ep)
		if reserved[m] && (stateful || m != "Remember") {
			return nil, fmt.Errorf("endpoint %s would be the method %s, which every generated executor already has; pick another name", ep, m)
		}
		if prev, dup := methods[m]; dup {
			if prev == ep {
				continue
			}
			return nil, fmt.Errorf("endpoints %s and %s would both be the method %s", prev, ep, m)
		}
		methods[m] = ep
		out = append(out, ep)
	}
	return out, nil
}

// MethodName is the Go method serving endpoint: /hello -> Hello,
// /find-similar -> FindSimilar, /v1/search -> V1Search.
func MethodName(endpoint string) string {
	var b strings.Builder
	up := true
	for _, r := range endpoint {
		if r == '/' || r == '-' || r == '_' {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Normalize fills the defaults in and checks every option. Its errors are
// bad input (errors.Is(err, yamlutil.ErrBadInput)), naming the flag.
func (o Options) Normalize() (Options, error) {
	bad := func(field string, err error) error {
		return &yamlutil.Error{Field: "--" + field, Msg: err.Error()}
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if err := ValidateName(o.Name); err != nil {
		return o, bad("name", err)
	}
	if o.Path == "" {
		o.Path = Kebab(o.Name)
	}
	abs, err := filepath.Abs(o.Path)
	if err != nil {
		return o, bad("path", err)
	}
	o.Path = abs
	o.Description = strings.TrimSpace(o.Description)
	if o.Description == "" {
		o.Description = "A jig executor that greets documents."
	}
	if strings.ContainsFunc(o.Description, unicode.IsControl) {
		return o, bad("description", fmt.Errorf("must be one line of text"))
	}
	if o.Endpoints, err = CheckEndpoints(o.Endpoints, o.Stateful); err != nil {
		return o, bad("endpoints", err)
	}
	if o.Dockerfile == "" {
		o.Dockerfile = DockerCPU
	}
	if _, err := ParseDockerfile(string(o.Dockerfile)); err != nil {
		return o, bad("dockerfile", err)
	}
	if o.Module == "" {
		o.Module = "example.com/" + Kebab(o.Name)
	}
	if !moduleRe.MatchString(o.Module) || strings.Contains(o.Module, "..") {
		return o, bad("module", fmt.Errorf("%q is not a Go module path (e.g. example.com/greeter)", o.Module))
	}
	return o, nil
}
