package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jig-dev/jig/internal/rawcodec"
	"github.com/jig-dev/jig/internal/wire"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
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

// callRaw sends one encoded request and checks the answer.
func (t *target) callRaw(ctx context.Context, req []byte, minLen int) error {
	out := answer{minLen: minLen}
	if err := t.cc.Invoke(ctx, processSingleData, &rawcodec.Msg{B: req}, &out, checkCallOption); err != nil {
		return err
	}
	return out.err
}

// answer is a received DataRequestProto checked where it lies, in the
// transport's buffers (checkCodec): the load generator never copies or
// decodes the documents of an answer, only its length and header.
type answer struct {
	minLen int
	err    error
}

// checkCodec sends rawcodec.Msg bytes as they are and checks answers in
// place (checkAnswer). Named "proto" like rawcodec.Codec: on the wire it
// is the same application/grpc+proto message.
type checkCodec struct{ rawcodec.Codec }

func (c checkCodec) Unmarshal(data mem.BufferSlice, v any) error {
	a, ok := v.(*answer)
	if !ok {
		return c.Codec.Unmarshal(data, v)
	}
	a.err = checkAnswer(data, a.minLen)
	return nil
}

var checkCallOption = grpc.ForceCodecV2(checkCodec{})

// checkAnswer checks an encoded DataRequestProto answer: header status
// SUCCESS (or absent) and at least as many bytes as the documents sent.
// It reads the pieces the transport received without joining them: the
// length is summed and only tags, lengths and the header are copied out.
func checkAnswer(data mem.BufferSlice, minLen int) error {
	total := data.Len()
	if total < minLen {
		return fmt.Errorf("answer of %d bytes, the documents sent were %d", total, minLen)
	}
	// The whole message is walked (a few tags): a truncated answer fails
	// wherever the header is.
	var scratch [2 * binary.MaxVarintLen64]byte
	for off := 0; off < total; {
		b := peek(data, off, scratch[:])
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errors.New("answer: bad protobuf")
		}
		off += n
		if typ != protowire.BytesType {
			// Varints and fixed fields are short: skip them from a peek.
			m := protowire.ConsumeFieldValue(num, typ, peek(data, off, scratch[:]))
			if m < 0 {
				return errors.New("answer: bad protobuf")
			}
			off += m
			continue
		}
		l, n := protowire.ConsumeVarint(peek(data, off, scratch[:]))
		if n < 0 || l > uint64(total-off-n) || (num == 1 && l > 1<<20) {
			return errors.New("answer: bad protobuf")
		}
		off += n
		if num == 1 {
			hdr := make([]byte, l)
			copyFrom(data, off, hdr)
			var h jinapb.HeaderProto
			if err := proto.Unmarshal(hdr, &h); err != nil {
				return fmt.Errorf("answer header: %w", err)
			}
			if st := h.GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS {
				return fmt.Errorf("status %s: %s", st.GetCode(), st.GetDescription())
			}
		}
		off += int(l)
	}
	return nil
}

// peek returns up to len(scratch) bytes of data from offset off, copied
// into scratch.
func peek(data mem.BufferSlice, off int, scratch []byte) []byte {
	return scratch[:copyFrom(data, off, scratch)]
}

// copyFrom copies data from offset off into dst and returns the count.
func copyFrom(data mem.BufferSlice, off int, dst []byte) int {
	n := 0
	for _, b := range data {
		p := b.ReadOnlyData()
		if off >= len(p) {
			off -= len(p)
			continue
		}
		n += copy(dst[n:], p[off:])
		off = 0
		if n == len(dst) {
			break
		}
	}
	return n
}

// useCall switches the gRPC load from process_single_data to JinaRPC/Call,
// the bidi stream Jina's Client uses by default (stream=True): one stream
// per request in flight, one request and its answer at a time on each.
var useCall bool

// rawStream is one JinaRPC/Call stream carrying encoded messages.
type rawStream struct{ st grpc.ClientStream }

func (t *target) openCall(ctx context.Context) (*rawStream, error) {
	st, err := t.cc.NewStream(ctx, &jinapb.JinaRPC_ServiceDesc.Streams[0], jinapb.JinaRPC_Call_FullMethodName, checkCallOption)
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
	out := answer{minLen: minLen}
	if err := s.st.RecvMsg(&out); err != nil {
		return err
	}
	return out.err
}

// close half-closes the stream and waits for the server to end it.
func (s *rawStream) close() {
	s.st.CloseSend()
	var out rawcodec.Msg
	for s.st.RecvMsg(&out) == nil {
	}
}

// clientDialOptions are the load generator's windows and buffers, the same
// for both servers: the jig client's (wire.FlowControlDialOptions), fixed
// windows big enough for 16 answers of 100 documents in flight and
// transport buffers that move a 100-document message in one syscall
// rather than four. Fewer window updates and syscalls per request leave
// more of the shared cores to the server measured.
func clientDialOptions() []grpc.DialOption { return wire.FlowControlDialOptions() }
