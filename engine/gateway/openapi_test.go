package gateway

import (
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
)

type oaReview struct {
	Text  string `doc:"text"`
	Stars int    `doc:"stars"`
}

// Two different types named "Doc", as two executors may publish.
type Doc struct {
	Title   string     `doc:"text,required"`
	Reviews []oaReview `doc:"chunks"`
	Related []Doc      `doc:"related"` // recursive
}

type otherDoc struct {
	Price float64 `doc:"price"`
}

func modelOf[T any](t *testing.T, name string) map[string]any {
	t.Helper()
	c, err := docarray.CodecOf[T]()
	if err != nil {
		t.Fatal(err)
	}
	if name == "" {
		name = c.Name()
	}
	return map[string]any{"name": name, "model": c.Schema()}
}

func TestOpenAPIHoistsTypedSchemas(t *testing.T) {
	b := newBackend()
	b.endpoints = &jinapb.EndpointsProto{
		Endpoints: []string{"/a", "/b", "/legacy"},
		Schemas: newStruct(t, map[string]any{
			"/a": map[string]any{"input": modelOf[Doc](t, ""), "output": modelOf[Doc](t, "")},
			"/b": map[string]any{"input": modelOf[otherDoc](t, "Doc")},
		}),
	}
	res := do(t, NewHTTP(b, HTTPOptions{}), "GET", "/docs", "")
	if res.code != 200 {
		t.Fatalf("code %d", res.code)
	}
	schemas, _ := get(res.body, "components", "schemas").(map[string]any)
	ref := func(ep string) string {
		r, _ := get(res.body, "paths", ep, "post", "requestBody", "content", "application/json", "schema", "properties", "data", "items", "$ref").(string)
		return r
	}
	if ref("/a") != "#/components/schemas/Doc" || ref("/b") != "#/components/schemas/Doc_2" || ref("/legacy") != "#/components/schemas/LegacyDocument" {
		t.Errorf("refs /a %s, /b %s, /legacy %s", ref("/a"), ref("/b"), ref("/legacy"))
	}
	if get(schemas, "Doc", "properties", "text", "type") != "string" || get(schemas, "Doc_2", "properties", "price", "type") != "number" {
		t.Errorf("components: %v", keys(schemas))
	}
	if schemas["oaReview"] == nil {
		t.Errorf("nested definitions are hoisted: %v", keys(schemas))
	}
	if get(schemas, "Doc", "definitions") != nil {
		t.Error("definitions must not stay inside a component")
	}
	// A self-referencing field is published untyped (items {}): Jina's
	// gateway cannot follow a reference cycle.
	if items, ok := get(schemas, "Doc", "properties", "related", "items").(map[string]any); !ok || len(items) != 0 {
		t.Errorf("recursive field: %v", get(schemas, "Doc", "properties", "related"))
	}
	// Every reference resolves inside the document.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "$ref" {
					if !strings.HasPrefix(s, "#/components/schemas/") || schemas[strings.TrimPrefix(s, "#/components/schemas/")] == nil {
						t.Errorf("dangling $ref %s", s)
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(res.body)
}
