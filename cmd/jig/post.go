package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/tracing"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/grpc/metadata"
)

func init() {
	subcommands = append(subcommands, newPostCmd)
}

// postFlags are the flags of `jig post`.
type postFlags struct {
	on              string
	texts           []string
	data            string
	n               int
	parameters      string
	requestSize     int
	target          string
	timeout         time.Duration
	retries         int
	prefetch        int
	ordered         bool
	continueOnError bool
	token           string
	tlsCA           string
	tlsInsecure     bool
	stream          bool // poststream.go
	verbose         bool
}

func newPostCmd() *cobra.Command {
	var f postFlags
	cmd := &cobra.Command{
		Use:   "post ADDR --on /ep [--text T ...|--data FILE.jsonl|--n N]",
		Short: "Send documents to a gateway and print the returned ones",
		Long: `Send documents to a flow's gateway (or a bare executor) and print the
returned documents on stdout, one JSON document per line (docarray's JSON
form), as they arrive.

ADDR is grpc://host:port, grpcs://host:port, http://host:port,
https://host[:port] or a bare host:port (gRPC).

Documents come from --text (repeatable), --data (a JSON-lines file, one
document per line; "-" reads stdin), or --n (N generated documents with ids
"0".."N-1" and texts "doc <i>"). Without any, one request without
documents is sent (parameters only). Input is streamed: --data and --n
never hold more than --prefetch requests in memory.

Results come in arrival order unless --ordered. Executors' results
(parameters["__results__"], e.g. a /count) are printed on stderr as
"results: {<executor>: {...}}". The first failing request
stops the run (exit code 1) with the executor's error, unless
--continue-on-error. On a terminal, a progress line is shown on stderr.` + streamHelp,
		Example: `  jig post grpc://localhost:12345 --on /index --text hello --text world
  jig post http://localhost:8080 --on /search --data queries.jsonl --parameters '{"limit": 5}'
  jig post localhost:12345 --on /index --n 100000 --request-size 500 > out.jsonl
  cat docs.jsonl | jig post grpc://localhost:12345 --on /index --data - --retries 3
  jig post localhost:12345 --on /generate --stream --text 'tell me a story'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPost(cmd, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.on, "on", "/default", "endpoint to send to")
	fl.StringArrayVar(&f.texts, "text", nil, "a document's text (repeatable)")
	fl.StringVar(&f.data, "data", "", `JSON-lines file of documents ("-" for stdin)`)
	fl.IntVar(&f.n, "n", 0, `send N generated documents (ids "0".."N-1", texts "doc <i>")`)
	fl.StringVar(&f.parameters, "parameters", "", `request parameters, a JSON object such as '{"limit": 5}'`)
	fl.IntVar(&f.requestSize, "request-size", client.DefaultRequestSize, "documents per request (0: all in one request)")
	fl.StringVar(&f.target, "target", "", "only executors whose name matches this regular expression process the request")
	fl.DurationVar(&f.timeout, "timeout", 0, "time limit per request, e.g. 30s (0: none)")
	fl.IntVar(&f.retries, "retries", 0, "retries of a request after a transport failure (UNAVAILABLE, HTTP 502/503)")
	fl.IntVar(&f.prefetch, "prefetch", client.DefaultPrefetch, "requests in flight at most")
	fl.BoolVar(&f.ordered, "ordered", false, "print results in input order")
	fl.BoolVar(&f.continueOnError, "continue-on-error", false, "report failed requests and go on with the others")
	fl.StringVar(&f.token, "token", os.Getenv("JIG_TOKEN"), "bearer token for the gateway (default $JIG_TOKEN)")
	fl.StringVar(&f.tlsCA, "tls-ca", "", "PEM file of a CA to trust for grpcs:// and https://")
	fl.BoolVar(&f.tlsInsecure, "tls-insecure", false, "accept any server certificate (testing only)")
	fl.BoolVar(&f.verbose, "verbose", false, "send a W3C traceparent and print its trace id on stderr (find the requests in Jaeger when the flow has tracing on)")
	fl.BoolVar(&f.stream, "stream", false, "stream_doc: send each document to a generator endpoint and print what it yields as it arrives")
	return cmd
}

func runPost(cmd *cobra.Command, addr string, f *postFlags) error {
	sources := 0
	for _, set := range []bool{len(f.texts) > 0, f.data != "", cmd.Flags().Changed("n")} {
		if set {
			sources++
		}
	}
	switch {
	case sources > 1:
		return &usageError{errors.New("--text, --data and --n are alternatives; give one of them")}
	case f.n < 0:
		return &usageError{fmt.Errorf("--n must not be negative, got %d", f.n)}
	case f.retries < 0:
		return &usageError{fmt.Errorf("--retries must not be negative, got %d", f.retries)}
	case f.timeout < 0:
		return &usageError{fmt.Errorf("--timeout must not be negative, got %s", f.timeout)}
	}
	var params map[string]any
	if f.parameters != "" {
		if err := json.Unmarshal([]byte(f.parameters), &params); err != nil || params == nil {
			msg := "want a JSON object"
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(err, &te):
				msg = "want a JSON object, got a JSON " + te.Value
			case err != nil:
				msg = err.Error()
			}
			return &usageError{fmt.Errorf("--parameters: %s (e.g. '{\"limit\": 5}')", msg)}
		}
	}
	if f.target != "" {
		if _, err := regexp.Compile(f.target); err != nil {
			return &usageError{fmt.Errorf("--target: not a regular expression: %v", err)}
		}
	}
	var copts []client.Option
	if f.token != "" {
		copts = append(copts, client.WithToken(f.token))
	}
	if f.tlsCA != "" {
		copts = append(copts, client.WithCAFile(f.tlsCA))
	}
	if f.tlsInsecure {
		copts = append(copts, client.WithInsecureSkipVerify())
	}
	c, err := client.New(addr, copts...)
	if err != nil {
		return err
	}
	defer c.Close()

	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	if f.verbose {
		// Every request of the run is a child of this one remote parent:
		// one trace id for the run.
		traceID, tp := tracing.NewTraceparent()
		ctx = metadata.AppendToOutgoingContext(ctx, tracing.TraceparentKey, tp)
		fmt.Fprintln(cmd.ErrOrStderr(), "trace id:", traceID)
	}
	// inputErr is set by the document source when the input is bad; it
	// cancels the run and is reported instead of the cancellation.
	var inputErr error
	fail := func(err error) {
		inputErr = err
		cancel()
	}
	if f.stream {
		err := runPostStream(ctx, cmd, c, f, params, postInput(ctx, cmd, f, fail))
		if inputErr != nil {
			return inputErr
		}
		return err
	}
	var sent atomic.Int64
	docs := countDocs(postInput(ctx, cmd, f, fail), &sent)

	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	var writeErr error
	prog := newProgress(cmd.ErrOrStderr(), &sent)
	errOut := cmd.ErrOrStderr()
	opts := []client.PostOption{
		client.RequestSize(f.requestSize),
		client.Prefetch(f.prefetch),
		client.Retries(f.retries),
		client.Ordered(f.ordered),
		client.ContinueOnError(f.continueOnError),
		client.OnDone(func(r *client.Response) {
			if writeErr != nil {
				return
			}
			if writeErr = writeDocs(out, r.Docs); writeErr != nil {
				cancel()
				return
			}
			// Results (a /count, a training report...) are not documents:
			// they go to stderr so that stdout stays JSON lines of docs.
			if res := r.Results(); len(res) > 0 {
				b, err := json.Marshal(res)
				if err != nil {
					b = []byte(fmt.Sprintf("%q", fmt.Sprint(res)))
				}
				prog.clear()
				fmt.Fprintf(errOut, "results: %s\n", b)
			}
		}),
		client.OnAlways(func(r *client.Response, err error) {
			prog.done(len(r.Docs), err != nil)
		}),
		client.OnRetry(func(r client.Retry) {
			prog.clear()
			what := "the connection"
			if r.Index >= 0 {
				what = fmt.Sprintf("request %d", r.Index)
			}
			fmt.Fprintf(errOut, "retrying %s (attempt %d of %d): %v\n", what, r.Attempt, f.retries, r.Err)
		}),
	}
	if f.continueOnError {
		opts = append(opts, client.OnError(func(_ *client.Response, err error) {
			prog.clear()
			fmt.Fprintln(errOut, "error:", err)
			printStack(errOut, err)
		}))
	}
	opts = append(opts, f.requestOptions(params)...)
	err = c.PostStream(ctx, f.on, docs, opts...)
	prog.clear()
	if ferr := out.Flush(); writeErr == nil && ferr != nil {
		writeErr = ferr
	}
	switch {
	case inputErr != nil:
		return inputErr
	case writeErr != nil:
		return fmt.Errorf("write output: %w", writeErr)
	}
	printStack(errOut, err)
	return err
}

// printStack writes the stack an executor reported with its error (a Go
// or Python traceback), indented, so that `jig post` shows where it
// failed; the error line itself is printed by the caller.
func printStack(w io.Writer, err error) {
	var ee *client.ExecutorError
	if !errors.As(err, &ee) || ee.Status.Exception == nil || len(ee.Status.Exception.Stacks) == 0 {
		return
	}
	fmt.Fprintln(w, "executor stack:")
	for _, frame := range ee.Status.Exception.Stacks {
		for _, line := range strings.Split(strings.TrimRight(frame, "\n"), "\n") {
			fmt.Fprintln(w, "  "+line)
		}
	}
}

// postInput returns the documents of --text, --data or --n (nil: none).
// Input errors go to fail, which stops the run.
func postInput(ctx context.Context, cmd *cobra.Command, f *postFlags, fail func(error)) iter.Seq[*docarray.Document] {
	switch {
	case len(f.texts) > 0:
		return slices.Values(docarray.FromTexts(f.texts...))
	case cmd.Flags().Changed("n"):
		return func(yield func(*docarray.Document) bool) {
			for i := range f.n {
				if !yield(&docarray.Document{ID: strconv.Itoa(i), Text: "doc " + strconv.Itoa(i)}) {
					return
				}
			}
		}
	case f.data != "":
		return func(yield func(*docarray.Document) bool) {
			name, r := f.data, io.Reader(nil)
			if name == "-" {
				name, r = "<stdin>", cmd.InOrStdin()
			} else {
				file, err := os.Open(name)
				if err != nil {
					fail(&yamlutil.Error{File: name, Msg: fmt.Sprintf("cannot read documents: %v", errors.Unwrap(err))})
					return
				}
				defer file.Close()
				r = file
			}
			for d, err := range jsonLines(ctx, r, name) {
				if err != nil {
					fail(err)
					return
				}
				if !yield(d) {
					return
				}
			}
		}
	}
	return nil
}

// jsonLines decodes one document per non-blank line. Lines are read on
// their own goroutine so that a blocked read (a terminal on stdin) does
// not keep the run from ending on Ctrl-C.
func jsonLines(ctx context.Context, r io.Reader, name string) iter.Seq2[*docarray.Document, error] {
	return func(yield func(*docarray.Document, error) bool) {
		type line struct {
			b   []byte
			err error
		}
		lines := make(chan line, 16)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			defer close(lines)
			br := bufio.NewReaderSize(r, 64<<10)
			for {
				b, err := br.ReadBytes('\n')
				if len(b) > 0 {
					select {
					case lines <- line{b: b}:
					case <-stop:
						return
					}
				}
				if err != nil {
					if !errors.Is(err, io.EOF) {
						select {
						case lines <- line{err: err}:
						case <-stop:
						}
					}
					return
				}
			}
		}()
		for n := 1; ; n++ {
			var l line
			var ok bool
			select {
			case l, ok = <-lines:
			case <-ctx.Done():
				return
			}
			if !ok {
				return
			}
			if l.err != nil {
				yield(nil, fmt.Errorf("read %s: %w", name, l.err))
				return
			}
			b := bytes.TrimSpace(l.b)
			if len(b) == 0 {
				continue
			}
			var d docarray.Document
			if err := d.UnmarshalJSON(b); err != nil {
				yield(nil, &yamlutil.Error{File: name, Line: n, Msg: "invalid document: " + err.Error()})
				return
			}
			if !yield(&d, nil) {
				return
			}
		}
	}
}

// countDocs counts the documents taken from docs (for the progress line).
func countDocs(docs iter.Seq[*docarray.Document], n *atomic.Int64) iter.Seq[*docarray.Document] {
	if docs == nil {
		return nil
	}
	return func(yield func(*docarray.Document) bool) {
		for d := range docs {
			n.Add(1)
			if !yield(d) {
				return
			}
		}
	}
}

func writeDocs(w *bufio.Writer, docs docarray.DocList) error {
	for _, d := range docs {
		b, err := d.MarshalJSON()
		if err != nil {
			return fmt.Errorf("document %q: %w", d.ID, err)
		}
		w.Write(b)
		if err := w.WriteByte('\n'); err != nil {
			return err
		}
	}
	// Flush per response: results stream to a pipe as they arrive.
	return w.Flush()
}

// progress draws a one-line progress report on a terminal. It shows
// nothing for runs of a single request, and nothing when w is not a
// terminal (output redirected to a file or a CI log).
type progress struct {
	w        io.Writer
	on       bool
	sent     *atomic.Int64
	start    time.Time
	last     time.Time
	reqs     int
	docs     int
	failed   int
	drawn    bool
	interval time.Duration
}

func newProgress(w io.Writer, sent *atomic.Int64) *progress {
	f, ok := w.(*os.File)
	on := ok && term.IsTerminal(int(f.Fd()))
	return &progress{w: w, on: on, sent: sent, start: time.Now(), interval: 100 * time.Millisecond}
}

// done records one answered request and redraws at most every interval.
func (p *progress) done(docs int, failed bool) {
	p.reqs++
	p.docs += docs
	if failed {
		p.failed++
	}
	if !p.on || p.reqs < 2 {
		return
	}
	now := time.Now()
	if p.drawn && now.Sub(p.last) < p.interval {
		return
	}
	p.last = now
	p.drawn = true
	rate := float64(p.reqs) / max(now.Sub(p.start).Seconds(), 1e-3)
	line := fmt.Sprintf("sent %d docs, received %d docs in %d requests (%.0f req/s)", p.sent.Load(), p.docs, p.reqs, rate)
	if p.failed > 0 {
		line += fmt.Sprintf(", %d failed", p.failed)
	}
	fmt.Fprint(p.w, "\r\x1b[K"+line)
}

// clear erases the progress line before other output.
func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// requestOptions are the options every request of `jig post` carries,
// streamed or not: parameters, target executor, timeout.
func (f *postFlags) requestOptions(params map[string]any) []client.PostOption {
	var opts []client.PostOption
	if params != nil {
		opts = append(opts, client.Parameters(params))
	}
	if f.target != "" {
		opts = append(opts, client.TargetExecutor(f.target))
	}
	if f.timeout > 0 {
		opts = append(opts, client.Timeout(f.timeout))
	}
	return opts
}
