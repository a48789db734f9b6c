package engine_test

import (
	"testing"
	"time"
)

// TestFlowSchemasDescribeTheFlow: an endpoint's published input is the
// first handling executor's input, its output the last one's.
func TestFlowSchemasDescribeTheFlow(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - name: embed
    uses: builtin:HashEmbedder
  - name: index
    uses: builtin:SimpleIndexer
    uses_with: {persist: false}
  - name: norm
    uses: builtin:TextNormalizer
    needs: [index]
`)
	var schemas map[string]any
	waitForLong(t, "discovery", 10*time.Second, func() bool {
		schemas = eng.Endpoints().GetSchemas().AsMap()
		_, ok := schemas["/search"]
		return ok
	})
	name := func(ep, dir string) any {
		s, _ := schemas[ep].(map[string]any)
		m, _ := s[dir].(map[string]any)
		return m["name"]
	}
	// /search: HashEmbedder (default handler) reads TextDoc first; the
	// untyped TextNormalizer runs last, so the output is LegacyDocument
	// (what untyped executors publish, as Jina's worker does).
	if name("/search", "input") != "TextDoc" || name("/search", "output") != "LegacyDocument" {
		t.Errorf("/search: %v -> %v", name("/search", "input"), name("/search", "output"))
	}
	if name("/delete", "input") != "TextDoc" {
		t.Errorf("/delete: %v", name("/delete", "input"))
	}
}

func TestFlowSchemasOutputOfTheLastExecutor(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - name: norm
    uses: builtin:TextNormalizer
  - name: index
    uses: builtin:SimpleIndexer
    uses_with: {persist: false}
`)
	var schemas map[string]any
	waitForLong(t, "discovery", 10*time.Second, func() bool {
		schemas = eng.Endpoints().GetSchemas().AsMap()
		_, ok := schemas["/search"]
		return ok
	})
	s := schemas["/search"].(map[string]any)
	if in, _ := s["input"].(map[string]any); in["name"] != "LegacyDocument" {
		t.Errorf("the untyped TextNormalizer reads /search first: input LegacyDocument, got %v", s["input"])
	}
	// The rest of the entry passes through whole: Jina's gateway reads it.
	for _, k := range []string{"parameters", "is_generator", "is_singleton_doc"} {
		if _, ok := s[k]; !ok {
			t.Errorf("/search entry lacks %q: %v", k, s)
		}
	}
	if out, _ := s["output"].(map[string]any); out["name"] != "SearchResult" {
		t.Errorf("/search output %v", s["output"])
	}
}
