package scaffold

import (
	"errors"
	"strings"

	"github.com/charmbracelet/huh"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// Wizard asks the `jig new` questions with a huh form: name, folder,
// description, stateful or not, endpoints and Dockerfile template. `jig
// new` runs its form in the terminal; the workbench's New executor pane
// embeds it. Each Form starts from the defaults again.
//
// A Wizard is not safe for concurrent use: the form writes the answers
// while it runs, and Options reads them once it has completed.
type Wizard struct {
	defaults Options
	a        answers
}

// answers are the form's values, in the form's own types.
type answers struct {
	name, path, description, endpoints string
	stateful                           bool
	dockerfile                         Dockerfile
}

// NewWizard returns a wizard whose forms start from defaults (e.g. the
// flags given to `jig new`). Options the form does not ask (Force, Module,
// JigRoot, NoTidy) are passed through.
func NewWizard(defaults Options) *Wizard {
	return &Wizard{defaults: defaults}
}

// Form returns a new form, filled in with the defaults; its answers are
// kept for Options.
func (w *Wizard) Form() *huh.Form {
	d := w.defaults
	w.a = answers{
		name: d.Name, path: d.Path, description: d.Description,
		endpoints: strings.Join(d.Endpoints, ", "), stateful: d.Stateful, dockerfile: d.Dockerfile,
	}
	if w.a.dockerfile == "" {
		w.a.dockerfile = DockerCPU
	}
	a := &w.a
	return huh.NewForm(
		huh.NewGroup(
			huh.NewInput().Key("name").Title("Executor name").
				Description("The Go type and its jtype, in CamelCase.").
				Placeholder("Greeter").
				Validate(func(s string) error { return ValidateName(orDefault(s, d.Name)) }).
				Value(&a.name),
			huh.NewInput().Key("path").Title("Folder").
				Description("Where to write it; empty: the name in kebab case, here.").
				PlaceholderFunc(func() string { return Kebab(orDefault(a.name, DefaultName)) }, &a.name).
				Validate(func(s string) error {
					return folderProblem(orDefault(orDefault(s, d.Path), Kebab(orDefault(a.name, DefaultName))), d.Force)
				}).
				Value(&a.path),
			huh.NewInput().Key("description").Title("Description").
				Description("One line, for metas.description and the README.").
				Placeholder("A jig executor that greets documents.").
				Validate(func(s string) error {
					if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' }) {
						return errors.New("one line of text, please")
					}
					return nil
				}).
				Value(&a.description),
		).Title("New executor"),
		huh.NewGroup(
			huh.NewConfirm().Key("stateful").Title("Stateful?").
				Description("Adds the write endpoint "+WriteEndpoint+" and Snapshot/Restore,\nfor `stateful: true` deployments (replicas kept in sync by RAFT).").
				Affirmative("Yes").Negative("No").
				Value(&a.stateful),
			huh.NewInput().Key("endpoints").Title("Endpoints").
				Description("Read endpoints besides /default, comma-separated (optional), e.g. /hello, /bye.").
				Placeholder("/hello, /bye").
				Validate(func(s string) error {
					_, err := ParseEndpoints(orDefault(s, strings.Join(d.Endpoints, ",")), a.stateful)
					return err
				}).
				Value(&a.endpoints),
			huh.NewSelect[Dockerfile]().Key("dockerfile").Title("Dockerfile").
				Options(
					huh.NewOption("cpu: static binary on distroless", DockerCPU),
					huh.NewOption("gpu: on an NVIDIA CUDA runtime image", DockerGPU),
					huh.NewOption("none", DockerNone),
				).
				Value(&a.dockerfile),
		).Title("Endpoints and image"),
	)
}

// Options returns the options the last form's answers describe, checked
// (see Options.Normalize).
func (w *Wizard) Options() (Options, error) {
	o := w.defaults
	o.Name = strings.TrimSpace(w.a.name)
	o.Path = strings.TrimSpace(w.a.path)
	o.Description = strings.TrimSpace(w.a.description)
	o.Stateful = w.a.stateful
	o.Dockerfile = w.a.dockerfile
	eps, err := ParseEndpoints(w.a.endpoints, o.Stateful)
	if err != nil {
		return o, &yamlutil.Error{Field: "--endpoints", Msg: err.Error()}
	}
	o.Endpoints = eps
	return o.Normalize()
}

// orDefault is s, or def when s is blank.
func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
