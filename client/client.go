// Package client is jig's Go client for a jig or Jina gateway (or a bare
// worker), over gRPC (the jina.JinaRPC/Call bidirectional stream) or HTTP
// (the gateway's JSON API, see http.go).
//
// It is what `jig post`, the workbench's request composer and tests use:
//
//	c, err := client.New("grpc://localhost:12345")
//	if err != nil { ... }
//	defer c.Close()
//	docs, results, err := c.Post(ctx, "/index", docarray.FromTexts("hello", "world"),
//		client.RequestSize(100), client.Parameters(map[string]any{"limit": 5}))
//
// Post sends its documents in batches (requests) of RequestSize documents
// and collects the returned documents and the executors' results
// (parameters["__results__"]). Stream does the same for an iterator
// of documents and returns an iterator of responses, so a million generated
// documents never sit in memory at once: at most Prefetch requests are in
// flight, and a request's documents are released once its response has been
// handed over.
//
// Results come back unordered by default (Jina's results_in_order=False);
// Ordered restores the input order by holding back the responses that
// overtook an earlier one. The first executor error ends a Post with an
// *ExecutorError, unless ContinueOnError is set. Transport failures
// (UNAVAILABLE, HTTP 502/503) are retried when Retries > 0; an executor's
// ERROR status never is, since running a handler twice may not be safe.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jig-dev/jig/internal/badinput"
	"github.com/jig-dev/jig/internal/wire"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// DefaultMaxMessageSize bounds a request or response: the limit jig's
// workers and gateway use (256 MiB), far above grpc-go's 4 MiB default
// that batches of tensors exceed.
const DefaultMaxMessageSize = wire.MaxMessageSize

// DefaultConnectTimeout bounds how long establishing a connection may
// take. A refused connection fails at once; this only matters for
// addresses that drop packets.
const DefaultConnectTimeout = 5 * time.Second

// Protocol names.
const (
	GRPC  = "grpc"
	GRPCS = "grpcs"
	HTTP  = "http"
	HTTPS = "https"
)

// Address is a parsed gateway address.
type Address struct {
	// Scheme is grpc, grpcs, http or https.
	Scheme string
	// Host is a name or an IP address (without brackets).
	Host string
	// Port is the TCP port.
	Port int
	// Path is an HTTP path prefix ("" or "/prefix"), for a gateway behind
	// a reverse proxy. gRPC addresses have none.
	Path string
}

// HostPort returns "host:port" (IPv6 hosts in brackets).
func (a Address) HostPort() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// String returns the canonical form, e.g. "grpc://127.0.0.1:12345".
func (a Address) String() string { return a.Scheme + "://" + a.HostPort() + a.Path }

// TLS reports whether the address uses TLS (grpcs, https).
func (a Address) TLS() bool { return a.Scheme == GRPCS || a.Scheme == HTTPS }

// IsHTTP reports whether the address speaks the HTTP API.
func (a Address) IsHTTP() bool { return a.Scheme == HTTP || a.Scheme == HTTPS }

// ParseAddress parses grpc://host:port, grpcs://host[:port],
// http://host[:port][/prefix], https://host[:port][/prefix] or a bare
// host:port (gRPC). A missing host means 127.0.0.1 (":12345"). Errors wrap
// ErrBadAddress.
func ParseAddress(s string) (Address, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Address{}, badAddress(s, "empty address (want e.g. grpc://localhost:12345 or http://localhost:8080)")
	}
	scheme, rest, hasScheme := strings.Cut(in, "://")
	if !hasScheme {
		scheme, rest = GRPC, in
	}
	scheme = strings.ToLower(scheme)
	var defPort int
	switch scheme {
	case GRPC:
	case GRPCS, HTTPS:
		defPort = 443
	case HTTP:
		defPort = 80
	default:
		return Address{}, badAddress(s, "unknown scheme %q (want grpc, grpcs, http or https)", scheme)
	}
	hostport, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		hostport, path = rest[:i], rest[i:]
	}
	a := Address{Scheme: scheme}
	if path != "" {
		if !a.IsHTTP() {
			return Address{}, badAddress(s, "a %s address has no path (want %s://host:port)", scheme, scheme)
		}
		u, err := url.Parse(path)
		if err != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(path, "?") || strings.Contains(path, "#") {
			return Address{}, badAddress(s, "the path prefix must be a plain path such as /api")
		}
		a.Path = strings.TrimRight(u.Path, "/")
	}
	if strings.Contains(hostport, "@") {
		return Address{}, badAddress(s, "user info is not supported; pass a token with --token / WithToken")
	}
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		// No port: fine when the scheme has a default one.
		h := hostport
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		} else if strings.Contains(h, ":") {
			return Address{}, badAddress(s, "want host:port: %v", strings.TrimPrefix(err.Error(), "address "+hostport+": "))
		}
		if defPort == 0 {
			return Address{}, badAddress(s, "missing port (want e.g. grpc://%s:12345)", hostport)
		}
		host, portStr = h, strconv.Itoa(defPort)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if strings.ContainsAny(host, " /\\") {
		return Address{}, badAddress(s, "invalid host %q", host)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return Address{}, badAddress(s, "invalid port %q (want 1-65535)", portStr)
	}
	a.Host, a.Port = host, port
	return a, nil
}

// Option configures a Client.
type Option func(*options)

type options struct {
	token              string
	caFile             string
	insecureSkipVerify bool
	tlsConfig          *tls.Config
	connectTimeout     time.Duration
	maxMessageSize     int
	httpClient         *http.Client
	dialOptions        []grpc.DialOption
}

// WithToken sends a bearer token with every call: gRPC metadata
// "authorization: Bearer <token>", HTTP header "Authorization: Bearer
// <token>" (what the gateway's token option checks).
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithCAFile trusts the PEM certificates in path (besides the system's)
// for grpcs:// and https:// addresses, e.g. a gateway's self-signed cert.
func WithCAFile(path string) Option { return func(o *options) { o.caFile = path } }

// WithInsecureSkipVerify accepts any server certificate on grpcs:// and
// https:// addresses. For tests and local development only.
func WithInsecureSkipVerify() Option { return func(o *options) { o.insecureSkipVerify = true } }

// WithTLSConfig sets the TLS configuration of grpcs:// and https://
// addresses; WithCAFile and WithInsecureSkipVerify then adjust a copy.
func WithTLSConfig(cfg *tls.Config) Option { return func(o *options) { o.tlsConfig = cfg } }

// WithConnectTimeout bounds connection establishment (DefaultConnectTimeout
// when 0).
func WithConnectTimeout(d time.Duration) Option { return func(o *options) { o.connectTimeout = d } }

// WithMaxMessageSize bounds a request or response (DefaultMaxMessageSize
// when 0).
func WithMaxMessageSize(n int) Option { return func(o *options) { o.maxMessageSize = n } }

// WithHTTPClient replaces the client's own http.Client for http(s)://
// addresses; TLS and connect-timeout options then do not apply to it.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.httpClient = hc } }

// WithDialOptions adds gRPC dial options (interceptors, tracing...) after
// the client's own.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOptions = append(o.dialOptions, opts...) }
}

// Client talks to one gateway. It is safe for concurrent use; one Client
// (one connection) serves any number of concurrent Posts.
type Client struct {
	addr Address
	opts options

	// gRPC
	conn *grpc.ClientConn
	// lastDialErr is the most recent failed TCP dial, so "cannot reach"
	// errors can say why ("connection refused") instead of repeating
	// grpc's nested descriptions. Cleared by a successful dial.
	lastDialErr atomic.Pointer[error]

	// HTTP
	http    *http.Client
	ownHTTP bool
	base    string // scheme://host:port/prefix, no trailing slash

	closeOnce sync.Once
	closeErr  error
}

// New returns a client for addr (see ParseAddress). It does not connect:
// the first call does, so New succeeds for a gateway that is not up yet
// (see WaitReady).
func New(addr string, opts ...Option) (*Client, error) {
	a, err := ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	c := &Client{addr: a}
	for _, o := range opts {
		o(&c.opts)
	}
	if c.opts.connectTimeout <= 0 {
		c.opts.connectTimeout = DefaultConnectTimeout
	}
	if c.opts.maxMessageSize <= 0 {
		c.opts.maxMessageSize = DefaultMaxMessageSize
	}
	var tlsCfg *tls.Config
	if a.TLS() {
		if tlsCfg, err = c.tlsConfig(); err != nil {
			return nil, err
		}
	} else if c.opts.caFile != "" || c.opts.insecureSkipVerify || c.opts.tlsConfig != nil {
		return nil, badInput("TLS options need a grpcs:// or https:// address, not %s", a)
	}
	if a.IsHTTP() {
		c.initHTTP(tlsCfg)
		return c, nil
	}
	if err := c.initGRPC(tlsCfg); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.opts.tlsConfig != nil {
		cfg = c.opts.tlsConfig.Clone()
	}
	if c.opts.insecureSkipVerify {
		cfg.InsecureSkipVerify = true
	}
	if f := c.opts.caFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, badInput("CA file: %v", err)
		}
		pool := cfg.RootCAs
		if pool == nil {
			if pool, err = x509.SystemCertPool(); err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, badInput("CA file %s: no PEM certificate in it", f)
		}
		cfg.RootCAs = pool
	}
	if cfg.ServerName == "" && net.ParseIP(c.addr.Host) == nil {
		cfg.ServerName = c.addr.Host
	}
	return cfg, nil
}

// dial opens TCP connections for both protocols, remembering why the last
// one failed.
func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: c.opts.connectTimeout, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		c.lastDialErr.Store(&err)
		return nil, err
	}
	c.lastDialErr.Store(nil)
	return conn, nil
}

func (c *Client) initGRPC(tlsCfg *tls.Config) error {
	// The gateway serves the same windows (wire.FlowControlServerOptions).
	dopts := append(append(wire.DialOptions(c.opts.maxMessageSize, tlsCfg), wire.FlowControlDialOptions()...),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return c.dial(ctx, "tcp", addr) }),
		// A short reconnect backoff: after a gateway restart the channel
		// is usable again within a couple of seconds, not grpc-go's two
		// minutes. Retries additionally reset it (see grpcTransport).
		wire.Reconnect(100*time.Millisecond, 2*time.Second, c.opts.connectTimeout),
		// Ping an idle stream every 30 s so a dead gateway behind a NAT or
		// load balancer is noticed; jig's servers accept pings every
		// second, so this never earns a GOAWAY "too_many_pings".
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	)
	if c.opts.token != "" {
		dopts = append(dopts, grpc.WithPerRPCCredentials(bearer(c.opts.token)))
	}
	dopts = append(dopts, c.opts.dialOptions...)
	// passthrough: the dialer resolves the name itself (both address
	// families), as grpc.Dial used to.
	conn, err := grpc.NewClient("passthrough:///"+c.addr.HostPort(), dopts...)
	if err != nil {
		return fmt.Errorf("client %s: %w", c.addr, err)
	}
	c.conn = conn
	return nil
}

// bearer sends the token as gRPC metadata, also over plaintext
// connections (a local gateway without TLS).
type bearer string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity allows the token over plaintext connections.
func (b bearer) RequireTransportSecurity() bool { return false }

func (c *Client) initHTTP(tlsCfg *tls.Config) {
	c.base = c.addr.String()
	if c.opts.httpClient != nil {
		c.http = c.opts.httpClient
		return
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           c.dial,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   c.opts.connectTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256, // a Post keeps up to Prefetch calls in flight
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	c.http = &http.Client{Transport: tr}
	c.ownHTTP = true
}

// Addr returns the canonical address, e.g. "grpc://127.0.0.1:12345".
func (c *Client) Addr() string { return c.addr.String() }

// Address returns the parsed address.
func (c *Client) Address() Address { return c.addr }

// Close releases the connection. Calls in progress fail.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.conn != nil {
			c.closeErr = c.conn.Close()
		}
		if c.ownHTTP {
			c.http.CloseIdleConnections()
		}
	})
	return c.closeErr
}

// ErrBadAddress is wrapped by the errors of New and ParseAddress for an
// address that cannot be used. It also matches badinput.Err, so
// CLIs exit with code 2.
var ErrBadAddress error = &badInputError{msg: "bad address"}

// badInputError is an error caused by the caller's input: errors.Is(err,
// badinput.Err) holds for it.
type badInputError struct {
	msg string
	err error
}

func (e *badInputError) Error() string { return e.msg }
func (e *badInputError) Unwrap() error { return e.err }

// Is matches badinput.Err (exit code 2 in the CLI).
func (e *badInputError) Is(target error) bool { return target == badinput.Err }

func badInput(format string, args ...any) error {
	return &badInputError{msg: "client: " + fmt.Sprintf(format, args...)}
}

func badAddress(addr, format string, args ...any) error {
	return &badInputError{msg: fmt.Sprintf("bad address %q: %s", addr, fmt.Sprintf(format, args...)), err: ErrBadAddress}
}
