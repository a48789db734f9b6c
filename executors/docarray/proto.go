package docarray

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// maxDepth bounds how deeply documents and values may nest. Legitimate
// documents nest a few levels (chunks of chunks); the bound keeps hostile
// input from exhausting the stack.
const maxDepth = 64

// docarray type names written in NodeProto.type, as docarray 0.40 registers
// them; Python decoders use them to pick the class of a value.
const (
	typeID        = "id"
	typeNdArray   = "ndarray"
	typeEmbedding = "ndarray_embedding"
)

// LegacyDocument field names.
const (
	keyID        = "id"
	keyText      = "text"
	keyBlob      = "blob"
	keyURL       = "url"
	keyTensor    = "tensor"
	keyEmbedding = "embedding"
	keyTags      = "tags"
	keyChunks    = "chunks"
	keyMatches   = "matches"
	keyScores    = "scores"
)

// ToProto converts the list to its wire form. A nil entry becomes an empty
// document.
func (l DocList) ToProto() *docarraypb.DocListProto {
	p, _ := l.toProto(0, false) // never fails when not strict
	return p
}

// ToProtoChecked converts the list like ToProto, but fails, naming the
// document and field, where ToProto would drop a value (see Validate): one
// conversion that both checks and encodes.
func (l DocList) ToProtoChecked() (*docarraypb.DocListProto, error) {
	return l.toProto(0, true)
}

// ToProto converts d to its wire form. Values that cannot be encoded (a tag
// of an unsupported Go type, chunks nested deeper than the limit) are
// dropped; use Validate to find them first. A nil d is an empty document.
func (d *Document) ToProto() *docarraypb.DocProto {
	p, _ := d.toProto(0, false) // never fails when not strict
	return p
}

// Validate reports the first field of d that cannot be encoded on the wire.
func (d *Document) Validate() error {
	_, err := d.toProto(0, true)
	return err
}

func (d *Document) toProto(depth int, strict bool) (*docarraypb.DocProto, error) {
	if d == nil {
		d = &Document{}
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("documents nest deeper than %d levels", maxDepth)
	}
	data := make(map[string]*docarraypb.NodeProto, 4+len(d.Extra))
	// Extra first, so that a legacy field set in Go wins over a stale copy.
	for k, v := range d.Extra {
		data[k] = v
	}
	if d.ID != "" {
		data[keyID] = &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Text{Text: d.ID}, DocarrayType: &docarraypb.NodeProto_Type{Type: typeID}}
	}
	if d.Text != "" {
		data[keyText] = &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Text{Text: d.Text}}
	}
	if d.Blob != nil {
		data[keyBlob] = &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Blob{Blob: d.Blob}}
	}
	if d.URL != "" {
		data[keyURL] = &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Text{Text: d.URL}}
	}
	if d.Tensor != nil {
		n, err := ndarrayNode(d.Tensor, typeNdArray)
		if err != nil && strict {
			return nil, fmt.Errorf("field %s: %w", keyTensor, err)
		}
		data[keyTensor] = n
	}
	if d.Embedding != nil {
		n, err := ndarrayNode(d.Embedding, typeEmbedding)
		if err != nil && strict {
			return nil, fmt.Errorf("field %s: %w", keyEmbedding, err)
		}
		data[keyEmbedding] = n
	}
	if len(d.Tags) > 0 {
		n, err := dictNode(d.Tags, depth+1, strict)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", keyTags, err)
		}
		data[keyTags] = n
	}
	for _, f := range []struct {
		key  string
		list DocList
	}{{keyChunks, d.Chunks}, {keyMatches, d.Matches}} {
		if f.list == nil {
			continue
		}
		l, err := f.list.toProto(depth+1, strict)
		if err != nil {
			if !strict {
				continue // too deep: drop this list, not the whole document
			}
			return nil, fmt.Errorf("field %s: %w", f.key, err)
		}
		data[f.key] = &docarraypb.NodeProto{Content: &docarraypb.NodeProto_DocArray{DocArray: l}}
	}
	if len(d.Scores) > 0 {
		scores := make(map[string]*docarraypb.NodeProto, len(d.Scores))
		for name, s := range d.Scores {
			scores[name] = scoreNode(s)
		}
		data[keyScores] = &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Dict{Dict: &docarraypb.DictOfAnyProto{Data: scores}}}
	}
	return &docarraypb.DocProto{Data: data}, nil
}

func (l DocList) toProto(depth int, strict bool) (*docarraypb.DocListProto, error) {
	out := &docarraypb.DocListProto{Docs: make([]*docarraypb.DocProto, len(l))}
	for i, d := range l {
		p, err := d.toProto(depth, strict)
		if err != nil {
			return nil, fmt.Errorf("doc %d: %w", i, err)
		}
		out.Docs[i] = p
	}
	return out, nil
}

func scoreNode(s NamedScore) *docarraypb.NodeProto {
	m := map[string]*docarraypb.NodeProto{"value": {Content: &docarraypb.NodeProto_Float{Float: s.Value}}}
	for _, f := range []struct{ k, v string }{{"op_name", s.OpName}, {"description", s.Description}, {"ref_id", s.RefID}} {
		if f.v != "" {
			m[f.k] = &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Text{Text: f.v}}
		}
	}
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Dict{Dict: &docarraypb.DictOfAnyProto{Data: m}}}
}

func ndarrayNode(a *NdArray, typ string) (*docarraypb.NodeProto, error) {
	shape := make([]uint32, len(a.Shape))
	for i, s := range a.Shape {
		shape[i] = uint32(s)
	}
	nd := &docarraypb.NdArrayProto{Dense: &docarraypb.DenseNdArrayProto{Buffer: a.Data, Shape: shape, Dtype: a.Dtype}}
	var err error
	if len(a.Params) > 0 {
		nd.Parameters, err = structpb.NewStruct(a.Params)
	}
	if err == nil {
		if _, known := dtypeSizes[a.Dtype]; known {
			err = a.Validate()
		}
	}
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Ndarray{Ndarray: nd}, DocarrayType: &docarraypb.NodeProto_Type{Type: typ}}, err
}

func dictNode(m map[string]any, depth int, strict bool) (*docarraypb.NodeProto, error) {
	data := make(map[string]*docarraypb.NodeProto, len(m))
	for k, v := range m {
		n, err := nodeFromValue(v, depth)
		if err != nil {
			if strict {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			continue
		}
		data[k] = n
	}
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Dict{Dict: &docarraypb.DictOfAnyProto{Data: data}}}, nil
}

// nodeFromValue encodes a Go value as docarray encodes the Python value.
func nodeFromValue(v any, depth int) (*docarraypb.NodeProto, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("values nest deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return &docarraypb.NodeProto{}, nil
	case string:
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Text{Text: x}}, nil
	case bool:
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Boolean{Boolean: x}}, nil
	case float64:
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Float{Float: x}}, nil
	case float32:
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Float{Float: float64(x)}}, nil
	case []byte:
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Blob{Blob: x}}, nil
	case *NdArray:
		if x == nil {
			return &docarraypb.NodeProto{}, nil
		}
		return ndarrayNode(x, typeNdArray)
	case *Document:
		if x == nil {
			return &docarraypb.NodeProto{}, nil
		}
		p, err := x.toProto(depth+1, true)
		if err != nil {
			return nil, err
		}
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Doc{Doc: p}}, nil
	case DocList:
		l, err := x.toProto(depth+1, true)
		if err != nil {
			return nil, err
		}
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_DocArray{DocArray: l}}, nil
	case Set:
		l, err := listOf([]any(x), depth)
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Set{Set: l}}, err
	case Tuple:
		l, err := listOf([]any(x), depth)
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Tuple{Tuple: l}}, err
	case []any:
		l, err := listOf(x, depth)
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_List{List: l}}, err
	case map[string]any:
		return dictNode(x, depth+1, true)
	}
	// Integers of every width, and typed slices and maps, by reflection.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intNode(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Float{Float: float64(u)}}, nil
		}
		return intNode(int64(u)), nil
	case reflect.Slice, reflect.Array:
		items := make([]any, rv.Len())
		for i := range items {
			items[i] = rv.Index(i).Interface()
		}
		l, err := listOf(items, depth)
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_List{List: l}}, err
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map keys must be strings, not %s", rv.Type().Key())
		}
		m := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			m[it.Key().String()] = it.Value().Interface()
		}
		return dictNode(m, depth+1, true)
	case reflect.Pointer:
		if rv.IsNil() {
			return &docarraypb.NodeProto{}, nil
		}
		return nodeFromValue(rv.Elem().Interface(), depth+1)
	case reflect.String:
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Text{Text: rv.String()}}, nil
	case reflect.Float32, reflect.Float64:
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Float{Float: rv.Float()}}, nil
	case reflect.Bool:
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Boolean{Boolean: rv.Bool()}}, nil
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

// intNode encodes n as docarray's int32 "integer" when it fits, else as a
// float (docarray has no wider integer; Python would refuse the value).
func intNode(n int64) *docarraypb.NodeProto {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Integer{Integer: int32(n)}}
	}
	return &docarraypb.NodeProto{Content: &docarraypb.NodeProto_Float{Float: float64(n)}}
}

func listOf(items []any, depth int) (*docarraypb.ListOfAnyProto, error) {
	l := &docarraypb.ListOfAnyProto{Data: make([]*docarraypb.NodeProto, len(items))}
	for i, it := range items {
		n, err := nodeFromValue(it, depth+1)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		l.Data[i] = n
	}
	return l, nil
}

// FromProto converts a wire list to documents. Errors name the document
// index and field.
func FromProto(p *docarraypb.DocListProto) (DocList, error) {
	return fromProtoList(p, 0)
}

// DocFromProto converts one wire document.
func DocFromProto(p *docarraypb.DocProto) (*Document, error) {
	return docFromProto(p, 0)
}

func fromProtoList(p *docarraypb.DocListProto, depth int) (DocList, error) {
	if p == nil {
		return nil, nil
	}
	out := make(DocList, len(p.GetDocs()))
	for i, dp := range p.GetDocs() {
		d, err := docFromProto(dp, depth)
		if err != nil {
			return nil, fmt.Errorf("doc %d: %w", i, err)
		}
		out[i] = d
	}
	return out, nil
}

func docFromProto(p *docarraypb.DocProto, depth int) (*Document, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("documents nest deeper than %d levels", maxDepth)
	}
	d := &Document{}
	for key, n := range p.GetData() {
		if n == nil || n.Content == nil {
			// docarray writes unset Optional fields as empty nodes; an
			// unknown key with no content is kept so it round-trips.
			if !isLegacyKey(key) {
				d.keepExtra(key, n)
			}
			continue
		}
		kept, err := d.setLegacy(key, n, depth)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", key, err)
		}
		if !kept {
			d.keepExtra(key, n)
		}
	}
	return d, nil
}

func isLegacyKey(k string) bool {
	switch k {
	case keyID, keyText, keyBlob, keyURL, keyTensor, keyEmbedding, keyTags, keyChunks, keyMatches, keyScores:
		return true
	}
	return false
}

func (d *Document) keepExtra(key string, n *docarraypb.NodeProto) {
	if d.Extra == nil {
		d.Extra = map[string]*docarraypb.NodeProto{}
	}
	if n == nil {
		n = &docarraypb.NodeProto{}
	}
	d.Extra[key] = n
}

// setLegacy stores a legacy field. It reports false when the key is not a
// legacy field or its value has a shape the field does not take (docarray
// lets any value into some fields); the caller then keeps it verbatim.
func (d *Document) setLegacy(key string, n *docarraypb.NodeProto, depth int) (bool, error) {
	switch key {
	case keyID:
		switch c := n.Content.(type) {
		case *docarraypb.NodeProto_Text:
			d.ID = c.Text
		case *docarraypb.NodeProto_Integer:
			d.ID = strconv.Itoa(int(c.Integer))
		default:
			return false, nil
		}
	case keyText, keyURL:
		c, ok := n.Content.(*docarraypb.NodeProto_Text)
		if !ok || c.Text == "" || n.DocarrayType != nil {
			return false, nil // "" and typed text are kept verbatim
		}
		if key == keyText {
			d.Text = c.Text
		} else {
			d.URL = c.Text
		}
	case keyBlob:
		c, ok := n.Content.(*docarraypb.NodeProto_Blob)
		if !ok || n.DocarrayType != nil {
			return false, nil
		}
		d.Blob = c.Blob
		if d.Blob == nil {
			d.Blob = []byte{}
		}
	case keyTensor, keyEmbedding:
		// Any array class (ndarray, ndarray_embedding, torch_tensor, ...)
		// travels as the same dense proto; jig re-emits the field's own
		// class name.
		c, ok := n.Content.(*docarraypb.NodeProto_Ndarray)
		if !ok {
			return false, nil
		}
		a, err := ndarrayFromProto(c.Ndarray)
		if err != nil {
			return false, err
		}
		if key == keyTensor {
			d.Tensor = a
		} else {
			d.Embedding = a
		}
	case keyTags:
		c, ok := n.Content.(*docarraypb.NodeProto_Dict)
		if !ok || n.DocarrayType != nil {
			return false, nil
		}
		// Tag values sit one level below the document, as toProto counts
		// them, so that whatever encodes also decodes.
		m, err := mapFromDict(c.Dict, depth)
		if err != nil {
			return false, err
		}
		if len(m) == 0 {
			return false, nil // keep an explicit empty dict verbatim
		}
		d.Tags = m
	case keyChunks, keyMatches:
		c, ok := n.Content.(*docarraypb.NodeProto_DocArray)
		if !ok || n.DocarrayType != nil {
			return false, nil
		}
		l, err := fromProtoList(c.DocArray, depth+1)
		if err != nil {
			return false, err
		}
		if l == nil {
			l = DocList{}
		}
		if key == keyChunks {
			d.Chunks = l
		} else {
			d.Matches = l
		}
	case keyScores:
		c, ok := n.Content.(*docarraypb.NodeProto_Dict)
		if !ok || n.DocarrayType != nil || len(c.Dict.GetData()) == 0 {
			return false, nil
		}
		scores := make(map[string]NamedScore, len(c.Dict.GetData()))
		for name, sn := range c.Dict.GetData() {
			s, ok := scoreFromNode(sn)
			if !ok {
				return false, nil // not NamedScore-shaped: keep it verbatim
			}
			scores[name] = s
		}
		d.Scores = scores
	default:
		return false, nil
	}
	return true, nil
}

// scoreFromNode reads {"value": float, "op_name"?: str, ...}; it reports
// false for any other shape so that such scores are kept verbatim.
func scoreFromNode(n *docarraypb.NodeProto) (NamedScore, bool) {
	dict, ok := n.GetContent().(*docarraypb.NodeProto_Dict)
	if !ok || n.DocarrayType != nil {
		return NamedScore{}, false
	}
	var s NamedScore
	seenValue := false
	for k, v := range dict.Dict.GetData() {
		if v.DocarrayType != nil {
			return NamedScore{}, false
		}
		switch k {
		case "value":
			f, ok := v.GetContent().(*docarraypb.NodeProto_Float)
			if !ok {
				return NamedScore{}, false
			}
			s.Value, seenValue = f.Float, true
		case "op_name", "description", "ref_id":
			t, ok := v.GetContent().(*docarraypb.NodeProto_Text)
			if !ok || t.Text == "" {
				return NamedScore{}, false
			}
			switch k {
			case "op_name":
				s.OpName = t.Text
			case "description":
				s.Description = t.Text
			default:
				s.RefID = t.Text
			}
		default:
			return NamedScore{}, false
		}
	}
	return s, seenValue
}

func ndarrayFromProto(p *docarraypb.NdArrayProto) (*NdArray, error) {
	dense := p.GetDense()
	a := &NdArray{Dtype: dense.GetDtype(), Data: dense.GetBuffer(), Shape: make([]int, len(dense.GetShape()))}
	for i, s := range dense.GetShape() {
		a.Shape[i] = int(s)
	}
	if a.Data == nil {
		a.Data = []byte{}
	}
	if len(p.GetParameters().GetFields()) > 0 {
		a.Params = structToMap(p.GetParameters())
	}
	// Unknown dtypes (complex, big-endian, ...) pass through untouched; a
	// known dtype whose buffer does not fit its shape is corrupt.
	if _, known := dtypeSizes[a.Dtype]; known {
		if err := a.Validate(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// structToMap converts NdArrayProto.parameters to Go values. Unlike
// structpb's AsMap it keeps NaN and ±Inf as float64 (AsMap turns them into
// strings), so parameters pass through unchanged.
func structToMap(s *structpb.Struct) map[string]any {
	m := make(map[string]any, len(s.GetFields()))
	for k, v := range s.GetFields() {
		m[k] = structValue(v)
	}
	return m
}

func structValue(v *structpb.Value) any {
	switch k := v.GetKind().(type) {
	case *structpb.Value_NumberValue:
		return k.NumberValue
	case *structpb.Value_StringValue:
		return k.StringValue
	case *structpb.Value_BoolValue:
		return k.BoolValue
	case *structpb.Value_StructValue:
		return structToMap(k.StructValue)
	case *structpb.Value_ListValue:
		l := make([]any, len(k.ListValue.GetValues()))
		for i, e := range k.ListValue.GetValues() {
			l[i] = structValue(e)
		}
		return l
	}
	return nil // null, or no kind at all
}

func mapFromDict(d *docarraypb.DictOfAnyProto, depth int) (map[string]any, error) {
	m := make(map[string]any, len(d.GetData()))
	for k, n := range d.GetData() {
		v, err := valueFromNode(n, depth+1)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		m[k] = v
	}
	return m, nil
}

// valueFromNode decodes a value to the Go types listed on Document.Tags.
func valueFromNode(n *docarraypb.NodeProto, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("values nest deeper than %d levels", maxDepth)
	}
	switch c := n.GetContent().(type) {
	case nil:
		return nil, nil
	case *docarraypb.NodeProto_Text:
		return c.Text, nil
	case *docarraypb.NodeProto_Integer:
		return int64(c.Integer), nil
	case *docarraypb.NodeProto_Float:
		return c.Float, nil
	case *docarraypb.NodeProto_Boolean:
		return c.Boolean, nil
	case *docarraypb.NodeProto_Blob:
		if c.Blob == nil {
			return []byte{}, nil
		}
		return c.Blob, nil
	case *docarraypb.NodeProto_Ndarray:
		return ndarrayFromProto(c.Ndarray)
	case *docarraypb.NodeProto_Doc:
		return docFromProto(c.Doc, depth+1)
	case *docarraypb.NodeProto_DocArray:
		l, err := fromProtoList(c.DocArray, depth+1)
		if l == nil && err == nil {
			l = DocList{}
		}
		return l, err
	case *docarraypb.NodeProto_List:
		return listFromProto(c.List, depth)
	case *docarraypb.NodeProto_Set:
		l, err := listFromProto(c.Set, depth)
		return Set(l), err
	case *docarraypb.NodeProto_Tuple:
		l, err := listFromProto(c.Tuple, depth)
		return Tuple(l), err
	case *docarraypb.NodeProto_Dict:
		return mapFromDict(c.Dict, depth)
	}
	return nil, fmt.Errorf("unsupported node %T", n.GetContent())
}

func listFromProto(l *docarraypb.ListOfAnyProto, depth int) ([]any, error) {
	out := make([]any, len(l.GetData()))
	for i, n := range l.GetData() {
		v, err := valueFromNode(n, depth+1)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// AppendChecked appends the list to b as serialized DocListProto bytes
// (the docs_bytes form of a request), failing, naming the document and
// field, where ToProtoChecked or proto.Marshal would. Plain documents are
// written directly (see AppendListEntry): one pass, no DocProto.
func (l DocList) AppendChecked(b []byte) ([]byte, error) {
	for i, d := range l {
		if d != nil && d.plain() {
			// proto.Marshal's check of string fields, which the direct
			// path does not make.
			for _, f := range [...]struct{ name, v string }{{"id", d.ID}, {"text", d.Text}, {"url", d.URL}} {
				if !utf8.ValidString(f.v) {
					return b, fmt.Errorf("doc %d: %s: not valid UTF-8 (a string on the wire)", i, f.name)
				}
			}
		}
		var err error
		if b, err = d.AppendListEntry(b); err != nil {
			return b, fmt.Errorf("doc %d: %w", i, err)
		}
	}
	return b, nil
}

// Marshal encodes the list as serialized DocListProto bytes (the
// docs_bytes form of a request).
func (l DocList) Marshal() ([]byte, error) {
	return proto.Marshal(l.ToProto())
}

// Unmarshal decodes serialized DocListProto bytes. Plain documents are
// read straight from b (see AppendListEntry), the rest through DocProto.
func Unmarshal(b []byte) (DocList, error) {
	if l, ok := unmarshalDirect(b); ok {
		return l, nil
	}
	var p docarraypb.DocListProto
	if err := proto.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode DocListProto: %w", err)
	}
	return FromProto(&p)
}
