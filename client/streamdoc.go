package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// StreamDoc sends one document to a generator endpoint and returns the
// documents it yields, each as soon as it arrives (Jina's
// Client.stream_doc): over gRPC jina.JinaSingleDocumentRequestRPC/
// stream_doc, over HTTP GET {base}/{endpoint}?<document fields> answered
// with server-sent events.
//
//	for doc, err := range c.StreamDoc(ctx, "/generate", docarray.New("tell me")) {
//		if err != nil { ... }
//		fmt.Print(doc.Text, " ")
//	}
//
// Parameters, TargetExecutor and Timeout apply (parameters and the target
// travel over gRPC only: Jina's HTTP form has no place for them). An
// executor error ends the sequence with an *ExecutorError, a transport
// failure with the same errors Post returns. Breaking out of the loop
// cancels the call, which stops the executor's generator.
func (c *Client) StreamDoc(ctx context.Context, endpoint string, doc *docarray.Document, opts ...PostOption) iter.Seq2[*docarray.Document, error] {
	var o postOptions
	for _, f := range opts {
		f(&o)
	}
	if !strings.HasPrefix(endpoint, "/") {
		endpoint = "/" + endpoint
	}
	return func(yield func(*docarray.Document, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if o.timeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, o.timeout)
			defer cancel()
		}
		if doc == nil {
			doc = &docarray.Document{}
		}
		if c.addr.IsHTTP() {
			c.httpStreamDoc(ctx, endpoint, doc, yield)
			return
		}
		c.grpcStreamDoc(ctx, endpoint, doc, &o, yield)
	}
}

// IsGenerator reports whether discovery marks endpoint as a generator
// (schemas[endpoint].is_generator), i.e. whether it is meant for StreamDoc.
func (e *Endpoints) IsGenerator(endpoint string) bool {
	if e == nil {
		return false
	}
	entry, _ := e.Schemas[endpoint].(map[string]any)
	g, _ := entry["is_generator"].(bool)
	return g
}

func (c *Client) grpcStreamDoc(ctx context.Context, endpoint string, doc *docarray.Document, o *postOptions, yield func(*docarray.Document, error) bool) {
	if err := doc.Validate(); err != nil {
		yield(nil, badInput("stream_doc: %v", err))
		return
	}
	req := &jinapb.SingleDocumentRequestProto{
		Header:   &jinapb.HeaderProto{RequestId: docarray.NewID(), ExecEndpoint: proto.String(endpoint)},
		Document: doc.ToProto(),
	}
	if o.target != "" {
		req.Header.TargetExecutor = proto.String(o.target)
	}
	if len(o.params) > 0 {
		p, err := structpb.NewStruct(o.params)
		if err != nil {
			yield(nil, badInput("parameters: %v", err))
			return
		}
		req.Parameters = p
	}
	st, err := jinapb.NewJinaSingleDocumentRequestRPCClient(c.conn).StreamDoc(ctx, req)
	if err != nil {
		yield(nil, c.unaryError(ctx, "stream_doc", err))
		return
	}
	for i := 0; ; i++ {
		item, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			yield(nil, c.unaryError(ctx, "stream_doc", err))
			return
		}
		if s := item.GetHeader().GetStatus(); s.GetCode() == jinapb.StatusProto_ERROR {
			yield(nil, &ExecutorError{Index: i, RequestID: item.GetHeader().GetRequestId(), Status: statusFromProto(s)})
			return
		}
		d, err := docarray.DocFromProto(item.GetDocument())
		if err != nil {
			yield(nil, fmt.Errorf("stream_doc %s: item %d: %w", c.addr, i, err))
			return
		}
		if !yield(d, nil) {
			return
		}
	}
}

// queryValues renders a document as the query of Jina's streaming GET: its
// JSON fields, strings as they are and other values as JSON (Jina's client
// sends doc.dict() without the None fields as aiohttp params).
func queryValues(doc *docarray.Document) (url.Values, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			q.Set(k, s)
			continue
		}
		if string(raw) == "null" {
			continue
		}
		q.Set(k, string(raw))
	}
	return q, nil
}

func (c *Client) httpStreamDoc(ctx context.Context, endpoint string, doc *docarray.Document, yield func(*docarray.Document, error) bool) {
	q, err := queryValues(doc)
	if err != nil {
		yield(nil, badInput("stream_doc: %v", err))
		return
	}
	u := c.base + endpoint
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		yield(nil, badInput("stream_doc: %v", err))
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			yield(nil, fmt.Errorf("GET %s: %w", u, ctx.Err()))
			return
		}
		yield(nil, c.connError(status.Error(codes.Unavailable, err.Error()), false))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := c.readBody(resp)
		yield(nil, fmt.Errorf("GET %s%s: %w", c.base, endpoint, httpError(resp.StatusCode, body)))
		return
	}
	i := 0
	err = readEvents(resp.Body, c.opts.maxMessageSize, func(event string, data []byte) bool {
		switch event {
		case "update":
			d := &docarray.Document{}
			if err := json.Unmarshal(data, d); err != nil {
				yield(nil, fmt.Errorf("stream_doc %s: item %d: %w", c.addr, i, err))
				return false
			}
			i++
			return yield(d, nil)
		case "error":
			var s httpStatus
			st := Status{Code: StatusError, Description: string(data)}
			if json.Unmarshal(data, &s) == nil {
				if parsed, err := s.status(); err == nil {
					st = parsed
					st.Code = StatusError
				}
			}
			yield(nil, &ExecutorError{Index: i, Status: st})
			return false
		case "end":
			return false
		}
		return true // unknown events (pings) are skipped
	})
	if err != nil && ctx.Err() == nil {
		yield(nil, c.connError(status.Errorf(codes.Unavailable, "reading the event stream: %v", err), true))
	}
}

// readEvents parses a text/event-stream, calling on with each event's
// name and data (data lines joined by "\n") until on returns false or the
// stream ends. Lines end in "\n" or "\r\n"; an event larger than max bytes
// is an error.
func readEvents(r io.Reader, max int, on func(event string, data []byte) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var event string
	var data bytes.Buffer
	hasData := false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it whole.
			full := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				full = append(full, line...)
				if len(full) > max {
					return fmt.Errorf("event over %d bytes", max)
				}
			}
			line = full
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		eof := errors.Is(err, io.EOF)
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if event != "" || hasData {
				name := event
				if name == "" {
					name = "message"
				}
				if !on(name, data.Bytes()) {
					return nil
				}
			}
			event, hasData = "", false
			data.Reset()
		case line[0] == ':': // comment
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				event = string(value)
			case "data":
				if hasData {
					data.WriteByte('\n')
				}
				data.Write(value)
				hasData = true
				if data.Len() > max {
					return fmt.Errorf("event over %d bytes", max)
				}
			}
		}
		if eof {
			if event == "" && hasData {
				event = "message"
			}
			if event != "" {
				on(event, data.Bytes())
			}
			return nil
		}
	}
}
