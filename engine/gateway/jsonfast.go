package gateway

import (
	"encoding/base64"
	"encoding/binary"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/jig-dev/jig/executors/docarray"
)

// The fast request decoder.
//
// decodeRequestBody (jsonstream.go) is the definition of what a body
// means, but encoding/json's token API costs several times what the rest
// of a request does (issue 22: 5.7 ms of CPU for 100 documents of 1 KiB).
// fastDecode reads the body the common way it is sent, in one pass over
// its bytes, and writes plain documents (id, text, blob, url; null or {}
// for the other legacy fields) straight into the encoded DocListProto that
// the request carries, as docarray.AppendPlainListEntry. Other documents
// are decoded by docarray.Document.UnmarshalJSON, as decodeRequestBody
// decodes them, and appended with AppendListEntry.
//
// It is deliberately strict: it accepts only well-formed JSON whose
// meaning it is sure of (exact key spellings, no duplicate keys, strings
// where strings are due, no nesting deeper than maxFastDepth) and reports
// false for anything else, whereupon the caller runs decodeRequestBody
// over the same bytes. So every result it gives is the one
// decodeRequestBody gives, and every error is decodeRequestBody's own
// (fuzz-tested in jsonfast_test.go).
//
// A scanner of its own rather than a JSON library's tokenizer
// (go-json-experiment/json's jsontext, say): the grammar it needs is
// small, the full path stays the one definition of meaning and error
// words, and a library would add a module and compile time to the cold
// build (issue 22 item 5) for a tokenizer that still copies every
// string once more than this does.

// maxFastDepth bounds the nesting fastDecode skips through; deeper JSON
// takes the full path, which has its own bound.
const maxFastDepth = 512

// fastResult is what fastDecode reads from a body.
type fastResult struct {
	rb requestBody
	// hdr is rb.Header's storage, to spare an allocation.
	hdr requestHeader
	// docs is the encoded DocListProto of "data" (nil: no "data").
	docs []byte
}

type fastParser struct {
	b []byte
	i int
	// scratch holds unescaped strings, appended one after another so
	// that several stay valid at once; plainDoc empties it per document.
	scratch []byte
}

// fastDecode parses body into r; false means "not sure", not "invalid".
func fastDecode(body []byte, r *fastResult) bool {
	p := fastParser{b: body}
	p.ws()
	var seen uint16
	rb := &r.rb
	ok := p.members(func(key []byte) bool {
		var bit uint16
		var dst *string
		switch string(key) {
		case "data":
			bit = 1 << 0
			if p.peek() != '[' {
				return false // one document or null: the full path
			}
			docs, ok := p.data()
			if !ok {
				return false
			}
			r.docs = docs
		case "parameters":
			bit = 1 << 1
			start := p.i
			if !p.skip(0) {
				return false
			}
			rb.Parameters = p.b[start:p.i]
		case "header":
			bit = 1 << 2
			if !p.header(&r.hdr) {
				return false
			}
			rb.Header = &r.hdr
		case "routes":
			bit = 1 << 3
			start := p.i
			if !p.skip(0) {
				return false
			}
			rb.Routes = p.b[start:p.i]
		case "execEndpoint":
			bit, dst = 1<<4, &rb.ExecEndpoint
		case "exec_endpoint":
			bit, dst = 1<<5, &rb.ExecEndpointSnake
		case "targetExecutor":
			bit, dst = 1<<6, &rb.TargetExecutor
		case "target_executor":
			bit, dst = 1<<7, &rb.TargetExecutorSnake
		case "requestId":
			bit, dst = 1<<8, &rb.RequestID
		case "request_id":
			bit, dst = 1<<9, &rb.RequestIDSnake
		default:
			return false
		}
		if seen&bit != 0 {
			return false // a repeated key: the full path says what it means
		}
		seen |= bit
		return dst == nil || p.strInto(dst)
	})
	return ok && p.end()
}

// members reads the object at p.i, calling value for each member with its
// key (one without escapes: a key with escapes takes the full path) and
// p.i at the value, which value reads. false when the object is not one
// the fast path reads: a syntax error, an escaped key, or value said so.
// The body, the header and each document are read through it.
func (p *fastParser) members(value func(key []byte) bool) bool {
	if !p.eat('{') {
		return false
	}
	return p.items('}', func() bool {
		key, ok := p.rawKey()
		if !ok {
			return false
		}
		p.ws()
		if !p.eat(':') {
			return false
		}
		p.ws()
		return value(key)
	})
}

// items reads the rest of an array or object whose opening bracket was
// just read, up to and including close: item is called at each element,
// white space skipped, and must read it; commas separate them.
func (p *fastParser) items(close byte, item func() bool) bool {
	p.ws()
	if p.eat(close) {
		return true
	}
	for {
		p.ws()
		if !item() {
			return false
		}
		p.ws()
		if p.eat(close) {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// strInto reads a JSON string into *dst (see str).
func (p *fastParser) strInto(dst *string) bool {
	s, ok := p.str()
	if ok {
		*dst = string(s)
	}
	return ok
}

// end: only white space may follow the body's object.
func (p *fastParser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *fastParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// rawKey reads an object key without escapes (keys with escapes take the
// full path) and returns its bytes.
func (p *fastParser) rawKey() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// str reads a JSON string and returns its value as encoding/json decodes
// it into a Go string (invalid UTF-8 and lone surrogates become U+FFFD).
// The value points into the body when the string has no escapes and is
// valid UTF-8, else into p.scratch (valid until p.scratch is emptied).
func (p *fastParser) str() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	ascii := true
	// Eight bytes at a time while none of them ends the string, starts an
	// escape or is a control character (SWAR; see swarSpecial).
	for p.i+8 <= len(p.b) {
		w := binary.LittleEndian.Uint64(p.b[p.i:])
		if w&hiBits != 0 {
			ascii = false
		}
		if swarSpecial(w) {
			break
		}
		p.i += 8
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if ascii || utf8.Valid(s) {
				return s, true
			}
			return p.unquote(s)
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.i++
	}
	return nil, false
}

const (
	loBits = 0x0101010101010101
	hiBits = 0x8080808080808080
)

// swarSpecial reports whether one of the eight bytes of w may be '"',
// '\\' or below 0x20 (false positives only after such a byte, from a
// borrow; zero bytes by "Bit Twiddling Hacks").
func swarSpecial(w uint64) bool {
	q := w ^ loBits*'"'
	bs := w ^ loBits*'\\'
	return ((q-loBits)&^q|(bs-loBits)&^bs|(w-loBits*0x20)&^w)&hiBits != 0
}

// escaped finishes a string that has escapes, from its first byte start:
// it finds the closing quote, checking the escapes' syntax, and unquotes.
func (p *fastParser) escaped(start int) ([]byte, bool) {
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return p.unquote(s)
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return nil, false
			}
			switch p.b[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if p.i+6 > len(p.b) || hex4(p.b[p.i+2:p.i+6]) < 0 {
					return nil, false
				}
				p.i += 6
			default:
				return nil, false
			}
			continue
		case c < 0x20:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// hex4 reads four hex digits, -1 if they are not.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// unquote decodes the inside of a syntactically valid string as
// encoding/json does, appending it to p.scratch.
func (p *fastParser) unquote(s []byte) ([]byte, bool) {
	from := len(p.scratch)
	out := p.scratch
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			e := s[r+1]
			r += 2
			switch e {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				rr := hex4(s[r:])
				r += 4
				if utf16.IsSurrogate(rr) {
					rr1 := rune(-1)
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						rr1 = hex4(s[r+2:])
					}
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						r += 6
						out = utf8.AppendRune(out, dec)
						break
					}
					rr = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, rr)
			default: // '"', '\\', '/'
				out = append(out, e)
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			out = utf8.AppendRune(out, rr)
		}
	}
	p.scratch = out
	return out[from:], true
}

// skip passes over one well-formed JSON value (RFC 8259 grammar, as
// encoding/json's scanner checks it).
func (p *fastParser) skip(depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	switch c := p.peek(); {
	case c == '{':
		p.i++
		return p.items('}', func() bool {
			if !p.skipString() { // any key, escapes included
				return false
			}
			p.ws()
			if !p.eat(':') {
				return false
			}
			p.ws()
			return p.skip(depth + 1)
		})
	case c == '[':
		p.i++
		return p.items(']', func() bool { return p.skip(depth + 1) })
	case c == '"':
		return p.skipString()
	case c == 't':
		return p.word("true")
	case c == 'f':
		return p.word("false")
	case c == 'n':
		return p.word("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	}
	return false
}

func (p *fastParser) word(w string) bool {
	if len(p.b)-p.i >= len(w) && string(p.b[p.i:p.i+len(w)]) == w {
		p.i += len(w)
		return true
	}
	return false
}

// skipString passes over a string, checking its syntax.
func (p *fastParser) skipString() bool {
	if !p.eat('"') {
		return false
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return true
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return false
			}
			switch p.b[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if p.i+6 > len(p.b) || hex4(p.b[p.i+2:p.i+6]) < 0 {
					return false
				}
				p.i += 6
			default:
				return false
			}
			continue
		case c < 0x20:
			return false
		}
		p.i++
	}
	return false
}

// number passes over a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *fastParser) number() bool {
	p.eat('-')
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case '1' <= c && c <= '9':
		p.digits()
	default:
		return false
	}
	if p.eat('.') {
		if !p.digits() {
			return false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if !p.digits() {
			return false
		}
	}
	return true
}

// digits passes over one or more digits.
func (p *fastParser) digits() bool {
	start := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// header reads "header" when it is an object of known keys with string
// values (and a small integer timeout); anything else takes the full path.
func (p *fastParser) header(h *requestHeader) bool {
	var seen uint8
	return p.members(func(key []byte) bool {
		var bit uint8
		var dst *string
		switch string(key) {
		case "targetExecutor":
			bit, dst = 1<<0, &h.TargetExecutor
		case "target_executor":
			bit, dst = 1<<1, &h.TargetExecutorSnake
		case "requestId":
			bit, dst = 1<<2, &h.RequestID
		case "request_id":
			bit, dst = 1<<3, &h.RequestIDSnake
		case "execEndpoint":
			bit, dst = 1<<4, &h.ExecEndpoint
		case "exec_endpoint":
			bit, dst = 1<<5, &h.ExecEndpointSnake
		case "timeout":
			bit = 1 << 6
			start := p.i
			if !p.number() {
				return false
			}
			t, ok := smallUint(p.b[start:p.i])
			if !ok {
				return false
			}
			h.Timeout = &t
		case "status":
			bit = 1 << 7
			start := p.i
			if !p.skip(1) {
				return false
			}
			h.Status = p.b[start:p.i]
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return dst == nil || p.strInto(dst)
	})
}

// smallUint reads a number made of digits only that fits a uint32.
func smallUint(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	var n uint32
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
	}
	return n, true
}

// data reads "data": a list of documents, appending each to docs as a
// docs entry of an encoded DocListProto.
func (p *fastParser) data() ([]byte, bool) {
	p.i++ // '['
	// The encoded list is about as long as the JSON of its documents.
	docs := make([]byte, 0, len(p.b)-p.i+len(p.b)/32+64)
	ok := p.items(']', func() bool {
		var ok bool
		docs, ok = p.doc(docs)
		return ok
	})
	if !ok {
		return nil, false
	}
	return docs, true
}

// Keys of a plain document and the legacy keys that may be null (or {}
// for tags) in one, as docarray's JSON decoder ignores them.
const (
	docID = 1 << iota
	docText
	docURL
	docBlob
	docOther
)

// doc reads one document and appends its docs entry.
func (p *fastParser) doc(docs []byte) ([]byte, bool) {
	start := p.i
	if out, ok := p.plainDoc(docs); ok {
		return out, true
	}
	// Not plain (or not sure): decode it the way decodeRequestBody does.
	p.i = start
	if !p.skip(0) {
		return nil, false
	}
	var d docarray.Document
	if err := d.UnmarshalJSON(p.b[start:p.i]); err != nil {
		return nil, false // the full path words the error
	}
	out, err := d.AppendListEntry(docs)
	if err != nil {
		return nil, false
	}
	return out, true
}

// plainDoc reads a plain document; false (docs unchanged in content
// before len(docs)) when it is not one.
func (p *fastParser) plainDoc(docs []byte) ([]byte, bool) {
	var id, text, url, blob []byte
	var idBuf [64]byte
	var seen uint8
	p.scratch = p.scratch[:0]
	ok := p.members(func(key []byte) bool {
		var bit uint8
		var dst *[]byte
		switch string(key) {
		case "id":
			bit, dst = docID, &id
		case "text":
			bit, dst = docText, &text
		case "url":
			bit, dst = docURL, &url
		case "blob":
			bit, dst = docBlob, &blob
		case "tags", "tensor", "embedding", "chunks", "matches", "scores":
			// null is ignored; so is {} for tags (no tags).
			bit = docOther
			if p.word("null") {
				break
			}
			if string(key) == "tags" && p.eat('{') {
				p.ws()
				if p.eat('}') {
					break
				}
			}
			return false
		default:
			return false
		}
		if seen&bit != 0 && bit != docOther {
			return false // repeated: the full path
		}
		seen |= bit
		if dst == nil {
			return true
		}
		if p.word("null") {
			*dst = nil
			return true
		}
		s, ok := p.str()
		if !ok {
			return false
		}
		*dst = s
		if bit == docBlob {
			b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
			n, err := base64.StdEncoding.Decode(b, s)
			if err != nil {
				return false
			}
			blob = b[:n]
		} else if bit == docID && len(s) == 0 {
			*dst = nil
		}
		return true
	})
	if !ok {
		return docs, false
	}
	if len(id) == 0 {
		id = append(idBuf[:0], docarray.NewID()...)
	}
	if seen&docBlob == 0 {
		blob = nil
	}
	return docarray.AppendPlainListEntry(docs, id, text, url, blob), true
}
