package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/tui/panes/request"
)

// TestTracingSenderWaterfall sends through a real engine whose spans are
// recorded in process (no exporter): the response carries the trace id
// and the last request's span tree, gateway first, each hop deeper.
func TestTracingSenderWaterfall(t *testing.T) {
	f, err := flow.Parse("t.yml", t.TempDir(), []byte("jtype: Flow\nexecutors:\n  - {name: a, uses: builtin:TUITestShout}\n  - {name: b, uses: builtin:TUITestShout, replicas: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	rec := tracing.NewRecorder(0)
	eng, err := engine.Start(context.Background(), f, engine.Options{Traces: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := eng.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	s := NewTracingSender(rec, "http://127.0.0.1:16686/trace/").(*clientSender)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Two requests: the waterfall is the last one's.
	resp, err := s.Send(ctx, eng.Addresses().GRPC, request.Request{Endpoint: "/shout", Docs: docarray.FromTexts("p", "q"), RequestSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TraceID) != 32 || resp.TraceURL != "http://127.0.0.1:16686/trace/"+resp.TraceID {
		t.Fatalf("trace id %q url %q", resp.TraceID, resp.TraceURL)
	}
	var got []string
	for _, sp := range resp.Spans {
		got = append(got, strings.Repeat(".", sp.Depth)+sp.Name)
		if sp.End.Before(sp.Start) || sp.Start.IsZero() {
			t.Errorf("span %s times %v..%v", sp.Name, sp.Start, sp.End)
		}
	}
	want := []string{"gateway /shout", ".deployment a", "..call a/rep-0", "...executor a /shout", ".deployment b", "..call b/rep-", "...executor b /shout"}
	if len(got) != len(want) {
		t.Fatalf("spans %v, want %v", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("spans %v, want %v", got, want)
		}
	}
	if tracing.Enabled() == false {
		t.Fatal("the recorder should keep tracing on while the engine runs")
	}
}
