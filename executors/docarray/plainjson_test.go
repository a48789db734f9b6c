package docarray

import (
	"bytes"
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// FuzzAppendJSONString: strings are written as encoding/json writes them.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c/d\b\f\n\r\t\x00\x1f\x7f", "<&>", "\u2028\u2029\u00e9\U0001F600", "\xff\xfe\xe2\x82", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendJSONString([]byte("x"), []byte(s)); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	})
}

// FuzzPlainPaths: the plain-document functions write what the Document
// path writes: AppendPlainListEntry the bytes of AppendListEntry, and
// AppendPlainJSON of any encoded document either nothing (not plain) or
// MarshalJSON of the document Unmarshal reads.
func FuzzPlainPaths(f *testing.F) {
	f.Add("id", "text", "url", []byte("blob"), true, []byte{})
	f.Add("", "", "", []byte{}, true, []byte{0x0a, 0x03, 0x0a, 0x01, 0x00})
	f.Add("\xff", "<a&b>\u2028", "\n", []byte(nil), false, []byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, id, text, url string, blob []byte, hasBlob bool, raw []byte) {
		if !hasBlob {
			blob = nil
		} else if blob == nil {
			blob = []byte{}
		}
		d := &Document{ID: id, Text: text, URL: url, Blob: blob}
		want, err := d.AppendListEntry([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		got := AppendPlainListEntry([]byte("x"), []byte(id), []byte(text), []byte(url), blob)
		if !bytes.Equal(got, want) {
			t.Fatalf("%+v: entry %x, want %x", d, got, want)
		}
		// The entry just written, and arbitrary bytes, as an answer's
		// document.
		written, n := protowire.ConsumeBytes(got[2:])
		if n < 0 {
			t.Fatalf("%x: not a docs entry", got)
		}
		for _, entry := range [][]byte{written, raw} {
			l, err := Unmarshal(appendEntry(entry))
			out, ok := AppendPlainJSON([]byte("x"), entry)
			if ok != IsPlainEntry(entry) {
				t.Fatalf("%x: AppendPlainJSON %v, IsPlainEntry %v", entry, ok, !ok)
			}
			if !ok {
				if string(out) != "x" {
					t.Fatalf("%x: not plain, but wrote %q", entry, out)
				}
				continue
			}
			if err != nil || len(l) != 1 {
				t.Fatalf("%x: plain, but Unmarshal says %v, %d docs", entry, err, len(l))
			}
			want, err := l[0].MarshalJSON()
			if err != nil || !bytes.Equal(out[1:], want) {
				t.Fatalf("%x: JSON %s, want %s (%v)", entry, out[1:], want, err)
			}
		}
	})
}

// appendEntry frames one encoded DocProto as a DocListProto.
func appendEntry(doc []byte) []byte {
	b := []byte{0x0a}
	n := uint64(len(doc))
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(append(b, byte(n)), doc...)
}

func BenchmarkAppendJSONString(b *testing.B) {
	s := bytes.Repeat([]byte("lorem ipsum "), 86)[:1024]
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendJSONString(buf[:0], s)
	}
}

// TestAppendJSONStringEveryByteEveryOffset: each byte value at each
// position of a word, in and after the eight-byte fast path.
func TestAppendJSONStringEveryByteEveryOffset(t *testing.T) {
	for c := range 256 {
		for at := range 20 {
			s := bytes.Repeat([]byte("a"), 20)
			s[at] = byte(c)
			want, _ := json.Marshal(string(s))
			if got := AppendJSONString(nil, s); !bytes.Equal(got, want) {
				t.Fatalf("byte %#x at %d: %s, want %s", c, at, got, want)
			}
		}
	}
}
