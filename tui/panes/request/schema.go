package request

import (
	"sort"
	"strings"
)

// FieldsOf returns the top-level fields of an input document schema — the
// "model" endpoint discovery publishes for a typed endpoint (pydantic's
// shape: properties, required, nested models under definitions) — sorted
// by name. A reference to a nested model reads as an "object" field; the
// id every typed document has is left out unless it is required, since
// the composer fills it in.
func FieldsOf(model map[string]any) []Field {
	props, _ := model["properties"].(map[string]any)
	required := map[string]bool{}
	if req, ok := model["required"].([]any); ok {
		for _, r := range req {
			if s, ok := r.(string); ok {
				required[s] = true
			}
		}
	}
	var out []Field
	for name, v := range props {
		if name == "id" && !required[name] {
			continue
		}
		p, _ := v.(map[string]any)
		f := Field{Name: name, Type: jsonType(p), Required: required[name]}
		f.Description, _ = p["description"].(string)
		if f.Type == "array" {
			items, _ := p["items"].(map[string]any)
			f.Items = jsonType(items)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// jsonType is the JSON Schema type of s: its "type", "object" for a model
// reference, the first non-null alternative of an anyOf.
func jsonType(s map[string]any) string {
	if s == nil {
		return ""
	}
	if t, ok := s["type"].(string); ok {
		return t
	}
	if _, ok := s["$ref"]; ok {
		return "object"
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		alts, _ := s[key].([]any)
		for _, a := range alts {
			if m, ok := a.(map[string]any); ok {
				if t := jsonType(m); t != "" && t != "null" {
					return t
				}
			}
		}
	}
	return ""
}

// fieldList renders fields for the composer: "text*, price" with required
// fields marked.
func fieldList(fs []Field) (list string, anyRequired bool) {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
		if f.Required {
			names[i] += "*"
			anyRequired = true
		}
	}
	return strings.Join(names, ", "), anyRequired
}
