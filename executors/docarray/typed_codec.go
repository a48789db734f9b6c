package docarray

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"time"
)

// valueCodec converts one Go type to and from the document value model:
// the Go values Document fields and Tags hold (nil, bool, int64, float64,
// string, []byte, []any, Set, Tuple, map[string]any, *NdArray, *Document,
// DocList, and NamedScore maps under "scores").
type valueCodec struct {
	typ reflect.Type
	// dec stores v (never nil) into dst, a settable value of typ.
	dec func(v any, dst reflect.Value, depth int) error
	// enc converts src (never a nil pointer, slice or map) to a model
	// value; base is the value the key held before, for merges.
	enc func(src reflect.Value, base any, depth int) (any, error)
	// schema is the JSON Schema of typ.
	schema func(g *schemaGen) map[string]any
	// merges says that enc uses base (nested typed documents).
	merges bool
	// sc is set for struct types.
	sc *structCodec
}

var (
	rtNdArray    = reflect.TypeFor[NdArray]()
	rtNdArrayPtr = reflect.TypeFor[*NdArray]()
	rtDocument   = reflect.TypeFor[Document]()
	rtDocPtr     = reflect.TypeFor[*Document]()
	rtDocList    = reflect.TypeFor[DocList]()
	rtNamedScore = reflect.TypeFor[NamedScore]()
	rtTime       = reflect.TypeFor[time.Time]()
	rtFloat32s   = reflect.TypeFor[[]float32]()
	rtFloat64s   = reflect.TypeFor[[]float64]()
)

// specialType reports struct types that are values, not typed documents.
func specialType(t reflect.Type) bool {
	switch t {
	case rtNdArray, rtDocument, rtNamedScore, rtTime:
		return true
	}
	return false
}

func (b *builder) codec(t reflect.Type) (*valueCodec, error) {
	if vc, ok := b.lookup(t); ok {
		return vc, nil
	}
	vc, err := b.newCodec(t)
	if err != nil {
		return nil, err
	}
	if vc.sc == nil { // structs registered themselves before their fields
		b.pending[t] = vc
	}
	return vc, nil
}

func (b *builder) newCodec(t reflect.Type) (*valueCodec, error) {
	switch t {
	case rtNdArrayPtr:
		return ndarrayCodec(t), nil
	case rtNdArray:
		return nil, errors.New("use *docarray.NdArray, not docarray.NdArray")
	case rtDocPtr, rtDocument:
		return documentCodec(t), nil
	case rtDocList:
		return docListCodec(t), nil
	case rtNamedScore:
		return scoreCodec(t), nil
	case rtTime:
		return nil, errors.New("time.Time is not a document value; use a string (RFC 3339) or a number")
	}
	switch t.Kind() {
	case reflect.String:
		return scalarCodec(t, "text", func(v any, dst reflect.Value) bool {
			s, ok := v.(string)
			if ok {
				dst.SetString(s)
			}
			return ok
		}, func(src reflect.Value) any { return src.String() }, map[string]any{"type": "string"}), nil
	case reflect.Bool:
		return scalarCodec(t, "a boolean", func(v any, dst reflect.Value) bool {
			x, ok := v.(bool)
			if ok {
				dst.SetBool(x)
			}
			return ok
		}, func(src reflect.Value) any { return src.Bool() }, map[string]any{"type": "boolean"}), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intCodec(t), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return uintCodec(t), nil
	case reflect.Float32, reflect.Float64:
		return floatCodec(t), nil
	case reflect.Interface:
		if t.NumMethod() > 0 {
			return nil, fmt.Errorf("interface type %s is not supported; use any", t)
		}
		return anyCodec(t), nil
	case reflect.Pointer:
		if t.Elem().Kind() == reflect.Pointer {
			return nil, fmt.Errorf("pointer to pointer %s is not supported", t)
		}
		elem, err := b.codec(t.Elem())
		if err != nil {
			return nil, err
		}
		return pointerCodec(t, elem), nil
	case reflect.Struct:
		return b.structCodec(t)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return bytesCodec(t), nil
		}
		if t.Kind() == reflect.Slice && (t.ConvertibleTo(rtFloat32s) && t.Elem().Kind() == reflect.Float32 || t.ConvertibleTo(rtFloat64s) && t.Elem().Kind() == reflect.Float64) {
			return vectorCodec(t), nil
		}
		if t.Kind() == reflect.Slice {
			et, ptr := t.Elem(), false
			if et.Kind() == reflect.Pointer {
				et, ptr = et.Elem(), true
			}
			if et.Kind() == reflect.Struct && !specialType(et) {
				inner, err := b.codec(et)
				if err != nil {
					return nil, err
				}
				return typedListCodec(t, inner.sc, ptr), nil
			}
		}
		elem, err := b.codec(t.Elem())
		if err != nil {
			return nil, err
		}
		return listCodec(t, elem), nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map keys must be strings, not %s", t.Key())
		}
		elem, err := b.codec(t.Elem())
		if err != nil {
			return nil, err
		}
		return mapCodec(t, elem), nil
	}
	return nil, fmt.Errorf("type %s is not supported in a typed document", t)
}

// structCodec registers the codec of struct type t before building its
// fields, so that recursive types refer to it.
func (b *builder) structCodec(t reflect.Type) (*valueCodec, error) {
	name := t.Name()
	if name == "" {
		name = "Doc"
	}
	sc := &structCodec{typ: t, name: name}
	vc := &valueCodec{typ: t, sc: sc, merges: true}
	vc.dec = func(v any, dst reflect.Value, depth int) error {
		switch x := v.(type) {
		case *Document:
			return sc.decode(docGetter(x), x, dst, depth)
		case map[string]any:
			return sc.decode(mapGetter(x), nil, dst, depth)
		}
		return wantGot("a doc", v)
	}
	vc.enc = func(src reflect.Value, base any, depth int) (any, error) {
		bd, _ := base.(*Document)
		return sc.encode(src, bd, depth)
	}
	vc.schema = func(g *schemaGen) map[string]any { return g.ref(sc) }
	b.pending[t] = vc
	if err := b.structFields(sc); err != nil {
		delete(b.pending, t)
		return nil, err
	}
	return vc, nil
}

// getter reads one key of a document or dict: the value, whether it is
// set, and an error when it cannot be decoded.
type getter func(key string) (any, bool, error)

func docGetter(d *Document) getter {
	return func(key string) (any, bool, error) { return d.getKey(key) }
}

func mapGetter(m map[string]any) getter {
	return func(key string) (any, bool, error) {
		v, ok := m[key]
		return v, ok && v != nil, nil
	}
}

func (sc *structCodec) decode(get getter, whole *Document, dst reflect.Value, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("documents nest deeper than %d levels", maxDepth)
	}
	for _, f := range sc.fields {
		v, ok, err := get(f.key)
		if err != nil {
			return f.err(err)
		}
		if !ok {
			if f.required {
				return f.err(errors.New("required, but missing"))
			}
			continue
		}
		if err := f.vc.dec(v, dst.FieldByIndex(f.index), depth+1); err != nil {
			return f.err(err)
		}
	}
	if sc.whole != nil && whole != nil {
		dst.FieldByIndex(sc.whole).Set(reflect.ValueOf(whole))
	}
	return nil
}

func (sc *structCodec) encode(src reflect.Value, base *Document, depth int) (*Document, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("documents nest deeper than %d levels", maxDepth)
	}
	if sc.whole != nil {
		if w := src.FieldByIndex(sc.whole); !w.IsNil() {
			base = w.Interface().(*Document)
		}
	}
	out := &Document{}
	if base != nil {
		*out = *base
		out.Extra = maps.Clone(base.Extra)
	}
	for _, f := range sc.fields {
		fv := src.FieldByIndex(f.index)
		if f.omitempty && fv.IsZero() {
			continue
		}
		if absent(fv) {
			out.clearKey(f.key)
			continue
		}
		var bv any
		if f.vc.merges && base != nil {
			bv, _, _ = base.getKey(f.key)
		}
		v, err := f.vc.enc(fv, bv, depth+1)
		if err != nil {
			return nil, f.err(err)
		}
		if err := out.setKey(f.key, v); err != nil {
			return nil, f.err(err)
		}
	}
	if out.ID == "" {
		if base != nil && base.ID != "" {
			out.ID = base.ID
		} else {
			out.ID = NewID()
		}
	}
	return out, nil
}

// idOf returns the id field of a struct value ("" when unset or absent).
func (sc *structCodec) idOf(v reflect.Value) string {
	if sc.idField == nil {
		return ""
	}
	f := v.FieldByIndex(sc.idField.index)
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return ""
		}
		f = f.Elem()
	}
	return f.String()
}

// encodeDocList encodes a slice of typed documents (ptr: of pointers to
// them) merged onto base: by ID when an element has one, else by position
// when the lengths match.
func encodeDocList(sc *structCodec, ptr bool, src reflect.Value, base DocList, depth int) (DocList, error) {
	n := src.Len()
	var byID map[string]*Document
	if sc.idField != nil && len(base) > 0 {
		byID = make(map[string]*Document, len(base))
		for _, d := range base {
			if d != nil && d.ID != "" {
				if _, dup := byID[d.ID]; !dup {
					byID[d.ID] = d
				}
			}
		}
	}
	out := make(DocList, n)
	for i := range n {
		ev := src.Index(i)
		var positional *Document
		if len(base) == n {
			positional = base[i]
		}
		if ptr {
			if ev.IsNil() {
				if positional == nil {
					return nil, fmt.Errorf("doc %d: nil, and no input document at its position to keep", i)
				}
				out[i] = positional
				continue
			}
			ev = ev.Elem()
		}
		b := positional
		if id := sc.idOf(ev); id != "" {
			b = byID[id]
		}
		d, err := sc.encode(ev, b, depth)
		if err != nil {
			return nil, docErr(i, b, err)
		}
		out[i] = d
	}
	return out, nil
}

// absent reports a nil pointer, slice, map or interface: a missing value.
func absent(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// kindOf names a model value for errors ("got text").
func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "text"
	case bool:
		return "a boolean"
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case []byte:
		return "a blob"
	case *NdArray:
		return "an ndarray"
	case *Document:
		return "a doc"
	case DocList:
		return "a doc list"
	case Set:
		return "a set"
	case Tuple:
		return "a tuple"
	case []any:
		return "a list"
	case map[string]any:
		return "a dict"
	case map[string]NamedScore:
		return "scores"
	case NamedScore:
		return "a score"
	}
	return fmt.Sprintf("%T", v)
}

func wantGot(want string, v any) error {
	return fmt.Errorf("want %s, got %s", want, kindOf(v))
}

func scalarCodec(t reflect.Type, want string, set func(v any, dst reflect.Value) bool, get func(src reflect.Value) any, schema map[string]any) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			if !set(v, dst) {
				return wantGot(want, v)
			}
			return nil
		},
		enc:    func(src reflect.Value, _ any, _ int) (any, error) { return get(src), nil },
		schema: func(*schemaGen) map[string]any { return cloneSchema(schema).(map[string]any) },
	}
}

func intCodec(t reflect.Type) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			var n int64
			switch x := v.(type) {
			case int64:
				n = x
			case float64:
				if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
					return wantGot("an integer", v)
				}
				n = int64(x)
			default:
				return wantGot("an integer", v)
			}
			if dst.OverflowInt(n) {
				return fmt.Errorf("%d does not fit %s", n, t)
			}
			dst.SetInt(n)
			return nil
		},
		enc:    func(src reflect.Value, _ any, _ int) (any, error) { return src.Int(), nil },
		schema: func(*schemaGen) map[string]any { return map[string]any{"type": "integer"} },
	}
}

func uintCodec(t reflect.Type) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			var n uint64
			switch x := v.(type) {
			case int64:
				if x < 0 {
					return fmt.Errorf("want a non-negative integer, got %d", x)
				}
				n = uint64(x)
			case float64:
				if x != math.Trunc(x) || x < 0 || x >= math.MaxUint64 {
					return wantGot("a non-negative integer", v)
				}
				n = uint64(x)
			default:
				return wantGot("a non-negative integer", v)
			}
			if dst.OverflowUint(n) {
				return fmt.Errorf("%d does not fit %s", n, t)
			}
			dst.SetUint(n)
			return nil
		},
		enc: func(src reflect.Value, _ any, _ int) (any, error) {
			if u := src.Uint(); u > math.MaxInt64 {
				return float64(u), nil
			}
			return int64(src.Uint()), nil
		},
		schema: func(*schemaGen) map[string]any { return map[string]any{"type": "integer", "minimum": 0} },
	}
}

func floatCodec(t reflect.Type) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			var f float64
			switch x := v.(type) {
			case float64:
				f = x
			case int64:
				f = float64(x)
			default:
				return wantGot("a number", v)
			}
			if dst.OverflowFloat(f) {
				return fmt.Errorf("%v does not fit %s", f, t)
			}
			dst.SetFloat(f)
			return nil
		},
		enc:    func(src reflect.Value, _ any, _ int) (any, error) { return src.Float(), nil },
		schema: func(*schemaGen) map[string]any { return map[string]any{"type": "number"} },
	}
}

func anyCodec(t reflect.Type) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			dst.Set(reflect.ValueOf(v))
			return nil
		},
		enc:    func(src reflect.Value, _ any, _ int) (any, error) { return src.Elem().Interface(), nil },
		schema: func(*schemaGen) map[string]any { return map[string]any{} },
	}
}

func pointerCodec(t reflect.Type, elem *valueCodec) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, depth int) error {
			p := reflect.New(t.Elem())
			if err := elem.dec(v, p.Elem(), depth); err != nil {
				return err
			}
			dst.Set(p)
			return nil
		},
		enc: func(src reflect.Value, base any, depth int) (any, error) {
			return elem.enc(src.Elem(), base, depth)
		},
		schema: elem.schema,
		merges: elem.merges,
	}
}

func bytesCodec(t reflect.Type) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			switch x := v.(type) {
			case []byte:
				dst.SetBytes(x)
				return nil
			case string: // JSON has no bytes: the HTTP gateway sends base64
				b, err := base64.StdEncoding.DecodeString(x)
				if err != nil {
					return fmt.Errorf("want a blob or base64 text: %w", err)
				}
				dst.SetBytes(b)
				return nil
			}
			return wantGot("a blob", v)
		},
		enc: func(src reflect.Value, _ any, _ int) (any, error) { return src.Bytes(), nil },
		schema: func(*schemaGen) map[string]any {
			return map[string]any{"type": "string", "format": "byte", "description": "binary content (base64 in JSON)"}
		},
	}
}

// vectorCodec converts []float32 and []float64 (and named slices of them)
// to ndarrays of dtype <f4 / <f8; it reads ndarrays of any numeric dtype
// (flattened) and lists of numbers.
func vectorCodec(t reflect.Type) *valueCodec {
	f32 := t.Elem().Kind() == reflect.Float32
	dtype := "<f8"
	if f32 {
		dtype = "<f4"
	}
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			var out reflect.Value
			switch x := v.(type) {
			case *NdArray:
				if f32 {
					f, err := x.Float32s()
					if err != nil {
						return err
					}
					out = reflect.ValueOf(f)
				} else {
					f, err := x.Float64s()
					if err != nil {
						return err
					}
					out = reflect.ValueOf(f)
				}
			case []any:
				fs, err := numbers(x)
				if err != nil {
					return err
				}
				if f32 {
					f := make([]float32, len(fs))
					for i, n := range fs {
						f[i] = float32(n)
					}
					out = reflect.ValueOf(f)
				} else {
					out = reflect.ValueOf(fs)
				}
			default:
				return wantGot("an ndarray or a list of numbers", v)
			}
			dst.Set(out.Convert(t))
			return nil
		},
		enc: func(src reflect.Value, _ any, _ int) (any, error) {
			if f32 {
				return NewFloat32(src.Convert(rtFloat32s).Interface().([]float32)), nil
			}
			return NewFloat64(src.Convert(rtFloat64s).Interface().([]float64)), nil
		},
		schema: func(*schemaGen) map[string]any { return ndarraySchema(dtype) },
	}
}

// numbers converts a flat list of numbers.
func numbers(l []any) ([]float64, error) {
	out := make([]float64, len(l))
	for i, it := range l {
		switch x := it.(type) {
		case float64:
			out[i] = x
		case int64:
			out[i] = float64(x)
		default:
			return nil, fmt.Errorf("item %d: %w", i, wantGot("a number", it))
		}
	}
	return out, nil
}

// arrayFromList turns nested lists of numbers (as JSON carries arrays under
// keys the Document does not know) into a float32 array.
func arrayFromList(l []any) (*NdArray, error) {
	var shape []int
	var flat []float32
	var walk func(v any, dim int) error
	walk = func(v any, dim int) error {
		if dim > maxDepth {
			return fmt.Errorf("lists nest deeper than %d levels", maxDepth)
		}
		sub, isList := v.([]any)
		if !isList {
			if dim != len(shape) {
				return errors.New("ragged nested list: not an array")
			}
			switch x := v.(type) {
			case float64:
				flat = append(flat, float32(x))
			case int64:
				flat = append(flat, float32(x))
			default:
				return wantGot("a number", v)
			}
			return nil
		}
		if dim == len(shape) {
			if len(flat) > 0 {
				return errors.New("ragged nested list: not an array")
			}
			shape = append(shape, len(sub))
		} else if dim > len(shape) || shape[dim] != len(sub) {
			return errors.New("ragged nested list: not an array")
		}
		for _, it := range sub {
			if err := walk(it, dim+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(l, 0); err != nil {
		return nil, err
	}
	return NewFloat32(flat, shape...), nil
}

func ndarrayCodec(t reflect.Type) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			switch x := v.(type) {
			case *NdArray:
				dst.Set(reflect.ValueOf(x))
				return nil
			case []any:
				a, err := arrayFromList(x)
				if err != nil {
					return err
				}
				dst.Set(reflect.ValueOf(a))
				return nil
			}
			return wantGot("an ndarray", v)
		},
		enc:    func(src reflect.Value, _ any, _ int) (any, error) { return src.Interface(), nil },
		schema: func(*schemaGen) map[string]any { return ndarraySchema("") },
	}
}

// documentCodec handles *Document and Document fields: untyped documents.
func documentCodec(t reflect.Type) *valueCodec {
	ptr := t.Kind() == reflect.Pointer
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			d, ok := v.(*Document)
			if !ok {
				return wantGot("a doc", v)
			}
			if ptr {
				dst.Set(reflect.ValueOf(d))
			} else {
				dst.Set(reflect.ValueOf(*d))
			}
			return nil
		},
		enc: func(src reflect.Value, _ any, _ int) (any, error) {
			if ptr {
				return src.Interface(), nil
			}
			d := src.Interface().(Document)
			return &d, nil
		},
		schema: func(g *schemaGen) map[string]any { return g.legacyRef() },
	}
}

func docListCodec(t reflect.Type) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			switch x := v.(type) {
			case DocList:
				dst.Set(reflect.ValueOf(x))
				return nil
			case []any:
				l := make(DocList, len(x))
				for i, it := range x {
					d, ok := it.(*Document)
					if !ok {
						return fmt.Errorf("item %d: %w", i, wantGot("a doc", it))
					}
					l[i] = d
				}
				dst.Set(reflect.ValueOf(l))
				return nil
			}
			return wantGot("a doc list", v)
		},
		enc: func(src reflect.Value, _ any, _ int) (any, error) { return src.Interface(), nil },
		schema: func(g *schemaGen) map[string]any {
			return map[string]any{"type": "array", "items": g.legacyRef()}
		},
	}
}

func scoreCodec(t reflect.Type) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, _ int) error {
			s, err := toScore(v)
			if err != nil {
				return err
			}
			dst.Set(reflect.ValueOf(s))
			return nil
		},
		enc: func(src reflect.Value, _ any, _ int) (any, error) {
			return scoreMap(src.Interface().(NamedScore)), nil
		},
		schema: func(*schemaGen) map[string]any { return scoreSchema() },
	}
}

// toScore reads a NamedScore, a {"value": ..., "op_name": ...} dict or a
// bare number.
func toScore(v any) (NamedScore, error) {
	switch x := v.(type) {
	case NamedScore:
		return x, nil
	case float64:
		return NamedScore{Value: x}, nil
	case int64:
		return NamedScore{Value: float64(x)}, nil
	case map[string]any:
		var s NamedScore
		for k, it := range x {
			switch k {
			case "value":
				switch n := it.(type) {
				case float64:
					s.Value = n
				case int64:
					s.Value = float64(n)
				default:
					return s, fmt.Errorf("key \"value\": %w", wantGot("a number", it))
				}
			case "op_name", "description", "ref_id":
				str, ok := it.(string)
				if !ok {
					return s, fmt.Errorf("key %q: %w", k, wantGot("text", it))
				}
				switch k {
				case "op_name":
					s.OpName = str
				case "description":
					s.Description = str
				default:
					s.RefID = str
				}
			}
		}
		return s, nil
	}
	return NamedScore{}, wantGot("a score", v)
}

// scoreMap is a NamedScore as a dict value (what docarray stores).
func scoreMap(s NamedScore) map[string]any {
	m := map[string]any{"value": s.Value}
	if s.OpName != "" {
		m["op_name"] = s.OpName
	}
	if s.Description != "" {
		m["description"] = s.Description
	}
	if s.RefID != "" {
		m["ref_id"] = s.RefID
	}
	return m
}

// listItems returns the items of a list-like model value.
func listItems(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case Set:
		return x, true
	case Tuple:
		return x, true
	case DocList:
		items := make([]any, len(x))
		for i, d := range x {
			items[i] = d
		}
		return items, true
	}
	return nil, false
}

func listCodec(t reflect.Type, elem *valueCodec) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, depth int) error {
			items, ok := listItems(v)
			if !ok {
				if a, isArr := v.(*NdArray); isArr && isNumeric(t.Elem()) {
					fs, err := a.Float64s()
					if err != nil {
						return err
					}
					items = make([]any, len(fs))
					for i, f := range fs {
						items[i] = f
					}
				} else {
					return wantGot("a list", v)
				}
			}
			out := dst
			if t.Kind() == reflect.Slice {
				out = reflect.MakeSlice(t, len(items), len(items))
			} else if len(items) != t.Len() {
				return fmt.Errorf("want a list of %d items, got %d", t.Len(), len(items))
			}
			for i, it := range items {
				if it == nil {
					continue
				}
				if err := elem.dec(it, out.Index(i), depth+1); err != nil {
					return fmt.Errorf("item %d: %w", i, err)
				}
			}
			if t.Kind() == reflect.Slice {
				dst.Set(out)
			}
			return nil
		},
		enc: func(src reflect.Value, _ any, depth int) (any, error) {
			out := make([]any, src.Len())
			for i := range out {
				ev := src.Index(i)
				if absent(ev) {
					continue
				}
				v, err := elem.enc(ev, nil, depth+1)
				if err != nil {
					return nil, fmt.Errorf("item %d: %w", i, err)
				}
				out[i] = v
			}
			return out, nil
		},
		schema: func(g *schemaGen) map[string]any {
			return map[string]any{"type": "array", "items": elem.schema(g)}
		},
	}
}

func isNumeric(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// typedListCodec handles slices of typed documents (doc lists), merged
// element by element onto the base list.
func typedListCodec(t reflect.Type, sc *structCodec, ptr bool) *valueCodec {
	return &valueCodec{
		typ:    t,
		merges: true,
		dec: func(v any, dst reflect.Value, depth int) error {
			items, ok := listItems(v)
			if !ok {
				return wantGot("a doc list", v)
			}
			out := reflect.MakeSlice(t, len(items), len(items))
			for i, it := range items {
				var get getter
				var whole *Document
				switch x := it.(type) {
				case *Document:
					get, whole = docGetter(x), x
				case map[string]any:
					get = mapGetter(x)
				default:
					return fmt.Errorf("doc %d: %w", i, wantGot("a doc", it))
				}
				ev := out.Index(i)
				if ptr {
					p := reflect.New(sc.typ)
					ev.Set(p)
					ev = p.Elem()
				}
				if err := sc.decode(get, whole, ev, depth+1); err != nil {
					return docErr(i, whole, err)
				}
			}
			dst.Set(out)
			return nil
		},
		enc: func(src reflect.Value, base any, depth int) (any, error) {
			bl, _ := base.(DocList)
			return encodeDocList(sc, ptr, src, bl, depth+1)
		},
		schema: func(g *schemaGen) map[string]any {
			return map[string]any{"type": "array", "items": g.ref(sc)}
		},
	}
}

func mapCodec(t reflect.Type, elem *valueCodec) *valueCodec {
	return &valueCodec{
		typ: t,
		dec: func(v any, dst reflect.Value, depth int) error {
			out := reflect.MakeMap(t)
			put := func(k string, it any) error {
				ev := reflect.New(t.Elem()).Elem()
				if it != nil {
					if err := elem.dec(it, ev, depth+1); err != nil {
						return fmt.Errorf("key %q: %w", k, err)
					}
				}
				out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
				return nil
			}
			switch x := v.(type) {
			case map[string]any:
				for k, it := range x {
					if err := put(k, it); err != nil {
						return err
					}
				}
			case map[string]NamedScore: // Document.Scores
				for k, s := range x {
					var it any = s
					if elem.typ != rtNamedScore && isNumeric(elem.typ) {
						it = s.Value // scores as map[string]float64: their values
					} else if elem.typ != rtNamedScore {
						it = scoreMap(s)
					}
					if err := put(k, it); err != nil {
						return err
					}
				}
			default:
				return wantGot("a dict", v)
			}
			dst.Set(out)
			return nil
		},
		enc: func(src reflect.Value, _ any, depth int) (any, error) {
			out := make(map[string]any, src.Len())
			it := src.MapRange()
			for it.Next() {
				k := it.Key().String()
				if absent(it.Value()) {
					out[k] = nil
					continue
				}
				v, err := elem.enc(it.Value(), nil, depth+1)
				if err != nil {
					return nil, fmt.Errorf("key %q: %w", k, err)
				}
				out[k] = v
			}
			return out, nil
		},
		schema: func(g *schemaGen) map[string]any {
			s := map[string]any{"type": "object"}
			if es := elem.schema(g); len(es) > 0 {
				s["additionalProperties"] = es
			}
			return s
		},
	}
}
