package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/flow"
)

// lockedBuffer is a log sink the engine's goroutines may write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRestartLogHasNoEmptyTrigger: a restart a user asks for logs its
// cause, not trigger=[].
func TestRestartLogHasNoEmptyTrigger(t *testing.T) {
	f, err := flow.Parse("test.yml", t.TempDir(), []byte("executors:\n  - {name: a, uses: builtin:Echo}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	eng, err := engine.Start(context.Background(), f, engine.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		eng.Stop(ctx)
	})
	if err := eng.RestartDeployment(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "refreshing deployment") || strings.Contains(out, "trigger=[]") || !strings.Contains(out, "cause=requested") {
		t.Fatalf("logs:\n%s", out)
	}
}
