package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// grpcTransport carries a Post over one jina.JinaRPC/Call stream, matching
// answers to requests by header.request_id (the gateway answers in
// completion order). When the stream breaks with UNAVAILABLE and retries
// are left, it opens a new stream and sends the unanswered requests again,
// in input order.
//
// Goroutines: one writer (the only one to Send on a stream, as gRPC
// requires) and one receiver per stream.
type grpcTransport struct {
	c        *Client
	ctx      context.Context
	cancel   context.CancelFunc
	o        *postOptions
	endpoint string
	target   string
	params   *structpb.Struct
	out      chan result
	wake     chan struct{}
	wg       sync.WaitGroup

	mu       sync.Mutex
	queue    []sendItem   // requests waiting for the writer
	sess     *grpcSession // current stream; nil before the first and after a break
	failures int          // stream failures since the last answer
	closing  bool
}

type sendItem struct {
	p       *pending
	req     *jinapb.DataRequestProto
	attempt int
}

type grpcSession struct {
	stream  grpc.BidiStreamingClient[jinapb.DataRequestProto, jinapb.DataRequestProto]
	cancel  context.CancelFunc
	pending map[string]sendItem // sent, unanswered; guarded by grpcTransport.mu
	broken  bool                // guarded by grpcTransport.mu
	done    chan struct{}       // closed when its receiver exits
}

func (c *Client) newGRPCTransport(ctx context.Context, endpoint string, o *postOptions) (*grpcTransport, error) {
	t := &grpcTransport{c: c, o: o, endpoint: endpoint, target: o.target,
		out: make(chan result, o.prefetch+1), wake: make(chan struct{}, 1)}
	if o.params != nil {
		s, err := structpb.NewStruct(o.params)
		if err != nil {
			return nil, badInput("parameters: %v", err)
		}
		t.params = s
	}
	t.ctx, t.cancel = context.WithCancel(ctx)
	t.wg.Add(1)
	go t.writer()
	return t, nil
}

func (t *grpcTransport) prepare(p *pending, docs docarray.DocList) error {
	// The documents are encoded here, once, straight into the bytes of
	// the DocListProto (no DocProto per document for plain ones), and the
	// stream's codec (wire.Codec) sends them as docs without another copy.
	size := 0
	for _, d := range docs {
		if d != nil {
			size += len(d.ID) + len(d.Text) + len(d.URL) + len(d.Blob) + 48
		}
	}
	raw := make([]byte, 0, size)
	for i, d := range docs {
		var err error
		if raw, err = d.AppendListEntry(raw); err != nil {
			return badInput("document %d (id %q): %v", p.firstDoc+i, d.ID, err)
		}
	}
	hdr := &jinapb.HeaderProto{RequestId: p.id, ExecEndpoint: proto.String(t.endpoint)}
	if t.target != "" {
		hdr.TargetExecutor = proto.String(t.target)
	}
	req := &jinapb.DataRequestProto{
		Header:     hdr,
		Parameters: t.params, // shared, read-only
	}
	// The size on the wire: the rest, then data (4) holding docs (1).
	n := proto.Size(req) + protowire.SizeTag(4) + protowire.SizeBytes(protowire.SizeTag(1)+protowire.SizeBytes(len(raw)))
	req.Data = wire.EncodedDocs(raw)
	p.grpcReq = req
	if n > t.c.opts.maxMessageSize {
		return tooLarge(p, n, t.c.opts.maxMessageSize)
	}
	return nil
}

// tooLarge says which request is over the message size limit, before it
// is sent (grpc-go would end the whole stream with a terse error).
func tooLarge(p *pending, size, limit int) error {
	return status.Errorf(codes.ResourceExhausted, "request %d (documents %d-%d) is %d bytes, over the %d-byte message limit; send fewer documents per request",
		p.index, p.firstDoc, p.firstDoc+p.ndocs-1, size, limit)
}

func (t *grpcTransport) results() <-chan result { return t.out }

func (t *grpcTransport) send(p *pending, attempt int) {
	t.mu.Lock()
	t.queue = append(t.queue, sendItem{p: p, req: p.grpcReq.(*jinapb.DataRequestProto), attempt: attempt})
	t.mu.Unlock()
	t.signal()
}

func (t *grpcTransport) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *grpcTransport) forget(p *pending) {
	t.mu.Lock()
	if t.sess != nil {
		delete(t.sess.pending, p.id)
	}
	t.mu.Unlock()
}

// post reports to the engine unless the Post is over.
func (t *grpcTransport) post(r result) bool {
	select {
	case t.out <- r:
		return true
	case <-t.ctx.Done():
		return false
	}
}

func (t *grpcTransport) close(graceful bool) {
	if graceful {
		// Half-close the stream and let the server end it, so it sees a
		// finished call rather than a cancelled one.
		t.mu.Lock()
		t.closing = true
		s := t.sess
		t.mu.Unlock()
		t.signal()
		if s != nil {
			wait := time.NewTimer(time.Second)
			select {
			case <-s.done:
			case <-wait.C:
			case <-t.ctx.Done():
			}
			wait.Stop()
		}
	}
	t.cancel()
	t.wg.Wait()
}

// next returns the next request to send; false when closing or done.
func (t *grpcTransport) next() (sendItem, bool) {
	for {
		t.mu.Lock()
		if len(t.queue) > 0 {
			it := t.queue[0]
			t.queue = t.queue[1:]
			if len(t.queue) == 0 {
				t.queue = nil
			}
			t.mu.Unlock()
			return it, true
		}
		closing, s := t.closing, t.sess
		t.mu.Unlock()
		if closing {
			if s != nil {
				s.stream.CloseSend()
			}
			return sendItem{}, false
		}
		select {
		case <-t.wake:
		case <-t.ctx.Done():
			return sendItem{}, false
		}
	}
}

func (t *grpcTransport) writer() {
	defer t.wg.Done()
	for {
		it, ok := t.next()
		if !ok {
			return
		}
		if it.p.settled.Load() {
			continue
		}
		s, err := t.session()
		if err != nil {
			t.post(result{fatal: err})
			return
		}
		t.mu.Lock()
		if s.broken {
			// It broke meanwhile: send on the next stream.
			t.queue = append([]sendItem{it}, t.queue...)
			t.mu.Unlock()
			continue
		}
		s.pending[it.p.id] = it
		t.mu.Unlock()
		err = s.stream.Send(it.req)
		if err != nil && !errors.Is(err, io.EOF) {
			// Not a stream failure (those surface in Recv as the real
			// error after io.EOF here): this message cannot be sent,
			// e.g. it is over the size limit.
			t.mu.Lock()
			delete(s.pending, it.p.id)
			t.mu.Unlock()
			if !t.post(result{p: it.p, attempt: it.attempt, err: err}) {
				return
			}
		}
	}
}

// session returns the current stream, opening one if needed. Opening
// after a failure waits up to the retry backoff for the gateway to come
// back; it gives up once the failures exceed the retries.
func (t *grpcTransport) session() (*grpcSession, error) {
	for {
		t.mu.Lock()
		s, failures := t.sess, t.failures
		ok := s != nil && !s.broken
		t.mu.Unlock()
		if ok {
			return s, nil
		}
		s, err := t.open(failures)
		if err == nil {
			t.mu.Lock()
			t.sess = s
			t.mu.Unlock()
			t.wg.Add(1)
			go t.receive(s)
			return s, nil
		}
		if t.ctx.Err() != nil {
			return nil, t.ctx.Err()
		}
		if status.Code(err) != codes.Unavailable {
			return nil, t.c.rpcError("Call", err)
		}
		t.mu.Lock()
		t.failures++
		failures = t.failures
		t.mu.Unlock()
		if failures > t.o.retries {
			return nil, t.c.connError(err, false)
		}
		if !t.post(result{retry: &Retry{Index: -1, Attempt: failures, Delay: t.o.backoff(failures), Err: t.c.connError(err, false)}}) {
			return nil, t.ctx.Err()
		}
	}
}

// open starts a Call stream. The first attempt fails fast, so an
// unreachable address is reported at once; a retry resets the channel's
// reconnect backoff and waits up to the retry delay for it to be ready.
func (t *grpcTransport) open(failures int) (*grpcSession, error) {
	sctx, cancel := context.WithCancel(t.ctx)
	var (
		opts  []grpc.CallOption
		timer *time.Timer
		wait  time.Duration
	)
	if failures > 0 {
		t.c.conn.ResetConnectBackoff()
		opts = append(opts, grpc.WaitForReady(true))
		wait = t.o.backoff(failures)
		timer = time.AfterFunc(wait, cancel)
	}
	// wire.Codec sends the documents prepare encoded as they are, and
	// keeps the answers' documents encoded until responseFromProto reads
	// them, once, with docarray.Unmarshal.
	opts = append(opts, grpc.ForceCodecV2(wire.Codec()))
	stream, err := jinapb.NewJinaRPCClient(t.c.conn).Call(sctx, opts...)
	if timer != nil && !timer.Stop() {
		cancel()
		if t.ctx.Err() != nil {
			return nil, t.ctx.Err()
		}
		return nil, status.Errorf(codes.Unavailable, "not back within %s", wait.Round(time.Millisecond))
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return &grpcSession{stream: stream, cancel: cancel, pending: map[string]sendItem{}, done: make(chan struct{})}, nil
}

func (t *grpcTransport) receive(s *grpcSession) {
	defer t.wg.Done()
	defer close(s.done)
	for {
		msg, err := s.stream.Recv()
		if err != nil {
			t.broke(s, err)
			return
		}
		id := msg.GetHeader().GetRequestId()
		t.mu.Lock()
		t.failures = 0
		it, ok := s.pending[id]
		if !ok && id == "" && len(s.pending) == 1 {
			// A server that drops request ids, with one request in
			// flight: the answer can only be that one.
			for _, v := range s.pending {
				it, ok = v, true
			}
		}
		if ok {
			delete(s.pending, it.p.id)
		}
		t.mu.Unlock()
		if !ok {
			continue // the answer to a request given up on
		}
		resp, derr := responseFromProto(msg)
		r := result{p: it.p, attempt: it.attempt, resp: resp}
		if derr != nil {
			r.err = status.Error(codes.Internal, derr.Error())
		} else {
			r.err = gatewayDeliveryError(resp.Status)
		}
		if !t.post(r) {
			return
		}
	}
}

// broke handles the end of a stream: a normal end, a failure to retry on
// a new stream, or a fatal error.
func (t *grpcTransport) broke(s *grpcSession, err error) {
	t.mu.Lock()
	s.broken = true
	items := make([]sendItem, 0, len(s.pending))
	for _, it := range s.pending {
		items = append(items, it)
	}
	s.pending = map[string]sendItem{}
	if t.sess == s {
		t.sess = nil
	}
	t.mu.Unlock()
	s.cancel()
	if t.ctx.Err() != nil || len(items) == 0 {
		// Done, or nothing was waiting: the next request (if any) opens
		// a new stream, and only that counts as a failure if it fails.
		return
	}
	if errors.Is(err, io.EOF) {
		err = status.Errorf(codes.Unavailable, "the server ended the stream with %d requests unanswered", len(items))
	}
	if status.Code(err) != codes.Unavailable {
		t.post(result{fatal: t.c.rpcError("Call", err)})
		return
	}
	t.mu.Lock()
	t.failures++
	failures := t.failures
	t.mu.Unlock()
	if failures > t.o.retries {
		t.post(result{fatal: t.c.connError(err, true)})
		return
	}
	slices.SortFunc(items, func(a, b sendItem) int { return a.p.index - b.p.index })
	t.mu.Lock()
	t.queue = append(items, t.queue...)
	t.mu.Unlock()
	t.signal()
	t.post(result{retry: &Retry{Index: -1, Attempt: failures, Delay: t.o.backoff(failures), Err: t.c.connError(err, true)}})
}

// --- errors ---

// connError turns an UNAVAILABLE error into a *ConnError naming the
// address and the short cause.
func (c *Client) connError(err error, lost bool) error {
	var ce *ConnError
	if errors.As(err, &ce) {
		return ce
	}
	reason := ""
	if p := c.lastDialErr.Load(); p != nil && !lost {
		reason = describeNetErr(*p)
	}
	if reason == "" {
		if st, ok := status.FromError(err); ok {
			reason = cleanDesc(st.Message())
		} else {
			reason = describeNetErr(err)
		}
	}
	return &ConnError{Addr: c.addr.String(), Lost: lost, Reason: reason, Err: err}
}

// rpcError puts an error of a gRPC call in context; UNAVAILABLE becomes a
// *ConnError.
func (c *Client) rpcError(method string, err error) error {
	switch status.Code(err) {
	case codes.Unavailable:
		return c.connError(err, false)
	case codes.Unauthenticated:
		return fmt.Errorf("%s %s: %w (pass a token with --token / WithToken)", method, c.addr, err)
	}
	return fmt.Errorf("%s %s: %w", method, c.addr, err)
}

// describeNetErr shortens a dial error to its cause, e.g. "connection
// refused" rather than "dial tcp 127.0.0.1:1: connect: connection refused".
func describeNetErr(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fmt.Sprintf("cannot resolve host %q: %s", dns.Name, dns.Err)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "connection timed out"
	}
	return err.Error()
}

// cleanDesc removes grpc-go's nested prefixes from a transport error.
func cleanDesc(s string) string {
	for {
		t := strings.TrimSpace(s)
		for _, p := range []string{"connection error: desc = ", "transport: ", "Error while dialing: ", "error reading from server: "} {
			t = strings.TrimPrefix(t, p)
		}
		t = strings.Trim(t, `"`)
		if t == s {
			return s
		}
		s = t
	}
}

// --- unary calls ---

func (c *Client) grpcDryRun(ctx context.Context) error {
	st, err := jinapb.NewJinaGatewayDryRunRPCClient(c.conn).DryRun(ctx, &emptypb.Empty{})
	if status.Code(err) == codes.Unimplemented {
		// A bare worker (jig executor) has no dry_run: its health
		// service says whether it serves.
		return c.grpcHealth(ctx)
	}
	if err != nil {
		return c.unaryError(ctx, "dry_run", err)
	}
	if st.GetCode() != jinapb.StatusProto_SUCCESS {
		return fmt.Errorf("%s: %w: %s", c.addr, ErrNotReady, describeStatus(statusFromProto(st)))
	}
	return nil
}

func (c *Client) grpcHealth(ctx context.Context) error {
	resp, err := healthpb.NewHealthClient(c.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return c.unaryError(ctx, "health check", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s: %w: health status %s", c.addr, ErrNotReady, resp.GetStatus())
	}
	return nil
}

func (c *Client) grpcEndpoints(ctx context.Context) (*Endpoints, error) {
	p, err := jinapb.NewJinaDiscoverEndpointsRPCClient(c.conn).EndpointDiscovery(ctx, &emptypb.Empty{})
	if err != nil {
		return nil, c.unaryError(ctx, "endpoint_discovery", err)
	}
	out := &Endpoints{Endpoints: p.GetEndpoints(), WriteEndpoints: p.GetWriteEndpoints()}
	if p.GetSchemas() != nil {
		out.Schemas = p.GetSchemas().AsMap()
	}
	return out, nil
}

func (c *Client) grpcStatus(ctx context.Context) (*Info, error) {
	p, err := jinapb.NewJinaInfoRPCClient(c.conn).XStatus(ctx, &emptypb.Empty{})
	if err != nil {
		return nil, c.unaryError(ctx, "_status", err)
	}
	return &Info{Jina: p.GetJina(), Envs: p.GetEnvs()}, nil
}

// unaryError reports ctx ending as ctx.Err() (so errors.Is(err,
// context.Canceled) works) and other errors via rpcError.
func (c *Client) unaryError(ctx context.Context, method string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s %s: %w", method, c.addr, ctx.Err())
	}
	return c.rpcError(method, err)
}

// describeStatus renders a non-success status for an error message.
func describeStatus(s Status) string {
	if ex := s.Exception; ex != nil && ex.Name != "" {
		msg := ex.Name
		if len(ex.Args) > 0 {
			msg += ": " + strings.Join(ex.Args, ", ")
		}
		if ex.Executor != "" {
			msg += " (executor " + ex.Executor + ")"
		}
		return msg
	}
	if s.Description != "" {
		return s.Description
	}
	return s.Code.String()
}
