package gateway

import (
	"slices"
	"sort"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/types/known/structpb"
)

// MergeEndpoints builds the gateway's endpoint_discovery answer from what
// each deployment published, in flow order: the union of endpoints and
// write endpoints, and per endpoint one schema entry passed through whole
// (every key the executors publish: input, output, parameters,
// is_generator, is_singleton_doc, ...), so that a Jina gateway using this
// flow as an external executor gets the form its
// _create_pydantic_model_from_schema reads.
//
// Like Jina's gateway (_get_input_output_model_for_endpoint in
// topology_graph.py), an endpoint's "input" and "is_generator" come from
// the first deployment that handles it, every other key from the last
// one; a deployment handles an endpoint when it lists it or, failing that,
// the default endpoint (whose entry is then used).
func MergeEndpoints(discovered []*jinapb.EndpointsProto) *jinapb.EndpointsProto {
	all, writes := map[string]bool{}, map[string]bool{}
	for _, eps := range discovered {
		for _, ep := range eps.GetEndpoints() {
			all[ep] = true
		}
		for _, ep := range eps.GetWriteEndpoints() {
			writes[ep] = true
		}
	}
	schemas := map[string]*structpb.Value{}
	for ep := range all {
		entry := map[string]*structpb.Value{}
		first := true
		for _, eps := range discovered {
			key, ok := handlerOf(eps, ep)
			if !ok {
				continue
			}
			published := eps.GetSchemas().GetFields()[key].GetStructValue().GetFields()
			// A later deployment replaces everything but the first's input
			// and is_generator, also with nothing: an untyped executor
			// that publishes no schema makes the output legacy.
			for k := range entry {
				if k != "input" && k != "is_generator" {
					delete(entry, k)
				}
			}
			for k, v := range published {
				if !first && (k == "input" || k == "is_generator") {
					continue
				}
				entry[k] = v
			}
			first = false
		}
		if len(entry) > 0 {
			schemas[ep] = structpb.NewStructValue(&structpb.Struct{Fields: entry})
		}
	}
	res := &jinapb.EndpointsProto{Endpoints: sortedKeys(all), WriteEndpoints: sortedKeys(writes)}
	if len(schemas) > 0 {
		res.Schemas = &structpb.Struct{Fields: schemas}
	}
	return res
}

// handlerOf reports whether a deployment with these endpoints handles ep,
// and under which endpoint (ep itself, or the default endpoint).
func handlerOf(eps *jinapb.EndpointsProto, ep string) (string, bool) {
	if slices.Contains(eps.GetEndpoints(), ep) {
		return ep, true
	}
	if slices.Contains(eps.GetEndpoints(), executors.DefaultEndpoint) {
		return executors.DefaultEndpoint, true
	}
	return "", false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
