package workercmd_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors/workercmd"
	"github.com/jig-dev/jig/executors/workerflags"
)

// TestJSONLogDurations: durations in a worker's JSON log are text, so the
// engine re-emits took=383ms, not took=3.83e+08.
func TestJSONLogDurations(t *testing.T) {
	f, err := workerflags.Parse([]string{"--log-format", "json"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	l, err := workercmd.NewLogger(&f, &b)
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
	t.Setenv(workerflags.LogLevelEnv, "DEBUG")
	level := func(args ...string) bool {
		f, err := workerflags.Parse(args)
		if err != nil {
			t.Fatal(err)
		}
		l, err := workercmd.NewLogger(&f, &bytes.Buffer{})
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
	t.Setenv(workerflags.LogLevelEnv, "loud")
	f := workerflags.Default()
	if _, err := workercmd.NewLogger(&f, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "JIG_LOG_LEVEL") {
		t.Fatalf("a bad JIG_LOG_LEVEL: %v", err)
	}
}
