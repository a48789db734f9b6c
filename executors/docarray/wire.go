package docarray

import (
	"unicode/utf8"
	"unsafe"

	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Direct wire path.
//
// Most documents on a hot path are plain: an id and a text, a URL or a
// blob. Going through DocProto for them costs a map and three or four
// messages per document each way, which is most of what a client spends
// on a 100-document request. The functions below write and read such
// documents straight to and from the DocListProto encoding; any other
// document takes the DocProto path, so the result is the same either way
// (map entries on the wire have no order, so only the order of entries
// can differ from proto.Marshal's).

// Field numbers of docarray.proto used here.
const (
	fieldListDocs  = 1  // DocListProto.docs
	fieldDocData   = 1  // DocProto.data (map entries)
	fieldEntryKey  = 1  // map entry key
	fieldEntryVal  = 2  // map entry value
	fieldNodeText  = 1  // NodeProto.text
	fieldNodeBlob  = 5  // NodeProto.blob
	fieldNodeDType = 13 // NodeProto.type (docarray_type)
)

// plain reports whether d holds only fields the direct path writes.
func (d *Document) plain() bool {
	return d.Tensor == nil && d.Embedding == nil && len(d.Tags) == 0 && d.Chunks == nil &&
		d.Matches == nil && len(d.Scores) == 0 && len(d.Extra) == 0
}

// AppendListEntry appends d to b as one docs entry of an encoded
// DocListProto (tag, length, DocProto), so that entries appended one after
// another are the bytes of the list. It fails, naming the field, where
// Validate would; a nil d is an empty document.
func (d *Document) AppendListEntry(b []byte) ([]byte, error) {
	if d == nil {
		d = &Document{}
	}
	if !d.plain() {
		p, err := d.toProto(0, true)
		if err != nil {
			return b, err
		}
		b = protowire.AppendTag(b, fieldListDocs, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(proto.Size(p)))
		return proto.MarshalOptions{}.MarshalAppend(b, p)
	}
	return appendPlainEntry(b, bytesOf(d.ID), bytesOf(d.Text), bytesOf(d.URL), d.Blob), nil
}

// bytesOf views s as bytes without a copy, for appendPlainEntry, which
// only reads them. (A generic string|[]byte encoder instead made the
// HTTP gateway's per-document stack buffer escape: an allocation per
// document.)
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// appendPlainEntry appends the docs entry of an encoded DocListProto for
// the plain document with these fields (empty id, text and url and a nil
// blob are not written): the one encoding of plain documents, for
// AppendListEntry and AppendPlainListEntry.
func appendPlainEntry(b, id, txt, url, blob []byte) []byte {
	size := 0
	if len(id) > 0 {
		size += entrySize(keyID, textNodeSize(id, typeID))
	}
	if len(txt) > 0 {
		size += entrySize(keyText, textNodeSize(txt, ""))
	}
	if blob != nil {
		size += entrySize(keyBlob, protowire.SizeTag(fieldNodeBlob)+protowire.SizeBytes(len(blob)))
	}
	if len(url) > 0 {
		size += entrySize(keyURL, textNodeSize(url, ""))
	}
	b = protowire.AppendTag(b, fieldListDocs, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	if len(id) > 0 {
		b = appendTextEntry(b, keyID, id, typeID)
	}
	if len(txt) > 0 {
		b = appendTextEntry(b, keyText, txt, "")
	}
	if blob != nil {
		b = appendEntryHead(b, keyBlob, protowire.SizeTag(fieldNodeBlob)+protowire.SizeBytes(len(blob)))
		b = protowire.AppendTag(b, fieldNodeBlob, protowire.BytesType)
		b = protowire.AppendBytes(b, blob)
	}
	if len(url) > 0 {
		b = appendTextEntry(b, keyURL, url, "")
	}
	return b
}

// textNodeSize is the size of a NodeProto holding txt, with docarray
// type typ unless it is "".
func textNodeSize(txt []byte, typ string) int {
	n := protowire.SizeTag(fieldNodeText) + protowire.SizeBytes(len(txt))
	if typ != "" {
		n += protowire.SizeTag(fieldNodeDType) + protowire.SizeBytes(len(typ))
	}
	return n
}

// entrySize is the size of a DocProto.data entry, tag included, whose
// value is nodeSize bytes.
func entrySize(key string, nodeSize int) int {
	return protowire.SizeTag(fieldDocData) + protowire.SizeBytes(entryBodySize(key, nodeSize))
}

func entryBodySize(key string, nodeSize int) int {
	return protowire.SizeTag(fieldEntryKey) + protowire.SizeBytes(len(key)) +
		protowire.SizeTag(fieldEntryVal) + protowire.SizeBytes(nodeSize)
}

// appendEntryHead appends a data entry up to the start of its value's
// nodeSize bytes, which the caller appends.
func appendEntryHead(b []byte, key string, nodeSize int) []byte {
	b = protowire.AppendTag(b, fieldDocData, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(entryBodySize(key, nodeSize)))
	b = protowire.AppendTag(b, fieldEntryKey, protowire.BytesType)
	b = protowire.AppendString(b, key)
	b = protowire.AppendTag(b, fieldEntryVal, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(nodeSize))
}

func appendTextEntry(b []byte, key string, txt []byte, typ string) []byte {
	b = appendEntryHead(b, key, textNodeSize(txt, typ))
	b = protowire.AppendTag(b, fieldNodeText, protowire.BytesType)
	b = protowire.AppendBytes(b, txt)
	if typ != "" {
		b = protowire.AppendTag(b, fieldNodeDType, protowire.BytesType)
		b = protowire.AppendString(b, typ)
	}
	return b
}

// unmarshalDirect decodes an encoded DocListProto, reading plain documents
// straight from the bytes and the others through DocProto. It returns
// false when b is not a well-formed list of well-formed documents; the
// caller then decodes b the usual way, which gives the usual error.
func unmarshalDirect(b []byte) (DocList, bool) {
	var out DocList
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != fieldListDocs || typ != protowire.BytesType {
			return nil, false
		}
		b = b[n:]
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		d, ok := plainDoc(v)
		if !ok {
			var p docarraypb.DocProto
			if proto.Unmarshal(v, &p) != nil {
				return nil, false
			}
			var err error
			if d, err = docFromProto(&p, 0); err != nil {
				return nil, false
			}
		}
		if out == nil {
			out = make(DocList, 0, 16)
		}
		out = append(out, d)
	}
	if out == nil {
		out = DocList{}
	}
	return out, true
}

// plainDoc decodes an encoded DocProto whose entries are all plain (id,
// text, url or blob, as docFromProto would store them in the fields);
// false for anything else.
func plainDoc(b []byte) (*Document, bool) {
	var f plainFields
	if !f.read(b) {
		return nil, false
	}
	d := &Document{ID: string(f.id), Text: string(f.text), URL: string(f.url)}
	if f.hasBlob {
		d.Blob = append([]byte{}, f.blob...)
	}
	return d, true
}

// plainNode checks that node, stored under key, is a plain field (id,
// text or url as text, blob as bytes, no dtype on text, url or blob) and
// returns the field's key and its content, which points into node.
func plainNode(key, node []byte) (field string, content []byte, ok bool) {
	var (
		contentNum  protowire.Number
		typed, seen bool
	)
	for len(node) > 0 {
		num, typ, n := protowire.ConsumeTag(node)
		if n < 0 || typ != protowire.BytesType {
			return "", nil, false
		}
		node = node[n:]
		v, n := protowire.ConsumeBytes(node)
		if n < 0 {
			return "", nil, false
		}
		node = node[n:]
		switch num {
		case fieldNodeText, fieldNodeBlob:
			if seen {
				return "", nil, false
			}
			content, contentNum, seen = v, num, true
		case fieldNodeDType:
			if typed || !utf8.Valid(v) {
				return "", nil, false
			}
			typed = true
		default:
			return "", nil, false
		}
	}
	if !seen || contentNum == fieldNodeText && !utf8.Valid(content) {
		return "", nil, false
	}
	switch string(key) {
	case keyID:
		if contentNum != fieldNodeText {
			return "", nil, false
		}
		return keyID, content, true
	case keyText, keyURL:
		if contentNum != fieldNodeText || typed || len(content) == 0 {
			return "", nil, false
		}
		if string(key) == keyText {
			return keyText, content, true
		}
		return keyURL, content, true
	case keyBlob:
		if contentNum != fieldNodeBlob || typed {
			return "", nil, false
		}
		return keyBlob, content, true
	}
	return "", nil, false
}
