package consensus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/jig-dev/jig/consensus/clusterconf"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		err        error
		code       codes.Code
		reason     string
		notApplied bool
	}{
		{raft.ErrNotLeader, codes.Unavailable, ReasonNotLeader, true},
		{fmt.Errorf("apply: %w", raft.ErrLeadershipTransferInProgress), codes.Unavailable, ReasonNotLeader, true},
		{ErrNotLeader, codes.Unavailable, ReasonNotLeader, true},
		{fmt.Errorf("%w after 5s", ErrNoLeader), codes.Unavailable, ReasonNoLeader, true},
		{ErrTooManyHops, codes.Unavailable, ReasonTooManyHops, true},
		{raft.ErrLeadershipLost, codes.Unavailable, ReasonOutcomeUnknown, false},
		{raft.ErrAbortedByRestore, codes.Unavailable, ReasonOutcomeUnknown, false},
		{raft.ErrRaftShutdown, codes.Unavailable, ReasonShutdown, false},
		{ErrShutdown, codes.Unavailable, ReasonShutdown, false},
		{ErrLeaderUnreachable, codes.Unavailable, ReasonLeaderUnreachable, false},
		{raft.ErrEnqueueTimeout, codes.DeadlineExceeded, ReasonTimeout, false},
		{fmt.Errorf("apply: %w: %w", ErrOutcomeUnknown, context.DeadlineExceeded), codes.DeadlineExceeded, ReasonTimeout, false},
		{fmt.Errorf("%w: waiting: %w", ErrNoLeader, context.DeadlineExceeded), codes.DeadlineExceeded, ReasonTimeout, false},
		{context.Canceled, codes.Canceled, "", false},
		{ErrBadEntry, codes.InvalidArgument, ReasonBadEntry, true},
		{errors.New("disk on fire"), codes.Internal, "", false},
	}
	for _, c := range cases {
		st := Status(c.err)
		if st.Code() != c.code {
			t.Errorf("%v: code %v, want %v", c.err, st.Code(), c.code)
		}
		wrapped := withStatus(c.err)
		if got := Reason(wrapped); got != c.reason {
			t.Errorf("%v: reason %q, want %q", c.err, got, c.reason)
		}
		if NotApplied(wrapped) != c.notApplied {
			t.Errorf("%v: NotApplied %v", c.err, !c.notApplied)
		}
		// The wrapped error keeps both identities.
		if !errors.Is(wrapped, c.err) || status.Code(wrapped) != c.code {
			t.Errorf("%v: withStatus lost errors.Is or the code", c.err)
		}
		// Over the wire (status only), the reason survives and maps back.
		wire := status.ErrorProto(status.Convert(wrapped).Proto())
		if Reason(wire) != c.reason {
			t.Errorf("%v: reason lost on the wire", c.err)
		}
	}
	if Status(nil).Code() != codes.OK || withStatus(nil) != nil {
		t.Fatal("nil error")
	}
	// An existing status is kept.
	if Status(status.Error(codes.NotFound, "x")).Code() != codes.NotFound {
		t.Fatal("existing status replaced")
	}
}

func TestRemoteErrorKeepsSentinel(t *testing.T) {
	leader := Peer{ID: "1", WorkerAddr: "127.0.0.1:1"}
	remote := status.Convert(withStatus(ErrNoLeader)).Err()
	err := remoteError(leader, remote)
	if !errors.Is(err, ErrNoLeader) || Reason(err) != ReasonNoLeader || status.Code(err) != codes.Unavailable {
		t.Fatalf("remote NO_LEADER: %v (%s)", err, Reason(err))
	}
	// A transport failure becomes LEADER_UNREACHABLE.
	dial := status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`)
	if !notDelivered(dial) {
		t.Fatal("a dial failure was certainly not delivered")
	}
	err = remoteError(leader, dial)
	if !errors.Is(err, ErrLeaderUnreachable) || Reason(err) != ReasonLeaderUnreachable {
		t.Fatalf("transport failure: %v", err)
	}
	broken := status.Error(codes.Unavailable, "error reading from server: EOF")
	if notDelivered(broken) {
		t.Fatal("a broken stream may have been delivered")
	}
	// Executor-level statuses pass through untouched.
	other := status.Error(codes.ResourceExhausted, "too big")
	if err := remoteError(leader, other); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("other status: %v", err)
	}
}

func TestHopsFromContext(t *testing.T) {
	ctx := context.Background()
	if HopsFromContext(ctx) != 0 {
		t.Fatal("no hops")
	}
	if HopsFromContext(ContextWithHops(ctx, 2)) != 2 {
		t.Fatal("value")
	}
	in := metadata.NewIncomingContext(ctx, metadata.Pairs(HopsMetadataKey, "1", HopsMetadataKey, "3"))
	if HopsFromContext(in) != 3 {
		t.Fatal("metadata: want the largest")
	}
	bad := metadata.NewIncomingContext(ctx, metadata.Pairs(HopsMetadataKey, "x"))
	if HopsFromContext(bad) < DefaultMaxForwardHops {
		t.Fatal("a garbled hop count must exhaust the budget, not reset it")
	}
}

func TestConfigKnobs(t *testing.T) {
	c := DefaultConfig()
	err := c.SetKnobs([]byte(`{"heartbeat_timeout":"750ms","ElectionTimeout":900,"snapshot_threshold":10,"TrailingLogs":5,"max_append_entries":64,"snapshot_interval":"10s","apply_timeout":1500.5}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.HeartbeatTimeout != 750*time.Millisecond || c.ElectionTimeout != 900*time.Millisecond || c.SnapshotThreshold != 10 ||
		c.TrailingLogs != 5 || c.MaxAppendEntries != 64 || c.SnapshotInterval != 10*time.Second || c.ApplyTimeout != 1500500*time.Microsecond {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{`{"log_level":"INFO"}`, `{"heartbeat_timeout":"fast"}`, `{"trailing_logs":-1}`, `{"max_append_entries":"x"}`, `[]`, `{`} {
		c := DefaultConfig()
		if err := c.SetKnobs([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := (&Config{}).SetKnobs([]byte(`{"nope":1}`)); err == nil || !strings.Contains(err.Error(), "heartbeat_timeout") {
		t.Fatalf("unknown key error should list the known ones: %v", err)
	}
	rc := DefaultConfig()
	rc.ID = "x"
	if err := raft.ValidateConfig(rc.raftConfig()); err != nil {
		t.Fatalf("defaults rejected by raft: %v", err)
	}
	// A partly set config is completed consistently.
	p := Config{Knobs: clusterconf.Knobs{HeartbeatTimeout: 2 * time.Second}}
	p.setDefaults()
	p.ID = "x"
	if err := raft.ValidateConfig(p.raftConfig()); err != nil {
		t.Fatalf("completed config rejected by raft: %v", err)
	}
}

func TestParsePeers(t *testing.T) {
	ps, err := ParsePeers(`[{"id":"0","raft":"127.0.0.1:1","worker":"127.0.0.1:2"},{"id":"1","raft":"127.0.0.1:3","worker":"127.0.0.1:4"}]`)
	if err != nil || len(ps) != 2 || ps[1].WorkerAddr != "127.0.0.1:4" {
		t.Fatalf("%v %v", ps, err)
	}
	for _, bad := range []string{`{}`, `[{"id":""}]`, `[{"id":"0"},{"id":"0"}]`, `[{"id":"0","port":1}]`, `nope`} {
		if _, err := ParsePeers(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	inst := NewKV(t, "ConsensusTestKV")
	defer inst.Close()
	base := Config{ID: "0", Dir: t.TempDir(), BindAddr: "127.0.0.1:0", Instance: inst, Peers: []Peer{{ID: "0"}}}
	if err := base.validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"no id":          func(c *Config) { c.ID = "" },
		"no instance":    func(c *Config) { c.Instance = nil },
		"no dir":         func(c *Config) { c.Dir = "" },
		"no bind":        func(c *Config) { c.BindAddr = "" },
		"not in peers":   func(c *Config) { c.ID = "5" },
		"duplicate peer": func(c *Config) { c.Peers = append(c.Peers, Peer{ID: "0"}) },
	} {
		c := base
		mut(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	join := base
	join.ID, join.Join = "5", true
	if err := join.validate(); err != nil {
		t.Fatalf("a joining node need not be in Peers: %v", err)
	}
	// NewNode refuses an unspecified bind address (others could not dial it).
	bad := base
	bad.BindAddr = "0.0.0.0:0"
	if _, err := NewNode(bad); err == nil || !strings.Contains(err.Error(), "advertisable") {
		t.Fatalf("0.0.0.0: %v", err)
	}
}

func TestHCLogAdapter(t *testing.T) {
	var buf bytes.Buffer
	l := newHCLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), "raft")
	l.Debug("hidden")
	l.Info("entering follower state", "follower", "node-1")
	l.Named("net").With("peer", "2").Warn("slow", "rtt", "5ms")
	l.StandardLogger(&hclog.StandardLoggerOptions{}).Print("[ERR] from std logger")
	out := buf.String()
	for _, want := range []string{"entering follower state", "follower=node-1", "component=raft.net", "peer=2", "level=WARN", "level=ERROR", "from std logger"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hidden") || l.IsDebug() || !l.IsInfo() || l.GetLevel() != hclog.Info {
		t.Errorf("levels: debug %v info %v level %v", l.IsDebug(), l.IsInfo(), l.GetLevel())
	}
}
