package router

import (
	"context"
	"reflect"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
)

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSpecificParamsJinaRules pins _parse_specific_params of Jina 3.20.2
// (jina/serve/runtimes/helper.py), case by case.
func TestSpecificParamsJinaRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]any
		exec string
		want map[string]any
	}{
		{"plain keys pass", map[string]any{"k": 1.0, "s": "x"}, "ex", map[string]any{"k": 1.0, "s": "x"}},
		{"own key resolved, others dropped", map[string]any{"k": 1.0, "ex__k": "mine", "other__k": "theirs", "other__j": 2.0},
			"ex", map[string]any{"k": "mine"}},
		{"dict merged, key kept, wins over NAME__key", map[string]any{"ex": map[string]any{"k": "dict", "d": true}, "ex__k": "specific", "k": 0.0},
			"ex", map[string]any{"ex": map[string]any{"k": "dict", "d": true}, "k": "dict", "d": true}},
		{"another deployment's dict stays, unmerged", map[string]any{"other": map[string]any{"k": 1.0}}, "ex",
			map[string]any{"other": map[string]any{"k": 1.0}}},
		{"empty dict is not merged", map[string]any{"ex": map[string]any{}, "k": 1.0}, "ex", map[string]any{"ex": map[string]any{}, "k": 1.0}},
		{"a non-dict under the name is a plain key", map[string]any{"ex": 3.0}, "ex", map[string]any{"ex": 3.0}},
		{"dunder keys are not specific", map[string]any{"__results__": map[string]any{"a": 1.0}, "__x": 1.0, "y__": 2.0}, "ex",
			map[string]any{"__results__": map[string]any{"a": 1.0}, "__x": 1.0, "y__": 2.0}},
		// Jina splits on every "__": the key is the last part, the
		// executor the others joined with "".
		{"executor part joined without separators", map[string]any{"a__b__k": 1.0, "ab__j": 2.0}, "ab", map[string]any{"k": 1.0, "j": 2.0}},
		{"a__b is not executor a__b", map[string]any{"a__b__k": 1.0}, "a__b", map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := mustStruct(t, tc.in)
			before := in.AsMap()
			got := SpecificParams(in, tc.exec).AsMap()
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("SpecificParams(%v, %q) = %v, want %v", tc.in, tc.exec, got, tc.want)
			}
			if !reflect.DeepEqual(in.AsMap(), before) {
				t.Fatal("the input was modified")
			}
		})
	}
	// Nothing to resolve: the same message, no copy.
	p := mustStruct(t, map[string]any{"k": 1.0, "other": map[string]any{"x": 1.0}})
	if SpecificParams(p, "ex") != p {
		t.Fatal("parameters without executor-scoped keys must not be copied")
	}
	if SpecificParams(nil, "ex") != nil {
		t.Fatal("nil parameters stay nil")
	}
}

// TestRouteResolvesSpecificParams: each deployment is sent the client's
// parameters resolved for it, by the router (as Jina's gateway does), so
// an external executor that does no resolution of its own sees exactly
// what it would behind Jina's gateway; the client gets its parameters back.
func TestRouteResolvesSpecificParams(t *testing.T) {
	for name, yml := range map[string]string{"linear": linear, "dag": `
executors:
  - {name: a, uses: RouterNop}
  - {name: b, uses: RouterNop, needs: gateway}
  - {name: c, uses: RouterNop, needs: [a, b]}
`} {
		t.Run(name, func(t *testing.T) {
			r, conns := testFlow(t, yml)
			client := map[string]any{"k": 1.0, "a__k": "only-a", "b__j": "for-b", "zz__k": "nobody", "c": map[string]any{"k": "c-dict"}}
			resp, err := r.Route(context.Background(), newReq("/x", client, "hi"))
			if err != nil {
				t.Fatal(err)
			}
			cdict := map[string]any{"k": "c-dict"}
			for exec, want := range map[string]map[string]any{
				"a": {"k": "only-a", "c": cdict},
				"b": {"k": 1.0, "j": "for-b", "c": cdict},
				"c": {"k": "c-dict", "c": cdict},
			} {
				reqs := conns[exec].requests()
				if len(reqs) != 1 {
					t.Fatalf("%s got %d requests", exec, len(reqs))
				}
				if got := reqs[0].GetParameters().AsMap(); !reflect.DeepEqual(got, want) {
					t.Errorf("%s was sent %v, want %v", exec, got, want)
				}
			}
			got := resp.GetParameters().AsMap()
			res := results(resp)
			delete(got, "__results__")
			if !reflect.DeepEqual(got, client) {
				t.Errorf("response parameters %v, want the client's %v", got, client)
			}
			if len(res) != 3 || res["a"] == nil || res["b"] == nil || res["c"] == nil {
				t.Errorf("__results__ %v", res)
			}
		})
	}
}
