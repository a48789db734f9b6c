package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jig-dev/jig/internal/rawcodec"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The load windows send pre-encoded DataRequestProto bytes and read the
// answers as bytes: the documents are encoded once per case, not once per
// request, and an answer is checked (status, size) without decoding its
// documents. That keeps the client's cost per request far below what
// either server spends, so the client limits neither (the verify step
// decodes a full answer of each case). On the wire it is the same
// application/grpc+proto message a proto client sends.

// processSingleData is the full method name both gateways serve.
var processSingleData = "/" + jinapb.JinaSingleDataRequestRPC_ServiceDesc.ServiceName + "/process_single_data"

// encodedData returns field 4 (data) of a DataRequestProto holding data,
// tag included, to be appended after a per-request header.
func encodedData(data *jinapb.DataRequestProto_DataContentProto) ([]byte, error) {
	b, err := proto.Marshal(data)
	if err != nil {
		return nil, err
	}
	out := protowire.AppendTag(nil, 4, protowire.BytesType)
	return protowire.AppendBytes(out, b), nil
}

// appendRawRequest appends a DataRequestProto with its own header (id,
// endpoint) and the pre-encoded data field.
func appendRawRequest(buf []byte, id string, data []byte) []byte {
	var h []byte
	h = protowire.AppendTag(h, 1, protowire.BytesType)
	h = protowire.AppendString(h, id)
	h = protowire.AppendTag(h, 3, protowire.BytesType)
	h = protowire.AppendString(h, benchEndpoint)
	buf = protowire.AppendTag(buf[:0], 1, protowire.BytesType)
	buf = protowire.AppendBytes(buf, h)
	return append(buf, data...)
}

// checkRawAnswer checks an encoded DataRequestProto answer: header status
// SUCCESS (or absent) and at least as many bytes as the documents sent.
func checkRawAnswer(b []byte, minLen int) error {
	if len(b) < minLen {
		return fmt.Errorf("answer of %d bytes, the documents sent were %d", len(b), minLen)
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errors.New("answer: bad protobuf")
		}
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			hdr, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errors.New("answer: bad header")
			}
			var h jinapb.HeaderProto
			if err := proto.Unmarshal(hdr, &h); err != nil {
				return fmt.Errorf("answer header: %w", err)
			}
			if st := h.GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS {
				return fmt.Errorf("status %s: %s", st.GetCode(), st.GetDescription())
			}
			return nil
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return errors.New("answer: bad protobuf")
		}
		b = b[n:]
	}
	return nil
}

// callRaw sends one encoded request and checks the answer.
func (t *target) callRaw(ctx context.Context, req []byte, minLen int) error {
	out := rawcodec.Msg{Keep: true}
	if err := t.cc.Invoke(ctx, processSingleData, &rawcodec.Msg{B: req}, &out, rawcodec.CallOption()); err != nil {
		return err
	}
	return checkRawAnswer(out.B, minLen)
}

// useCall switches the gRPC load from process_single_data to JinaRPC/Call,
// the bidi stream Jina's Client uses by default (stream=True): one stream
// per request in flight, one request and its answer at a time on each.
var useCall bool

// rawStream is one JinaRPC/Call stream carrying encoded messages.
type rawStream struct{ st grpc.ClientStream }

func (t *target) openCall(ctx context.Context) (*rawStream, error) {
	st, err := t.cc.NewStream(ctx, &jinapb.JinaRPC_ServiceDesc.Streams[0], jinapb.JinaRPC_Call_FullMethodName, rawcodec.CallOption())
	if err != nil {
		return nil, err
	}
	return &rawStream{st: st}, nil
}

// call sends one request on the stream and checks the answer.
func (s *rawStream) call(req []byte, minLen int) error {
	if err := s.st.SendMsg(&rawcodec.Msg{B: req}); err != nil {
		return err
	}
	out := rawcodec.Msg{Keep: true}
	if err := s.st.RecvMsg(&out); err != nil {
		return err
	}
	return checkRawAnswer(out.B, minLen)
}

// close half-closes the stream and waits for the server to end it.
func (s *rawStream) close() {
	s.st.CloseSend()
	out := rawcodec.Msg{Keep: true}
	for s.st.RecvMsg(&out) == nil {
	}
}
