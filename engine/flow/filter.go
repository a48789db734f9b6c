package flow

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/yamlutil"
	"gopkg.in/yaml.v3"
)

// Filter is a `when:` condition on documents, in docarray's query language
// (MongoDB-style):
//
//	when: {tags__price: {$gte: 10}}
//	when: {$or: [{text: {$regex: "^hello"}}, {tags__lang: {$in: [en, de]}}]}
//
// Field paths use "__" to step into tags and nested values (tags__a__b);
// top-level fields are id, text, url, blob, tags, embedding, tensor,
// chunks, matches, scores and any extra field. Operators: $eq $ne/$neq $gt
// $gte $lt $lte $in $nin $exists $regex $size and the logical $and $or
// $not. Several conditions in one mapping must all hold.
type Filter struct {
	root cond
	text string
}

// String returns the filter as written.
func (f *Filter) String() string { return f.text }

// Match reports whether d passes the filter.
func (f *Filter) Match(d *docarray.Document) bool {
	if f == nil {
		return true
	}
	return f.root.match(d)
}

// Apply returns the documents that pass the filter.
func (f *Filter) Apply(docs docarray.DocList) docarray.DocList {
	if f == nil {
		return docs
	}
	out := make(docarray.DocList, 0, len(docs))
	for _, d := range docs {
		if f.root.match(d) {
			out = append(out, d)
		}
	}
	return out
}

type cond interface {
	match(d *docarray.Document) bool
}

type allOf []cond
type anyOf []cond
type not struct{ c cond }

func (a allOf) match(d *docarray.Document) bool {
	for _, c := range a {
		if !c.match(d) {
			return false
		}
	}
	return true
}

func (a anyOf) match(d *docarray.Document) bool {
	for _, c := range a {
		if c.match(d) {
			return true
		}
	}
	return false
}

func (n not) match(d *docarray.Document) bool { return !n.c.match(d) }

// fieldCond applies operator tests to one field path.
type fieldCond struct {
	path []string
	ops  []op
}

type op struct {
	name string
	arg  any
	re   *regexp.Regexp
}

func (c fieldCond) match(d *docarray.Document) bool {
	v, ok := lookupPath(d, c.path)
	for _, o := range c.ops {
		if !o.test(v, ok) {
			return false
		}
	}
	return true
}

func (o op) test(v any, present bool) bool {
	switch o.name {
	case "$exists":
		return present == o.arg.(bool)
	case "$eq":
		return present && equalValues(v, o.arg)
	case "$ne", "$neq":
		return !present || !equalValues(v, o.arg)
	case "$gt", "$gte", "$lt", "$lte":
		if !present {
			return false
		}
		c, ok := compare(v, o.arg)
		if !ok {
			return false
		}
		switch o.name {
		case "$gt":
			return c > 0
		case "$gte":
			return c >= 0
		case "$lt":
			return c < 0
		}
		return c <= 0
	case "$in", "$nin":
		found := false
		if present {
			for _, a := range o.arg.([]any) {
				if equalValues(v, a) {
					found = true
					break
				}
			}
		}
		return found == (o.name == "$in")
	case "$regex":
		s, ok := v.(string)
		return present && ok && o.re.MatchString(s)
	case "$size":
		if !present {
			return false
		}
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.Slice, reflect.Map, reflect.String:
			n, _ := toFloat(o.arg)
			return float64(rv.Len()) == n
		}
		return false
	}
	return false
}

// lookupPath reads a field path from a document.
func lookupPath(d *docarray.Document, path []string) (any, bool) {
	var v any
	switch path[0] {
	case "id":
		v = d.ID
	case "text":
		v = d.Text
	case "url":
		v = d.URL
	case "blob":
		v = d.Blob
	case "tags":
		v = d.Tags
	case "embedding":
		v = d.Embedding
	case "tensor":
		v = d.Tensor
	case "chunks":
		v = []*docarray.Document(d.Chunks)
	case "matches":
		v = []*docarray.Document(d.Matches)
	case "scores":
		m := map[string]any{}
		for k, s := range d.Scores {
			m[k] = map[string]any{"value": s.Value}
		}
		v = m
	default:
		f, ok := d.Field(path[0])
		if !ok {
			return nil, false
		}
		v = f
	}
	if isZero(v) { // unset fields are absent, as docarray's None
		return nil, false
	}
	for _, k := range path[1:] {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func isZero(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return rv.Len() == 0
	case reflect.Pointer:
		return rv.IsNil()
	}
	return false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func equalValues(a, b any) bool {
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

// compare orders numbers with numbers and strings with strings.
func compare(a, b any) (int, bool) {
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		if !ok {
			return 0, false
		}
		switch {
		case fa < fb:
			return -1, true
		case fa > fb:
			return 1, true
		}
		return 0, true
	}
	sa, ok1 := a.(string)
	sb, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(sa, sb), true
}

// ParseFilter parses a `when:` mapping; errors are located in file.
func ParseFilter(file string, node *yaml.Node, field string) (*Filter, error) {
	c, err := parseCond(file, node, field, 0)
	if err != nil {
		return nil, err
	}
	text, _ := yaml.Marshal(node)
	return &Filter{root: c, text: strings.TrimSpace(string(text))}, nil
}

func parseCond(file string, node *yaml.Node, field string, depth int) (cond, error) {
	if depth > 32 {
		return nil, yamlutil.At(file, node, field, "filter nests too deeply")
	}
	if node.Kind != yaml.MappingNode {
		return nil, yamlutil.At(file, node, field, "want a mapping like {tags__key: {$eq: 5}}")
	}
	var all allOf
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		sub := field + "." + k.Value
		switch k.Value {
		case "$and", "$or":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				return nil, yamlutil.At(file, v, sub, "want a non-empty list of conditions")
			}
			var list []cond
			for j, item := range v.Content {
				c, err := parseCond(file, item, fmt.Sprintf("%s[%d]", sub, j), depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, c)
			}
			if k.Value == "$and" {
				all = append(all, allOf(list))
			} else {
				all = append(all, anyOf(list))
			}
		case "$not":
			c, err := parseCond(file, v, sub, depth+1)
			if err != nil {
				return nil, err
			}
			all = append(all, not{c})
		default:
			if strings.HasPrefix(k.Value, "$") {
				return nil, yamlutil.At(file, k, sub, "unknown logical operator %s (want $and, $or, $not)", k.Value)
			}
			fc, err := parseField(file, k.Value, v, sub)
			if err != nil {
				return nil, err
			}
			all = append(all, fc)
		}
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return all, nil
}

var fieldOps = map[string]bool{"$eq": true, "$ne": true, "$neq": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true, "$in": true, "$nin": true, "$exists": true, "$regex": true, "$size": true}

func parseField(file, path string, node *yaml.Node, field string) (cond, error) {
	if path == "" || strings.Contains(path, "____") {
		return nil, yamlutil.At(file, node, field, "invalid field path %q", path)
	}
	fc := fieldCond{path: strings.Split(path, "__")}
	if node.Kind != yaml.MappingNode {
		// {text: hello} is shorthand for {text: {$eq: hello}}.
		var v any
		if err := node.Decode(&v); err != nil {
			return nil, yamlutil.At(file, node, field, "invalid value: %v", err)
		}
		fc.ops = []op{{name: "$eq", arg: normalize(v)}}
		return fc, nil
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		sub := field + "." + k.Value
		if !fieldOps[k.Value] {
			known := make([]string, 0, len(fieldOps))
			for o := range fieldOps {
				known = append(known, o)
			}
			sort.Strings(known)
			return nil, yamlutil.At(file, k, sub, "unknown operator %s (known: %s)", k.Value, strings.Join(known, " "))
		}
		var arg any
		if err := v.Decode(&arg); err != nil {
			return nil, yamlutil.At(file, v, sub, "invalid value: %v", err)
		}
		arg = normalize(arg)
		o := op{name: k.Value, arg: arg}
		switch k.Value {
		case "$exists":
			if _, ok := arg.(bool); !ok {
				return nil, yamlutil.At(file, v, sub, "want true or false")
			}
		case "$in", "$nin":
			if _, ok := arg.([]any); !ok {
				return nil, yamlutil.At(file, v, sub, "want a list")
			}
		case "$regex":
			s, ok := arg.(string)
			if !ok {
				return nil, yamlutil.At(file, v, sub, "want a regular expression string")
			}
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, yamlutil.At(file, v, sub, "invalid regular expression: %v", err)
			}
			o.re = re
		case "$size":
			if _, ok := toFloat(arg); !ok {
				return nil, yamlutil.At(file, v, sub, "want a number")
			}
		case "$gt", "$gte", "$lt", "$lte":
			if _, isNum := toFloat(arg); !isNum {
				if _, isStr := arg.(string); !isStr {
					return nil, yamlutil.At(file, v, sub, "want a number or a string")
				}
			}
		}
		fc.ops = append(fc.ops, o)
	}
	return fc, nil
}

// normalize turns YAML-decoded values into the types documents hold
// (int64 for integers, []any, map[string]any).
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalize(x[k])
		}
	}
	return v
}

// Fields returns the top-level document fields the filter reads (the
// first step of each condition's path: "tags" for tags__a__b), each once,
// so the documents can be decoded only as far as the filter needs.
func (f *Filter) Fields() []string {
	if f == nil {
		return nil
	}
	var out []string
	var walk func(c cond)
	walk = func(c cond) {
		switch c := c.(type) {
		case allOf:
			for _, x := range c {
				walk(x)
			}
		case anyOf:
			for _, x := range c {
				walk(x)
			}
		case not:
			walk(c.c)
		case fieldCond:
			if !slices.Contains(out, c.path[0]) {
				out = append(out, c.path[0])
			}
		}
	}
	walk(f.root)
	return out
}
