package gateway

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/jig-dev/jig/executors"
)

// legacyDocumentSchema is the JSON Schema of a Document in the HTTP API.
var legacyDocumentSchema = map[string]any{
	"title": "LegacyDocument",
	"type":  "object",
	"properties": map[string]any{
		"id":        map[string]any{"type": "string"},
		"text":      map[string]any{"type": "string"},
		"blob":      map[string]any{"type": "string", "format": "byte"},
		"url":       map[string]any{"type": "string"},
		"tensor":    map[string]any{"description": "nested list of numbers (float32), or {dtype, shape, data|buffer}"},
		"embedding": map[string]any{"description": "list of numbers (float32), or {dtype, shape, data|buffer}"},
		"tags":      map[string]any{"type": "object"},
		"chunks":    map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/LegacyDocument"}},
		"matches":   map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/LegacyDocument"}},
		"scores":    map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "object", "properties": map[string]any{"value": map[string]any{"type": "number"}}}},
	},
	"additionalProperties": true,
}

// openAPI serves an OpenAPI 3 description of the flow's endpoints, with
// each endpoint's input and output document schema when the executors
// publish one (typed documents), else the legacy Document.
func (h *httpGateway) openAPI(w http.ResponseWriter, r *http.Request) {
	eps := h.b.Endpoints()
	schemas := map[string]any{"LegacyDocument": legacyDocumentSchema}
	published := eps.GetSchemas().AsMap()
	paths := map[string]any{}
	for _, ep := range eps.GetEndpoints() {
		if ep == executors.DryRunEndpoint {
			continue
		}
		in, out := "#/components/schemas/LegacyDocument", "#/components/schemas/LegacyDocument"
		if s, ok := published[ep].(map[string]any); ok {
			for key, ref := range map[string]*string{"input": &in, "output": &out} {
				if m, ok := s[key].(map[string]any); ok {
					if name, _ := m["name"].(string); name != "" {
						schemas[name] = m["model"]
						*ref = "#/components/schemas/" + name
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
		"components": map[string]any{"schemas": schemas},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	writeJSON(w, http.StatusOK, b)
}
