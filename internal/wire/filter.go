package wire

import (
	"errors"
	"fmt"
	"slices"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/docarraypb"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

var errBadDocs = errors.New("documents are not a valid DocListProto")

// FilterDocs returns a shallow copy of req keeping only the documents for
// which keep holds, deciding from the given document fields alone (those
// a `when:` condition reads). When req's documents are held encoded
// (docs_bytes, or docs not yet read: see Codec) each document is decoded
// only as far as those fields and the kept ones are copied as the bytes
// they came in, so filtering on tags does not decode texts or tensors.
// ok is false when the documents are already decoded; the caller then
// filters them itself. req is not changed.
func FilterDocs(req *jinapb.DataRequestProto, fields []string, keep func(*docarray.Document) bool) (out *jinapb.DataRequestProto, ok bool, err error) {
	held, isBytes := req.GetData().GetDocuments().(*jinapb.DataRequestProto_DataContentProto_DocsBytes)
	if !isBytes {
		return nil, false, nil
	}
	var kept []byte
	for b, i := held.DocsBytes, 0; len(b) > 0; {
		num, typ, n := protowire.ConsumeField(b)
		if n < 0 {
			return nil, true, errBadDocs
		}
		field := b[:n]
		b = b[n:]
		if num != 1 || typ != protowire.BytesType {
			kept = append(kept, field...) // not a document: left as it is
			continue
		}
		_, _, tl := protowire.ConsumeTag(field)
		doc, _ := protowire.ConsumeBytes(field[tl:])
		d, err := partialDoc(doc, fields)
		if err != nil {
			return nil, true, fmt.Errorf("doc %d: %w", i, err)
		}
		if keep(d) {
			kept = append(kept, field...)
		}
		i++
	}
	out = Shallow(req)
	out.Data.Documents = &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: kept}
	return out, true, nil
}

// partialDoc decodes the entries of an encoded DocProto's data map whose
// keys are among fields, and nothing else.
func partialDoc(doc []byte, fields []string) (*docarray.Document, error) {
	var sel []byte
	for b := doc; len(b) > 0; {
		num, typ, n := protowire.ConsumeField(b)
		if n < 0 {
			return nil, errBadDocs
		}
		field := b[:n]
		b = b[n:]
		if num != 1 || typ != protowire.BytesType { // DocProto.data only
			continue
		}
		_, _, tl := protowire.ConsumeTag(field)
		entry, _ := protowire.ConsumeBytes(field[tl:])
		if k, ok := entryKey(entry); ok && slices.Contains(fields, k) {
			sel = append(sel, field...)
		}
	}
	var p docarraypb.DocProto
	if err := proto.Unmarshal(sel, &p); err != nil {
		return nil, err
	}
	return docarray.DocFromProto(&p)
}

// entryKey returns the key (field 1) of an encoded map entry.
func entryKey(entry []byte) (string, bool) {
	for b := entry; len(b) > 0; {
		num, typ, n := protowire.ConsumeField(b)
		if n < 0 {
			return "", false
		}
		if num == 1 && typ == protowire.BytesType {
			_, _, tl := protowire.ConsumeTag(b)
			k, _ := protowire.ConsumeBytes(b[tl:n])
			return string(k), true
		}
		b = b[n:]
	}
	return "", false
}
