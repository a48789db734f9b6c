package engine

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors"
)

// TestChildErrorLocator maps field paths with list indexes and falls back
// to the override's own node for a field the flow does not hold.
func TestChildErrorLocator(t *testing.T) {
	var doc yaml.Node
	src := "x: 1\nuses_with:\n  a:\n    b:\n      - {c: 1}\n      - {c: [2]}\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	with := doc.Content[0].Content[3]
	locate := childErrorLocator(&flow.Deployment{UsesWith: &executors.Override{Node: with, File: "f.yml", Field: "executors[0].uses_with"}})
	for reason, want := range map[string]string{
		"load executor c.yml: --uses-with:1:20: a.b[1].c: want an integer, got a list": "f.yml:6:13: executors[0].uses_with.a.b[1].c: want an integer, got a list",
		"--uses-with:1:2: zz: unknown field \"zz\" (known: a)":                         "f.yml:3:3: executors[0].uses_with.zz: unknown field \"zz\" (known: a)",
	} {
		got, ok := locate(reason)
		if !ok || got != want {
			t.Errorf("%s\n got  %q %v\n want %q", reason, got, ok, want)
		}
	}
	// Not about a flag the engine passed, or no uses_metas in the flow:
	// the child's own words stay.
	for _, reason := range []string{
		"load executor c.yml: c.yml:3:5: with.a: want a string",
		"--uses-metas:1:2: name: bad",
		"listen on 127.0.0.1:1: address in use",
	} {
		if got, ok := locate(reason); ok {
			t.Errorf("%s: located as %q", reason, got)
		}
	}
}
