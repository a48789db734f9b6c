//go:build jaeger

// The Jaeger test (`make trace-test`): a real Jaeger v1.75.0 (built from
// tools/jaeger, memory storage, every port free on 127.0.0.1) receives the
// spans of a flow of three deployments (a Go executor in a child process,
// an in-process one with two replicas, a stateful RAFT index of three),
// and the test reads the traces back from Jaeger's HTTP query API.

package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/engine/enginetest"
	"github.com/jig-dev/jig/executors/docarray"
)

// jaegerTrace is a trace as /api/traces returns it.
type jaegerTrace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		StartTime int64 `json:"startTime"`
		Duration  int64 `json:"duration"`
		Tags      []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"tags"`
		ProcessID string `json:"processID"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// jaegerBinary returns $JIG_JAEGER_BIN, or builds tools/jaeger's Jaeger
// (minutes the first time, cached after).
func jaegerBinary(t *testing.T) string {
	if p := os.Getenv("JIG_JAEGER_BIN"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "jaeger")
	t.Log("building Jaeger v1.75.0 from tools/jaeger (slow the first time)")
	cmd := exec.Command("go", "build", "-o", out, "github.com/jaegertracing/jaeger/cmd/jaeger")
	cmd.Dir = filepath.Join("..", "tools", "jaeger")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build jaeger: %v\n%s", err, b)
	}
	return out
}

// startJaeger runs Jaeger with memory storage; it returns the OTLP/gRPC
// port and the query API's base URL.
func startJaeger(t *testing.T) (otlpPort int, query string) {
	// freePort (security_test.go): ports picked free, then handed to Jaeger.
	bin := jaegerBinary(t)
	otlpPort, httpPort, grpcPort := freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`, httpPort, grpcPort, otlpPort)
	path := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config", path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("jaeger output:\n%s", logs.String())
		}
	})
	query = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	// Ready when the query API answers (the receiver starts before it).
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(query + "/api/services")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return otlpPort, query
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("jaeger exited: %v\n%s", err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("jaeger not ready within 60s\n%s", logs.String())
		}
	}
}

func queryTraces(t *testing.T, query, service string) []jaegerTrace {
	t.Helper()
	resp, err := http.Get(query + "/api/traces?limit=1000&lookback=1h&service=" + service)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Data []jaegerTrace `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return out.Data
}

func TestJaegerTraces(t *testing.T) {
	otlpPort, query := startJaeger(t)
	greeter, err := filepath.Abs(filepath.Join("..", "examples", "greeter"))
	if err != nil {
		t.Fatal(err)
	}
	eng := startFlowIn(t, t.TempDir(), fmt.Sprintf(`
jtype: Flow
name: tracedflow
with:
  tracing: true
  traces_exporter_host: 127.0.0.1
  traces_exporter_port: %d
executors:
  - name: greet
    uses: %s
  - name: embed
    uses: builtin:HashEmbedder
    replicas: 2
  - name: index
    uses: builtin:SimpleIndexer
    uses_with: {persist: false}
    replicas: 3
    stateful: true
`, otlpPort, greeter))
	enginetest.WaitForLeader(t, eng, "index")
	const writes, reads = 3, 2
	for i := range writes {
		enginetest.Route(t, eng, "/index", docarray.DocList{{ID: "d" + strconv.Itoa(i), Text: "hello " + strconv.Itoa(i)}}, nil)
	}
	for range reads {
		enginetest.Route(t, eng, "/search", docarray.DocList{{Text: "hello"}}, nil)
	}

	// Poll Jaeger until the child process's executor spans arrived too
	// (they are batched and exported a second later); each round trip
	// is the readiness signal.
	var traces []jaegerTrace
	complete := func() bool {
		traces = queryTraces(t, query, "tracedflow")
		if len(traces) < writes+reads {
			return false
		}
		for _, tr := range traces {
			if len(tr.Processes) < 2 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(60 * time.Second)
	for !complete() {
		if time.Now().After(deadline) {
			t.Fatalf("Jaeger has %d traces of tracedflow after 60s (want %d, each with the child process's spans)", len(traces), writes+reads)
		}
		time.Sleep(200 * time.Millisecond) // polling Jaeger: it has no push signal
	}
	if len(traces) != writes+reads {
		t.Fatalf("want one trace per request (%d), got %d", writes+reads, len(traces))
	}
	byEndpoint := map[string]int{}
	for _, tr := range traces {
		byEndpoint[checkJaegerTrace(t, tr)]++
	}
	if byEndpoint["/index"] != writes || byEndpoint["/search"] != reads {
		t.Errorf("traces per endpoint %v", byEndpoint)
	}
	if testing.Verbose() {
		for _, tr := range traces {
			b, _ := json.MarshalIndent(tr, "", " ")
			t.Logf("%s", b)
		}
	}
}

// checkJaegerTrace checks one request's tree and returns its endpoint.
func checkJaegerTrace(t *testing.T, tr jaegerTrace) string {
	t.Helper()
	type span struct {
		name, parent, service string
		tags                  map[string]string
	}
	spans := map[string]span{}
	for _, s := range tr.Spans {
		sp := span{name: s.OperationName, service: tr.Processes[s.ProcessID].ServiceName, tags: map[string]string{}}
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" {
				sp.parent = r.SpanID
			}
		}
		for _, tg := range s.Tags {
			sp.tags[tg.Key] = fmt.Sprint(tg.Value)
		}
		spans[s.SpanID] = sp
	}
	var root string
	for id, s := range spans {
		if s.parent == "" {
			if root != "" {
				t.Errorf("trace %s has two roots: %s and %s", tr.TraceID, spans[root].name, s.name)
			}
			root = id
		} else if _, ok := spans[s.parent]; !ok {
			t.Errorf("trace %s: parent of %q is missing", tr.TraceID, s.name)
		}
	}
	gw := spans[root]
	ep, ok := strings.CutPrefix(gw.name, "gateway ")
	if !ok || gw.tags["jig.endpoint"] != ep || gw.tags["jig.docs"] != "1" || gw.tags["jig.request_id"] == "" || gw.service != "tracedflow" {
		t.Errorf("trace %s: root %+v, want the gateway span with endpoint, docs and request id", tr.TraceID, gw)
	}
	// path finds the span named name whose parent is named parentName.
	child := func(parentID, prefix string) (string, span) {
		for id, s := range spans {
			if s.parent == parentID && strings.HasPrefix(s.name, prefix) {
				return id, s
			}
		}
		t.Errorf("trace %s (%s): no %q under %q", tr.TraceID, ep, prefix, spans[parentID].name)
		return "", span{}
	}
	for _, dep := range []string{"greet", "embed", "index"} {
		did, _ := child(root, "deployment "+dep)
		cid, call := child(did, "call "+dep+"/")
		if call.tags["jig.deployment"] != dep || call.tags["jig.attempt"] == "" || call.tags["jig.shard"] != "0" || call.tags["jig.replica"] == "" {
			t.Errorf("call tags %v", call.tags)
		}
		eid, exec := child(cid, "executor ")
		if exec.tags["jig.endpoint"] != ep {
			t.Errorf("executor tags %v", exec.tags)
		}
		switch dep {
		case "greet":
			// The child process continued the trace from the traceparent
			// in the gRPC metadata and exported under its own service.
			if exec.service != "greet" {
				t.Errorf("greet's executor span comes from service %q, want the child process's \"greet\"", exec.service)
			}
		case "index":
			if ep == "/index" {
				_, apply := child(eid, "raft.apply")
				if n, _ := strconv.Atoi(apply.tags["raft.commit_index"]); n <= 0 {
					t.Errorf("raft.apply tags %v", apply.tags)
				}
			}
		}
	}
	return ep
}
