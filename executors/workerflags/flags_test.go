package workerflags

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/jig-dev/jig/consensus/clusterconf"
	"github.com/jig-dev/jig/internal/badinput"
)

// texts are awkward flag values: empty, leading dashes (which must not
// be taken for flags), spaces, quotes, newlines (inline YAML configs),
// '=' and non-ASCII.
var texts = []string{"", "x", "-", "--uses", "-h", "a b", `{"dim": 64}`, "jtype: Echo\nwith:\n  a: 1\n", "k=v", "é✓", "127.0.0.1", "$(POD_INDEX)", "[$(POD_IP)]:8081"}

func randText(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return strconv.Itoa(r.IntN(1000))
	}
	return texts[r.IntN(len(texts))]
}

func randInt(r *rand.Rand) int {
	switch r.IntN(4) {
	case 0:
		return 0
	case 1:
		return 1
	case 2:
		return -r.IntN(1 << 20)
	}
	return int(r.Int64())
}

func randDuration(r *rand.Rand) time.Duration {
	switch r.IntN(4) {
	case 0:
		return 0
	case 1:
		return time.Duration(r.IntN(10000)) * time.Millisecond
	case 2:
		return -time.Duration(r.Int64N(1 << 50))
	}
	return time.Duration(r.Int64())
}

func randKnobs(r *rand.Rand) clusterconf.Knobs {
	var k clusterconf.Knobs
	if r.IntN(3) == 0 {
		return k
	}
	maybe := func() bool { return r.IntN(2) == 0 }
	if maybe() {
		k.HeartbeatTimeout = randDuration(r)
	}
	if maybe() {
		k.ElectionTimeout = randDuration(r)
	}
	k.LeaderLeaseTimeout, k.CommitTimeout, k.SnapshotInterval = randDuration(r), randDuration(r), randDuration(r)
	k.ApplyTimeout, k.LeaderWaitTimeout, k.CatchUpTimeout, k.TransportTimeout = randDuration(r), randDuration(r), randDuration(r), randDuration(r)
	if maybe() {
		k.SnapshotThreshold = r.Uint64()
	}
	if maybe() {
		k.TrailingLogs = uint64(r.IntN(5000))
	}
	k.MaxAppendEntries, k.MaxForwardHops, k.TransportMaxPool = randInt(r), randInt(r), randInt(r)
	k.SnapshotRetain, k.WALSegmentSize = randInt(r), randInt(r)
	return k
}

func randFlags(r *rand.Rand) Flags {
	f := Default()
	if r.IntN(5) == 0 {
		return f // all defaults: no arguments at all
	}
	f.Uses, f.AuthToken, f.AuthTokenFile = randText(r), randText(r), randText(r)
	f.SSLCertfile, f.SSLKeyfile, f.Host = randText(r), randText(r), randText(r)
	f.Port, f.Replicas, f.Shards, f.ShardID, f.ReplicaID = randInt(r), randInt(r), randInt(r), randInt(r), randInt(r)
	f.Name, f.Workspace = randText(r), randText(r)
	f.UsesWith, f.UsesMetas, f.UsesRequests, f.UsesDynamicBatching = randText(r), randText(r), randText(r), randText(r)
	f.LogFormat, f.LogLevel = randText(r), randText(r)
	f.MaxMessageSize, f.GracePeriod = randInt(r), randDuration(r)
	f.Tracing = Tracing{Enabled: r.IntN(2) == 0, ExporterHost: randText(r), ExporterPort: randInt(r)}
	if r.IntN(2) == 0 {
		f.Raft.ID, f.Raft.Dir, f.Raft.Addr = randText(r), randText(r), randText(r)
		f.Raft.Join = r.IntN(2) == 0
		f.Raft.Consistency = clusterconf.Consistency(r.IntN(2))
		f.Raft.Knobs = randKnobs(r)
		if n := r.IntN(4); n > 0 {
			f.Raft.Peers = []clusterconf.Peer{}
			for i := range n - 1 {
				f.Raft.Peers = append(f.Raft.Peers, clusterconf.Peer{ID: strconv.Itoa(i), RaftAddr: randText(r), WorkerAddr: randText(r)})
			}
		}
	}
	return f
}

// TestArgsParseRoundTrip checks, over many generated flag sets, that Parse
// is the inverse of Args: every field survives, including values that
// look like flags and all-default sets that render as no arguments.
func TestArgsParseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 1))
	for i := range 5000 {
		want := randFlags(r)
		args := want.Args()
		got, err := Parse(args)
		if err != nil {
			t.Fatalf("case %d: Parse(%q): %v", i, args, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: round trip through %q\n got %+v\nwant %+v", i, args, got, want)
		}
		// And the other way: Args of the parsed set is the same line.
		if again := got.Args(); !reflect.DeepEqual(again, args) {
			t.Fatalf("case %d: Args not stable: %q then %q", i, args, again)
		}
	}
}

func TestDefaultsRenderNothing(t *testing.T) {
	d := Default()
	if args := d.Args(); len(args) != 0 {
		t.Fatalf("Default().Args() = %q, want none", args)
	}
	got, err := Parse(nil)
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Fatalf("Parse(nil) = %+v, %v; want %+v", got, err, d)
	}
}

func TestParseBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--port", "x"},
		{"--raft-peers", `[{"id":""}]`},
		{"--raft-peers", `[{"id":"0"},{"id":"0"}]`},
		{"--raft-config", `{"nope":1}`},
		{"--raft-config", `{"heartbeat_timeout":"soon"}`},
		{"--read-consistency", "eventual"},
		{"--no-such-flag"},
		{"stray"},
	} {
		if _, err := Parse(args); err == nil || !errors.Is(err, badinput.Err) {
			t.Errorf("Parse(%q) = %v, want a bad-input error", args, err)
		}
	}
}

// TestRaftConfigText pins the --raft-config text the engine and exports
// write: snake_case keys, duration strings, only the knobs that are set.
func TestRaftConfigText(t *testing.T) {
	f := Default()
	f.Raft.Knobs = clusterconf.Knobs{HeartbeatTimeout: 750 * time.Millisecond, SnapshotThreshold: 10}
	args := f.Args()
	want := []string{"--raft-config", `{"heartbeat_timeout":"750ms","snapshot_threshold":10}`}
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("Args = %q, want %q", args, want)
	}
}
