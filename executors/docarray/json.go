package docarray

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// JSON form of documents (the body of the HTTP gateway):
//
//	{"id": "...", "text": "...", "blob": "<base64>", "url": "...",
//	 "tensor": [[1, 2], [3, 4]], "embedding": [0.1, 0.2],
//	 "tags": {...}, "chunks": [...], "matches": [...],
//	 "scores": {"cosine": {"value": 0.9}}, "<other field>": <value>}
//
// Arrays of float32 ("<f4") are nested JSON lists, as Jina's HTTP clients
// send them. Other dtypes use {"dtype": "<i8", "shape": [2], "data": [1, 2]},
// and arrays JSON cannot spell as numbers (NaN, half floats, unknown dtypes)
// use {"dtype": ..., "shape": ..., "buffer": "<base64>"}. All three forms are
// accepted on input, so a document survives a JSON round trip unchanged.
// A document without an id gets a fresh one.

// MarshalJSON encodes d in the JSON form above.
func (d *Document) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := d.appendJSON(&b, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// UnmarshalJSON decodes d from the JSON form above.
func (d *Document) UnmarshalJSON(data []byte) error {
	doc, err := docFromJSON(data, 0)
	if err != nil {
		return err
	}
	*d = *doc
	return nil
}

// MarshalJSON encodes the list as a JSON array of documents.
func (l DocList) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := l.appendJSON(&b, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// UnmarshalJSON decodes a JSON array of documents. Errors name the document
// index and field, e.g. `doc 2: field "embedding": ...`.
func (l *DocList) UnmarshalJSON(data []byte) error {
	out, err := listFromJSON(data, 0)
	if err != nil {
		return err
	}
	*l = out
	return nil
}

func (l DocList) appendJSON(b *bytes.Buffer, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("documents nest deeper than %d levels", maxDepth)
	}
	b.WriteByte('[')
	for i, d := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		if d == nil {
			d = &Document{}
		}
		if err := d.appendJSON(b, depth); err != nil {
			return fmt.Errorf("doc %d: %w", i, err)
		}
	}
	b.WriteByte(']')
	return nil
}

func (d *Document) appendJSON(b *bytes.Buffer, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("documents nest deeper than %d levels", maxDepth)
	}
	b.WriteByte('{')
	first := true
	var written []string // legacy keys written, which Extra must not repeat
	key := func(k string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		written = append(written, k)
		writeString(b, k)
		b.WriteByte(':')
	}
	if d.ID != "" {
		key(keyID)
		writeString(b, d.ID)
	}
	if d.Text != "" {
		key(keyText)
		writeString(b, d.Text)
	}
	if d.Blob != nil {
		key(keyBlob)
		writeString(b, base64.StdEncoding.EncodeToString(d.Blob))
	}
	if d.URL != "" {
		key(keyURL)
		writeString(b, d.URL)
	}
	for _, f := range []struct {
		k string
		a *NdArray
	}{{keyTensor, d.Tensor}, {keyEmbedding, d.Embedding}} {
		if f.a == nil {
			continue
		}
		key(f.k)
		if err := appendArrayJSON(b, f.a); err != nil {
			return fmt.Errorf("field %q: %w", f.k, err)
		}
	}
	if len(d.Tags) > 0 {
		key(keyTags)
		if err := appendValueJSON(b, d.Tags, depth+1); err != nil {
			return fmt.Errorf("field %q: %w", keyTags, err)
		}
	}
	for _, f := range []struct {
		k string
		l DocList
	}{{keyChunks, d.Chunks}, {keyMatches, d.Matches}} {
		if f.l == nil {
			continue
		}
		key(f.k)
		if err := f.l.appendJSON(b, depth+1); err != nil {
			return fmt.Errorf("field %q: %w", f.k, err)
		}
	}
	if len(d.Scores) > 0 {
		key(keyScores)
		names := sortedKeys(d.Scores)
		b.WriteByte('{')
		for i, name := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			s := d.Scores[name]
			writeString(b, name)
			b.WriteString(`:{"value":`)
			if err := writeFloat(b, s.Value, 64); err != nil {
				return fmt.Errorf("field %q: score %q: %w", keyScores, name, err)
			}
			for _, f := range []struct{ k, v string }{{"op_name", s.OpName}, {"description", s.Description}, {"ref_id", s.RefID}} {
				if f.v != "" {
					b.WriteByte(',')
					writeString(b, f.k)
					b.WriteByte(':')
					writeString(b, f.v)
				}
			}
			b.WriteByte('}')
		}
		b.WriteByte('}')
	}
	for _, k := range sortedKeys(d.Extra) {
		if slices.Contains(written, k) {
			continue // a legacy field set in Go wins over a stale copy, as in toProto
		}
		v, err := valueFromNode(d.Extra[k], depth+1)
		if err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
		key(k)
		if err := appendValueJSON(b, v, depth+1); err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
	}
	b.WriteByte('}')
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // strings always encode
	b.Write(enc)
}

// writeFloat writes a float so that it reads back as a float: integral
// values get a ".0" ("1.0", "-0.0"), since valueFromJSON (and Python's json)
// read "1" as an integer.
func writeFloat(b *bytes.Buffer, f float64, bits int) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("JSON cannot hold %v", f)
	}
	s := strconv.FormatFloat(f, 'g', -1, bits)
	b.WriteString(s)
	if !strings.ContainsAny(s, ".e") {
		b.WriteString(".0")
	}
	return nil
}

// numericDtypes are the dtypes whose elements JSON spells as numbers.
var numericDtypes = map[string]bool{
	"<f4": true, "<f8": true,
	"|i1": true, "<i2": true, "<i4": true, "<i8": true,
	"|u1": true, "<u2": true, "<u4": true, "<u8": true,
}

func appendArrayJSON(b *bytes.Buffer, a *NdArray) error {
	_, known := dtypeSizes[a.Dtype]
	if known {
		if err := a.Validate(); err != nil {
			return err
		}
	}
	numeric := numericDtypes[a.Dtype] && a.finite()
	if numeric && a.Dtype == "<f4" && len(a.Params) == 0 && len(a.Shape) > 0 && !slices.Contains(a.Shape, 0) {
		i := 0
		appendNested(b, a, 0, &i)
		return nil
	}
	b.WriteString(`{"dtype":`)
	writeString(b, a.Dtype)
	b.WriteString(`,"shape":[`)
	for i, s := range a.Shape {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s))
	}
	b.WriteByte(']')
	if numeric {
		b.WriteString(`,"data":[`)
		size := dtypeSizes[a.Dtype]
		for i := 0; i < len(a.Data)/size; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(a.elementString(i, size))
		}
		b.WriteByte(']')
	} else {
		b.WriteString(`,"buffer":`)
		writeString(b, base64.StdEncoding.EncodeToString(a.Data))
	}
	if len(a.Params) > 0 {
		b.WriteString(`,"params":`)
		if err := appendValueJSON(b, a.Params, 1); err != nil {
			return fmt.Errorf("params: %w", err)
		}
	}
	b.WriteByte('}')
	return nil
}

func appendNested(b *bytes.Buffer, a *NdArray, dim int, i *int) {
	b.WriteByte('[')
	for k := 0; k < a.Shape[dim]; k++ {
		if k > 0 {
			b.WriteByte(',')
		}
		if dim == len(a.Shape)-1 {
			b.WriteString(a.elementString(*i, 4))
			*i++
		} else {
			appendNested(b, a, dim+1, i)
		}
	}
	b.WriteByte(']')
}

// finite reports whether every float element is finite (JSON has no NaN).
func (a *NdArray) finite() bool {
	switch a.Dtype {
	case "<f4":
		for i := 0; i+4 <= len(a.Data); i += 4 {
			f := float64(math.Float32frombits(binary.LittleEndian.Uint32(a.Data[i:])))
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return false
			}
		}
	case "<f8":
		for i := 0; i+8 <= len(a.Data); i += 8 {
			f := math.Float64frombits(binary.LittleEndian.Uint64(a.Data[i:]))
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return false
			}
		}
	}
	return true
}

// elementString formats element i exactly (shortest form that parses back
// to the same bits).
func (a *NdArray) elementString(i, size int) string {
	b := a.Data[i*size:]
	switch a.Dtype {
	case "<f4":
		return floatString(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 32)
	case "<f8":
		return floatString(math.Float64frombits(binary.LittleEndian.Uint64(b)), 64)
	case "|i1":
		return strconv.FormatInt(int64(int8(b[0])), 10)
	case "<i2":
		return strconv.FormatInt(int64(int16(binary.LittleEndian.Uint16(b))), 10)
	case "<i4":
		return strconv.FormatInt(int64(int32(binary.LittleEndian.Uint32(b))), 10)
	case "<i8":
		return strconv.FormatInt(int64(binary.LittleEndian.Uint64(b)), 10)
	case "|u1":
		return strconv.FormatUint(uint64(b[0]), 10)
	case "<u2":
		return strconv.FormatUint(uint64(binary.LittleEndian.Uint16(b)), 10)
	case "<u4":
		return strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b)), 10)
	case "<u8":
		return strconv.FormatUint(binary.LittleEndian.Uint64(b), 10)
	}
	return "null"
}

// floatString formats a float element so that it reads back as a float:
// integral values get a ".0" ("0.0", not "0"), else Python's json and
// numpy read a float tensor of whole numbers as int64.
func floatString(f float64, bits int) string {
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if !strings.ContainsAny(s, ".eIN") { // not "1e+30", "NaN", "+Inf"
		s += ".0"
	}
	return s
}

// putElement parses s as an element of dtype into dst.
func putElement(dst []byte, dtype, s string) error {
	var err error
	switch dtype {
	case "<f4":
		var f float64
		if f, err = strconv.ParseFloat(s, 32); err == nil {
			binary.LittleEndian.PutUint32(dst, math.Float32bits(float32(f)))
		}
	case "<f8":
		var f float64
		if f, err = strconv.ParseFloat(s, 64); err == nil {
			binary.LittleEndian.PutUint64(dst, math.Float64bits(f))
		}
	case "|i1", "<i2", "<i4", "<i8":
		size := dtypeSizes[dtype]
		var n int64
		if n, err = strconv.ParseInt(integral(s), 10, 8*size); err == nil {
			putUint(dst, uint64(n), size)
		}
	case "|u1", "<u2", "<u4", "<u8":
		size := dtypeSizes[dtype]
		var n uint64
		if n, err = strconv.ParseUint(integral(s), 10, 8*size); err == nil {
			putUint(dst, n, size)
		}
	default:
		return fmt.Errorf("dtype %s has no numeric JSON form; send \"buffer\"", dtype)
	}
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return fmt.Errorf("%s is not a valid %s element: %w", s, dtype, err)
	}
	return nil
}

// integral rewrites a JSON number with a fraction or exponent but an
// integral value ("1.0", "1e2") in plain digits, so integer dtypes accept
// what JSON writers may emit for them; anything else is returned unchanged
// for the integer parser to refuse.
func integral(s string) string {
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func putUint(dst []byte, n uint64, size int) {
	switch size {
	case 1:
		dst[0] = byte(n)
	case 2:
		binary.LittleEndian.PutUint16(dst, uint16(n))
	case 4:
		binary.LittleEndian.PutUint32(dst, uint32(n))
	default:
		binary.LittleEndian.PutUint64(dst, n)
	}
}

// appendValueJSON encodes a tag value.
func appendValueJSON(b *bytes.Buffer, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("values nest deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeString(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		return writeFloat(b, x, 64)
	case []byte:
		writeString(b, base64.StdEncoding.EncodeToString(x))
	case *NdArray:
		if x == nil {
			b.WriteString("null")
			return nil
		}
		return appendArrayJSON(b, x)
	case *Document:
		if x == nil {
			b.WriteString("null")
			return nil
		}
		return x.appendJSON(b, depth+1)
	case DocList:
		return x.appendJSON(b, depth+1)
	case Set:
		return appendListJSON(b, x, depth)
	case Tuple:
		return appendListJSON(b, x, depth)
	case []any:
		return appendListJSON(b, x, depth)
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := appendValueJSON(b, x[k], depth+1); err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
		}
		b.WriteByte('}')
	default:
		// Other Go types (int, []string, structs...): normalise through the
		// wire encoding so JSON and protobuf agree on their meaning.
		n, err := nodeFromValue(v, depth)
		if err != nil {
			return err
		}
		nv, err := valueFromNode(n, depth)
		if err != nil {
			return err
		}
		return appendValueJSON(b, nv, depth)
	}
	return nil
}

func appendListJSON(b *bytes.Buffer, items []any, depth int) error {
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := appendValueJSON(b, it, depth+1); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	b.WriteByte(']')
	return nil
}

// --- decoding ---

func listFromJSON(data []byte, depth int) (DocList, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("documents nest deeper than %d levels", maxDepth)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("want a JSON array of documents: %w", jsonErr(err))
	}
	out := make(DocList, len(raws))
	for i, r := range raws {
		d, err := docFromJSON(r, depth)
		if err != nil {
			return nil, fmt.Errorf("doc %d: %w", i, err)
		}
		out[i] = d
	}
	return out, nil
}

func docFromJSON(data []byte, depth int) (*Document, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("documents nest deeper than %d levels", maxDepth)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("want a JSON object: %w", jsonErr(err))
	}
	if fields == nil {
		return nil, errors.New("want a JSON object, got null")
	}
	d := &Document{}
	for k, raw := range fields {
		if err := d.setJSONField(k, raw, depth); err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
	}
	if d.ID == "" {
		d.ID = NewID()
	}
	return d, nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

func (d *Document) setJSONField(k string, raw json.RawMessage, depth int) error {
	if isNull(raw) && isLegacyKey(k) {
		return nil
	}
	switch k {
	case keyID:
		var id any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&id); err != nil {
			return jsonErr(err)
		}
		switch x := id.(type) {
		case string:
			d.ID = x
		case json.Number:
			d.ID = x.String()
		default:
			return fmt.Errorf("want a string, got %s", jsonKind(id))
		}
	case keyText, keyURL:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("want a string: %w", jsonErr(err))
		}
		if k == keyText {
			d.Text = s
		} else {
			d.URL = s
		}
	case keyBlob:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("want a base64 string: %w", jsonErr(err))
		}
		blob, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("want a base64 string: %w", err)
		}
		d.Blob = blob
	case keyTensor, keyEmbedding:
		a, err := arrayFromJSON(raw)
		if err != nil {
			return err
		}
		if k == keyTensor {
			d.Tensor = a
		} else {
			d.Embedding = a
		}
	case keyTags:
		v, err := valueFromJSON(raw)
		if err != nil {
			return err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("want an object, got %s", jsonKind(v))
		}
		if len(m) > 0 {
			d.Tags = m
		}
	case keyChunks, keyMatches:
		l, err := listFromJSON(raw, depth+1)
		if err != nil {
			return err
		}
		if k == keyChunks {
			d.Chunks = l
		} else {
			d.Matches = l
		}
	case keyScores:
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("want an object of scores: %w", jsonErr(err))
		}
		for name, r := range m {
			s, err := scoreFromJSON(r)
			if err != nil {
				return fmt.Errorf("score %q: %w", name, err)
			}
			d.SetScore(name, s.Value)
			d.Scores[name] = s
		}
	default:
		v, err := valueFromJSON(raw)
		if err != nil {
			return err
		}
		return d.SetField(k, v)
	}
	return nil
}

func scoreFromJSON(raw json.RawMessage) (NamedScore, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return NamedScore{Value: f}, nil
	}
	var s struct {
		Value       *float64 `json:"value"`
		OpName      string   `json:"op_name"`
		Description string   `json:"description"`
		RefID       string   `json:"ref_id"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return NamedScore{}, fmt.Errorf(`want a number or {"value": number}: %w`, jsonErr(err))
	}
	if s.Value == nil {
		return NamedScore{}, errors.New(`want a number or {"value": number}: "value" is missing`)
	}
	return NamedScore{Value: *s.Value, OpName: s.OpName, Description: s.Description, RefID: s.RefID}, nil
}

// arrayFromJSON accepts a nested list of numbers (float32), or the
// {"dtype","shape","data"|"buffer"} object form. Elements are parsed from
// their JSON text, not from tag-style int64/float64 values, so that -0,
// uint64 values above MaxInt64 and float32 values come back bit for bit.
func arrayFromJSON(raw json.RawMessage) (*NdArray, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case []any:
		var shape []int
		var flat []string
		if err := flatten(x, 0, &shape, &flat); err != nil {
			return nil, err
		}
		a := &NdArray{Dtype: "<f4", Shape: shape, Data: make([]byte, 4*len(flat))}
		for i, s := range flat {
			if err := putElement(a.Data[4*i:], a.Dtype, s); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
		return a, nil
	case map[string]any:
		return arrayFromObject(x)
	}
	return nil, fmt.Errorf("want a list of numbers or {\"dtype\", \"shape\", \"data\"}, got %s", jsonKind(v))
}

// flatten walks a rectangular nested list, recording its shape: every
// list at one depth has the same length and holds only lists or only numbers.
func flatten(list []any, dim int, shape *[]int, flat *[]string) error {
	if dim >= maxDepth {
		return fmt.Errorf("array nests deeper than %d levels", maxDepth)
	}
	if dim == len(*shape) {
		*shape = append(*shape, len(list))
	} else if (*shape)[dim] != len(list) {
		return fmt.Errorf("ragged array: dimension %d has lengths %d and %d", dim, (*shape)[dim], len(list))
	}
	for _, it := range list {
		inner := dim+1 < len(*shape) // deeper levels already seen here
		switch x := it.(type) {
		case []any:
			if !inner && len(*flat) > 0 {
				return errors.New("ragged array: numbers and lists mixed")
			}
			if err := flatten(x, dim+1, shape, flat); err != nil {
				return err
			}
		case json.Number:
			if inner {
				return errors.New("ragged array: numbers and lists mixed")
			}
			*flat = append(*flat, x.String())
		default:
			return fmt.Errorf("array elements must be numbers, got %s", jsonKind(it))
		}
	}
	return nil
}

func arrayFromObject(m map[string]any) (*NdArray, error) {
	dtype, ok := m["dtype"].(string)
	if !ok {
		return nil, errors.New(`array object needs a string "dtype"`)
	}
	a := &NdArray{Dtype: dtype, Shape: []int{}}
	shape, ok := m["shape"].([]any)
	if !ok {
		return nil, errors.New(`array object needs a "shape" list`)
	}
	for _, s := range shape {
		num, _ := s.(json.Number)
		n, err := strconv.ParseInt(num.String(), 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("shape entries must be non-negative integers, got %v", s)
		}
		a.Shape = append(a.Shape, int(n))
	}
	if p, ok := m["params"]; ok {
		pm, ok := p.(map[string]any)
		if !ok {
			return nil, errors.New(`"params" must be an object`)
		}
		// Parameters travel as a google.protobuf.Struct, whose numbers are
		// all float64: read them so, as FromProto does.
		if _, err := paramNumbers(pm, 0); err != nil {
			return nil, fmt.Errorf("params: %w", err)
		}
		if len(pm) > 0 {
			a.Params = pm
		}
	}
	for k := range m {
		switch k {
		case "dtype", "shape", "data", "buffer", "params":
		default:
			return nil, fmt.Errorf("unknown array key %q (want dtype, shape, data or buffer, params)", k)
		}
	}
	switch {
	case m["buffer"] != nil && m["data"] != nil:
		return nil, errors.New(`give "data" or "buffer", not both`)
	case m["buffer"] != nil:
		s, ok := m["buffer"].(string)
		if !ok {
			return nil, errors.New(`"buffer" must be a base64 string`)
		}
		buf, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf(`"buffer": %w`, err)
		}
		a.Data = buf
	case m["data"] != nil:
		data, ok := m["data"].([]any)
		if !ok {
			return nil, errors.New(`"data" must be a flat list of numbers`)
		}
		size, err := ItemSize(dtype)
		if err != nil {
			return nil, err
		}
		a.Data = make([]byte, size*len(data))
		for i, it := range data {
			s, ok := it.(json.Number)
			if !ok {
				return nil, fmt.Errorf("element %d must be a number, got %s", i, jsonKind(it))
			}
			if err := putElement(a.Data[size*i:], dtype, s.String()); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
	default:
		return nil, errors.New(`array object needs "data" or "buffer"`)
	}
	if a.Data == nil {
		a.Data = []byte{}
	}
	if _, known := dtypeSizes[dtype]; known {
		if err := a.Validate(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// valueFromJSON decodes JSON to tag values: integers (no '.', 'e') become
// int64, other numbers float64.
func valueFromJSON(raw json.RawMessage) (any, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	return normaliseNumbers(v, 0)
}

// decodeJSON decodes JSON keeping numbers as json.Number.
func decodeJSON(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonErr(err)
	}
	return v, nil
}

// paramNumbers turns the json.Numbers in array parameters into float64.
func paramNumbers(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("values nest deeper than %d levels", maxDepth)
	}
	var err error
	switch x := v.(type) {
	case json.Number:
		f, perr := strconv.ParseFloat(x.String(), 64)
		if perr != nil {
			return nil, fmt.Errorf("number %s out of range", x)
		}
		return f, nil
	case []any:
		for i, it := range x {
			if x[i], err = paramNumbers(it, depth+1); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k, it := range x {
			if x[k], err = paramNumbers(it, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

func normaliseNumbers(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("values nest deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("number %s out of range", s)
		}
		return f, nil
	case []any:
		for i, it := range x {
			n, err := normaliseNumbers(it, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case map[string]any:
		for k, it := range x {
			n, err := normaliseNumbers(it, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	}
	return v, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64, json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// jsonErr turns encoding/json's type errors into user words.
func jsonErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("got a JSON %s", te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return err
}
