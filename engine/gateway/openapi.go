package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

// openAPI serves an OpenAPI 3 description of the flow's endpoints, with
// each endpoint's input and output document schema when the executors
// publish one (typed documents), else the legacy Document.
func (h *httpGateway) openAPI(w http.ResponseWriter, r *http.Request) {
	eps := h.b.Endpoints()
	comps := &components{schemas: map[string]any{}}
	legacy := comps.add(docarray.LegacyName, docarray.LegacySchema())
	published := eps.GetSchemas().AsMap()
	paths := map[string]any{}
	for _, ep := range eps.GetEndpoints() {
		if ep == executors.DryRunEndpoint {
			continue
		}
		in, out := legacy, legacy
		if s, ok := published[ep].(map[string]any); ok {
			for key, ref := range map[string]*string{"input": &in, "output": &out} {
				if m, ok := s[key].(map[string]any); ok {
					name, _ := m["name"].(string)
					model, _ := m["model"].(map[string]any)
					if name != "" && model != nil {
						*ref = comps.add(name, model)
					}
				}
			}
		}
		request := map[string]any{"type": "object", "properties": map[string]any{
			"data":       map[string]any{"type": "array", "items": map[string]any{"$ref": in}},
			"parameters": map[string]any{"type": "object"},
			"header":     map[string]any{"type": "object", "properties": map[string]any{"targetExecutor": map[string]any{"type": "string"}, "requestId": map[string]any{"type": "string"}}},
		}}
		response := map[string]any{"type": "object", "properties": map[string]any{
			"data":       map[string]any{"type": "array", "items": map[string]any{"$ref": out}},
			"parameters": map[string]any{"type": "object"},
			"header":     map[string]any{"type": "object"},
			"routes":     map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
		}}
		paths["/"+strings.TrimPrefix(ep, "/")] = map[string]any{"post": map[string]any{
			"summary":     "Send documents to " + ep,
			"operationId": "post" + strings.NewReplacer("/", "_", "-", "_").Replace(ep),
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": request}}},
			"responses": map[string]any{
				"200": map[string]any{"description": "processed", "content": map[string]any{"application/json": map[string]any{"schema": response}}},
				"400": map[string]any{"description": "invalid request body"},
				"500": map[string]any{"description": "an executor failed (header.status holds the exception)"},
				"503": map[string]any{"description": "an executor cannot be reached"},
				"504": map[string]any{"description": "an executor timed out (timeout_send)"},
			},
		}}
	}
	for path, summary := range map[string]string{"/status": "Versions and environment", "/dry_run": "Whether every executor is ready", "/endpoints": "Endpoints and schemas"} {
		paths[path] = map[string]any{"get": map[string]any{"summary": summary, "responses": map[string]any{"200": map[string]any{"description": "ok"}}}}
	}
	title := h.opts.Title
	if title == "" {
		title = "jig flow"
	}
	doc := map[string]any{
		"openapi":    "3.0.3",
		"info":       map[string]any{"title": title, "version": executors.Version, "description": "Jina-compatible HTTP gateway served by jig."},
		"paths":      paths,
		"components": map[string]any{"schemas": comps.schemas},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	writeJSON(w, http.StatusOK, b)
}

// components collects the schemas of an OpenAPI document. Executors
// publish each model with its nested types under "definitions" (pydantic's
// layout, referenced as "#/definitions/<Name>"); OpenAPI wants them all in
// components/schemas, so add hoists them there and rewrites the
// references. Two different models of the same name (from different
// executors) get distinct names.
type components struct {
	schemas map[string]any
}

const (
	defsPrefix = "#/definitions/"
	compPrefix = "#/components/schemas/"
)

// add puts model (and its definitions) under name, or a free variant of
// it, and returns the reference to use.
func (c *components) add(name string, model map[string]any) string {
	model, _ = clone(model).(map[string]any)
	defs, _ := model["definitions"].(map[string]any)
	delete(model, "definitions")
	// Choose the final names first (identity unless taken by a different
	// schema), then store everything with its references rewritten.
	rename := map[string]string{name: name}
	order := make([]string, 0, len(defs))
	for n := range defs {
		rename[n] = n
		order = append(order, n)
	}
	sort.Strings(order)
	for _, n := range order {
		if n == name {
			continue // the model itself, referred to recursively
		}
		rename[n] = c.free(n, rewriteRefs(defs[n], rename))
	}
	rename[name] = c.free(name, rewriteRefs(model, rename))
	for _, n := range order {
		if n != name {
			c.schemas[rename[n]] = rewriteRefs(defs[n], rename)
		}
	}
	c.schemas[rename[name]] = rewriteRefs(model, rename)
	return compPrefix + rename[name]
}

// free returns name if it is unused or already holds schema, else the
// first name_2, name_3, ... that is.
func (c *components) free(name string, schema any) string {
	n := name
	for i := 2; ; i++ {
		existing, taken := c.schemas[n]
		if !taken || reflect.DeepEqual(existing, schema) {
			return n
		}
		n = fmt.Sprintf("%s_%d", name, i)
	}
}

// rewriteRefs returns a copy of v with "#/definitions/X" references turned
// into "#/components/schemas/<rename[X]>".
func rewriteRefs(v any, rename map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" && strings.HasPrefix(s, defsPrefix) {
				target := strings.TrimPrefix(s, defsPrefix)
				if r, ok := rename[target]; ok {
					target = r
				}
				out[k] = compPrefix + target
				continue
			}
			out[k] = rewriteRefs(e, rename)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rewriteRefs(e, rename)
		}
		return out
	}
	return v
}

// clone deep-copies a JSON value.
func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = clone(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clone(e)
		}
		return out
	}
	return v
}
