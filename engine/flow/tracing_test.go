package flow_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// TestTracingKeys: Jina's tracing keys in `with:` reach every deployment
// unless an executor sets its own; off by default.
func TestTracingKeys(t *testing.T) {
	f, err := parse(t, `
with: {tracing: true, traces_exporter_host: collector, traces_exporter_port: 4319}
executors:
  - {name: a, uses: builtin:FlowNop}
  - {name: b, uses: builtin:FlowNop, traces_exporter_port: 5555}
  - {name: c, uses: builtin:FlowNop, tracing: false}
`)
	if err != nil {
		t.Fatal(err)
	}
	want := flow.Tracing{Enabled: true, ExporterHost: "collector", ExporterPort: 4319}
	if f.Gateway.Tracing != want || f.Deployment("a").Tracing != want {
		t.Errorf("gateway %+v, a %+v", f.Gateway.Tracing, f.Deployment("a").Tracing)
	}
	if b := f.Deployment("b").Tracing; b != (flow.Tracing{Enabled: true, ExporterHost: "collector", ExporterPort: 5555}) {
		t.Errorf("b %+v", b)
	}
	if c := f.Deployment("c").Tracing; c.Enabled {
		t.Errorf("c %+v", c)
	}
	f, err = parse(t, "executors: [{name: a, uses: builtin:FlowNop}]\n")
	if err != nil {
		t.Fatal(err)
	}
	if f.Gateway.Tracing.Enabled || f.Deployment("a").Tracing.Enabled {
		t.Error("tracing is on by default")
	}
}

func TestTracingBadPort(t *testing.T) {
	for yml, want := range map[string]string{
		"with: {tracing: true, traces_exporter_port: 70000}\nexecutors: [{name: a, uses: builtin:FlowNop}]\n": "flow.yml:1:45: with.traces_exporter_port: port 70000 is out of range",
		"executors:\n  - {name: a, uses: builtin:FlowNop, traces_exporter_port: 0}\n":                         "flow.yml:2:60: executors[0].traces_exporter_port: port 0 is out of range",
		"with: {tracing: yes please}\nexecutors: [{name: a, uses: builtin:FlowNop}]\n":                        "with.tracing",
	} {
		_, err := parse(t, yml)
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, yamlutil.ErrBadInput) {
			t.Errorf("%q: got %v, want %q (bad input)", yml, err, want)
		}
	}
}
