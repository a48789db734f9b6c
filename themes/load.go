package themes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a problem in a user theme file, located by line.
type Error struct {
	File string
	Line int // 1-based; 0 when unknown
	Msg  string
}

// Error formats the problem as file:line: message.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Dir returns the folder user themes are read from:
// $XDG_CONFIG_HOME/jig/themes, else ~/.config/jig/themes.
func Dir() string {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "jig", "themes")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".config", "jig", "themes")
	}
	return ""
}

// Load returns the built-in themes followed by the user themes of Dir().
// Problems in user files are returned, not fatal: the workbench shows them
// and carries on with the themes that loaded.
func Load() ([]Theme, []error) {
	return LoadDir(Dir(), Builtin())
}

// LoadDir returns base followed by the themes of every *.yml and *.yaml file
// in dir, sorted by file name. A user theme named like an earlier theme
// replaces it (so a user can restyle "dark"). A file with any problem is
// skipped and each problem is returned as an *Error. A missing dir is not
// an error.
func LoadDir(dir string, base []Theme) ([]Theme, []error) {
	out := slices.Clone(base)
	if dir == "" {
		return out, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return out, nil
		}
		return out, []error{&Error{File: dir, Msg: err.Error()}}
	}
	var errs []error
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, &Error{File: path, Msg: err.Error()})
			continue
		}
		t, ferrs := Parse(path, data, out)
		if len(ferrs) > 0 {
			errs = append(errs, ferrs...)
			continue
		}
		if i := slices.IndexFunc(out, func(o Theme) bool { return strings.EqualFold(o.Name, t.Name) }); i >= 0 {
			out[i] = t
		} else {
			out = append(out, t)
		}
	}
	return out, errs
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse reads one theme file. Tokens the file does not set come from the
// theme named by `extends:` (default "dark") among known. The file format:
//
//	name: solarized          # required
//	extends: dark            # optional
//	dark: true               # optional, defaults to the extended theme's
//	text: {primary: "#839496", secondary: ..., faint: ..., inverted: ...,
//	       accent: ..., error: ..., warning: ..., success: ...}
//	border: {primary: ..., faint: ...}
//	background: {selected: ..., base: ...}
//	log:
//	  levels: {debug: ..., info: ..., warn: ..., error: ...}
//	  sources: ["#268bd2", "#859900", "7"]
//
// Every problem is returned located at its line; unknown keys are errors, so
// a misspelt token does not silently keep the default.
func Parse(file string, data []byte, known []Theme) (Theme, []error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return Theme{}, []error{&Error{File: file, Line: line, Msg: "invalid YAML: " + m[2]}}
		}
		return Theme{}, []error{&Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return Theme{}, []error{&Error{File: file, Line: 1, Msg: "empty theme file"}}
	}
	p := &parser{file: file}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return Theme{}, []error{p.at(root, "want a mapping with name, text, border, background and log")}
	}

	// extends decides the defaults, so read it before anything else.
	t := Dark()
	if n := lookup(root, "extends"); n != nil {
		if base, ok := Find(known, n.Value); ok {
			t = base
		} else {
			p.errs = append(p.errs, p.at(n, "extends: unknown theme %q", n.Value))
		}
	}
	t.Name, t.File = "", file

	p.mapping(root, "", map[string]func(*yaml.Node){
		"name":    func(n *yaml.Node) { t.Name = p.scalar(n, "name") },
		"extends": func(*yaml.Node) {},
		"dark": func(n *yaml.Node) {
			b, err := strconv.ParseBool(n.Value)
			if n.Kind != yaml.ScalarNode || err != nil {
				p.errs = append(p.errs, p.at(n, "dark: want true or false"))
			}
			t.Dark = b
		},
		"text": func(n *yaml.Node) {
			p.mapping(n, "text.", map[string]func(*yaml.Node){
				"primary":   p.color(&t.Text.Primary, "text.primary"),
				"secondary": p.color(&t.Text.Secondary, "text.secondary"),
				"faint":     p.color(&t.Text.Faint, "text.faint"),
				"inverted":  p.color(&t.Text.Inverted, "text.inverted"),
				"accent":    p.color(&t.Text.Accent, "text.accent"),
				"error":     p.color(&t.Text.Error, "text.error"),
				"warning":   p.color(&t.Text.Warning, "text.warning"),
				"success":   p.color(&t.Text.Success, "text.success"),
			})
		},
		"border": func(n *yaml.Node) {
			p.mapping(n, "border.", map[string]func(*yaml.Node){
				"primary": p.color(&t.Border.Primary, "border.primary"),
				"faint":   p.color(&t.Border.Faint, "border.faint"),
			})
		},
		"background": func(n *yaml.Node) {
			p.mapping(n, "background.", map[string]func(*yaml.Node){
				"selected": p.color(&t.Background.Selected, "background.selected"),
				"base":     p.color(&t.Background.Base, "background.base"),
			})
		},
		"log": func(n *yaml.Node) {
			p.mapping(n, "log.", map[string]func(*yaml.Node){
				"levels": func(n *yaml.Node) {
					p.mapping(n, "log.levels.", map[string]func(*yaml.Node){
						"debug": p.color(&t.Levels.Debug, "log.levels.debug"),
						"info":  p.color(&t.Levels.Info, "log.levels.info"),
						"warn":  p.color(&t.Levels.Warn, "log.levels.warn"),
						"error": p.color(&t.Levels.Error, "log.levels.error"),
					})
				},
				"sources": func(n *yaml.Node) {
					if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
						p.errs = append(p.errs, p.at(n, "log.sources: want a non-empty list of colours"))
						return
					}
					src := make([]string, len(n.Content))
					for i, c := range n.Content {
						p.color(&src[i], fmt.Sprintf("log.sources[%d]", i))(c)
					}
					t.Sources = src
				},
			})
		},
	})
	if t.Name == "" && lookup(root, "name") == nil {
		p.errs = append(p.errs, &Error{File: file, Line: root.Line, Msg: "name: missing (every theme needs a name)"})
	}
	if len(p.errs) > 0 {
		return Theme{}, p.errs
	}
	return t, nil
}

type parser struct {
	file string
	errs []error
}

func (p *parser) at(n *yaml.Node, format string, args ...any) *Error {
	return &Error{File: p.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

// mapping calls fields[key] for every key of n and reports unknown keys.
func (p *parser) mapping(n *yaml.Node, prefix string, fields map[string]func(*yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errs = append(p.errs, p.at(n, "%s: want a mapping", strings.TrimSuffix(prefix, ".")))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := fields[k.Value]
		if !ok {
			keys := make([]string, 0, len(fields))
			for name := range fields {
				keys = append(keys, name)
			}
			slices.Sort(keys)
			p.errs = append(p.errs, p.at(k, "%s%s: unknown key (known: %s)", prefix, k.Value, strings.Join(keys, ", ")))
			continue
		}
		f(v)
	}
}

func (p *parser) scalar(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Value == "" {
		p.errs = append(p.errs, p.at(n, "%s: want a non-empty string", field))
		return ""
	}
	return n.Value
}

func (p *parser) color(dst *string, field string) func(*yaml.Node) {
	return func(n *yaml.Node) {
		v := p.scalar(n, field)
		if v == "" {
			return
		}
		if err := ValidColor(v); err != nil {
			p.errs = append(p.errs, p.at(n, "%s: %v", field, err))
			return
		}
		*dst = v
	}
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

var hexRe = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// ValidColor checks a colour token: "#rgb", "#rrggbb" or an ANSI index
// 0..255.
func ValidColor(s string) error {
	if hexRe.MatchString(s) {
		return nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 255 {
		return nil
	}
	return fmt.Errorf("%q is not a colour (want #rgb, #rrggbb or 0..255)", s)
}
