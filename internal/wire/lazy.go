package wire

import (
	"bytes"
	"fmt"

	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Lazy documents.
//
// Most requests cross jig without anyone reading their documents: the
// gateway and the router only route them, and a pass-through handler
// (executors.PassThrough, e.g. builtin Echo) returns them as they came.
// Decoding 100 documents into protobuf messages and encoding them again
// costs more than everything else a request does, so the Codec below does
// not decode them: a DataRequestProto whose documents arrive as `docs`
// (DataContentProto field 1, the form Jina's clients send) is decoded with
// its documents kept as the encoded DocListProto, held in the docs_bytes
// field of the oneof (same payload, the form Jina itself uses for encoded
// documents), and its DataContentProto carries a mark in its unknown
// fields saying "on the wire these were docs". Everything that reads
// documents already understands docs_bytes (Docs, SetDocs keeping the
// form, the batcher), so a handler that reads them decodes them exactly
// once; the Codec's Marshal writes marked documents back as field 1, the
// held bytes unchanged, so a request forwarded or answered without being
// read leaves as the bytes it came in and Jina peers see the form they
// sent.

// lazyMarkNumber is the field number of the mark, the largest valid one,
// which no Jina message uses.
const lazyMarkNumber protowire.Number = protowire.MaxValidNumber

// lazyMark is the mark itself: field lazyMarkNumber, varint 1.
var lazyMark = protowire.AppendVarint(protowire.AppendTag(nil, lazyMarkNumber, protowire.VarintType), 1)

// isLazy reports whether d holds docs (field 1) as docs_bytes.
func isLazy(d *jinapb.DataRequestProto_DataContentProto) bool {
	return d != nil && bytes.Equal(d.ProtoReflect().GetUnknown(), lazyMark)
}

// lazyData holds raw, an encoded DocListProto that travels as docs.
func lazyData(raw []byte) *jinapb.DataRequestProto_DataContentProto {
	d := &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: raw}}
	d.ProtoReflect().SetUnknown(lazyMark)
	return d
}

// EncodedDocs returns a DataContentProto holding raw, an encoded
// DocListProto, to be sent as docs (field 1) by Codec without being
// decoded or copied: how a client that encodes documents itself (see
// docarray.Document.AppendListEntry) sends them in the form Jina expects.
func EncodedDocs(raw []byte) *jinapb.DataRequestProto_DataContentProto {
	return lazyData(raw)
}

// copyData returns a new DataContentProto holding src's documents (nil
// for nil), keeping the lazy mark, so the copy's documents can be replaced
// without touching src.
func copyData(src *jinapb.DataRequestProto_DataContentProto) *jinapb.DataRequestProto_DataContentProto {
	if src == nil {
		return nil
	}
	d := &jinapb.DataRequestProto_DataContentProto{Documents: src.Documents}
	if isLazy(src) {
		d.ProtoReflect().SetUnknown(lazyMark)
	}
	return d
}

// undecoded reports whether req's documents are still held as they came
// off the wire (as docs, not decoded): nobody has replaced them.
func undecoded(req *jinapb.DataRequestProto) bool {
	d := req.GetData()
	if !isLazy(d) {
		return false
	}
	_, ok := d.Documents.(*jinapb.DataRequestProto_DataContentProto_DocsBytes)
	return ok
}

// DocCount returns the number of documents in req without decoding them:
// top-level fields of an encoded list are counted, not parsed. Documents
// that do not decode count as what could be counted.
func DocCount(req *jinapb.DataRequestProto) int {
	switch d := req.GetData().GetDocuments().(type) {
	case *jinapb.DataRequestProto_DataContentProto_Docs:
		return len(d.Docs.GetDocs())
	case *jinapb.DataRequestProto_DataContentProto_DocsBytes:
		n := 0
		for b := d.DocsBytes; len(b) > 0; {
			num, typ, l := protowire.ConsumeField(b)
			if l < 0 {
				break
			}
			if num == 1 && typ == protowire.BytesType {
				n++
			}
			b = b[l:]
		}
		return n
	}
	return 0
}

// Codec is jig's gRPC codec (name "proto"): grpc-go's protobuf codec,
// except that a DataRequestProto is decoded with its documents held
// encoded until read, and written back with them as they were held.
func Codec() encoding.CodecV2 { return codec{base: encoding.GetCodecV2(grpcproto.Name)} }

type codec struct{ base encoding.CodecV2 }

func (codec) Name() string { return grpcproto.Name }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*jinapb.DataRequestProto); ok && isLazy(m.GetData()) {
		return marshalLazy(m)
	}
	return c.base.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*jinapb.DataRequestProto)
	if !ok {
		return c.base.Unmarshal(data, v)
	}
	if len(data) != 1 {
		b := join(data) // a copy of our own, which docs may point into
		if unmarshalLazy(b, m) {
			return nil
		}
		return proto.Unmarshal(b, m)
	}
	// One buffer: keep it rather than copy it, the held documents point
	// into it. The reference taken is never given back when they do, so
	// the buffer is left to the garbage collector instead of returning to
	// the pool while still in use.
	data[0].Ref()
	b := data[0].ReadOnlyData()
	if unmarshalLazy(b, m) {
		return nil
	}
	defer data[0].Free() // the full decoder copies what it keeps
	return proto.Unmarshal(b, m)
}

// join copies the pieces of a received message into one new slice, as
// data.Materialize does but without zeroing it first (bytes.Join): the
// copy overwrites all of it, and clearing ~110 KiB per 100-document
// request cost the gateway ~8% of its CPU (issue 22).
func join(data mem.BufferSlice) []byte {
	var pieces [16][]byte // a message of up to 16 frames needs no allocation here
	parts := pieces[:0]
	for _, b := range data {
		parts = append(parts, b.ReadOnlyData())
	}
	return bytes.Join(parts, nil)
}

// unmarshalLazy decodes b into m keeping the documents encoded, when b has
// the usual shape: one data field (4) holding exactly one docs field (1).
// Anything else (docs_bytes, repeated or extra fields, bad encoding) is
// left to the full decoder: false.
func unmarshalLazy(b []byte, m *jinapb.DataRequestProto) bool {
	start, end := -1, -1
	for i := 0; i < len(b); {
		num, typ, n := protowire.ConsumeField(b[i:])
		if n < 0 {
			return false
		}
		if num == 4 {
			if start >= 0 || typ != protowire.BytesType {
				return false
			}
			start, end = i, i+n
		}
		i += n
	}
	if start < 0 {
		return false
	}
	_, _, tl := protowire.ConsumeTag(b[start:end])
	body, bl := protowire.ConsumeBytes(b[start+tl : end])
	if bl < 0 {
		return false
	}
	num, typ, tl := protowire.ConsumeTag(body)
	if tl < 0 || num != 1 || typ != protowire.BytesType {
		return false
	}
	docs, dl := protowire.ConsumeBytes(body[tl:])
	if dl < 0 || tl+dl != len(body) {
		return false
	}
	rest := make([]byte, 0, len(b)-(end-start))
	rest = append(append(rest, b[:start]...), b[end:]...)
	if err := proto.Unmarshal(rest, m); err != nil {
		return false
	}
	m.Data = lazyData(docs)
	return true
}

// marshalLazy encodes m with its marked documents written as docs (field
// 1) without copying them: the encoded rest of the message, then the data
// field pointing at the held bytes.
func marshalLazy(m *jinapb.DataRequestProto) (mem.BufferSlice, error) {
	var docs []byte
	switch d := m.Data.Documents.(type) {
	case *jinapb.DataRequestProto_DataContentProto_DocsBytes:
		docs = d.DocsBytes
	case *jinapb.DataRequestProto_DataContentProto_Docs:
		b, err := proto.Marshal(d.Docs)
		if err != nil {
			return nil, fmt.Errorf("encode documents: %w", err)
		}
		docs = b
	}
	top := &jinapb.DataRequestProto{Header: m.Header, Parameters: m.Parameters, Routes: m.Routes}
	if u := m.ProtoReflect().GetUnknown(); len(u) > 0 {
		top.ProtoReflect().SetUnknown(u)
	}
	inner := protowire.SizeTag(1) + protowire.SizeBytes(len(docs))
	head := make([]byte, 0, proto.Size(top)+protowire.SizeTag(4)+protowire.SizeVarint(uint64(inner))+protowire.SizeTag(1)+protowire.SizeVarint(uint64(len(docs))))
	head, err := proto.MarshalOptions{}.MarshalAppend(head, top)
	if err != nil {
		return nil, err
	}
	head = protowire.AppendTag(head, 4, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(inner))
	head = protowire.AppendTag(head, 1, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(len(docs)))
	return mem.BufferSlice{mem.SliceBuffer(head), mem.SliceBuffer(docs)}, nil
}
