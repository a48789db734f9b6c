// Package docarray is jig's Document model: the Go shape of docarray's
// LegacyDocument and DocList, with lossless conversion to and from the
// docarray protobuf wire format (DocProto) and the JSON body of the HTTP
// gateway.
//
// A Document has the LegacyDocument fields (id, text, blob, url, tensor,
// embedding, tags, chunks, matches, scores). Fields it does not know are kept
// in Extra exactly as they arrived, so documents from Python executors pass
// through Go executors without losing data.
//
// Typed documents — Go structs mapped to document keys by `doc` tags, the
// counterpart of docarray's BaseDoc — convert with Decode, Encode and a
// Codec, which also gives their JSON Schema (see Codec for the mapping).
package docarray

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"

	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/proto"
)

// Document is one item processed by executors.
//
// Zero values mean "not set": an empty Text is not sent on the wire.
type Document struct {
	// ID identifies the document; reduce and joins merge documents by ID.
	ID string
	// Text is the document's text content.
	Text string
	// Blob is raw binary content (an image, audio, a file).
	Blob []byte
	// URL points at the document's source.
	URL string
	// Tensor is the document's content as an array.
	Tensor *NdArray
	// Embedding is the document's vector representation.
	Embedding *NdArray
	// Tags is free-form metadata. Values are nil, bool, int64, float64,
	// string, []byte, []any, Set, Tuple, map[string]any, *NdArray,
	// *Document or DocList.
	Tags map[string]any
	// Chunks are sub-documents (e.g. sentences of a text).
	Chunks DocList
	// Matches are search results, usually with a score.
	Matches DocList
	// Scores holds named scores, e.g. Scores["cosine"].Value.
	Scores map[string]NamedScore
	// Extra keeps fields that are not LegacyDocument fields, verbatim, so
	// they survive a pass through a Go executor.
	Extra map[string]*docarraypb.NodeProto
}

// NamedScore is a score as docarray v1 and Jina's legacy documents carry it.
type NamedScore struct {
	Value       float64
	OpName      string
	Description string
	RefID       string
}

// Set is a tag value that travels as a docarray "set" (order is kept).
type Set []any

// Tuple is a tag value that travels as a docarray "tuple".
type Tuple []any

// DocList is an ordered list of documents.
type DocList []*Document

// NewID returns a random 32-hex-digit id, the form docarray uses.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("docarray: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// New returns a document with a fresh ID and the given text.
func New(text string) *Document {
	return &Document{ID: NewID(), Text: text}
}

// FromTexts returns one new document per text.
func FromTexts(texts ...string) DocList {
	out := make(DocList, len(texts))
	for i, t := range texts {
		out[i] = New(t)
	}
	return out
}

// Texts returns the Text of every document.
func (l DocList) Texts() []string {
	out := make([]string, len(l))
	for i, d := range l {
		out[i] = d.Text
	}
	return out
}

// IDs returns the ID of every document.
func (l DocList) IDs() []string {
	out := make([]string, len(l))
	for i, d := range l {
		out[i] = d.ID
	}
	return out
}

// Clone returns a deep copy of the list.
func (l DocList) Clone() DocList {
	if l == nil {
		return nil
	}
	out := make(DocList, len(l))
	for i, d := range l {
		out[i] = d.Clone()
	}
	return out
}

// Clone returns a deep copy of d.
func (d *Document) Clone() *Document {
	if d == nil {
		return nil
	}
	c := *d
	c.Blob = slices.Clone(d.Blob)
	c.Tensor = d.Tensor.Clone()
	c.Embedding = d.Embedding.Clone()
	c.Tags = cloneMap(d.Tags)
	c.Chunks = d.Chunks.Clone()
	c.Matches = d.Matches.Clone()
	c.Scores = maps.Clone(d.Scores)
	if d.Extra != nil {
		c.Extra = make(map[string]*docarraypb.NodeProto, len(d.Extra))
		for k, v := range d.Extra {
			c.Extra[k] = proto.Clone(v).(*docarraypb.NodeProto)
		}
	}
	return &c
}

// Score returns the value of the named score and whether it is set.
func (d *Document) Score(name string) (float64, bool) {
	s, ok := d.Scores[name]
	return s.Value, ok
}

// SetScore sets the value of the named score.
func (d *Document) SetScore(name string, v float64) {
	if d.Scores == nil {
		d.Scores = map[string]NamedScore{}
	}
	s := d.Scores[name]
	s.Value = v
	d.Scores[name] = s
}

// SetTag sets a tag, creating the map when needed.
func (d *Document) SetTag(key string, v any) {
	if d.Tags == nil {
		d.Tags = map[string]any{}
	}
	d.Tags[key] = v
}

// Field returns the value of an extra (non-legacy) field as a Go value, with
// the same types as Tags, and whether it is set.
func (d *Document) Field(key string) (any, bool) {
	n, ok := d.Extra[key]
	if !ok {
		return nil, false
	}
	v, err := valueFromNode(n, 0)
	if err != nil {
		return nil, false
	}
	return v, true
}

// SetField sets an extra (non-legacy) field from a Go value of one of the
// Tags types.
func (d *Document) SetField(key string, v any) error {
	n, err := nodeFromValue(v, 0)
	if err != nil {
		return err
	}
	if d.Extra == nil {
		d.Extra = map[string]*docarraypb.NodeProto{}
	}
	d.Extra[key] = n
	return nil
}

// cloneMap deep-copies a map of tag values.
func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return slices.Clone(x)
	case []any:
		return cloneSlice(x)
	case Set:
		return Set(cloneSlice(x))
	case Tuple:
		return Tuple(cloneSlice(x))
	case map[string]any:
		return cloneMap(x)
	case *NdArray:
		return x.Clone()
	case *Document:
		return x.Clone()
	case DocList:
		return x.Clone()
	}
	return v
}

func cloneSlice(s []any) []any {
	if s == nil {
		return nil
	}
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = cloneValue(v)
	}
	return out
}
