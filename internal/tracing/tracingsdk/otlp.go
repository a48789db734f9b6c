package tracingsdk

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jig-dev/jig/internal/rawcodec"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// exportMethod is OTLP's trace export RPC
// (opentelemetry/proto/collector/trace/v1/trace_service.proto).
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// exportTimeout bounds one export, retries included (the OTLP
// exporter's default).
const exportTimeout = 10 * time.Second

// otlpExporter sends spans to an OTLP/gRPC collector. It encodes the
// ExportTraceServiceRequest itself (protowire) and sends it as bytes
// (rawcodec), which is all jig needs of the OpenTelemetry OTLP exporter:
// that exporter links the generated OTLP protos, whose collector package
// carries gRPC-Gateway and the googleapis HTTP annotations, some 25
// packages of a cold `go build ./cmd/jig` (the cold-build quality bar, docs/ARCHITECTURE.md). The encoding is
// checked field by field against the OpenTelemetry exporter's own in
// otlp_test.go.
type otlpExporter struct {
	conn *grpc.ClientConn
	// headers go with every export: OTEL_EXPORTER_OTLP_HEADERS and
	// OTEL_EXPORTER_OTLP_TRACES_HEADERS, as OpenTelemetry's exporter
	// reads them (a hosted collector's API key, say).
	headers metadata.MD
}

var _ sdktrace.SpanExporter = (*otlpExporter)(nil)

// newOTLPExporter dials endpoint (host:port) in plaintext, lazily: a
// collector that is not up yet only fails the exports it misses.
func newOTLPExporter(endpoint string) (*otlpExporter, error) {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	h := metadata.MD{}
	for _, env := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		for k, v := range parseHeaders(os.Getenv(env)) {
			h.Set(k, v)
		}
	}
	return &otlpExporter{conn: conn, headers: h}, nil
}

// parseHeaders parses the OTLP exporter's header list,
// "key1=value1,key2=value2" with URL-encoded values; malformed entries
// are skipped, as OpenTelemetry skips them.
func parseHeaders(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			continue
		}
		v, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			continue
		}
		out[strings.ToLower(k)] = v
	}
	return out
}

// ExportSpans implements sdktrace.SpanExporter: one Export call, retried
// while the collector is unavailable, within exportTimeout.
func (e *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, exportTimeout)
	defer cancel()
	if len(e.headers) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, e.headers)
	}
	req := &rawcodec.Msg{B: encodeExport(spans)}
	wait := 50 * time.Millisecond
	for {
		var resp rawcodec.Msg
		err := e.conn.Invoke(ctx, exportMethod, req, &resp, rawcodec.CallOption())
		if err == nil {
			return nil
		}
		switch status.Code(err) {
		case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
		default:
			return fmt.Errorf("otlp export: %w", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("otlp export: %w", errors.Join(err, ctx.Err()))
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// Shutdown implements sdktrace.SpanExporter.
func (e *otlpExporter) Shutdown(context.Context) error { return e.conn.Close() }

// Field numbers of the OTLP messages written here
// (opentelemetry/proto/{collector/trace,trace,common,resource}/v1).
const (
	fRequestResourceSpans = 1 // ExportTraceServiceRequest.resource_spans

	fResourceSpansResource  = 1
	fResourceSpansScope     = 2
	fResourceSpansSchemaURL = 3

	fResourceAttributes = 1

	fScopeSpansScope     = 1
	fScopeSpansSpans     = 2
	fScopeSpansSchemaURL = 3

	fScopeName       = 1
	fScopeVersion    = 2
	fScopeAttributes = 3

	fSpanTraceID      = 1
	fSpanSpanID       = 2
	fSpanTraceState   = 3
	fSpanParentSpanID = 4
	fSpanName         = 5
	fSpanKind         = 6
	fSpanStart        = 7
	fSpanEnd          = 8
	fSpanAttributes   = 9
	fSpanDroppedAttrs = 10
	fSpanEvents       = 11
	fSpanDroppedEvts  = 12
	fSpanLinks        = 13
	fSpanDroppedLinks = 14
	fSpanStatus       = 15
	fSpanFlags        = 16

	fEventTime    = 1
	fEventName    = 2
	fEventAttrs   = 3
	fEventDropped = 4

	fLinkTraceID    = 1
	fLinkSpanID     = 2
	fLinkTraceState = 3
	fLinkAttrs      = 4
	fLinkDropped    = 5
	fLinkFlags      = 6

	fStatusMessage = 2
	fStatusCode    = 3

	fKVKey   = 1
	fKVValue = 2

	fAnyString = 1
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4
	fAnyArray  = 5

	fArrayValues = 1

	// SpanFlags: the parent's is_remote is known, and whether it is set.
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200

	// Status codes: OTLP numbers them unset, ok, error; OpenTelemetry Go
	// unset, error, ok.
	statusOK    = 1
	statusError = 2
)

// encodeExport is the ExportTraceServiceRequest of spans: grouped by
// resource, then by instrumentation scope, in the order they come.
func encodeExport(spans []sdktrace.ReadOnlySpan) []byte {
	type scopeGroup struct {
		scope instrumentation.Scope
		spans []sdktrace.ReadOnlySpan
	}
	type resGroup struct {
		res    *resource.Resource
		scopes []*scopeGroup
	}
	var groups []*resGroup
	for _, s := range spans {
		var g *resGroup
		for _, x := range groups {
			if x.res == s.Resource() || (x.res != nil && s.Resource() != nil && x.res.Equal(s.Resource())) {
				g = x
				break
			}
		}
		if g == nil {
			g = &resGroup{res: s.Resource()}
			groups = append(groups, g)
		}
		var sg *scopeGroup
		for _, x := range g.scopes {
			if sameScope(x.scope, s.InstrumentationScope()) {
				sg = x
				break
			}
		}
		if sg == nil {
			sg = &scopeGroup{scope: s.InstrumentationScope()}
			g.scopes = append(g.scopes, sg)
		}
		sg.spans = append(sg.spans, s)
	}
	var req []byte
	for _, g := range groups {
		var rs []byte
		if g.res != nil {
			var r []byte
			for it := g.res.Iter(); it.Next(); {
				r = appendMsg(r, fResourceAttributes, appendKeyValue(nil, it.Attribute()))
			}
			rs = appendMsg(rs, fResourceSpansResource, r)
		}
		for _, sg := range g.scopes {
			var ss []byte
			var sc []byte
			sc = appendString(sc, fScopeName, sg.scope.Name)
			sc = appendString(sc, fScopeVersion, sg.scope.Version)
			for it := sg.scope.Attributes.Iter(); it.Next(); {
				sc = appendMsg(sc, fScopeAttributes, appendKeyValue(nil, it.Attribute()))
			}
			ss = appendMsg(ss, fScopeSpansScope, sc)
			for _, s := range sg.spans {
				ss = appendMsg(ss, fScopeSpansSpans, appendSpan(nil, s))
			}
			ss = appendString(ss, fScopeSpansSchemaURL, sg.scope.SchemaURL)
			rs = appendMsg(rs, fResourceSpansScope, ss)
		}
		if g.res != nil {
			rs = appendString(rs, fResourceSpansSchemaURL, g.res.SchemaURL())
		}
		req = appendMsg(req, fRequestResourceSpans, rs)
	}
	return req
}

func sameScope(a, b instrumentation.Scope) bool {
	return a.Name == b.Name && a.Version == b.Version && a.SchemaURL == b.SchemaURL && a.Attributes.Equals(&b.Attributes)
}

// appendSpan appends the fields of one Span message.
func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, fSpanTraceID, tid[:])
	b = appendBytes(b, fSpanSpanID, sid[:])
	b = appendString(b, fSpanTraceState, sc.TraceState().String())
	if p := s.Parent(); p.SpanID().IsValid() {
		psid := p.SpanID()
		b = appendBytes(b, fSpanParentSpanID, psid[:])
	}
	b = appendString(b, fSpanName, s.Name())
	// OTLP numbers the kinds as OpenTelemetry Go does.
	b = appendVarint(b, fSpanKind, uint64(s.SpanKind()))
	b = appendFixed64(b, fSpanStart, unixNano(s.StartTime()))
	b = appendFixed64(b, fSpanEnd, unixNano(s.EndTime()))
	for _, kv := range s.Attributes() {
		b = appendMsg(b, fSpanAttributes, appendKeyValue(nil, kv))
	}
	b = appendVarint(b, fSpanDroppedAttrs, uint64(s.DroppedAttributes()))
	for _, ev := range s.Events() {
		var e []byte
		e = appendFixed64(e, fEventTime, unixNano(ev.Time))
		e = appendString(e, fEventName, ev.Name)
		for _, kv := range ev.Attributes {
			e = appendMsg(e, fEventAttrs, appendKeyValue(nil, kv))
		}
		e = appendVarint(e, fEventDropped, uint64(ev.DroppedAttributeCount))
		b = appendMsg(b, fSpanEvents, e)
	}
	b = appendVarint(b, fSpanDroppedEvts, uint64(s.DroppedEvents()))
	for _, l := range s.Links() {
		var m []byte
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		m = appendBytes(m, fLinkTraceID, ltid[:])
		m = appendBytes(m, fLinkSpanID, lsid[:])
		m = appendString(m, fLinkTraceState, l.SpanContext.TraceState().String())
		for _, kv := range l.Attributes {
			m = appendMsg(m, fLinkAttrs, appendKeyValue(nil, kv))
		}
		m = appendVarint(m, fLinkDropped, uint64(l.DroppedAttributeCount))
		m = appendFixed32(m, fLinkFlags, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext))
		b = appendMsg(b, fSpanLinks, m)
	}
	b = appendVarint(b, fSpanDroppedLinks, uint64(s.DroppedLinks()))
	var st []byte
	code := 0
	switch s.Status().Code {
	case otelcodes.Ok:
		code = statusOK
	case otelcodes.Error:
		code = statusError
	}
	st = appendString(st, fStatusMessage, s.Status().Description)
	st = appendVarint(st, fStatusCode, uint64(code))
	// Always present, as the OpenTelemetry exporter sends it.
	b = appendMsg(b, fSpanStatus, st)
	b = appendFixed32(b, fSpanFlags, spanFlags(sc.TraceFlags(), s.Parent()))
	return b
}

// spanFlags are the SpanFlags of a span (or link) with W3C trace flags tf
// whose parent (or linked span) is sc: the low byte is tf, and whether sc
// is remote is always said.
func spanFlags(tf trace.TraceFlags, sc trace.SpanContext) uint32 {
	f := uint32(tf) | flagHasIsRemote
	if sc.IsRemote() {
		f |= flagIsRemote
	}
	return f
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

// appendKeyValue appends the fields of a KeyValue.
func appendKeyValue(b []byte, kv attribute.KeyValue) []byte {
	b = appendString(b, fKVKey, string(kv.Key))
	return appendMsgAlways(b, fKVValue, appendAnyValue(nil, kv.Value))
}

// appendAnyValue appends the fields of an AnyValue (the oneof member,
// even when it is a zero value: the oneof says which it is).
func appendAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOL:
		return protowire.AppendVarint(protowire.AppendTag(b, fAnyBool, protowire.VarintType), protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		return protowire.AppendVarint(protowire.AppendTag(b, fAnyInt, protowire.VarintType), uint64(v.AsInt64()))
	case attribute.FLOAT64:
		return protowire.AppendFixed64(protowire.AppendTag(b, fAnyDouble, protowire.Fixed64Type), math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		return protowire.AppendString(protowire.AppendTag(b, fAnyString, protowire.BytesType), v.AsString())
	case attribute.BOOLSLICE:
		return appendArray(b, v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		return appendArray(b, v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		return appendArray(b, v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		return appendArray(b, v.AsStringSlice(), attribute.StringValue)
	}
	// An attribute type this exporter does not know: its string form.
	return protowire.AppendString(protowire.AppendTag(b, fAnyString, protowire.BytesType), v.String())
}

// appendArray appends xs as an AnyValue holding an ArrayValue, each
// element an AnyValue of its own (value makes it an attribute.Value).
func appendArray[T any](b []byte, xs []T, value func(T) attribute.Value) []byte {
	var arr []byte
	for _, x := range xs {
		arr = appendMsgAlways(arr, fArrayValues, appendAnyValue(nil, value(x)))
	}
	return appendMsgAlways(b, fAnyArray, arr)
}

// The append helpers leave proto3 zero values out, as proto.Marshal does.

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

func appendFixed64(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return protowire.AppendFixed64(protowire.AppendTag(b, num, protowire.Fixed64Type), v)
}

func appendFixed32(b []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return b
	}
	return protowire.AppendFixed32(protowire.AppendTag(b, num, protowire.Fixed32Type), v)
}

// appendMsg appends a sub-message (set: written even when empty).
func appendMsg(b []byte, num protowire.Number, m []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), m)
}

// appendMsgAlways is appendMsg, named where the emptiness matters (a
// oneof member or a repeated element).
func appendMsgAlways(b []byte, num protowire.Number, m []byte) []byte {
	return appendMsg(b, num, m)
}
