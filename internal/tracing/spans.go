package tracing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Attribute keys of jig's spans (what the Jaeger test and the workbench
// look for).
const (
	AttrEndpoint    = "jig.endpoint"
	AttrDocs        = "jig.docs"
	AttrRequestID   = "jig.request_id"
	AttrDeployment  = "jig.deployment"
	AttrShard       = "jig.shard"
	AttrReplica     = "jig.replica"
	AttrAttempt     = "jig.attempt"
	AttrAddress     = "jig.address"
	AttrExecutor    = "jig.executor"
	AttrRaftIndex   = "raft.commit_index"
	AttrRaftLeader  = "raft.leader"
	AttrRaftForward = "raft.forwarded"
)

// TraceparentKey is the W3C Trace Context header, in gRPC metadata as in
// HTTP (Jina's executors read the same key).
const TraceparentKey = "traceparent"

// propagator is W3C Trace Context, what OpenTelemetry's Python SDK (and so
// Jina) uses by default.
var propagator propagation.TraceContext

// mdCarrier lets the propagator read and write gRPC metadata.
type mdCarrier metadata.MD

func (c mdCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c mdCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c mdCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// incoming returns ctx with the remote span context of the incoming gRPC
// metadata's traceparent, when ctx has no span of its own yet; sent
// reports whether the caller sent one.
func incoming(ctx context.Context) (_ context.Context, sent bool) {
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, false
	}
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok || len(md.Get(TraceparentKey)) == 0 {
		return ctx, false
	}
	return propagator.Extract(ctx, mdCarrier(md)), true
}

// replyKey holds the HTTP response header the gateway span's
// traceparent goes back in.
type replyKey struct{}

// FromHTTP returns ctx carrying the traceparent of an HTTP request's
// header in, for the gateway span to continue; the gateway then answers
// with its own traceparent in out.
func FromHTTP(ctx context.Context, in, out http.Header) context.Context {
	if active.Load() == nil {
		return ctx
	}
	tp := in.Get(TraceparentKey)
	if tp == "" {
		return ctx
	}
	ctx = propagator.Extract(ctx, propagation.MapCarrier{TraceparentKey: tp})
	return context.WithValue(ctx, replyKey{}, out)
}

// Traceparent returns the W3C traceparent of ctx's span ("" when none).
func Traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagator.Inject(ctx, c)
	return c[TraceparentKey]
}

// Outgoing returns ctx with its span's traceparent in the outgoing gRPC
// metadata, so the worker on the other side (a jig child process, an
// external jig or Jina executor) continues the trace.
func Outgoing(ctx context.Context) context.Context {
	if active.Load() == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	c := propagation.MapCarrier{}
	propagator.Inject(ctx, c)
	return metadata.AppendToOutgoingContext(ctx, TraceparentKey, c[TraceparentKey])
}

// InjectMD sets ctx's traceparent in md (a copy the caller owns).
func InjectMD(ctx context.Context, md metadata.MD) {
	if active.Load() == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	propagator.Inject(ctx, mdCarrier(md))
}

// docCount counts req's documents without decoding them (they may still
// be encoded, see wire.Codec).
func docCount(req *jinapb.DataRequestProto) int64 {
	return int64(wire.DocCount(req))
}

func endpointOf(req *jinapb.DataRequestProto) string {
	ep := req.GetHeader().GetExecEndpoint()
	if ep == "" {
		ep = "/default"
	}
	return ep
}

// Gateway starts the span of one request entering the flow ("gateway
// /search"): its parent is the caller's traceparent (gRPC metadata, or
// WithTraceparent for HTTP) or none. When the caller sent a traceparent,
// the gateway answers with its own in the gRPC response header, so the
// client can find its request in the trace.
func Gateway(ctx context.Context, req *jinapb.DataRequestProto) (context.Context, Span) {
	st := active.Load()
	if st == nil {
		return ctx, Span{}
	}
	ctx, sent := incoming(ctx)
	reply, _ := ctx.Value(replyKey{}).(http.Header)
	ep := endpointOf(req)
	ctx, sp := start(ctx, st, "gateway "+ep, trace.SpanKindServer,
		attribute.String(AttrEndpoint, ep),
		attribute.Int64(AttrDocs, docCount(req)),
		attribute.String(AttrRequestID, req.GetHeader().GetRequestId()))
	switch {
	case reply != nil:
		reply.Set(TraceparentKey, Traceparent(ctx))
	case sent:
		// Fails harmlessly when headers went already (later requests of
		// a Call stream) or outside gRPC.
		_ = grpc.SetHeader(ctx, metadata.Pairs(TraceparentKey, Traceparent(ctx)))
	}
	return ctx, sp
}

// Deployment starts the span of one deployment hop ("deployment
// indexer"), parent of its calls (shards, retries).
func Deployment(ctx context.Context, name string) (context.Context, Span) {
	st := active.Load()
	if st == nil {
		return ctx, Span{}
	}
	return start(ctx, st, "deployment "+name, trace.SpanKindInternal, attribute.String(AttrDeployment, name))
}

// Call starts the span of one attempt to one replica ("call
// indexer/rep-0"); attempt counts from 0, so attempt > 0 is a retry.
func Call(ctx context.Context, deployment string, shard int, replica, address string, attempt int) (context.Context, Span) {
	st := active.Load()
	if st == nil {
		return ctx, Span{}
	}
	return start(ctx, st, "call "+deployment+"/"+replica, trace.SpanKindClient,
		attribute.String(AttrDeployment, deployment),
		attribute.Int(AttrShard, shard),
		attribute.String(AttrReplica, replica),
		attribute.String(AttrAddress, address),
		attribute.Int(AttrAttempt, attempt))
}

// Executor starts the span of an executor handling req ("executor indexer
// /index"), continuing the caller's traceparent from the incoming gRPC
// metadata when ctx has no span (a worker process).
func Executor(ctx context.Context, name string, req *jinapb.DataRequestProto) (context.Context, Span) {
	st := active.Load()
	if st == nil {
		return ctx, Span{}
	}
	ctx, _ = incoming(ctx)
	ep := endpointOf(req)
	return start(ctx, st, "executor "+name+" "+ep, trace.SpanKindServer,
		attribute.String(AttrExecutor, name),
		attribute.String(AttrEndpoint, ep),
		attribute.Int64(AttrDocs, docCount(req)),
		attribute.String(AttrRequestID, req.GetHeader().GetRequestId()))
}

// Raft starts the span of a RAFT step of a stateful write: "raft.apply"
// (append, commit, apply on the leader) or "raft.forward" (a follower
// sending the write to the leader).
func Raft(ctx context.Context, op string) (context.Context, Span) {
	st := active.Load()
	if st == nil {
		return ctx, Span{}
	}
	kind := trace.SpanKindInternal
	if strings.HasSuffix(op, "forward") {
		kind = trace.SpanKindClient
	}
	return start(ctx, st, op, kind)
}

// EndResponse ends sp with the outcome of a call: err, or the response's
// ERROR status (an executor's exception).
func (s Span) EndResponse(resp *jinapb.DataRequestProto, err error) {
	if s.s == nil {
		return
	}
	if err == nil && resp.GetHeader().GetStatus().GetCode() == jinapb.StatusProto_ERROR {
		st := resp.GetHeader().GetStatus()
		msg := st.GetDescription()
		if n := st.GetException().GetName(); n != "" {
			msg = n + ": " + msg
		}
		s.Fail(msg)
	}
	s.End(err)
}

// NewTraceparent returns a fresh sampled W3C traceparent for a client
// that starts a trace (`jig post --verbose`), and its trace id.
func NewTraceparent() (traceID, traceparent string) {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported systems
	tid, sid := hex.EncodeToString(b[:16]), hex.EncodeToString(b[16:])
	return tid, "00-" + tid + "-" + sid + "-01"
}
