package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jig-dev/jig/client/clienttest"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
)

// postExec upper-cases texts; /fail fails on a document with text "bad";
// /params stores the parameters it got in each document's tags; /count
// returns results.
type postExec struct {
	executors.Base
	calls atomic.Int32
}

func (e *postExec) Endpoints(r *executors.Router) {
	r.Default(e.Upper)
	r.On("/fail", e.Fail)
	r.On("/params", e.Params)
	r.On("/count", e.Count)
}

// Count returns the number of documents it got as results.
func (e *postExec) Count(_ context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, executors.Results, error) {
	return nil, executors.Results{"count": len(docs)}, nil
}

func (e *postExec) Upper(_ context.Context, docs docarray.DocList, _ executors.Params) (docarray.DocList, error) {
	e.calls.Add(1)
	for _, d := range docs {
		d.Text = strings.ToUpper(d.Text)
	}
	return nil, nil
}

func (e *postExec) Fail(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	for _, d := range docs {
		if d.Text == "bad" {
			return nil, executors.Errorf("ValueError", "bad doc %s", d.ID)
		}
	}
	return e.Upper(ctx, docs, p)
}

func (e *postExec) Params(_ context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	e.calls.Add(1)
	for _, d := range docs {
		d.Tags = map[string]any(p)
	}
	return nil, nil
}

func init() {
	executors.Register("PostTestExec", func() executors.Executor { return &postExec{} })
}

type postServer struct {
	exec     *postExec
	grpcAddr string
	httpAddr string
}

// startPostServer serves postExec over gRPC (a worker) and HTTP (the
// reference gateway of client/clienttest).
func startPostServer(t *testing.T) *postServer {
	t.Helper()
	spec, err := executors.NewSpec("PostTestExec", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec.Runtime.Name = "exec"
	inst, err := executors.New(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := worker.NewServer(worker.Options{Instance: inst})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	hs := httptest.NewServer(&clienttest.Gateway{Process: srv.Process})
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Stop(ctx)
		<-served
		inst.Close()
	})
	return &postServer{exec: inst.Executor().(*postExec), grpcAddr: "grpc://" + lis.Addr().String(), httpAddr: hs.URL}
}

// runPostCLI runs the jig command line as main does, with stdin, stdout and
// stderr redirected to files, and returns the exit code and output.
func runPostCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "stdin")
	if err := os.WriteFile(in, []byte(stdin), 0o600); err != nil {
		t.Fatal(err)
	}
	files := make([]*os.File, 3)
	for i, name := range []string{"stdin", "stdout", "stderr"} {
		var err error
		if i == 0 {
			files[i], err = os.Open(filepath.Join(dir, name))
		} else {
			files[i], err = os.Create(filepath.Join(dir, name))
		}
		if err != nil {
			t.Fatal(err)
		}
		defer files[i].Close()
	}
	oldIn, oldOut, oldErr := os.Stdin, os.Stdout, os.Stderr
	os.Stdin, os.Stdout, os.Stderr = files[0], files[1], files[2]
	code = run(args)
	os.Stdin, os.Stdout, os.Stderr = oldIn, oldOut, oldErr
	out, _ := os.ReadFile(filepath.Join(dir, "stdout"))
	errOut, _ := os.ReadFile(filepath.Join(dir, "stderr"))
	return code, string(out), string(errOut)
}

// docsOf parses JSON lines of documents.
func docsOf(t *testing.T, out string) docarray.DocList {
	t.Helper()
	var docs docarray.DocList
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d docarray.Document
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("stdout line %q: %v", sc.Text(), err)
		}
		docs = append(docs, &d)
	}
	return docs
}

func TestPostTexts(t *testing.T) {
	s := startPostServer(t)
	for _, addr := range []string{s.grpcAddr, s.httpAddr, strings.TrimPrefix(s.grpcAddr, "grpc://")} {
		t.Run(addr, func(t *testing.T) {
			code, out, errOut := runPostCLI(t, "", "post", addr, "--on", "/up", "--text", "hello", "--text", "a, b")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			docs := docsOf(t, out)
			if got := docs.Texts(); len(got) != 2 || !(got[0] == "HELLO" && got[1] == "A, B" || got[0] == "A, B" && got[1] == "HELLO") {
				t.Fatalf("texts %q", got)
			}
			if len(docs[0].ID) != 32 {
				t.Fatalf("id %q", docs[0].ID)
			}
		})
	}
}

func TestPostN(t *testing.T) {
	s := startPostServer(t)
	code, out, errOut := runPostCLI(t, "", "post", s.grpcAddr, "--on", "/up", "--n", "250", "--request-size", "100", "--ordered")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	docs := docsOf(t, out)
	if len(docs) != 250 {
		t.Fatalf("%d docs", len(docs))
	}
	for i, d := range docs {
		if d.ID != fmt.Sprint(i) || d.Text != fmt.Sprintf("DOC %d", i) {
			t.Fatalf("doc %d: %+v", i, d)
		}
	}
	if errOut != "" {
		t.Fatalf("stderr %q (no progress line when stderr is not a terminal)", errOut)
	}
}

func TestPostManyDocs(t *testing.T) {
	s := startPostServer(t)
	// 40 requests, 8 in flight at a time: enough to keep the pipeline
	// full for most of the run (more documents per request would only
	// add encoding time).
	for _, addr := range []string{s.grpcAddr, s.httpAddr} {
		code, out, errOut := runPostCLI(t, "", "post", addr, "--on", "/up", "--n", "4000", "--request-size", "100", "--prefetch", "8")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if n := strings.Count(out, "\n"); n != 4000 {
			t.Fatalf("%d lines", n)
		}
	}
}

func TestPostData(t *testing.T) {
	s := startPostServer(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "docs.jsonl")
	os.WriteFile(good, []byte(`{"id": "a", "text": "x", "tags": {"k": 1}}

{"id": "b", "text": "y", "embedding": [1, 2]}
{"text": "z"}
`), 0o600)
	t.Run("file", func(t *testing.T) {
		code, out, errOut := runPostCLI(t, "", "post", s.httpAddr, "--on", "/up", "--data", good, "--ordered", "--request-size", "2")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		docs := docsOf(t, out)
		if len(docs) != 3 || docs[0].ID != "a" || docs[0].Tags["k"] != int64(1) || docs[1].Embedding == nil || docs[2].Text != "Z" {
			t.Fatalf("docs %s", out)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		code, out, errOut := runPostCLI(t, "{\"id\": \"s1\", \"text\": \"from stdin\"}\n{\"id\": \"s2\"}", "post", s.grpcAddr, "--on", "/up", "--data", "-", "--ordered")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if docs := docsOf(t, out); len(docs) != 2 || docs[0].Text != "FROM STDIN" || docs[1].ID != "s2" {
			t.Fatalf("docs %s", out)
		}
	})
	t.Run("bad line", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.jsonl")
		os.WriteFile(bad, []byte("{\"id\": \"a\"}\n\n{\"id\": \"b\", \"embedding\": \"nope\"}\n{\"id\": \"c\"}\n"), 0o600)
		code, _, errOut := runPostCLI(t, "", "post", s.grpcAddr, "--on", "/up", "--data", bad)
		if code != 2 || !strings.Contains(errOut, "bad.jsonl:3: invalid document: field \"embedding\"") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		code, _, errOut = runPostCLI(t, "{\"id\": 1}\nnot json\n", "post", s.grpcAddr, "--on", "/up", "--data", "-")
		if code != 2 || !strings.Contains(errOut, "<stdin>:2: invalid document") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		code, _, errOut := runPostCLI(t, "", "post", s.grpcAddr, "--data", filepath.Join(dir, "nope.jsonl"))
		if code != 2 || !strings.Contains(errOut, "nope.jsonl: cannot read documents: no such file") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
}

func TestPostParameters(t *testing.T) {
	s := startPostServer(t)
	for _, addr := range []string{s.grpcAddr, s.httpAddr} {
		code, out, errOut := runPostCLI(t, "", "post", addr, "--on", "/params", "--text", "x", "--parameters", `{"limit": 5, "exec": {"mine": true}}`)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		docs := docsOf(t, out)
		if len(docs) != 1 || docs[0].Tags["limit"] != float64(5) || docs[0].Tags["mine"] != true {
			t.Fatalf("docs %s", out)
		}
	}
}

func TestPostPrintsResultsOnStderr(t *testing.T) {
	s := startPostServer(t)
	for _, addr := range []string{s.grpcAddr, s.httpAddr} {
		code, out, errOut := runPostCLI(t, "", "post", addr, "--on", "/count", "--text", "a", "--text", "b")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", addr, code, errOut)
		}
		if docs := docsOf(t, out); len(docs) != 2 {
			t.Errorf("%s: stdout should hold only the 2 documents: %q", addr, out)
		}
		if !strings.Contains(errOut, `results: {"exec":{"count":2}}`) {
			t.Errorf("%s: stderr %q lacks the results", addr, errOut)
		}
	}
}

func TestPostNoDocs(t *testing.T) {
	s := startPostServer(t)
	code, out, errOut := runPostCLI(t, "", "post", s.grpcAddr, "--parameters", `{"x": 1}`)
	if code != 0 || out != "" || s.exec.calls.Load() != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q, %d calls", code, out, errOut, s.exec.calls.Load())
	}
}

func TestPostExecutorError(t *testing.T) {
	s := startPostServer(t)
	for _, addr := range []string{s.grpcAddr, s.httpAddr} {
		code, _, errOut := runPostCLI(t, "", "post", addr, "--on", "/fail", "--text", "ok", "--text", "bad")
		if code != 1 || !strings.Contains(errOut, `executor "exec" raised ValueError: bad doc `) {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	}
	// --continue-on-error prints the other requests' documents.
	data := filepath.Join(t.TempDir(), "d.jsonl")
	var b bytes.Buffer
	for i := range 30 {
		text := "t"
		if i == 15 {
			text = "bad"
		}
		fmt.Fprintf(&b, "{\"id\": \"%d\", \"text\": %q}\n", i, text)
	}
	os.WriteFile(data, b.Bytes(), 0o600)
	code, out, errOut := runPostCLI(t, "", "post", s.grpcAddr, "--on", "/fail", "--data", data, "--request-size", "10", "--continue-on-error")
	if code != 1 || len(docsOf(t, out)) != 20 || !strings.Contains(errOut, "error: request 1: executor \"exec\" raised ValueError: bad doc 15") ||
		!strings.Contains(errOut, "1 of 3 requests failed") {
		t.Fatalf("exit %d, %d docs: %s", code, len(docsOf(t, out)), errOut)
	}
}

func TestPostUnreachable(t *testing.T) {
	for _, addr := range []string{"grpc://127.0.0.1:1", "http://127.0.0.1:1"} {
		start := time.Now()
		code, _, errOut := runPostCLI(t, "", "post", addr, "--text", "x")
		if code != 1 || strings.TrimSpace(errOut) != "error: cannot reach "+addr+": connection refused" || time.Since(start) > time.Second {
			t.Fatalf("exit %d after %s: %q", code, time.Since(start), errOut)
		}
	}
}

func TestPostUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"post", "grpc://127.0.0.1:1", "--parameters", "{bad"}, "--parameters: invalid character"},
		{[]string{"post", "grpc://127.0.0.1:1", "--parameters", "[1]"}, "--parameters: "},
		{[]string{"post", "grpc://127.0.0.1:1", "--parameters", "null"}, "want a JSON object"},
		{[]string{"post", "grpc://127.0.0.1:1", "--target", "("}, "--target: not a regular expression"},
		{[]string{"post", "grpc://127.0.0.1:1", "--text", "a", "--n", "3"}, "alternatives"},
		{[]string{"post", "grpc://127.0.0.1:1", "--n", "-1"}, "--n must not be negative"},
		{[]string{"post", "grpc://127.0.0.1:1", "--retries", "-1"}, "--retries must not be negative"},
		{[]string{"post", "grpc://127.0.0.1:1", "--timeout", "soon"}, "invalid argument \"soon\""},
		{[]string{"post", "ftp://host:1", "--text", "a"}, `bad address "ftp://host:1": unknown scheme`},
		{[]string{"post", "localhost"}, "missing port"},
		{[]string{"post"}, "accepts 1 arg"},
		{[]string{"post", "grpcs://127.0.0.1:1", "--tls-ca", "/nonexistent.pem"}, "CA file"},
	} {
		code, _, errOut := runPostCLI(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, errOut, tc.msg)
		}
	}
}

func TestProgress(t *testing.T) {
	var sent atomic.Int64
	var b bytes.Buffer
	p := &progress{w: &b, on: true, sent: &sent, start: time.Now(), interval: 0}
	sent.Store(200)
	p.done(100, false)
	if b.Len() != 0 {
		t.Fatalf("drew after one request: %q", b.String())
	}
	p.done(100, true)
	if got := b.String(); !strings.Contains(got, "sent 200 docs, received 200 docs in 2 requests") || !strings.Contains(got, "1 failed") {
		t.Fatalf("got %q", got)
	}
	p.clear()
	if !strings.HasSuffix(b.String(), "\r\x1b[K") {
		t.Fatalf("not cleared: %q", b.String())
	}
	if newProgress(&b, &sent).on {
		t.Fatal("progress on for a buffer")
	}
}
