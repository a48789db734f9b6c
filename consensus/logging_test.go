package consensus

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// TestHCLogValues: hclog's Fmt, Hex and Quote arguments (RAFT logs its
// servers and snapshot progress with Fmt) come out formatted.
func TestHCLogValues(t *testing.T) {
	var b bytes.Buffer
	l := newHCLog(slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), "raft")
	servers := []raft.Server{{ID: "0", Address: "127.0.0.1:1"}}
	args := []any{"servers", hclog.Fmt("%+v", servers), "percent-complete", hclog.Fmt("%0.2f%%", 100.0), "id", hclog.Hex(255), "q", hclog.Quote("a b")}
	l.Info("entering follower state", args...)
	l.With("n", hclog.Fmt("%d-%d", 1, 2)).Warn("x")
	out := b.String()
	for _, want := range []string{`servers="[{Suffrage:Voter ID:0 Address:127.0.0.1:1}]"`, `percent-complete=100.00%`, "id=0xff", `q="\"a b\""`, "n=1-2"} {
		if !strings.Contains(out, want) {
			t.Fatalf("log misses %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "%") && strings.Contains(out, "[%") {
		t.Fatalf("unformatted: %s", out)
	}
	if _, ok := args[1].(hclog.Format); !ok {
		t.Fatal("the caller's arguments were changed")
	}
}
