package flow_test

import (
	"testing"

	"github.com/jig-dev/jig/engine/flow"
)

// FuzzParse feeds arbitrary text to the flow loader: it must return a flow
// or an error, never panic or hang.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"jtype: Flow\nwith: {port: [1, 2], protocol: [grpc, http]}\nexecutors:\n  - {name: a, uses: builtin:FlowNop, replicas: 2}\n  - {name: b, uses: builtin:FlowNop, needs: [a, gateway], shards: 2, polling: {/s: ALL}}\n",
		"executors:\n  - {name: a, uses: builtin:FlowNop, when: {$or: [{tags__a: {$gt: 1}}, {text: {$regex: x}}]}}\n",
		"executors:\n  - {name: a, external: true, host: [a, b], port: [1, 2]}\n",
		"jtype: Deployment\nuses: builtin:FlowNop\n",
		"executors:\n  - {name: a, uses: builtin:FlowNop, stateful: true, replicas: 3, peer_ports: {0: [1, 2, 3]}, raft_configuration: {snapshot_interval: 5}}\n",
		"executors: [{uses: {jtype: FlowNop, with: {}}}]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := flow.Parse("fuzz.yml", t.TempDir(), data)
		if err != nil {
			return
		}
		if fl.Graph == nil || len(fl.Graph.Order) != len(fl.Deployments) {
			t.Fatalf("valid flow without a complete graph: %+v", fl.Graph)
		}
	})
}
