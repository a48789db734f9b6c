package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/huh"
	"github.com/jig-dev/jig/scaffold"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() {
	subcommands = append(subcommands, newNewCmd)
}

func newNewCmd() *cobra.Command {
	var (
		o          scaffold.Options
		dockerfile string
		yes        bool
	)
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Scaffold a new Go executor",
		Long: `Scaffold a new Go executor: a folder with executor.go (the type, its
endpoints and handlers), executor_test.go, config.yml, README.md, a
Dockerfile and a go.mod wired to this jig checkout, so that go test ./...
and jig serve FOLDER work in it at once.

On a terminal it asks with a form, starting from the flags; --yes (or no
terminal) takes the flags and the defaults without asking. It refuses a
folder that is not empty unless --force.

The jig checkout the executor builds against is --jig-path, else $JIG_ROOT,
else the checkout this jig was built from.`,
		Example: `  jig new
  jig new --yes --name Greeter --path /tmp/greeter
  jig new --yes --name Counter --stateful --endpoints /hello,/bye --dockerfile none`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dockerfile != "" {
				d, err := scaffold.ParseDockerfile(dockerfile)
				if err != nil {
					return &usageError{fmt.Errorf("--dockerfile: %w", err)}
				}
				o.Dockerfile = d
			}
			if !yes && interactive(cmd) {
				w := scaffold.NewWizard(o)
				form := w.Form().WithAccessible(os.Getenv("ACCESSIBLE") != "")
				if err := form.RunWithContext(cmd.Context()); err != nil {
					if errors.Is(err, huh.ErrUserAborted) {
						return errors.New("cancelled: nothing was written")
					}
					return fmt.Errorf("wizard: %w", err)
				}
				opts, err := w.Options()
				if err != nil {
					return err
				}
				o = opts
			} else if o.Name == "" && !yes {
				return &usageError{errors.New("no terminal to ask on: pass --name (and the other answers as flags), or --yes for the defaults")}
			}
			res, err := scaffold.Generate(cmd.Context(), o)
			if err != nil {
				return err
			}
			printCreated(cmd.OutOrStdout(), res)
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Name, "name", "", "executor name, the Go type and jtype, in CamelCase (default "+scaffold.DefaultName+")")
	fl.StringVar(&o.Path, "path", "", "folder to write (default: the name in kebab case, in the working directory)")
	fl.StringVar(&o.Description, "description", "", "one-line description (metas.description, README)")
	fl.StringSliceVar(&o.Endpoints, "endpoints", nil, "read endpoints besides /default, each with its own handler, e.g. /hello,/bye")
	fl.BoolVar(&o.Stateful, "stateful", false, "add the write endpoint "+scaffold.WriteEndpoint+" and Snapshot/Restore, for stateful (RAFT) deployments")
	fl.StringVar(&dockerfile, "dockerfile", "", "Dockerfile template: cpu (static, distroless), gpu (CUDA runtime) or none (default cpu)")
	fl.BoolVarP(&yes, "yes", "y", false, "do not ask: take the flags and the defaults")
	fl.BoolVar(&o.Force, "force", false, "write into a folder that is not empty (files with the generated names are overwritten)")
	fl.StringVar(&o.Module, "module", "", "Go module path (default example.com/<kebab name>)")
	fl.StringVar(&o.JigRoot, "jig-path", "", "jig checkout to build against (default $"+scaffold.RootEnv+", else the one this jig was built from)")
	fl.BoolVar(&o.NoTidy, "no-tidy", false, "skip go mod tidy: go.mod keeps all of jig's requirements (builds offline)")
	return cmd
}

// interactive reports whether the wizard can ask: stdin and stdout are
// terminals.
func interactive(cmd *cobra.Command) bool {
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return false
	}
	out, ok := cmd.OutOrStdout().(*os.File)
	return ok && term.IsTerminal(int(out.Fd()))
}

// printCreated tells what was written and what to do next.
func printCreated(w io.Writer, res scaffold.Result) {
	fmt.Fprintf(w, "Created executor %s in %s\n", res.Name, res.Dir)
	for _, f := range res.Files {
		fmt.Fprintf(w, "  %s\n", f)
	}
	dir := res.Dir
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, res.Dir); err == nil && !strings.HasPrefix(rel, "..") && len(rel)+2 < len(dir) {
			dir = "./" + rel
		}
	}
	fmt.Fprintf(w, "\nNext:\n  cd %s && go test ./...\n  jig serve %s --port 12345\n  jig post grpc://127.0.0.1:12345 --on /default --text world\n", shellQuote(dir), shellQuote(dir))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r == '+' ||
			('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9'))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
