package worker_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors/worker"
	"github.com/spf13/pflag"
)

// TestJSONLogDurations: durations in a worker's JSON log are text, so the
// engine re-emits took=383ms, not took=3.83e+08.
func TestJSONLogDurations(t *testing.T) {
	var f worker.Flags
	fs := pflag.NewFlagSet("w", pflag.ContinueOnError)
	f.Register(fs)
	if err := fs.Parse([]string{"--log-format", "json"}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	l, err := f.NewLogger(&b)
	if err != nil {
		t.Fatal(err)
	}
	l.Info("done", "took", 383*time.Millisecond)
	var line map[string]any
	if err := json.Unmarshal(b.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["took"] != "383ms" {
		t.Fatalf("took = %#v in %s", line["took"], b.String())
	}
}

// TestLogLevelEnv: $JIG_LOG_LEVEL is the default level; --log-level wins.
func TestLogLevelEnv(t *testing.T) {
	t.Setenv(worker.LogLevelEnv, "DEBUG")
	level := func(args ...string) bool {
		var f worker.Flags
		fs := pflag.NewFlagSet("w", pflag.ContinueOnError)
		f.Register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		l, err := f.NewLogger(&bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		return l.Enabled(t.Context(), slog.LevelDebug)
	}
	if !level() {
		t.Fatal("JIG_LOG_LEVEL=DEBUG: debug is not enabled")
	}
	if level("--log-level", "warn") {
		t.Fatal("--log-level warn: debug is enabled")
	}
	t.Setenv(worker.LogLevelEnv, "loud")
	var f worker.Flags
	fs := pflag.NewFlagSet("w", pflag.ContinueOnError)
	f.Register(fs)
	fs.Parse(nil)
	if _, err := f.NewLogger(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "JIG_LOG_LEVEL") {
		t.Fatalf("a bad JIG_LOG_LEVEL: %v", err)
	}
}
