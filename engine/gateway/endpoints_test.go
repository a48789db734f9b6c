package gateway

import (
	"slices"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
)

// workerEntry is a schema entry in the form Jina's worker publishes.
func workerEntry(t *testing.T, doc string, gen, single bool) map[string]any {
	model := map[string]any{"title": doc, "type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}}
	return map[string]any{
		"input":            map[string]any{"name": doc, "model": model},
		"output":           map[string]any{"name": doc, "model": model},
		"parameters":       map[string]any{"name": nil, "model": nil},
		"is_generator":     gen,
		"is_singleton_doc": single,
	}
}

func TestMergeEndpointsPassesSchemasWhole(t *testing.T) {
	one := &jinapb.EndpointsProto{
		Endpoints:      []string{"/a", executors.DryRunEndpoint},
		WriteEndpoints: []string{"/a"},
		Schemas: newStruct(t, map[string]any{
			"/a":                     workerEntry(t, "ADoc", false, false),
			executors.DryRunEndpoint: workerEntry(t, "LegacyDocument", false, false),
		}),
	}
	// One deployment: what the gateway publishes is what the worker did.
	got := MergeEndpoints([]*jinapb.EndpointsProto{one})
	if !proto.Equal(got.GetSchemas(), one.GetSchemas()) {
		t.Fatalf("schemas changed:\n got %v\nwant %v", got.GetSchemas(), one.GetSchemas())
	}
	if !slices.Equal(got.GetEndpoints(), []string{"/a", executors.DryRunEndpoint}) || !slices.Equal(got.GetWriteEndpoints(), []string{"/a"}) {
		t.Fatalf("endpoints %v %v", got.GetEndpoints(), got.GetWriteEndpoints())
	}

	// Two deployments on /a (the second by its default endpoint): input
	// and is_generator from the first, the rest from the last.
	second := workerEntry(t, "BDoc", true, true)
	second["parameters"] = map[string]any{"name": "BParams", "model": map[string]any{"type": "object"}}
	two := &jinapb.EndpointsProto{Endpoints: []string{executors.DefaultEndpoint, "/b"}, Schemas: newStruct(t, map[string]any{
		executors.DefaultEndpoint: second,
		"/b":                      workerEntry(t, "BOnly", false, false),
	})}
	got = MergeEndpoints([]*jinapb.EndpointsProto{one, two})
	a := got.GetSchemas().GetFields()["/a"].GetStructValue().AsMap()
	if name, _ := a["input"].(map[string]any)["name"].(string); name != "ADoc" {
		t.Fatalf("input %v", a["input"])
	}
	if name, _ := a["output"].(map[string]any)["name"].(string); name != "BDoc" {
		t.Fatalf("output %v", a["output"])
	}
	if name, _ := a["parameters"].(map[string]any)["name"].(string); name != "BParams" {
		t.Fatalf("parameters %v", a["parameters"])
	}
	if a["is_generator"] != false || a["is_singleton_doc"] != true {
		t.Fatalf("flags %v", a)
	}
	// /b is only the second's; the dry-run endpoint only the first's.
	if b := got.GetSchemas().GetFields()["/b"].GetStructValue(); !proto.Equal(b, newStruct(t, workerEntry(t, "BOnly", false, false))) {
		t.Fatalf("/b %v", b)
	}
	if _, ok := got.GetSchemas().GetFields()[executors.DryRunEndpoint]; !ok {
		t.Fatal("the dry-run endpoint's schema is dropped")
	}
	// Nothing published: no schemas at all.
	if s := MergeEndpoints([]*jinapb.EndpointsProto{{Endpoints: []string{"/x"}}}).GetSchemas(); s != nil {
		t.Fatalf("schemas %v", s)
	}
}
