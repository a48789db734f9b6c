package flow_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/yamlutil"
)

type nop struct{ executors.Base }

func (n *nop) Endpoints(r *executors.Router) {
	r.Default(func(ctx context.Context, d docarray.DocList, p executors.Params) (docarray.DocList, error) {
		return nil, nil
	})
}

func init() {
	executors.Register("FlowNop", func() executors.Executor { return &nop{} })
}

func parse(t *testing.T, yml string) (*flow.Flow, error) {
	t.Helper()
	return flow.Parse("flow.yml", t.TempDir(), []byte(yml))
}

func TestQuickstartShape(t *testing.T) {
	f, err := parse(t, `
jtype: Flow
with: {port: 12345, protocol: [grpc, http], workspace: ./ws, timeout_ready: 5000}
executors:
  - name: norm
    uses: builtin:FlowNop
    replicas: 2
  - name: index
    uses: {jtype: FlowNop, metas: {name: idx}}
    needs: [norm]
    shards: 2
    polling: {/search: ALL, "*": ANY}
    timeout_send: 2s
    retries: 1
  - name: remote
    external: true
    host: 127.0.0.1
    port: 5555
`)
	if err != nil {
		t.Fatal(err)
	}
	g := f.Gateway
	if g.Port(flow.GRPC) != 12345 || g.Port(flow.HTTP) != 12346 || g.Host != "127.0.0.1" || g.TimeoutReady != 5*time.Second {
		t.Fatalf("gateway %+v", g)
	}
	if !strings.HasSuffix(g.Workspace, "/ws") || !filepath.IsAbs(g.Workspace) {
		t.Fatalf("workspace %s", g.Workspace)
	}
	idx := f.Deployment("index")
	if idx.Shards != 2 || idx.Polling.For("/search") != flow.All || idx.Polling.For("/index") != flow.Any || idx.TimeoutSend != 2*time.Second || idx.Retries != 1 {
		t.Fatalf("index %+v", idx)
	}
	if idx.Config.Metas.Name != "idx" || !idx.InProcess() {
		t.Fatalf("inline uses: %+v", idx.Config)
	}
	if r := f.Deployment("remote"); !r.External || !slices.Equal(r.Addresses, []string{"127.0.0.1:5555"}) {
		t.Fatalf("remote %+v", r)
	}
	if f.Deployment("norm").EffectiveRetries() != 3 {
		t.Fatal("default retries = max(3, replicas)")
	}
	if !slices.Equal(f.Graph.Order, []string{"norm", "index", "remote"}) || f.Graph.Output != "remote" || !f.Graph.Linear() {
		t.Fatalf("graph %+v", f.Graph)
	}
}

func TestDeploymentYAML(t *testing.T) {
	f, err := parse(t, "jtype: Deployment\nwith: {port: 4000}\nuses: builtin:FlowNop\nreplicas: 2\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Deployments) != 1 || f.Deployments[0].Replicas != 2 || f.Gateway.Port(flow.GRPC) != 4000 {
		t.Fatalf("%+v", f.Deployments[0])
	}
}

func TestGoSourceExecutor(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\nfunc main() {}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "config.yml"), []byte("jtype: MyOwnType\nwith: {x: 1}\n"), 0o600)
	f, err := flow.Parse("flow.yml", dir, []byte("executors:\n  - {name: mine, uses: ., reload: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := f.Deployments[0]
	if d.Source != dir || d.Config.JType != "MyOwnType" || d.InProcess() || !d.Reload {
		t.Fatalf("%+v", d)
	}
}

func TestBadFlows(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cfg.yml"), []byte("jtype: Nope\n"), 0o600)
	cases := []struct {
		name, yml, want string
	}{
		{"unknown top key", "jtype: Flow\nexecutor: []\n", `flow.yml:2:1: executor: unknown field "executor"`},
		{"unknown executor key", "executors:\n  - name: a\n    uses: builtin:FlowNop\n    replica: 2\n", `flow.yml:4:5: executors[0].replica: unknown field "replica"`},
		{"unknown with key", "with: {prot: grpc}\nexecutors: [{uses: builtin:FlowNop}]\n", `flow.yml:1:8: with.prot: unknown field`},
		{"wrong type", "executors:\n  - {name: a, uses: builtin:FlowNop, replicas: two}\n", `flow.yml:2:48: executors[0].replicas: want an integer, got "two"`},
		{"zero replicas", "executors:\n  - {name: a, uses: builtin:FlowNop, replicas: 0}\n", "executors[0].replicas: want 1 to 64, got 0"},
		{"cycle", "executors:\n  - {name: a, uses: builtin:FlowNop, needs: b}\n  - {name: b, uses: builtin:FlowNop, needs: a}\n", "cycle in needs among a, b"},
		{"unknown needs", "executors:\n  - {name: a, uses: builtin:FlowNop, needs: zz}\n", `needs: unknown deployment "zz"`},
		{"self need", "executors:\n  - {name: a, uses: builtin:FlowNop, needs: a}\n", "cannot need itself"},
		{"unknown builtin", "executors:\n  - {name: a, uses: builtin:Zilch}\n", `flow.yml:2:21: executors[0].uses: unknown built-in executor "Zilch"`},
		{"unknown jtype in file", "executors:\n  - {name: a, uses: cfg.yml}\n", `cfg.yml:1:8: jtype: unknown executor type "Nope"`},
		{"missing file", "executors:\n  - {name: a, uses: nothere.yml}\n", "nothere.yml: no such file or folder"},
		{"missing uses", "executors:\n  - {name: a}\n", "executors[0].uses: missing"},
		{"duplicate names", "executors:\n  - {name: a, uses: builtin:FlowNop}\n  - {name: a, uses: builtin:FlowNop}\n", `flow.yml:3:12: executors[1].name: duplicate name "a" (first used on line 2)`},
		{"reserved name", "executors:\n  - {name: gateway, uses: builtin:FlowNop}\n", `"gateway" is reserved`},
		{"bad name", "executors:\n  - {name: a/b, uses: builtin:FlowNop}\n", `invalid name "a/b"`},
		{"port clash gateway", "with: {port: 5000}\nexecutors:\n  - {name: a, uses: builtin:FlowNop, port: 5000}\n", "port 5000 is used twice: by the gateway (grpc) and by a worker 0"},
		{"port clash replicas", "executors:\n  - {name: a, uses: builtin:FlowNop, port: 6000, replicas: 2}\n  - {name: b, uses: builtin:FlowNop, port: 6001}\n", "port 6001 is used twice"},
		{"port clash peer", "executors:\n  - {name: a, uses: builtin:FlowNop, port: 7000}\n  - {name: b, uses: builtin:FlowNop, stateful: true, peer_ports: [7000]}\n", "port 7000 is used twice"},
		{"peer ports count", "executors:\n  - {name: a, uses: builtin:FlowNop, stateful: true, replicas: 3, peer_ports: [1, 2]}\n", "shard 0 has 2 peer ports for 3 replicas"},
		{"peer ports not stateful", "executors:\n  - {name: a, uses: builtin:FlowNop, peer_ports: [1]}\n", "only stateful deployments have RAFT peer ports"},
		{"bad polling", "executors:\n  - {name: a, uses: builtin:FlowNop, polling: SOME}\n", `executors[0].polling: want ANY or ALL, got "SOME"`},
		{"bad polling map", "executors:\n  - {name: a, uses: builtin:FlowNop, polling: {/s: MANY}}\n", `executors[0].polling./s: want ANY or ALL`},
		{"bad protocol", "with: {protocol: [grpc, ftp]}\nexecutors: [{uses: builtin:FlowNop}]\n", `unknown protocol "ftp"`},
		{"websocket", "with: {protocol: websocket}\nexecutors: [{uses: builtin:FlowNop}]\n", "websocket is not supported"},
		{"ports vs protocols", "with: {protocol: [grpc, http], port: [1, 2, 3]}\nexecutors: [{uses: builtin:FlowNop}]\n", "3 ports for 2 protocols"},
		{"bad jtype", "jtype: Flw\nexecutors: [{uses: builtin:FlowNop}]\n", `want Flow or Deployment, got "Flw"`},
		{"no executors", "jtype: Flow\n", "a flow needs at least one executor"},
		{"bad timeout", "executors:\n  - {name: a, uses: builtin:FlowNop, timeout_send: soon}\n", `executors[0].timeout_send: want a number or a duration like 500ms, got "soon"`},
		{"bad when op", "executors:\n  - {name: a, uses: builtin:FlowNop, when: {tags__x: {$between: 1}}}\n", "unknown operator $between"},
		{"bad when regex", "executors:\n  - {name: a, uses: builtin:FlowNop, when: {text: {$regex: '('}}}\n", "invalid regular expression"},
		{"external stateful", "executors:\n  - {name: a, external: true, port: 1, stateful: true}\n", "external executors are run by someone else"},
		{"external no port", "executors:\n  - {name: a, external: true, host: example.org}\n", "external executors need a port"},
		{"host on internal", "executors:\n  - {name: a, uses: builtin:FlowNop, host: 0.0.0.0}\n", "only external executors take a host"},
		{"consistency not stateful", "executors:\n  - {name: a, uses: builtin:FlowNop, consistency: leader}\n", "only stateful deployments have a read consistency"},
		{"bad consistency", "executors:\n  - {name: a, uses: builtin:FlowNop, stateful: true, consistency: strong}\n", `want local or leader, got "strong"`},
		{"raft unknown key", "executors:\n  - {name: a, uses: builtin:FlowNop, stateful: true, raft_configuration: {snapshot_intervl: 5}}\n", `raft_configuration.snapshot_intervl: unknown field`},
		{"container uses", "executors:\n  - {name: a, uses: 'docker://img'}\n", "container and hub executors are not run by jig"},
		{"uses_metas typo", "executors:\n  - {name: a, uses: builtin:FlowNop, uses_metas: {nmae: x}}\n", `executors[0].uses_metas.nmae: unknown field`},
		{"tls half", "with: {ssl_certfile: a.pem}\nexecutors: [{uses: builtin:FlowNop}]\n", "ssl_certfile and ssl_keyfile go together"},
		{"bad yaml", "executors: [\n", "flow.yml:1: invalid YAML"},
		{"not a mapping", "- a\n- b\n", "a flow must be a mapping"},
		{"needs empty", "executors:\n  - {name: a, uses: builtin:FlowNop, needs: []}\n", "empty list"},
		{"monitoring without port", "with: {monitoring: true}\nexecutors: [{uses: builtin:FlowNop}]\n", "monitoring needs port_monitoring"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := flow.Parse("flow.yml", dir, []byte(c.yml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant it to contain %q", err, c.want)
			}
			if !errors.Is(err, yamlutil.ErrBadInput) {
				t.Fatalf("not a bad-input error: %v", err)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	f, err := parse(t, `
executors:
  - name: a
    uses: builtin:FlowNop
    when:
      $or:
        - {tags__price: {$gte: 10, $lt: 100}}
        - {text: {$regex: "^hello"}}
        - {tags__lang: {$in: [en, de]}, tags__missing: {$exists: false}}
`)
	if err != nil {
		t.Fatal(err)
	}
	w := f.Deployments[0].When
	doc := func(text string, tags map[string]any) *docarray.Document {
		return &docarray.Document{ID: text, Text: text, Tags: tags}
	}
	cases := []struct {
		d    *docarray.Document
		want bool
	}{
		{doc("x", map[string]any{"price": int64(10)}), true},
		{doc("x", map[string]any{"price": 99.5}), true},
		{doc("x", map[string]any{"price": int64(100)}), false},
		{doc("hello world", nil), true},
		{doc("x", map[string]any{"lang": "de"}), true},
		{doc("x", map[string]any{"lang": "de", "missing": true}), false},
		{doc("x", map[string]any{"lang": "fr"}), false},
		{doc("x", nil), false},
	}
	for i, c := range cases {
		if got := w.Match(c.d); got != c.want {
			t.Errorf("case %d (%s %v): got %v", i, c.d.Text, c.d.Tags, got)
		}
	}
	var docs docarray.DocList
	for _, c := range cases {
		docs = append(docs, c.d)
	}
	if n := len(w.Apply(docs)); n != 4 {
		t.Fatalf("Apply kept %d", n)
	}
}

func TestExternalAddressForms(t *testing.T) {
	f, err := parse(t, "executors:\n  - {name: a, external: true, host: [h1, h2], port: 9000}\n  - {name: b, external: true, host: 'grpc://h3:7000'}\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Deployments[0].Addresses; !slices.Equal(got, []string{"h1:9000", "h2:9000"}) || f.Deployments[0].Replicas != 2 {
		t.Fatalf("a: %v", got)
	}
	if got := f.Deployments[1].Addresses; !slices.Equal(got, []string{"h3:7000"}) {
		t.Fatalf("b: %v", got)
	}
}

// TestHTTPBodyLimits: with.http_body_budget takes bytes or KiB/MiB/GiB,
// with.http_body_timeout milliseconds or a duration; bad values name the
// field.
func TestHTTPBodyLimits(t *testing.T) {
	f, err := parse(t, "jtype: Flow\nwith: {protocol: http, http_body_budget: 2GiB, http_body_timeout: 1m}\nexecutors: [{name: a, uses: builtin:FlowNop}]\n")
	if err != nil {
		t.Fatal(err)
	}
	if f.Gateway.HTTPBodyBudget != 2<<30 || f.Gateway.HTTPBodyTimeout != time.Minute {
		t.Fatalf("budget %d timeout %s", f.Gateway.HTTPBodyBudget, f.Gateway.HTTPBodyTimeout)
	}
	f, err = parse(t, "jtype: Flow\nwith: {http_body_budget: 1048576, http_body_timeout: 500}\nexecutors: [{name: a, uses: builtin:FlowNop}]\n")
	if err != nil || f.Gateway.HTTPBodyBudget != 1<<20 || f.Gateway.HTTPBodyTimeout != 500*time.Millisecond {
		t.Fatalf("%v %+v", err, f)
	}
	for _, bad := range []string{"http_body_budget: 1.5GiB", "http_body_budget: -3", "http_body_budget: lots", "http_body_budget: [1]", "http_body_timeout: soon"} {
		_, err := parse(t, "jtype: Flow\nwith: {"+bad+"}\nexecutors: [{name: a, uses: builtin:FlowNop}]\n")
		field := strings.SplitN(bad, ":", 2)[0]
		if err == nil || !strings.Contains(err.Error(), "with."+field) || !strings.Contains(err.Error(), ":2") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
