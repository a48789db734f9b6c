package request

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/jig-dev/jig/executors/docarray"
	"gopkg.in/yaml.v3"
)

// ParseParameters parses request parameters written as JSON (text starting
// with "{") or YAML. They must be a mapping. Errors name the line (and
// column for JSON), so the pane can show them under the editor as the
// user types.
func ParseParameters(text string) (map[string]any, error) {
	t := strings.TrimSpace(text)
	if t == "" {
		return nil, nil
	}
	if strings.HasPrefix(t, "{") {
		var out map[string]any
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return nil, jsonError(text, err)
		}
		if dec.More() {
			off := dec.InputOffset()
			line, col := lineCol(text, int(off))
			return nil, fmt.Errorf("JSON line %d col %d: text after the object", line, col)
		}
		return normalise(out).(map[string]any), nil
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(text), &node); err != nil {
		return nil, fmt.Errorf("YAML %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(node.Content) == 0 {
		return nil, nil
	}
	root := node.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("YAML line %d: parameters must be a mapping (key: value)", root.Line)
	}
	var out map[string]any
	if err := root.Decode(&out); err != nil {
		return nil, fmt.Errorf("YAML %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return normalise(out).(map[string]any), nil
}

// normalise turns json.Number into int64 or float64 and YAML's
// map[any]any... into map[string]any, so parameters convert to a
// protobuf Struct.
func normalise(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normalise(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = normalise(x)
		}
		return v
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case int:
		return int64(v)
	}
	return v
}

func jsonError(text string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		line, col := lineCol(text, len(strings.TrimRight(text, " \t\r\n")))
		return fmt.Errorf("JSON line %d col %d: unexpected end (a } or ] is missing)", line, col)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(text, int(se.Offset))
		return fmt.Errorf("JSON line %d col %d: %s", line, col, se.Error())
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line, col := lineCol(text, int(te.Offset))
		return fmt.Errorf("JSON line %d col %d: parameters must be an object, not %s", line, col, te.Value)
	}
	return fmt.Errorf("JSON: %v", err)
}

func lineCol(text string, off int) (int, int) {
	off = min(off, len(text))
	before := text[:off]
	line := strings.Count(before, "\n") + 1
	col := off - strings.LastIndexByte(before, '\n')
	return line, col
}

// ParseDocLines turns the composer's text into documents: one document per
// non-empty line, plain text, or a JSON document when the line starts
// with "{" (docarray's JSON: {"text": ..., "tags": {...}}).
func ParseDocLines(text string) (docarray.DocList, error) {
	var out docarray.DocList
	for i, line := range strings.Split(text, "\n") {
		l := strings.TrimSpace(line)
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "{") {
			d := &docarray.Document{}
			if err := json.Unmarshal([]byte(l), d); err != nil {
				return nil, fmt.Errorf("docs line %d: %v", i+1, err)
			}
			if d.ID == "" {
				d.ID = docarray.NewID()
			}
			out = append(out, d)
			continue
		}
		out = append(out, docarray.New(line))
	}
	return out, nil
}

// ReadJSONL reads documents from a JSON-lines file (one docarray JSON
// document per line).
func ReadJSONL(path string) (docarray.DocList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out docarray.DocList
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 {
			continue
		}
		d := &docarray.Document{}
		if err := json.Unmarshal(l, d); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if d.ID == "" {
			d.ID = docarray.NewID()
		}
		out = append(out, d)
	}
	return out, sc.Err()
}

// Generate returns n documents "doc 0" ... "doc n-1" (the composer's and
// `jig post --n`'s generated documents).
func Generate(n int) docarray.DocList {
	out := make(docarray.DocList, n)
	for i := range out {
		out[i] = docarray.New("doc " + strconv.Itoa(i))
	}
	return out
}

// Template returns a JSON document line with the schema's fields, typed
// placeholders for the user to fill in; the id is left out (every document
// gets one) unless the schema requires it.
func Template(fields []Field) string {
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	for _, f := range fields {
		if f.Name == "id" && !f.Required {
			continue
		}
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		b.WriteString(strconv.Quote(f.Name))
		b.WriteString(": ")
		switch f.Type {
		case "integer", "number":
			b.WriteString("0")
		case "boolean":
			b.WriteString("false")
		case "array":
			b.WriteString("[]")
		case "object":
			b.WriteString("{}")
		default:
			b.WriteString(`""`)
		}
	}
	b.WriteByte('}')
	return b.String()
}
