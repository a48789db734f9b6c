package engine_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine"
	"github.com/jig-dev/jig/engine/events"
	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/waitfor"
	"github.com/jig-dev/jig/proto/jinapb"
)

// moduleRoot is the jig checkout (for replace directives of test
// executors built outside the module).
func moduleRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

const greeterSrc = `package main

import (
	"context"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/workercmd"
)

type Greeter struct {
	executors.Base
	Punct string ` + "`yaml:\"punct\"`" + `
}

func (g *Greeter) Endpoints(r *executors.Router) { r.Default(g.Greet) }

func (g *Greeter) Greet(ctx context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	for _, d := range docs {
		d.Text = "GREETING " + d.Text + g.Punct
	}
	return nil, nil
}

func main() { workercmd.Main(func() executors.Executor { return &Greeter{} }) }
`

// writeExecutor creates a Go executor module in a temporary folder.
func writeExecutor(t *testing.T, greeting string) string {
	t.Helper()
	dir := t.TempDir()
	root := moduleRoot(t)
	gomod := "module greeter\n\ngo 1.26\n\nrequire github.com/jig-dev/jig v0.0.0\n\nreplace github.com/jig-dev/jig => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "go.mod"), gomod)
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	write(t, filepath.Join(dir, "main.go"), strings.Replace(greeterSrc, "GREETING", greeting, 1))
	write(t, filepath.Join(dir, "config.yml"), "jtype: Greeter\nwith:\n  punct: '!'\n")
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = dir
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	// Write then rename, as editors do, so a watcher never sees half a file.
	tmp := path + ".tmp~"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// load keeps a steady stream of requests going and counts failures.
type load struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	total    atomic.Int64
	failures atomic.Int64
	last     atomic.Value // string: the last text returned
	firstErr atomic.Value
}

func startLoad(t *testing.T, addr string, workers int) *load {
	cc := dial(t, addr)
	client := jinapb.NewJinaSingleDataRequestRPCClient(cc)
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				resp, err := client.ProcessSingleData(context.Background(), newReq("/x", nil, "bob"))
				l.total.Add(1)
				if err != nil || resp.GetHeader().GetStatus().GetCode() != jinapb.StatusProto_SUCCESS {
					l.failures.Add(1)
					if err == nil {
						err = errString(resp.GetHeader().GetStatus().GetDescription())
					}
					l.firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				docs, _ := executors.RequestDocs(resp)
				l.last.Store(docs[0].Text)
			}
		}()
	}
	t.Cleanup(l.stop)
	return l
}

type errString string

func (e errString) Error() string { return string(e) }

func (l *load) stop() { l.cancel(); l.wg.Wait() }

func (l *load) text() string {
	s, _ := l.last.Load().(string)
	return s
}

func waitForLong(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	waitfor.True(t, what, d, cond)
}

func lastUpdate(eng *engine.Engine, kind events.ReloadKind, outcome events.Outcome) *events.Update {
	var found *events.Update
	for _, e := range eng.Bus().Recent() {
		if u, ok := e.(events.Update); ok && u.Kind == kind && u.Outcome == outcome {
			u := u
			found = &u
		}
	}
	return found
}

// TestReloadUnderLoad: editing the executor's source changes the answers
// within seconds without a failed request; a syntax error keeps the old
// version serving and reports the compiler output; editing config.yml
// restarts it with the new configuration.
func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds executors")
	}
	dir := writeExecutor(t, "hello")
	eng := startFlowIn(t, dir, "jtype: Flow\nexecutors:\n  - {name: greeter, uses: ., replicas: 2, reload: true}\n")
	l := startLoad(t, eng.Addresses().GRPC, 4)
	waitForLong(t, "first answers", 10*time.Second, func() bool { return l.text() == "hello bob!" })

	// 1. Source change: new answers, no failures.
	start := time.Now()
	write(t, filepath.Join(dir, "main.go"), strings.Replace(greeterSrc, "GREETING", "howdy", 1))
	waitForLong(t, "new version answering", 60*time.Second, func() bool { return l.text() == "howdy bob!" })
	t.Logf("source edit → new answers in %s (%d requests so far)", time.Since(start).Round(time.Millisecond), l.total.Load())
	waitForLong(t, "reload finished", 30*time.Second, func() bool { return lastUpdate(eng, events.Reload, events.Succeeded) != nil })
	if u := lastUpdate(eng, events.Reload, events.Succeeded); len(u.Trigger) != 1 || !strings.HasSuffix(u.Trigger[0], "main.go") {
		t.Fatalf("reload event trigger: %+v", u)
	}

	// 2. Syntax error: old version keeps serving, compiler output reported.
	write(t, filepath.Join(dir, "main.go"), strings.Replace(greeterSrc, "func main()", "func main(", 1))
	waitForLong(t, "build failure reported", 60*time.Second, func() bool { return lastUpdate(eng, events.Reload, events.Failure) != nil })
	u := lastUpdate(eng, events.Reload, events.Failure)
	if !strings.Contains(u.Output, "main.go:") || !strings.Contains(u.Output, "syntax error") {
		t.Fatalf("compiler output missing: %q", u.Output)
	}
	before := l.total.Load()
	waitForLong(t, "still serving", 10*time.Second, func() bool { return l.total.Load() > before+50 })
	if l.text() != "howdy bob!" {
		t.Fatalf("old version must keep serving, got %q", l.text())
	}

	// 3. config.yml change (source fixed again): restarted with the new config.
	write(t, filepath.Join(dir, "main.go"), strings.Replace(greeterSrc, "GREETING", "howdy", 1))
	write(t, filepath.Join(dir, "config.yml"), "jtype: Greeter\nwith:\n  punct: '?'\n")
	waitForLong(t, "new config answering", 60*time.Second, func() bool { return l.text() == "howdy bob?" })

	l.stop()
	if n := l.failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during reloads (first: %v)", n, l.total.Load(), l.firstErr.Load())
	}
	t.Logf("%d requests, 0 failed", l.total.Load())
}

// TestFlowYAMLReconcile: changing the flow YAML adds, rescales and removes
// deployments without restarting untouched ones; an invalid YAML is
// reported and changes nothing.
func TestFlowYAMLReconcile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flow.yml")
	write(t, path, "jtype: Flow\nexecutors:\n  - {name: a, uses: EngTagger, restart: true}\n  - {name: b, uses: EngTagger}\n")
	f, err := flow.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Start(context.Background(), f, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(context.Background())
	l := startLoad(t, eng.Addresses().GRPC, 2)
	waitForLong(t, "answers", 5*time.Second, func() bool { return l.text() == "bob>a>b" })
	pidOf := func(name string) string {
		for _, d := range eng.Status().Deployments {
			if d.Name == name {
				return d.ReplicaStatus[0].Address
			}
		}
		return ""
	}
	aAddr := pidOf("a")

	// Add c, rescale b, keep a.
	write(t, path, "jtype: Flow\nexecutors:\n  - {name: a, uses: EngTagger, restart: true}\n  - {name: b, uses: EngTagger, replicas: 3}\n  - {name: c, uses: EngTagger}\n")
	waitForLong(t, "c added", 20*time.Second, func() bool { return l.text() == "bob>a>b>c" })
	var bReady int
	for _, d := range eng.Status().Deployments {
		if d.Name == "b" {
			bReady = d.Ready
		}
	}
	if bReady != 3 {
		t.Fatalf("b has %d ready replicas, want 3", bReady)
	}
	if pidOf("a") != aAddr {
		t.Fatal("untouched deployment a was restarted")
	}

	// Invalid YAML: reported, nothing changes.
	write(t, path, "jtype: Flow\nexecutors:\n  - {name: a, uses: EngTagger, replicas: many}\n")
	waitForLong(t, "failure reported", 10*time.Second, func() bool {
		u := lastUpdate(eng, events.Reconcile, events.Failure)
		return u != nil && strings.Contains(u.Output, "replicas: want an integer")
	})
	if len(eng.Flow().Deployments) != 3 {
		t.Fatal("invalid YAML must leave the flow as it was")
	}

	// Remove c and b.
	write(t, path, "jtype: Flow\nexecutors:\n  - {name: a, uses: EngTagger, restart: true}\n")
	waitForLong(t, "b and c removed", 20*time.Second, func() bool { return l.text() == "bob>a" })
	l.stop()
	if n := l.failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during reconciles (first: %v)", n, l.total.Load(), l.firstErr.Load())
	}
}

func TestAddExecutorAndUsesWith(t *testing.T) {
	eng := startFlow(t, "jtype: Flow\nexecutors:\n  - {name: a, uses: EngTagger}\n")
	cc := dial(t, eng.Addresses().GRPC)
	if err := eng.AddExecutor(context.Background(), "b", "EngTagger", false); err != nil {
		t.Fatal(err)
	}
	_, docs := send(t, cc, newReq("/x", nil, "x"))
	if docs[0].Text != "x>a>b" {
		t.Fatalf("after add: %q", docs[0].Text)
	}
	if err := eng.AddExecutor(context.Background(), "b", "EngTagger", false); err == nil {
		t.Fatal("duplicate name must fail")
	}
	if err := eng.UpdateUsesWith(context.Background(), "a", "suffix: '#'\n"); err != nil {
		t.Fatal(err)
	}
	_, docs = send(t, cc, newReq("/x", nil, "x"))
	if docs[0].Text != "x>a#>b" {
		t.Fatalf("after uses_with: %q", docs[0].Text)
	}
	err := eng.UpdateUsesWith(context.Background(), "a", "sufix: 1\n")
	if err == nil || !strings.Contains(err.Error(), `uses_with of a:1:1: sufix: unknown field "sufix"`) {
		t.Fatalf("bad uses_with: %v", err)
	}
	_, docs = send(t, cc, newReq("/x", nil, "x"))
	if docs[0].Text != "x>a#>b" {
		t.Fatalf("failed update must change nothing: %q", docs[0].Text)
	}
	if st := eng.Status().Deployments[0]; !strings.Contains(st.UsesWith, "suffix") {
		t.Fatalf("status uses_with: %q", st.UsesWith)
	}
}
