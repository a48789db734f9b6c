package router

import (
	"strings"

	"google.golang.org/protobuf/types/known/structpb"
)

// specificSeparator joins an executor name and a key: "NAME__key".
const specificSeparator = "__"

// SpecificParams returns the parameters deployment name receives, resolved
// where Jina's gateway resolves them (_parse_specific_params in
// jina/serve/runtimes/helper.py, applied per deployment by topology_graph.py
// to the client's parameters):
//
//   - every key holding "__" that neither starts nor ends with "__" is
//     executor-specific: it is removed, and when its executor part is name
//     its value is set under its key part;
//   - then parameters[name], when a non-empty dict, is merged into the top
//     level (it wins over both); parameters[name] itself stays.
//
// The split follows Jina to the letter: the key part is what follows the
// last "__" and the executor part is the rest with every "__" removed
// ("a__b__k" is key "k" for executor "ab").
//
// params is not modified; when nothing applies to this deployment it is
// returned as is, so requests without executor-scoped keys cost nothing.
func SpecificParams(params *structpb.Struct, name string) *structpb.Struct {
	fields := params.GetFields()
	if len(fields) == 0 {
		return params
	}
	own := ownDict(fields, name)
	specific := false
	for k := range fields {
		if isSpecificKey(k) {
			specific = true
			break
		}
	}
	if !specific && own == nil {
		return params
	}
	out := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(fields))}
	for k, v := range fields {
		if !isSpecificKey(k) {
			out.Fields[k] = v
		}
	}
	// Jina iterates the client's keys in order and assigns; when two
	// specific keys name the same key for this executor the later wins.
	// Go maps have no order, so pick deterministically: the longest
	// original spelling, then the greatest, which keeps results stable.
	chosen := map[string]string{}
	for k := range fields {
		if !isSpecificKey(k) {
			continue
		}
		key, exec := splitSpecificKey(k)
		if exec != name {
			continue
		}
		if prev, ok := chosen[key]; !ok || len(k) > len(prev) || (len(k) == len(prev) && k > prev) {
			chosen[key] = k
		}
	}
	for key, orig := range chosen {
		out.Fields[key] = fields[orig]
	}
	for k, v := range own.GetFields() {
		out.Fields[k] = v
	}
	return out
}

// ownDict returns parameters[name] when it is a non-empty dict (Python's
// truthiness test in _parse_specific_params).
func ownDict(fields map[string]*structpb.Value, name string) *structpb.Struct {
	v, ok := fields[name]
	if !ok {
		return nil
	}
	s := v.GetStructValue()
	if len(s.GetFields()) == 0 {
		return nil
	}
	return s
}

// isSpecificKey is Jina's _is_param_for_specific_executor.
func isSpecificKey(k string) bool {
	return strings.Contains(k, specificSeparator) &&
		!strings.HasPrefix(k, specificSeparator) && !strings.HasSuffix(k, specificSeparator)
}

// splitSpecificKey is Jina's _spit_key_and_executor_name: the key is the
// last "__"-separated part, the executor the others joined with "".
func splitSpecificKey(k string) (key, exec string) {
	parts := strings.Split(k, specificSeparator)
	return parts[len(parts)-1], strings.Join(parts[:len(parts)-1], "")
}
