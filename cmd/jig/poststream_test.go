package main

import (
	"bufio"
	"context"
	"encoding/json"
	"iter"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/executors/worker"
)

// streamGate releases PostTestStream's words after the first one.
var streamGate = make(chan struct{})

// postStream yields the words of each text on /gen (all but the first
// only once streamGate is closed); "boom" fails.
type postStream struct{ executors.Base }

func (e *postStream) Endpoints(r *executors.Router) {
	r.On("/gen", executors.Generator(func(ctx context.Context, doc *docarray.Document, p executors.Params) iter.Seq2[*docarray.Document, error] {
		return func(yield func(*docarray.Document, error) bool) {
			for i, w := range strings.Fields(doc.Text) {
				if i > 0 {
					select {
					case <-streamGate:
					case <-ctx.Done():
						return
					}
				}
				if w == "boom" {
					yield(nil, executors.Errorf("Boom", "no"))
					return
				}
				if !yield(docarray.New(p.String("prefix", "")+w), nil) {
					return
				}
			}
		}
	}))
}

func init() {
	executors.Register("PostTestStream", func() executors.Executor { return &postStream{} })
}

func startStreamWorker(t *testing.T) string {
	t.Helper()
	spec, _ := executors.NewSpec("PostTestStream", nil)
	spec.Runtime.Name = "gen"
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
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Stop(ctx)
		<-served
		inst.Close()
	})
	return "grpc://" + lis.Addr().String()
}

// TestPostStreamPrintsItemsAsTheyArrive reads jig post --stream's stdout
// through a pipe: the first item is printed while the generator still
// waits to produce the second.
func TestPostStreamPrintsItemsAsTheyArrive(t *testing.T) {
	streamGate = make(chan struct{}) // closed below; fresh for -count > 1
	addr := startStreamWorker(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	oldOut := os.Stdout
	os.Stdout = w
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"post", addr, "--on", "/gen", "--stream", "--text", "one two three", "--parameters", `{"prefix": ">"}`})
		w.Close()
	}()
	defer func() { os.Stdout = oldOut }()
	lines := bufio.NewScanner(r)
	var got []string
	for lines.Scan() {
		var d docarray.Document
		if err := json.Unmarshal(lines.Bytes(), &d); err != nil {
			t.Fatalf("stdout line %q: %v", lines.Text(), err)
		}
		got = append(got, d.Text)
		if len(got) == 1 {
			close(streamGate) // only now may the generator go on
		}
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if strings.Join(got, " ") != ">one >two >three" {
		t.Fatalf("printed %v", got)
	}
}

func TestPostStreamExecutorError(t *testing.T) {
	addr := startStreamWorker(t)
	code, out, errOut := runPostCLI(t, "", "post", addr, "--on", "/gen", "--stream", "--text", "boom")
	if code != 1 || out != "" || !strings.Contains(errOut, "Boom") {
		t.Fatalf("code %d stdout %q stderr %q", code, out, errOut)
	}
}
