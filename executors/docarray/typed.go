package docarray

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
)

// Codec converts between Documents and the values of one typed-document
// type (a struct, or a pointer to one); it is safe for concurrent use.
// Typed documents are Go's counterpart of docarray's BaseDoc and
// DocList[T].
//
// A typed document is a Go struct whose fields map to document keys:
//
//	type Product struct {
//		ID        string            `doc:"id"`
//		Title     string            `doc:"text,required" desc:"what the product is called"`
//		Price     float64           // key "price" (snake_case of the field name)
//		Embedding []float32         `doc:"embedding,omitempty"`
//		Tags      map[string]any    `doc:"tags"`
//		Reviews   []Review          `doc:"chunks"` // a doc list of typed docs
//		Raw       *docarray.Document `doc:"*"`     // the whole document, untyped
//	}
//
// The tag is `doc:"key[,required][,omitempty]"`; `doc:"-"` skips a field
// and an untagged field uses the snake_case of its name ("ImageURL" →
// "image_url"). The LegacyDocument keys (id, text, blob, url, tensor,
// embedding, tags, chunks, matches, scores) read and write the Document's
// own fields; other keys live in Document.Extra, as docarray sends them.
// A `desc` tag becomes the field's description in the JSON Schema.
// Embedded structs without a tag are flattened, as encoding/json does.
//
// Go types and the values they take:
//
//	string, bool, ints, uints, floats   text, boolean and numbers (integers must be integral)
//	[]byte                              a blob (or base64 text, as JSON sends it)
//	[]float32, []float64                an ndarray of any numeric dtype (flattened), or a list of numbers; written as <f4 / <f8
//	*NdArray                            an ndarray as it arrived
//	struct, *struct                     a nested document (or a dict)
//	[]struct, []*struct                 a doc list (chunks, matches, ...)
//	*Document, Document, DocList        untyped documents, as they arrived
//	NamedScore                          a score ({"value": ..., "op_name": ...} or a number)
//	map[string]T                        a dict
//	other slices and arrays             a list
//	any                                 any value, as Document.Tags holds them
//	*T                                  optional T: nil when the key is missing
//
// Decoding: a missing key leaves the zero value, except for `required`
// fields, which fail. A value of the wrong shape fails with an error naming
// the document, the key and the Go field, e.g.
// `field "embedding" (Embedding []float32): want an ndarray or a list of numbers, got text`.
// Keys the struct does not declare are ignored.
//
// Encoding merges the struct onto a base document — for a handler, the
// input document it came from — so that a typed executor in the middle of a
// flow does not drop what others added (the LegacyDocument way, rather than
// docarray v2's "only the declared fields"): every declared field replaces
// the base's key, nil (a nil pointer, slice or map) removes it, a zero
// value of an `omitempty` field leaves the base's value alone, and keys the
// struct does not declare keep the base's value. The ID always survives:
// an empty id field takes the base's ID, or a fresh one for a new
// document. Nested typed documents and doc lists merge the same way,
// element by element: onto the base element with the same ID or, when the
// element carries no ID, the one at the same position if the lists have
// the same length; anything else is a new document. A field tagged
// `doc:"*"` (type *Document) receives the whole document on decode and, on
// encode, replaces the base.
//
// The conversion code of each type is built once, by reflection, and
// cached; JSON Schemas (docarray's and pydantic's shape) come from the same
// description, so what endpoint discovery publishes is what the codec does.
type Codec struct {
	typ reflect.Type // the type as given
	ptr bool         // typ is *struct
	sc  *structCodec

	schemaOnce sync.Once
	schema     map[string]any
}

// CodecFor returns the codec of t, which must be a struct type or a pointer
// to one. Codecs are cached: calling it again for the same type is cheap.
func CodecFor(t reflect.Type) (*Codec, error) {
	if t == nil {
		return nil, errors.New("typed document: nil type")
	}
	if c, ok := codecCache.Load(t); ok {
		return c.(*Codec), nil
	}
	st, ptr := t, false
	if st.Kind() == reflect.Pointer {
		st, ptr = st.Elem(), true
	}
	if st.Kind() != reflect.Struct || specialType(st) {
		return nil, fmt.Errorf("typed document %s: want a struct type (or a pointer to one)", t)
	}
	vc, err := buildCodec(st)
	if err != nil {
		return nil, err
	}
	c, _ := codecCache.LoadOrStore(t, &Codec{typ: t, ptr: ptr, sc: vc.sc})
	return c.(*Codec), nil
}

// CodecOf returns the codec of T (see CodecFor).
func CodecOf[T any]() (*Codec, error) { return CodecFor(reflect.TypeFor[T]()) }

var codecCache sync.Map // reflect.Type -> *Codec

// Type returns the Go type the codec converts.
func (c *Codec) Type() reflect.Type { return c.typ }

// Name returns the schema name of the type: its Go name ("Product").
func (c *Codec) Name() string { return c.sc.name }

// Schema returns the JSON Schema of the type in the shape docarray and
// pydantic publish: {"title", "type": "object", "properties", "required",
// "definitions"}, nested types under "definitions" and referenced as
// "#/definitions/<Name>". Every call returns a fresh copy.
func (c *Codec) Schema() map[string]any {
	c.schemaOnce.Do(func() { c.schema = newSchemaGen().top(c.sc) })
	return cloneSchema(c.schema).(map[string]any)
}

// Decode fills dst, a pointer to a value of the codec's type, from d.
func (c *Codec) Decode(d *Document, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Type() != c.typ {
		return fmt.Errorf("decode: want a non-nil *%s, got %T", c.typ, dst)
	}
	return c.decodeValue(d, rv.Elem())
}

func (c *Codec) decodeValue(d *Document, dst reflect.Value) error {
	if d == nil {
		d = &Document{}
	}
	if c.ptr {
		p := reflect.New(c.typ.Elem())
		if err := c.sc.decode(docGetter(d), d, p.Elem(), 0); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	}
	return c.sc.decode(docGetter(d), d, dst, 0)
}

// DecodeList fills dst, a pointer to a slice of the codec's type, from l.
// Errors name the document: `doc 3 (id abc): field "text" ...`.
func (c *Codec) DecodeList(l DocList, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Slice || rv.Elem().Type().Elem() != c.typ {
		return fmt.Errorf("decode: want a non-nil *[]%s, got %T", c.typ, dst)
	}
	out := reflect.MakeSlice(rv.Elem().Type(), len(l), len(l))
	for i, d := range l {
		if err := c.decodeValue(d, out.Index(i)); err != nil {
			return docErr(i, d, err)
		}
	}
	rv.Elem().Set(out)
	return nil
}

// Encode returns the document for v (a value of the codec's type) merged
// onto base (nil: a new document). base is not modified. A nil pointer
// returns base itself.
func (c *Codec) Encode(v any, base *Document) (*Document, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Type() != c.typ {
		return nil, fmt.Errorf("encode: want a %s, got %T", c.typ, v)
	}
	return c.encodeValue(rv, base)
}

func (c *Codec) encodeValue(rv reflect.Value, base *Document) (*Document, error) {
	if c.ptr {
		if rv.IsNil() {
			if base == nil {
				return nil, errors.New("nil document")
			}
			return base, nil
		}
		rv = rv.Elem()
	}
	return c.sc.encode(rv, base, 0)
}

// EncodeList returns the documents for items (a slice of the codec's type)
// merged onto base: each item onto the base document with its ID or, when
// it has none, onto the one at the same position if the lists have the
// same length (see the package notes on typed documents). A nil pointer
// item keeps the base document at its position.
func (c *Codec) EncodeList(items any, base DocList) (DocList, error) {
	rv := reflect.ValueOf(items)
	if !rv.IsValid() || rv.Kind() != reflect.Slice || rv.Type().Elem() != c.typ {
		return nil, fmt.Errorf("encode: want a []%s, got %T", c.typ, items)
	}
	return encodeDocList(c.sc, c.ptr, rv, base, 0)
}

// Decode converts d to a T (a struct type or a pointer to one).
func Decode[T any](d *Document) (T, error) {
	var out T
	c, err := CodecOf[T]()
	if err != nil {
		return out, err
	}
	err = c.decodeValue(d, reflect.ValueOf(&out).Elem())
	return out, err
}

// DecodeList converts every document of l to a T.
func DecodeList[T any](l DocList) ([]T, error) {
	var out []T
	c, err := CodecOf[T]()
	if err != nil {
		return nil, err
	}
	if err := c.DecodeList(l, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Encode converts v to a document merged onto base (nil: a new one).
func Encode[T any](v T, base *Document) (*Document, error) {
	c, err := CodecOf[T]()
	if err != nil {
		return nil, err
	}
	return c.encodeValue(reflect.ValueOf(&v).Elem(), base)
}

// EncodeList converts items to documents merged onto base (see
// Codec.EncodeList).
func EncodeList[T any](items []T, base DocList) (DocList, error) {
	c, err := CodecOf[T]()
	if err != nil {
		return nil, err
	}
	return c.EncodeList(items, base)
}

// docErr names document i of a list in err.
func docErr(i int, d *Document, err error) error {
	if d != nil && d.ID != "" {
		return fmt.Errorf("doc %d (id %s): %w", i, d.ID, err)
	}
	return fmt.Errorf("doc %d: %w", i, err)
}

// --- type analysis ---

// structCodec is the conversion of one struct type.
type structCodec struct {
	typ     reflect.Type
	name    string // schema name
	fields  []*fieldCodec
	idField *fieldCodec // the field of key "id", if any
	whole   []int       // index of the `doc:"*"` field, nil if none
}

// fieldCodec is one field of a typed document.
type fieldCodec struct {
	key       string
	goName    string // "Embedding", for errors
	typ       reflect.Type
	index     []int
	required  bool
	omitempty bool
	desc      string
	vc        *valueCodec
}

// fieldErr names the field in err: `field "text" (Text string): ...`.
func (f *fieldCodec) err(err error) error {
	return fmt.Errorf("field %q (%s %s): %w", f.key, f.goName, f.typ, err)
}

var (
	buildMu   sync.Mutex
	valueMemo = map[reflect.Type]*valueCodec{} // built codecs, under buildMu
)

// buildCodec returns the value codec of t, building it (and the codecs of
// the types it refers to) once.
func buildCodec(t reflect.Type) (*valueCodec, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	b := &builder{pending: map[reflect.Type]*valueCodec{}}
	vc, err := b.codec(t)
	if err != nil {
		return nil, err
	}
	for t, c := range b.pending {
		valueMemo[t] = c
	}
	return vc, nil
}

// builder builds the codecs of one type graph; pending holds the codecs
// built so far (including structs whose fields are still being built, so
// recursive types refer to themselves).
type builder struct {
	pending map[reflect.Type]*valueCodec
}

func (b *builder) lookup(t reflect.Type) (*valueCodec, bool) {
	if vc, ok := valueMemo[t]; ok {
		return vc, true
	}
	vc, ok := b.pending[t]
	return vc, ok
}

// structFields analyses the fields of sc's struct type, flattening
// embedded structs.
func (b *builder) structFields(sc *structCodec) error {
	seen := map[string]string{} // key -> Go field
	var walk func(t reflect.Type, index []int) error
	walk = func(t reflect.Type, index []int) error {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("doc")
			if tag == "-" {
				continue
			}
			idx := append(append([]int(nil), index...), i)
			name, opts, _ := strings.Cut(tag, ",")
			if sf.Anonymous && name == "" {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					if sf.IsExported() || ft.Elem().Kind() == reflect.Struct {
						return fmt.Errorf("typed document %s: embedded pointer %s is not supported; embed the struct itself", sc.typ, sf.Type)
					}
					continue
				}
				if ft.Kind() == reflect.Struct && !specialType(ft) {
					if err := walk(ft, idx); err != nil {
						return err
					}
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = snakeCase(sf.Name)
			}
			if prev, dup := seen[name]; dup {
				return fmt.Errorf("typed document %s: fields %s and %s both map to key %q", sc.typ, prev, sf.Name, name)
			}
			seen[name] = sf.Name
			if name == "*" {
				if sf.Type != reflect.TypeFor[*Document]() {
					return fmt.Errorf("typed document %s: field %s tagged doc:\"*\" must be a *docarray.Document, not %s", sc.typ, sf.Name, sf.Type)
				}
				sc.whole = idx
				continue
			}
			f := &fieldCodec{key: name, goName: sf.Name, typ: sf.Type, index: idx, desc: sf.Tag.Get("desc")}
			for o := range strings.SplitSeq(opts, ",") {
				switch strings.TrimSpace(o) {
				case "":
				case "required":
					f.required = true
				case "omitempty":
					f.omitempty = true
				default:
					return fmt.Errorf("typed document %s: field %s: unknown doc tag option %q (want required or omitempty)", sc.typ, sf.Name, o)
				}
			}
			if name == keyID {
				k := sf.Type.Kind()
				if k == reflect.Pointer {
					k = sf.Type.Elem().Kind()
				}
				if k != reflect.String {
					return fmt.Errorf("typed document %s: field %s maps to \"id\" and must be a string, not %s", sc.typ, sf.Name, sf.Type)
				}
				sc.idField = f
			}
			vc, err := b.codec(sf.Type)
			if err != nil {
				return fmt.Errorf("typed document %s: field %s: %w", sc.typ, sf.Name, err)
			}
			f.vc = vc
			sc.fields = append(sc.fields, f)
		}
		return nil
	}
	return walk(sc.typ, nil)
}

// snakeCase turns a Go field name into a docarray key: "ImageURL" →
// "image_url", "NumPages2" → "num_pages2", "ID" → "id".
func snakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 {
				prev := r[i-1]
				nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
