package flow_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// TestExternalShards covers `shard_hosts:`, the sharded form of an
// external deployment (one address list per shard), which exported flows'
// gateways use to reach each shard's Service.
func TestExternalShards(t *testing.T) {
	f, err := parse(t, `
executors:
  - name: idx
    external: true
    polling: {/search: ALL}
    shard_hosts:
      - [idx-0-a:8080, idx-0-b:8080]
      - ['grpc://idx-1-a:8080', idx-1-b:8080]
  - name: one
    external: true
    port: 9000
    shard_hosts: [s0, s1, s2]
`)
	if err != nil {
		t.Fatal(err)
	}
	idx := f.Deployment("idx")
	if idx.Shards != 2 || idx.Replicas != 2 || idx.Polling.For("/search") != flow.All {
		t.Fatalf("idx: %d shards, %d replicas", idx.Shards, idx.Replicas)
	}
	if got := []string{idx.Address(0, 0), idx.Address(0, 1), idx.Address(1, 0), idx.Address(1, 1)}; !slices.Equal(got, []string{"idx-0-a:8080", "idx-0-b:8080", "idx-1-a:8080", "idx-1-b:8080"}) {
		t.Fatalf("idx addresses %v", got)
	}
	one := f.Deployment("one")
	if one.Shards != 3 || one.Replicas != 1 || one.Address(2, 0) != "s2:9000" {
		t.Fatalf("one: %+v", one.Addresses)
	}
}

func TestExternalShardsErrors(t *testing.T) {
	cases := []struct{ name, yml, want string }{
		{"not external", "executors:\n  - {name: a, uses: builtin:FlowNop, shard_hosts: [h:1]}\n", "executors[0].shard_hosts: only external executors take shard_hosts"},
		{"host and shard_hosts", "executors:\n  - {name: a, external: true, host: h:1, shard_hosts: [h:2]}\n", "give host (one shard) or shard_hosts (several), not both"},
		{"uneven", "executors:\n  - {name: a, external: true, shard_hosts: [[h:1, h:2], [h:3]]}\n", "executors[0].shard_hosts[1]: shard 1 has 1 replicas, shard 0 has 2"},
		{"shards mismatch", "executors:\n  - {name: a, external: true, shards: 3, shard_hosts: [h:1, h:2]}\n", "shards is 3 but shard_hosts lists 2 shards"},
		{"shards without shard_hosts", "executors:\n  - {name: a, external: true, shards: 2, host: h:1}\n", "shards are given by shard_hosts"},
		{"empty", "executors:\n  - {name: a, external: true, shard_hosts: []}\n", "want a list with one entry per shard"},
		{"empty shard", "executors:\n  - {name: a, external: true, shard_hosts: [[]]}\n", "shard 0 has no address"},
		{"no port", "executors:\n  - {name: a, external: true, shard_hosts: [h]}\n", "external executors need a port"},
		{"mapping", "executors:\n  - {name: a, external: true, shard_hosts: [{h: 1}]}\n", "executors[0].shard_hosts[0]: want a string or a list of strings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(t, c.yml)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant it to contain %q", err, c.want)
			}
			if !errors.Is(err, yamlutil.ErrBadInput) {
				t.Fatalf("not a bad-input error: %v", err)
			}
		})
	}
}
