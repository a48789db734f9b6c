package docarray

import (
	_ "embed" // legacy_schema.json
	"encoding/json"
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
//
// The schema never refers to a type from inside that type's own definition,
// directly or through others: Jina's gateway builds pydantic models from it
// (_create_pydantic_model_from_schema in jina/serve/runtimes/helper.py),
// which follows every $ref before caching the model, so a cycle recurses
// until Python gives up and the gateway retries forever. A field that would
// close a cycle is published as an untyped value instead ({} for a nested
// doc, {"type": "array", "items": {}} for a doc list) — what docarray
// itself publishes for LegacyDocument's chunks and matches.
type schemaGen struct {
	defs   map[string]any
	names  map[*structCodec]string
	taken  map[string]bool
	active map[*structCodec]bool // types whose schema is being built
}

func newSchemaGen() *schemaGen {
	return &schemaGen{defs: map[string]any{}, names: map[*structCodec]string{}, taken: map[string]bool{}, active: map[*structCodec]bool{}}
}

// top returns the schema of sc as a top-level model.
func (g *schemaGen) top(sc *structCodec) map[string]any {
	name := g.unique(sc.name)
	g.names[sc] = name
	obj := g.object(sc, name)
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

// ref returns a reference to sc, defining it on first use, or an untyped
// schema ({}) when sc is being defined: a reference there would be a cycle.
func (g *schemaGen) ref(sc *structCodec) map[string]any {
	if g.active[sc] {
		return map[string]any{}
	}
	name, ok := g.names[sc]
	if !ok {
		name = g.unique(sc.name)
		g.names[sc] = name
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
	g.active[sc] = true
	defer delete(g.active, sc)
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

// legacySchemaJSON is LegacyDocument.schema() as docarray 0.40.2 writes
// it, captured by interop/fixtures/gen_docarray.py. Jina's gateway compares
// a published input schema with this one for equality to pick the
// LegacyDocument class, so it is published verbatim. Its chunks and matches
// are untyped arrays ({"items": {}}), never a reference to itself.
//
//go:embed legacy_schema.json
var legacySchemaJSON []byte

var legacySchema = func() map[string]any {
	var m map[string]any
	if err := json.Unmarshal(legacySchemaJSON, &m); err != nil {
		panic("docarray: embedded legacy_schema.json: " + err.Error())
	}
	return m
}()

// LegacySchema returns the JSON Schema of the untyped Document
// (LegacyDocument), exactly as docarray publishes it; each call returns a
// fresh copy the caller may change.
func LegacySchema() map[string]any {
	return cloneSchema(legacySchema).(map[string]any)
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
