package docarray

import (
	"fmt"
	"strings"
	"unicode"
)

// LegacyName is the schema name of the untyped Document (docarray's
// LegacyDocument).
const LegacyName = "LegacyDocument"

// idDescription documents the id every typed document has, declared or not.
const idDescription = "The document ID; generated when missing. Responses keep the ID of the input document."

// schemaGen builds the JSON Schema of one top-level typed document, with
// the nested types it refers to under "definitions" (pydantic v1's layout,
// which docarray and Jina publish and read back).
type schemaGen struct {
	defs   map[string]any
	names  map[*structCodec]string
	taken  map[string]bool
	topSC  *structCodec
	topRef bool // the top type refers to itself (recursive)
}

func newSchemaGen() *schemaGen {
	return &schemaGen{defs: map[string]any{}, names: map[*structCodec]string{}, taken: map[string]bool{}}
}

// top returns the schema of sc as a top-level model.
func (g *schemaGen) top(sc *structCodec) map[string]any {
	g.topSC = sc
	name := g.unique(sc.name)
	g.names[sc] = name
	obj := g.object(sc, name)
	if g.topRef {
		g.defs[name] = cloneSchema(obj)
	}
	if len(g.defs) > 0 {
		obj["definitions"] = g.defs
	}
	return obj
}

// unique returns name, or name_2, name_3... when another type already has
// it (two types of the same name from different packages).
func (g *schemaGen) unique(name string) string {
	n := name
	for i := 2; g.taken[n]; i++ {
		n = fmt.Sprintf("%s_%d", name, i)
	}
	g.taken[n] = true
	return n
}

// ref returns a reference to sc, defining it on first use.
func (g *schemaGen) ref(sc *structCodec) map[string]any {
	if sc == g.topSC {
		g.topRef = true
	}
	name, ok := g.names[sc]
	if !ok {
		name = g.unique(sc.name)
		g.names[sc] = name
		g.defs[name] = map[string]any{} // placeholder while recursing
		g.defs[name] = g.object(sc, name)
	}
	return map[string]any{"$ref": "#/definitions/" + name}
}

// legacyRef returns a reference to the untyped Document's schema.
func (g *schemaGen) legacyRef() map[string]any {
	if _, ok := g.defs[LegacyName]; !ok {
		g.taken[LegacyName] = true
		g.defs[LegacyName] = LegacySchema()
	}
	return map[string]any{"$ref": "#/definitions/" + LegacyName}
}

func (g *schemaGen) object(sc *structCodec, name string) map[string]any {
	props := map[string]any{}
	var required []any
	if sc.idField == nil {
		props[keyID] = map[string]any{"title": "Id", "type": "string", "description": idDescription}
	}
	for _, f := range sc.fields {
		s := f.vc.schema(g)
		p := s
		if _, isRef := s["$ref"]; isRef {
			// A $ref ignores its siblings (draft 7), so pydantic wraps it
			// to add a title; Jina reads the reference from allOf[0].
			p = map[string]any{"allOf": []any{s}}
		}
		p["title"] = title(f.key)
		switch {
		case f.desc != "":
			p["description"] = f.desc
		case f.key == keyID:
			p["description"] = idDescription
		}
		props[f.key] = p
		if f.required {
			required = append(required, f.key)
		}
	}
	obj := map[string]any{"title": name, "type": "object", "properties": props}
	if len(required) > 0 {
		obj["required"] = required
	}
	if sc.whole != nil {
		obj["additionalProperties"] = true
	}
	return obj
}

// title is pydantic's field title: "image_url" → "Image Url".
func title(key string) string {
	words := strings.FieldsFunc(key, func(r rune) bool { return r == '_' })
	for i, w := range words {
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	return strings.Join(words, " ")
}

// ndarraySchema is docarray's schema of a tensor field; "tensor/array
// shape" tells Jina's schema reader that it is a tensor, not a list.
func ndarraySchema(dtype string) map[string]any {
	s := map[string]any{
		"type":               "array",
		"items":              map[string]any{"type": "number"},
		"tensor/array shape": "not specified",
	}
	if dtype != "" {
		s["x-dtype"] = dtype
	}
	return s
}

func scoreSchema() map[string]any {
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"value":       map[string]any{"type": "number"},
			"op_name":     map[string]any{"type": "string"},
			"description": map[string]any{"type": "string"},
			"ref_id":      map[string]any{"type": "string"},
		},
	}
}

// LegacySchema returns the JSON Schema of the untyped Document
// (LegacyDocument). Its chunks and matches refer to
// "#/definitions/LegacyDocument", i.e. to itself under that name.
func LegacySchema() map[string]any {
	self := func() map[string]any {
		return map[string]any{"type": "array", "items": map[string]any{"$ref": "#/definitions/" + LegacyName}}
	}
	prop := func(t string, s map[string]any) map[string]any {
		s["title"] = t
		return s
	}
	return map[string]any{
		"title": LegacyName,
		"type":  "object",
		"properties": map[string]any{
			"id":        prop("Id", map[string]any{"type": "string", "description": idDescription}),
			"text":      prop("Text", map[string]any{"type": "string"}),
			"blob":      prop("Blob", map[string]any{"type": "string", "format": "byte", "description": "binary content (base64 in JSON)"}),
			"url":       prop("Url", map[string]any{"type": "string"}),
			"tensor":    prop("Tensor", ndarraySchema("")),
			"embedding": prop("Embedding", ndarraySchema("")),
			"tags":      prop("Tags", map[string]any{"type": "object"}),
			"chunks":    prop("Chunks", self()),
			"matches":   prop("Matches", self()),
			"scores":    prop("Scores", map[string]any{"type": "object", "additionalProperties": scoreSchema()}),
		},
		"additionalProperties": true,
	}
}

// cloneSchema deep-copies a JSON value made of maps and lists.
func cloneSchema(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneSchema(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneSchema(e)
		}
		return out
	}
	return v
}
