package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jig-dev/jig/client"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/yamlutil"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"grpc://localhost:12345":    "grpc://localhost:12345",
		"localhost:12345":           "grpc://localhost:12345",
		":12345":                    "grpc://127.0.0.1:12345",
		"GRPC://h:1":                "grpc://h:1",
		"grpcs://example.com":       "grpcs://example.com:443",
		"grpcs://example.com:8443":  "grpcs://example.com:8443",
		"http://127.0.0.1:8080":     "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/":    "http://127.0.0.1:8080",
		"http://host/api/v1/":       "http://host:80/api/v1",
		"https://host":              "https://host:443",
		"[::1]:5000":                "grpc://[::1]:5000",
		"http://[::1]":              "http://[::1]:80",
		" grpc://localhost:12345  ": "grpc://localhost:12345",
	} {
		a, err := client.ParseAddress(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if a.String() != want {
			t.Errorf("%q: got %s, want %s", in, a, want)
		}
	}
	for in, msg := range map[string]string{
		"":                      "empty address",
		"localhost":             "missing port",
		"grpc://localhost":      "missing port",
		"ftp://host:1":          `unknown scheme "ftp"`,
		"grpc://host:0":         "invalid port",
		"grpc://host:99999":     "invalid port",
		"grpc://host:http":      "invalid port",
		"grpc://host:1/path":    "has no path",
		"http://host:1/a?b=c":   "plain path",
		"::1:5000":              "want host:port",
		"grpc://user@host:1":    "user info",
		"http://ho st:1":        "invalid host",
		"grpc://localhost:123:": "want host:port",
	} {
		_, err := client.ParseAddress(in)
		if err == nil {
			t.Errorf("%q: no error", in)
			continue
		}
		if !errors.Is(err, client.ErrBadAddress) || !errors.Is(err, yamlutil.ErrBadInput) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: got %v, want a bad address error containing %q", in, err, msg)
		}
		if _, err := client.New(in); !errors.Is(err, client.ErrBadAddress) {
			t.Errorf("New(%q): got %v", in, err)
		}
	}
	if _, err := client.New("grpc://localhost:1", client.WithInsecureSkipVerify()); !errors.Is(err, yamlutil.ErrBadInput) {
		t.Errorf("TLS option on grpc://: got %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	for _, addr := range []string{"grpc://127.0.0.1:1", "http://127.0.0.1:1"} {
		t.Run(addr, func(t *testing.T) {
			c := newClient(t, addr)
			start := time.Now()
			_, _, err := c.Post(testCtx(t), "/x", gen(3))
			took := time.Since(start)
			if want := "cannot reach " + addr + ": connection refused"; err == nil || err.Error() != want {
				t.Fatalf("got %v, want %q", err, want)
			}
			if !errors.Is(err, client.ErrUnreachable) || status.Code(err) != codes.Unavailable {
				t.Fatalf("got %v (%v)", err, status.Code(err))
			}
			if took > time.Second {
				t.Fatalf("took %s", took)
			}
			for name, call := range map[string]func() error{
				"dry_run":   func() error { return c.DryRun(testCtx(t)) },
				"endpoints": func() error { _, err := c.Endpoints(testCtx(t)); return err },
				"status":    func() error { _, err := c.Status(testCtx(t)); return err },
			} {
				if err := call(); !errors.Is(err, client.ErrUnreachable) || !strings.Contains(err.Error(), "connection refused") {
					t.Errorf("%s: got %v", name, err)
				}
			}
		})
	}
}

func TestRetryHTTP503(t *testing.T) {
	f := newFixture(t)
	var calls atomic.Int32
	fault := func(*jinapb.DataRequestProto) error {
		if calls.Add(1) <= 2 {
			return status.Error(codes.Unavailable, "executor exec is down")
		}
		return nil
	}
	f.httpFault.Store(&fault)
	c := f.client(t, "http")

	var retries []client.Retry
	docs, _, err := c.Post(testCtx(t), "/echo", gen(3), client.Retries(2), client.RetryBackoff(time.Millisecond, 10*time.Millisecond),
		client.OnRetry(func(r client.Retry) { retries = append(retries, r) }))
	if err != nil || len(docs) != 3 {
		t.Fatalf("got %d docs, %v", len(docs), err)
	}
	if len(retries) != 2 || retries[0].Index != 0 || retries[1].Attempt != 2 || status.Code(retries[0].Err) != codes.Unavailable {
		t.Fatalf("retries %+v", retries)
	}
	if n := f.rec.count("/echo"); n != 3 {
		t.Fatalf("server saw %d requests", n)
	}

	calls.Store(0)
	_, _, err = c.Post(testCtx(t), "/echo", gen(3), client.Retries(1), client.RetryBackoff(time.Millisecond, time.Millisecond))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "executor exec is down") || errors.Is(err, client.ErrUnreachable) {
		t.Fatalf("got %v", err)
	}
}

// flakyGateway is a gRPC gateway that answers the first attempt of every
// request with the in-stream delivery failure a jig gateway reports when
// an executor is unreachable, and echoes later attempts.
type flakyGateway struct {
	jinapb.UnimplementedJinaRPCServer
	mu   sync.Mutex
	seen map[string]int
}

func (g *flakyGateway) Call(stream grpc.BidiStreamingServer[jinapb.DataRequestProto, jinapb.DataRequestProto]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		g.mu.Lock()
		g.seen[req.GetHeader().GetRequestId()]++
		n := g.seen[req.GetHeader().GetRequestId()]
		g.mu.Unlock()
		resp := proto.CloneOf(req)
		if n == 1 {
			resp.Header.Status = &jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: "executor exec unreachable",
				Exception: &jinapb.StatusProto_ExceptionProto{Name: "UNAVAILABLE", Args: []string{"executor exec unreachable"}, Executor: "gateway"}}
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

func startGRPC(t *testing.T, register func(*grpc.Server), opts ...grpc.ServerOption) string {
	t.Helper()
	s := grpc.NewServer(opts...)
	register(s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(lis) }()
	t.Cleanup(func() { s.Stop(); <-done })
	return "grpc://" + lis.Addr().String()
}

func TestRetryGatewayUnavailableInStream(t *testing.T) {
	g := &flakyGateway{seen: map[string]int{}}
	addr := startGRPC(t, func(s *grpc.Server) { jinapb.RegisterJinaRPCServer(s, g) })
	c := newClient(t, addr)
	docs, _, err := c.Post(testCtx(t), "/x", gen(25), client.RequestSize(10), client.Retries(1), client.RetryBackoff(time.Millisecond, time.Millisecond), client.Ordered(true))
	if err != nil || !slices.Equal(ids(docs), seqIDs(25)) {
		t.Fatalf("got %v, %v", ids(docs), err)
	}
	g.mu.Lock()
	for id, n := range g.seen {
		if n != 2 {
			t.Errorf("request %s sent %d times", id, n)
		}
	}
	g.mu.Unlock()

	_, _, err = c.Post(testCtx(t), "/x", gen(1))
	var ee *client.ExecutorError
	if status.Code(err) != codes.Unavailable || errors.As(err, &ee) || !strings.Contains(err.Error(), "request 0: rpc error: code = Unavailable desc = executor exec unreachable") {
		t.Fatalf("got %v", err)
	}
}

// TestRetryLateServer starts the servers only after the client failed to
// reach them once.
func TestRetryLateServer(t *testing.T) {
	forEach(t, func(t *testing.T, protocol string) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		lis.Close()
		c := newClient(t, protocol+"://"+addr)
		firstRetry := make(chan struct{})
		var once sync.Once
		type out struct {
			docs docarray.DocList
			err  error
		}
		done := make(chan out, 1)
		go func() {
			docs, _, err := c.Post(testCtx(t), "/echo", gen(30), client.RequestSize(10), client.Retries(50), client.RetryBackoff(10*time.Millisecond, 50*time.Millisecond),
				client.OnRetry(func(client.Retry) { once.Do(func() { close(firstRetry) }) }))
			done <- out{docs, err}
		}()
		<-firstRetry
		lis, err = net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("port %s was taken meanwhile: %v", addr, err)
		}
		newFixture(t, func(o *fixtureOptions) {
			if protocol == "http" {
				o.httpLis = lis
			} else {
				o.lis = lis
			}
		})
		r := <-done
		if r.err != nil || len(r.docs) != 30 {
			t.Fatalf("got %d docs, %v", len(r.docs), r.err)
		}
	})
}

// proxy forwards TCP connections to target; the first connection is cut
// once cutAfter bytes came back from the server.
type proxy struct {
	lis      net.Listener
	target   string
	cutAfter int64
	mu       sync.Mutex
	conns    []net.Conn
	accepted int
	wg       sync.WaitGroup
}

func startProxy(t *testing.T, target string, cutAfter int64) *proxy {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{lis: lis, target: target, cutAfter: cutAfter}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		lis.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		down, err := p.lis.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.accepted++
		cut := p.accepted == 1
		p.conns = append(p.conns, down, up)
		p.mu.Unlock()
		closeBoth := func() { down.Close(); up.Close() }
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(up, down); closeBoth() }()
		go func() {
			defer p.wg.Done()
			if cut {
				io.CopyN(down, up, p.cutAfter)
			} else {
				io.Copy(down, up)
			}
			closeBoth()
		}()
	}
}

// TestRetryBrokenStream cuts the first connection in the middle of the
// answers: the unanswered requests must be sent again on a new stream and
// every document come back exactly once.
func TestRetryBrokenStream(t *testing.T) {
	f := newFixture(t)
	target := strings.TrimPrefix(f.grpcAddr, "grpc://")
	t.Run("retried", func(t *testing.T) {
		p := startProxy(t, target, 3000)
		c := newClient(t, "grpc://"+p.lis.Addr().String())
		var retries []client.Retry
		docs, _, err := c.Post(testCtx(t), "/echo", gen(500), client.RequestSize(50), client.Retries(3), client.RetryBackoff(10*time.Millisecond, 100*time.Millisecond),
			client.OnRetry(func(r client.Retry) { retries = append(retries, r) }))
		if err != nil {
			t.Fatal(err)
		}
		got := ids(docs)
		slices.SortFunc(got, func(a, b string) int { return mustAtoi(a) - mustAtoi(b) })
		if !slices.Equal(got, seqIDs(500)) {
			t.Fatalf("got %d docs: %v", len(got), got)
		}
		if len(retries) == 0 || retries[0].Index != -1 || !errors.Is(retries[0].Err, client.ErrUnreachable) {
			t.Fatalf("retries %+v", retries)
		}
	})
	t.Run("not retried", func(t *testing.T) {
		p := startProxy(t, target, 3000)
		c := newClient(t, "grpc://"+p.lis.Addr().String())
		_, _, err := c.Post(testCtx(t), "/echo", gen(500), client.RequestSize(50))
		var ce *client.ConnError
		if !errors.As(err, &ce) || !ce.Lost || !strings.HasPrefix(err.Error(), "lost connection to grpc://") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestHTTPAnswers(t *testing.T) {
	type answer struct {
		code int
		body string
	}
	var (
		mu      sync.Mutex
		answers []answer
		calls   int
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := answers[min(calls, len(answers)-1)]
		calls++
		mu.Unlock()
		w.WriteHeader(a.code)
		io.WriteString(w, a.body)
	}))
	defer ts.Close()
	c := newClient(t, ts.URL)
	post := func(as ...answer) (*client.Response, int, error) {
		mu.Lock()
		answers, calls = as, 0
		mu.Unlock()
		var resp *client.Response
		_, _, err := c.Post(testCtx(t), "/x", gen(1), client.Retries(2), client.RetryBackoff(time.Millisecond, time.Millisecond),
			client.OnAlways(func(r *client.Response, _ error) { resp = r }))
		mu.Lock()
		defer mu.Unlock()
		return resp, calls, err
	}
	ok := `{"header":{"requestId":"r1","status":{"code":"SUCCESS"}},"parameters":{"__results__":{"e":{"k":1}}},"routes":[{"executor":"e","startTime":"2024-05-01T12:00:00Z","endTime":"2024-05-01T12:00:01.5Z"}],"data":[{"id":"a","text":"x"}]}`
	for _, tc := range []struct {
		name    string
		answers []answer
		code    codes.Code
		msg     string
		calls   int
	}{
		{"ok", []answer{{200, ok}}, codes.OK, "", 1},
		{"502 retried", []answer{{502, "<html>bad gateway</html>"}, {200, ok}}, codes.OK, "", 2},
		{"503 retried out", []answer{{503, `{"error":{"code":"UNAVAILABLE","message":"executor e is down"}}`}}, codes.Unavailable, "HTTP 503 Service Unavailable: executor e is down", 3},
		{"504", []answer{{504, `{"error":{"code":"DEADLINE_EXCEEDED","message":"too slow"}}`}}, codes.DeadlineExceeded, "too slow", 1},
		{"400", []answer{{400, `{"error":{"code":"INVALID_ARGUMENT","message":"\"data\": doc 0: bad"}}`}}, codes.InvalidArgument, `"data": doc 0: bad`, 1},
		{"413", []answer{{413, `{"error":{"code":"RESOURCE_EXHAUSTED","message":"over the limit"}}`}}, codes.ResourceExhausted, "over the limit", 1},
		{"401", []answer{{401, `{"error":{"code":"UNAUTHENTICATED","message":"missing token"}}`}}, codes.Unauthenticated, "missing token", 1},
		{"500 not json", []answer{{500, "panic: oops"}}, codes.Unknown, "HTTP 500 Internal Server Error: panic: oops", 1},
		{"200 not json", []answer{{200, "hello"}}, codes.Internal, "invalid answer", 1},
		{"bad status code", []answer{{200, `{"header":{"status":{"code":"MAYBE"}}}`}}, codes.Internal, "unknown status code", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, calls, err := post(tc.answers...)
			if status.Code(err) != tc.code || (tc.msg != "" && !strings.Contains(err.Error(), tc.msg)) || calls != tc.calls {
				t.Fatalf("got %v (%v), %d calls; want %v %q, %d calls", err, status.Code(err), calls, tc.code, tc.msg, tc.calls)
			}
			if err == nil {
				if resp.RequestID != "r1" || resp.Docs[0].ID != "a" || resp.Results()["e"].(map[string]any)["k"] != float64(1) ||
					resp.Routes[0].End.Sub(resp.Routes[0].Start) != 1500*time.Millisecond {
					t.Fatalf("response %+v", resp)
				}
			}
		})
	}
	t.Run("500 executor error", func(t *testing.T) {
		_, calls, err := post(answer{500, `{"header":{"requestId":"r","status":{"code":"ERROR","description":"ValueError('x')","exception":{"name":"ValueError","args":["x"],"stacks":["a","b"],"executor":"e"}}},"parameters":{},"routes":[],"data":[]}`})
		var ee *client.ExecutorError
		if !errors.As(err, &ee) || ee.Name() != "ValueError" || ee.Executor() != "e" || !slices.Equal(ee.Status.Exception.Stacks, []string{"a", "b"}) || calls != 1 {
			t.Fatalf("got %v, %d calls", err, calls)
		}
	})
}

func TestMessageLimit(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol, client.WithMaxMessageSize(2000))
		_, _, err := c.Post(testCtx(t), "/echo", gen(300), client.RequestSize(100))
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "request 0 (documents 0-99) is ") {
			t.Fatalf("got %v", err)
		}
		if docs, _, err := c.Post(testCtx(t), "/echo", gen(300), client.RequestSize(10)); err != nil || len(docs) != 300 {
			t.Fatalf("small requests: %v", err)
		}
	})
}

func TestHTTPBodyLimit(t *testing.T) {
	f := newFixture(t, func(o *fixtureOptions) { o.gateway.MaxBodyBytes = 1000 })
	_, _, err := f.client(t, "http").Post(testCtx(t), "/echo", gen(100), client.Retries(3))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("got %v", err)
	}
}

// dryRunService is a fake jina.JinaGatewayDryRunRPC that becomes ready at
// its readyAt-th call.
type dryRunService struct {
	jinapb.UnimplementedJinaGatewayDryRunRPCServer
	calls   atomic.Int32
	readyAt int32
}

func (d *dryRunService) DryRun(context.Context, *emptypb.Empty) (*jinapb.StatusProto, error) {
	if d.calls.Add(1) < d.readyAt {
		return &jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: "executor exec is not ready",
			Exception: &jinapb.StatusProto_ExceptionProto{Name: "FlowNotReady", Args: []string{"executor exec is not ready"}, Executor: "gateway"}}, nil
	}
	return &jinapb.StatusProto{}, nil
}

func TestDryRunAndWaitReady(t *testing.T) {
	svc := &dryRunService{readyAt: 3}
	var httpCalls atomic.Int32
	f := newFixture(t, func(o *fixtureOptions) {
		o.worker.Register = func(s *grpc.Server) { jinapb.RegisterJinaGatewayDryRunRPCServer(s, svc) }
		o.gateway.Ready = func() error {
			if httpCalls.Add(1) < 3 {
				return errors.New("executor exec is not ready")
			}
			return nil
		}
	})
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol)
		err := c.DryRun(testCtx(t))
		if !errors.Is(err, client.ErrNotReady) || !strings.Contains(err.Error(), "executor exec is not ready") {
			t.Fatalf("got %v", err)
		}
		if err := c.WaitReady(testCtx(t), time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := c.DryRun(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	})
	if svc.calls.Load() != 4 || httpCalls.Load() != 4 {
		t.Fatalf("calls %d %d", svc.calls.Load(), httpCalls.Load())
	}

	t.Run("timeout", func(t *testing.T) {
		never := &dryRunService{readyAt: 1 << 30}
		addr := startGRPC(t, func(s *grpc.Server) { jinapb.RegisterJinaGatewayDryRunRPCServer(s, never) })
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := newClient(t, addr).WaitReady(ctx, 5*time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "executor exec is not ready") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("bare worker uses health", func(t *testing.T) {
		if err := newClient(t, newFixture(t).grpcAddr).DryRun(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("server starts late", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		lis.Close()
		c := newClient(t, "grpc://"+addr)
		done := make(chan error, 1)
		go func() { done <- c.WaitReady(testCtx(t), 5*time.Millisecond) }()
		if err := c.DryRun(testCtx(t)); !errors.Is(err, client.ErrUnreachable) {
			t.Fatalf("got %v", err)
		}
		if lis, err = net.Listen("tcp", addr); err != nil {
			t.Skipf("port taken: %v", err)
		}
		newFixture(t, func(o *fixtureOptions) { o.lis = lis })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestEndpointsAndStatus(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol)
		ep, err := c.Endpoints(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		// _jina_dry_run_ is listed, as Jina's workers and gateway list it.
		if want := []string{"/block", "/default", "/fail", "/gate", "/order", "_jina_dry_run_"}; !slices.Equal(ep.Endpoints, want) {
			t.Fatalf("endpoints %v", ep.Endpoints)
		}
		info, err := c.Status(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if info.Jina["jig"] == "" || info.Jina["role"] != "ClientTestExec" {
			t.Fatalf("info %+v", info)
		}
	})
}

func TestToken(t *testing.T) {
	check := func(ctx context.Context) error {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get("authorization"); len(v) != 1 || v[0] != "Bearer s3cret" {
			return status.Error(codes.Unauthenticated, "missing or wrong bearer token")
		}
		return nil
	}
	f := newFixture(t, func(o *fixtureOptions) {
		o.gateway.Token = "s3cret"
		o.worker.ServerOptions = []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				if err := check(ctx); err != nil {
					return nil, err
				}
				return h(ctx, req)
			}),
			grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				if err := check(ss.Context()); err != nil {
					return err
				}
				return h(srv, ss)
			}),
		}
	})
	forEach(t, func(t *testing.T, protocol string) {
		_, _, err := f.client(t, protocol).Post(testCtx(t), "/echo", gen(2), client.Retries(2))
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("without token: got %v", err)
		}
		c := f.client(t, protocol, client.WithToken("s3cret"))
		if docs, _, err := c.Post(testCtx(t), "/echo", gen(2)); err != nil || len(docs) != 2 {
			t.Fatalf("with token: %v", err)
		}
		if _, err := c.Status(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	})
}

// selfSigned returns a certificate for 127.0.0.1 and its PEM file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jig test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, file
}

func TestTLS(t *testing.T) {
	cert, caFile := selfSigned(t)
	f := newFixture(t, func(o *fixtureOptions) {
		o.worker.ServerOptions = []grpc.ServerOption{grpc.Creds(credentials.NewServerTLSFromCert(&cert))}
		o.httpTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	})
	grpcs := strings.Replace(f.grpcAddr, "grpc://", "grpcs://", 1)
	for name, tc := range map[string]struct {
		addr string
		opts []client.Option
	}{
		"grpcs ca":       {grpcs, []client.Option{client.WithCAFile(caFile)}},
		"grpcs insecure": {grpcs, []client.Option{client.WithInsecureSkipVerify()}},
		"https ca":       {f.httpAddr, []client.Option{client.WithCAFile(caFile)}},
		"https insecure": {f.httpAddr, []client.Option{client.WithInsecureSkipVerify()}},
	} {
		t.Run(name, func(t *testing.T) {
			docs, _, err := newClient(t, tc.addr, tc.opts...).Post(testCtx(t), "/echo", gen(2))
			if err != nil || len(docs) != 2 {
				t.Fatalf("got %v", err)
			}
		})
	}
	for _, addr := range []string{grpcs, f.httpAddr} {
		_, _, err := newClient(t, addr).Post(testCtx(t), "/echo", gen(2))
		if !errors.Is(err, client.ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s without CA: got %v", addr, err)
		}
	}
	if _, err := client.New(grpcs, client.WithCAFile(filepath.Join(t.TempDir(), "missing.pem"))); !errors.Is(err, yamlutil.ErrBadInput) {
		t.Errorf("missing CA file: got %v", err)
	}
}

func TestConcurrentPosts(t *testing.T) {
	f := newFixture(t)
	forEach(t, func(t *testing.T, protocol string) {
		c := f.client(t, protocol)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				docs, _, err := c.Post(testCtx(t), "/echo", gen(120+i), client.RequestSize(7), client.Ordered(true))
				if err == nil && !slices.Equal(ids(docs), seqIDs(120+i)) {
					err = fmt.Errorf("post %d: wrong ids", i)
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}

// TestCancelDuringRetry cancels a Post while it waits to retry an
// unreachable address.
func TestCancelDuringRetry(t *testing.T) {
	for _, addr := range []string{"grpc://127.0.0.1:1", "http://127.0.0.1:1"} {
		t.Run(addr, func(t *testing.T) {
			c := newClient(t, addr)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			retrying := make(chan struct{})
			var once sync.Once
			done := make(chan error, 1)
			go func() {
				_, _, err := c.Post(ctx, "/x", gen(10), client.Retries(100), client.RetryBackoff(time.Second, time.Second),
					client.OnRetry(func(client.Retry) { once.Do(func() { close(retrying) }) }))
				done <- err
			}()
			<-retrying
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("got %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Post did not return after cancel")
			}
		})
	}
}
