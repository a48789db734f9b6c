package docarray

import (
	"encoding/base64"
	"encoding/binary"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Plain documents between JSON and the wire, without a Document.
//
// The HTTP gateway's documents are mostly plain (id, text, blob, url; see
// wire.go). For them the two functions below go straight between the
// JSON body and the encoded DocListProto: AppendPlainListEntry writes what
// AppendListEntry writes for such a document, AppendPlainJSON writes what
// MarshalJSON writes for a document Unmarshal reads from such an entry.
// Anything else is left to the Document path, so results are the same
// either way (tests compare both paths).

// AppendPlainListEntry appends to b the docs entry of an encoded
// DocListProto for the plain document with these fields, exactly as
// (&Document{ID: id, Text: text, URL: url, Blob: blob}).AppendListEntry
// would, with a nil blob meaning no blob. Empty id, text and url are not
// written; the caller gives a document without an id a NewID, as
// UnmarshalJSON does.
func AppendPlainListEntry(b, id, text, url, blob []byte) []byte {
	return appendPlainEntry(b, id, text, url, blob)
}

// plainFields are the fields of a plain encoded document, pointing into
// its bytes.
type plainFields struct {
	id, text, url, blob []byte
	hasBlob             bool
}

// AppendPlainJSON appends to dst the JSON form (MarshalJSON's) of the
// encoded DocProto doc when doc is plain as Unmarshal reads plain
// documents (same rules as plainDoc), and reports false, dst unchanged,
// for any other document.
func AppendPlainJSON(dst, doc []byte) ([]byte, bool) {
	var f plainFields
	if !f.read(doc) {
		return dst, false
	}
	// MarshalJSON's order and rules (appendJSON): id, text, blob, url,
	// each only when set.
	dst = append(dst, '{')
	first := true
	field := func(k string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, k...)
		dst = append(dst, '"', ':')
	}
	if len(f.id) > 0 {
		field(keyID)
		dst = AppendJSONString(dst, f.id)
	}
	if len(f.text) > 0 {
		field(keyText)
		dst = AppendJSONString(dst, f.text)
	}
	if f.hasBlob {
		field(keyBlob)
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, f.blob)
		dst = append(dst, '"')
	}
	if len(f.url) > 0 {
		field(keyURL)
		dst = AppendJSONString(dst, f.url)
	}
	return append(dst, '}'), true
}

// IsPlainEntry reports whether the encoded DocProto doc is one
// AppendPlainJSON writes.
func IsPlainEntry(doc []byte) bool {
	var f plainFields
	return f.read(doc)
}

// read checks that doc (an encoded DocProto) has only plain entries (id,
// text, url or blob, as docFromProto would store them in the fields) and
// records them; false for anything else, a repeated value field included
// (a repeated message field merges: that is left to proto).
func (f *plainFields) read(doc []byte) bool {
	for len(doc) > 0 {
		num, typ, n := protowire.ConsumeTag(doc)
		if n < 0 || num != fieldDocData || typ != protowire.BytesType {
			return false
		}
		doc = doc[n:]
		e, n := protowire.ConsumeBytes(doc)
		if n < 0 {
			return false
		}
		doc = doc[n:]
		var key, node []byte
		var hasKey, hasNode bool
		for len(e) > 0 {
			num, typ, n := protowire.ConsumeTag(e)
			if n < 0 || typ != protowire.BytesType || (num != fieldEntryKey && num != fieldEntryVal) {
				return false
			}
			e = e[n:]
			v, n := protowire.ConsumeBytes(e)
			if n < 0 {
				return false
			}
			e = e[n:]
			if num == fieldEntryKey {
				key, hasKey = v, true
			} else {
				if hasNode {
					return false
				}
				node, hasNode = v, true
			}
		}
		if !hasKey || !hasNode || !f.set(key, node) {
			return false
		}
	}
	return true
}

// set records the plain node under key; false when key or node are not
// plain.
func (f *plainFields) set(key, node []byte) bool {
	field, content, ok := plainNode(key, node)
	if !ok {
		return false
	}
	switch field {
	case keyID:
		f.id = content
	case keyText:
		f.text = content
	case keyURL:
		f.url = content
	case keyBlob:
		f.blob, f.hasBlob = content, true
	}
	return true
}

const hexDigits = "0123456789abcdef"

const (
	loBits = 0x0101010101010101
	hiBits = 0x8080808080808080
)

// jsonSafe8 reports whether the eight bytes of w are all ASCII that
// encoding/json writes as they are: none below 0x20 or from 0x80, none of
// " & < > \\. It may answer false for a safe word (a borrow from a lower
// byte that is not), never true for one that is not: the caller then
// looks at the bytes one by one. ('"' and '&' differ in one bit, as do
// '<' and '>': masking that bit tests two bytes at once; zero bytes by
// "Bit Twiddling Hacks".)
func jsonSafe8(w uint64) bool {
	ctlOrHigh := (w - loBits*0x20) | w
	qa := (w ^ loBits*'"') &^ (loBits * ('"' ^ '&'))
	lg := (w ^ loBits*'<') &^ (loBits * ('<' ^ '>'))
	bs := w ^ loBits*'\\'
	return (ctlOrHigh|(qa-loBits)&^qa|(lg-loBits)&^lg|(bs-loBits)&^bs)&hiBits == 0
}

// AppendJSONString appends s as a JSON string exactly as encoding/json's
// Marshal writes a Go string: HTML-safe (<, >, & as \u003c...), invalid
// UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func AppendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight plain ASCII bytes at a time (SWAR, see jsonSafe8).
		for i+8 <= len(s) && jsonSafe8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
