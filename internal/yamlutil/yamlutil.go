// Package yamlutil loads YAML configuration strictly: unknown keys and
// wrong types are errors that name the file, line, column and field path,
// so a typo in a flow or executor YAML is reported where it is instead of
// being silently ignored.
package yamlutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/jig-dev/jig/internal/badinput"

	"gopkg.in/yaml.v3"
)

// ErrBadInput is matched (errors.Is) by every *Error: the configuration is
// wrong, not the system, so CLIs exit with code 2. It is badinput.Err, the
// one sentinel the client and the flag parsers share.
var ErrBadInput = badinput.Err

// Error is a configuration error located in a file.
type Error struct {
	File   string // file name as given, "" for inline text
	Line   int    // 1-based, 0 when unknown
	Column int    // 1-based, 0 when unknown
	Field  string // dotted path such as executors[1].replicas
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" || e.Line > 0 {
		if e.File != "" {
			b.WriteString(e.File)
		} else {
			b.WriteString("<inline>")
		}
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes errors.Is(err, ErrBadInput) true.
func (e *Error) Is(target error) bool { return target == ErrBadInput }

// At returns an *Error located at node.
func At(file string, node *yaml.Node, field, format string, args ...any) *Error {
	e := &Error{File: file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if node != nil {
		e.Line, e.Column = node.Line, node.Column
	}
	return e
}

// LoadFile reads and parses a YAML file into its content node. A file
// that does not exist, is a folder or cannot be read is the user's input
// (an *Error, exit code 2), like its content.
func LoadFile(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := "cannot read: " + err.Error()
		var pe *fs.PathError
		switch {
		case errors.Is(err, fs.ErrNotExist):
			msg = "no such file"
		case errors.Is(err, fs.ErrPermission):
			msg = "permission denied"
		case errors.As(err, &pe) && errors.Is(pe.Err, syscall.EISDIR):
			msg = "is a folder, not a YAML file"
		}
		return nil, &Error{File: path, Msg: msg}
	}
	return Parse(path, data)
}

var lineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse parses YAML text. file is used in error messages only. An empty
// document yields an empty mapping.
func Parse(file string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		if m := lineRe.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, &Error{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
		}
		return nil, &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}, nil
	}
	if err := expandEnv(file, doc.Content[0], 0); err != nil {
		return nil, err
	}
	return doc.Content[0], nil
}

// envRe matches Jina's environment references: ${{ ENV.NAME }} (also
// ${{ env.NAME }}), so secrets such as auth tokens stay out of YAML files.
var envRe = regexp.MustCompile(`\$\{\{\s*(?:ENV|env)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// expandEnv replaces environment references in scalar values. An unset
// variable is an error at its line, rather than a silent empty string.
func expandEnv(file string, n *yaml.Node, depth int) error {
	if depth > 1000 {
		return At(file, n, "", "nesting is too deep")
	}
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${{") {
		var missing string
		n.Value = envRe.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := envRe.FindStringSubmatch(m)[1]
			v, ok := os.LookupEnv(name)
			if !ok && missing == "" {
				missing = name
			}
			return v
		})
		if missing != "" {
			return At(file, n, "", "environment variable %s is not set", missing)
		}
		// A plain (unquoted) value is typed by what it expands to: port:
		// ${{ ENV.PORT }} is an integer. Quoted values stay strings.
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = ""
		}
		return nil
	}
	for _, c := range n.Content {
		if err := expandEnv(file, c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// Decode decodes node into out (a pointer) strictly: every mapping key must
// name a field (by its yaml tag), and every scalar must fit its field's
// type. field is the path of node, used in messages ("" for the root).
func Decode(file string, node *yaml.Node, field string, out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("yamlutil.Decode: out must be a non-nil pointer, got %T", out)
	}
	if err := check(file, node, field, rv.Type().Elem(), 0); err != nil {
		return err
	}
	if err := node.Decode(out); err != nil {
		return typeError(file, node, field, err)
	}
	return nil
}

var (
	nodeType        = reflect.TypeOf(yaml.Node{})
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

// check walks node against type t before decoding, to report unknown keys
// and type mismatches with their own line numbers.
func check(file string, node *yaml.Node, field string, t reflect.Type, depth int) error {
	if depth > 100 {
		return At(file, node, field, "nesting is too deep")
	}
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nodeType || reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return nil // custom decoding reports its own errors
	}
	switch t.Kind() {
	case reflect.Interface:
		return nil
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			return At(file, node, field, "want a mapping, got %s", describe(node))
		}
		fields := structFields(t)
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			sub := join(field, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				return At(file, k, sub, "unknown field %q (known: %s)", k.Value, strings.Join(sortedNames(fields), ", "))
			}
			if err := check(file, v, sub, f.Type, depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		if node.Kind != yaml.MappingNode {
			return At(file, node, field, "want a mapping, got %s", describe(node))
		}
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			if err := check(file, v, join(field, k.Value), t.Elem(), depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if node.Kind != yaml.SequenceNode {
			return At(file, node, field, "want a list, got %s", describe(node))
		}
		for i, v := range node.Content {
			if err := check(file, v, fmt.Sprintf("%s[%d]", field, i), t.Elem(), depth+1); err != nil {
				return err
			}
		}
	default:
		if node.Kind != yaml.ScalarNode {
			return At(file, node, field, "want %s, got %s", kindName(t), describe(node))
		}
		// yaml.v3 truncates floats into integer fields (2.5 becomes 2,
		// 1e9 a billion): an integer field takes integer literals only.
		if isInteger(t) && node.ShortTag() != "!!int" {
			return At(file, node, field, "want %s, got %s", kindName(t), describe(node))
		}
		v := reflect.New(t)
		if err := node.Decode(v.Interface()); err != nil {
			return At(file, node, field, "want %s, got %s", kindName(t), describe(node))
		}
	}
	return nil
}

// isInteger reports whether t is a signed or unsigned integer kind
// (time.Duration excluded: it has its own syntax).
func isInteger(t reflect.Type) bool {
	if t.String() == "time.Duration" {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// structFields maps yaml key names to fields, following inline embeds.
func structFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					out[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if f.Anonymous && tag == "" {
			continue // embedded types (like executors.Base) carry no keys
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

func sortedNames(m map[string]reflect.StructField) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return Token(n.Value)
	}
	return "a YAML node"
}

// maxToken is the longest value an error message quotes.
const maxToken = 64

// Token quotes a scalar for an error message, or only describes it when
// it is long or spans lines: a file that is not YAML at all (uses:
// /etc/passwd) parses as one long plain scalar, and its content must not
// be echoed into terminals and logs.
func Token(v string) string {
	if len(v) > maxToken || strings.ContainsAny(v, "\n\r") {
		return fmt.Sprintf("a text of %d bytes", len(v))
	}
	return strconv.Quote(v)
}

func kindName(t reflect.Type) string {
	if t.String() == "time.Duration" {
		return "a duration (like 500ms or 2s)"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "a " + t.String()
}

var unmarshalLineRe = regexp.MustCompile(`line (\d+): (.*)`)

// typeError locates an error from yaml.Node.Decode that check did not
// anticipate (custom unmarshalers, overflow).
func typeError(file string, node *yaml.Node, field string, err error) error {
	var ye *Error
	if errors.As(err, &ye) {
		return ye
	}
	msg := err.Error()
	if m := unmarshalLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Field: field, Msg: m[2]}
	}
	return At(file, node, field, "%s", strings.TrimPrefix(msg, "yaml: "))
}

// FromJSONOrYAML parses a flag value such as --uses-with '{"k": 1}' (JSON is
// YAML) into a node; what names the flag in messages.
func FromJSONOrYAML(what, text string) (*yaml.Node, error) {
	n, err := Parse(what, []byte(text))
	if err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, At(what, n, "", "want a mapping like {\"key\": value}, got %s", describe(n))
	}
	return n, nil
}

// Lookup returns the value node of key in a mapping node, or nil.
func Lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
