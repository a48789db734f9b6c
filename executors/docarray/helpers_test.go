package docarray

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// Property tests draw their inputs from a seeded generator so that runs are
// reproducible. Iteration i uses seed *seedFlag+i; a failure prints that
// seed, and `go test -run TestX -seed N -iterations 1` replays it alone.
var (
	seedFlag  = flag.Uint64("seed", 1, "first seed of the property tests")
	itersFlag = flag.Int("iterations", 300, "cases per property test")
)

// forEachSeed runs f once per seed, as a subtest named after the seed so the
// failing case is obvious and can be replayed.
func forEachSeed(t *testing.T, f func(t *testing.T, g *gen)) {
	t.Helper()
	n := *itersFlag
	if testing.Short() {
		n = min(n, 50)
	}
	for i := range n {
		seed := *seedFlag + uint64(i)
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			f(t, newGen(seed))
		})
		if !ok {
			t.Logf("replay with: go test -run '%s' -seed %d -iterations 1 ./executors/docarray/", t.Name(), seed)
			return // one reproducer is enough; the rest would repeat it
		}
	}
}

// ---------------------------------------------------------------------------
// Equality

// diffDocList returns "" when a and b hold equal documents, else a
// description of the first difference prefixed with its path. The nil-ness
// of the lists themselves is the caller's business (it matters for
// Chunks/Matches, where nil means "not set", but not inside tags, where the
// wire has a single empty doc list).
func diffDocList(path string, a, b DocList) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%s: %d docs vs %d", path, len(a), len(b))
	}
	for i := range a {
		if d := diffDoc(fmt.Sprintf("%s[%d]", path, i), a[i], b[i]); d != "" {
			return d
		}
	}
	return ""
}

// diffDoc compares two documents field by field.
//
// Where nil and empty are treated alike, it is because the implementation
// encodes them alike on purpose: Tags, Scores and Extra are written only
// when non-empty ("zero values mean not set"). Blob, Chunks and Matches
// distinguish nil (not set) from empty, and so does this helper.
func diffDoc(path string, a, b *Document) string {
	if a == nil || b == nil {
		if a == nil && b == nil {
			return ""
		}
		return fmt.Sprintf("%s: nil vs non-nil document (%v, %v)", path, a == nil, b == nil)
	}
	switch {
	case a.ID != b.ID:
		return fmt.Sprintf("%s.ID: %q vs %q", path, a.ID, b.ID)
	case a.Text != b.Text:
		return fmt.Sprintf("%s.Text: %q vs %q", path, a.Text, b.Text)
	case a.URL != b.URL:
		return fmt.Sprintf("%s.URL: %q vs %q", path, a.URL, b.URL)
	case (a.Blob == nil) != (b.Blob == nil) || !bytes.Equal(a.Blob, b.Blob):
		return fmt.Sprintf("%s.Blob: %v (nil=%v) vs %v (nil=%v)", path, a.Blob, a.Blob == nil, b.Blob, b.Blob == nil)
	}
	if d := diffArray(path+".Tensor", a.Tensor, b.Tensor); d != "" {
		return d
	}
	if d := diffArray(path+".Embedding", a.Embedding, b.Embedding); d != "" {
		return d
	}
	if d := diffMap(path+".Tags", a.Tags, b.Tags); d != "" {
		return d
	}
	for _, f := range []struct {
		name string
		a, b DocList
	}{{"Chunks", a.Chunks, b.Chunks}, {"Matches", a.Matches, b.Matches}} {
		if (f.a == nil) != (f.b == nil) {
			return fmt.Sprintf("%s.%s: nil=%v vs nil=%v", path, f.name, f.a == nil, f.b == nil)
		}
		if d := diffDocList(path+"."+f.name, f.a, f.b); d != "" {
			return d
		}
	}
	if len(a.Scores) != len(b.Scores) {
		return fmt.Sprintf("%s.Scores: %v vs %v", path, a.Scores, b.Scores)
	}
	for k, sa := range a.Scores {
		sb, ok := b.Scores[k]
		if !ok || math.Float64bits(sa.Value) != math.Float64bits(sb.Value) ||
			sa.OpName != sb.OpName || sa.Description != sb.Description || sa.RefID != sb.RefID {
			return fmt.Sprintf("%s.Scores[%q]: %+v vs %+v (present=%v)", path, k, sa, sb, ok)
		}
	}
	if len(a.Extra) != len(b.Extra) {
		return fmt.Sprintf("%s.Extra: keys %v vs %v", path, sortedKeys(a.Extra), sortedKeys(b.Extra))
	}
	for k, na := range a.Extra {
		nb, ok := b.Extra[k]
		if !ok || !proto.Equal(na, nb) {
			return fmt.Sprintf("%s.Extra[%q]: %v vs %v (present=%v)", path, k, na, nb, ok)
		}
	}
	return ""
}

// diffArray compares arrays. Shape and Data compare by content: a nil and
// an empty shape both mean a scalar, a nil and an empty buffer both hold no
// element, and the wire cannot tell them apart.
func diffArray(path string, a, b *NdArray) string {
	if a == nil || b == nil {
		if a == nil && b == nil {
			return ""
		}
		return fmt.Sprintf("%s: nil=%v vs nil=%v", path, a == nil, b == nil)
	}
	switch {
	case a.Dtype != b.Dtype:
		return fmt.Sprintf("%s.Dtype: %q vs %q", path, a.Dtype, b.Dtype)
	case !slices.Equal(a.Shape, b.Shape):
		return fmt.Sprintf("%s.Shape: %v vs %v", path, a.Shape, b.Shape)
	case !bytes.Equal(a.Data, b.Data):
		return fmt.Sprintf("%s.Data (%s): %x vs %x", path, a.Dtype, a.Data, b.Data)
	}
	return diffMap(path+".Params", a.Params, b.Params)
}

// diffMap compares string-keyed maps of tag values; nil and empty are equal
// (see diffDoc and diffValue).
func diffMap(path string, a, b map[string]any) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%s: keys %v vs %v", path, sortedKeys(a), sortedKeys(b))
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok {
			return fmt.Sprintf("%s: key %q missing on the right", path, k)
		}
		if d := diffValue(fmt.Sprintf("%s[%q]", path, k), va, vb); d != "" {
			return d
		}
	}
	return ""
}

// diffValue compares two tag values. Dynamic types must match exactly
// (int64 is not float64, Set is not Tuple is not []any). Floats compare by
// bits, so NaN equals the same NaN and -0 differs from +0: both wire forms
// keep the bits. Containers compare by content, because the wire has no nil
// list, dict or blob distinct from an empty one.
func diffValue(path string, a, b any) string {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return fmt.Sprintf("%s: %T(%v) vs %T(%v)", path, a, a, b, b)
	}
	switch x := a.(type) {
	case nil:
		return ""
	case float64:
		if math.Float64bits(x) != math.Float64bits(b.(float64)) {
			return fmt.Sprintf("%s: %v (%#x) vs %v (%#x)", path, x, math.Float64bits(x), b, math.Float64bits(b.(float64)))
		}
	case []byte:
		if !bytes.Equal(x, b.([]byte)) {
			return fmt.Sprintf("%s: %x vs %x", path, x, b)
		}
	case []any:
		return diffSlice(path, x, b.([]any))
	case Set:
		return diffSlice(path, x, b.(Set))
	case Tuple:
		return diffSlice(path, x, b.(Tuple))
	case map[string]any:
		return diffMap(path, x, b.(map[string]any))
	case *NdArray:
		return diffArray(path, x, b.(*NdArray))
	case *Document:
		return diffDoc(path, x, b.(*Document))
	case DocList:
		return diffDocList(path, x, b.(DocList))
	default:
		if !reflect.DeepEqual(a, b) {
			return fmt.Sprintf("%s: %#v vs %#v", path, a, b)
		}
	}
	return ""
}

func diffSlice(path string, a, b []any) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%s: %d items vs %d", path, len(a), len(b))
	}
	for i := range a {
		if d := diffValue(fmt.Sprintf("%s[%d]", path, i), a[i], b[i]); d != "" {
			return d
		}
	}
	return ""
}

// TestDiffHelpers checks that the comparison helpers do see the differences
// the property tests rely on them to see.
func TestDiffHelpers(t *testing.T) {
	nan := math.NaN()
	base := func() *Document {
		return &Document{ID: "a", Blob: []byte{}, Chunks: DocList{}, Tensor: NewFloat32([]float32{1}),
			Tags:   map[string]any{"f": nan, "i": int64(1), "s": Set{int64(1)}},
			Scores: map[string]NamedScore{"x": {Value: nan}},
			Extra:  map[string]*docarraypb.NodeProto{"e": {Content: &docarraypb.NodeProto_Float{Float: nan}}}}
	}
	if d := diffDoc("d", base(), base()); d != "" {
		t.Fatalf("equal documents differ: %s", d)
	}
	for name, mutate := range map[string]func(d *Document){
		"blob nil":       func(d *Document) { d.Blob = nil },
		"chunks nil":     func(d *Document) { d.Chunks = nil },
		"int vs float":   func(d *Document) { d.Tags["i"] = float64(1) },
		"set vs tuple":   func(d *Document) { d.Tags["s"] = Tuple{int64(1)} },
		"negative zero":  func(d *Document) { d.Tags["f"] = math.Copysign(0, -1) },
		"tensor data":    func(d *Document) { d.Tensor.Data[0]++ },
		"tensor dtype":   func(d *Document) { d.Tensor.Dtype = "<i4" },
		"score value":    func(d *Document) { d.Scores["x"] = NamedScore{Value: 1} },
		"extra type":     func(d *Document) { d.Extra["e"].DocarrayType = &docarraypb.NodeProto_Type{Type: "t"} },
		"extra missing":  func(d *Document) { d.Extra = nil },
		"tensor missing": func(d *Document) { d.Tensor = nil },
	} {
		d := base()
		mutate(d)
		if diffDoc("d", base(), d) == "" {
			t.Errorf("%s: difference not detected", name)
		}
	}
}

// ---------------------------------------------------------------------------
// Random documents

// gen draws random documents. In JSON mode it draws only what the JSON form
// is meant to carry losslessly: JSON-native tag values (no []byte, Set,
// Tuple, *Document, DocList or *NdArray in tags), finite floats in tags,
// scores and params, non-empty IDs (a missing ID gets a fresh one), and
// Extra fields set from JSON-native values. Arrays stay unrestricted: every
// dtype, NaN and Inf must survive through the buffer form.
type gen struct {
	r    *rand.Rand
	json bool
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// maxDocDepth bounds the chunk/match/tag-doc nesting of generated
// documents: deep enough to exercise recursion, small enough to stay fast.
const maxDocDepth = 3

func (g *gen) oneIn(n int) bool { return g.r.IntN(n) == 0 }

// runes mixes ASCII, multi-byte UTF-8, JSON-escaped and control characters.
var runes = []rune("abcXYZ019 _-./\"\\\n\t\x00\x7féß日本🙂\u2028\ufffd")

// str returns a random valid UTF-8 string (the protobuf encoder rejects
// invalid UTF-8 in string fields, so none is generated).
func (g *gen) str() string {
	n := g.r.IntN(10)
	rs := make([]rune, n)
	for i := range rs {
		rs[i] = runes[g.r.IntN(len(runes))]
	}
	return string(rs)
}

// key returns a random map key that is not a LegacyDocument field name.
func (g *gen) key() string {
	for {
		if k := g.str(); !isLegacyKey(k) {
			return k
		}
	}
}

func (g *gen) bytes() []byte {
	b := make([]byte, g.r.IntN(12))
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

var specialFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 3, 0.1, -2.5, 1e21, 1e-7, 5e-324, -math.MaxFloat64,
	math.MaxFloat64, 1 << 53, math.NaN(), math.Inf(1), math.Inf(-1),
}

func (g *gen) float() float64 {
	for {
		var f float64
		if g.oneIn(2) {
			f = specialFloats[g.r.IntN(len(specialFloats))]
		} else {
			f = math.Float64frombits(g.r.Uint64())
		}
		if !g.json || (!math.IsNaN(f) && !math.IsInf(f, 0)) {
			return f
		}
	}
}

// int returns an int64; in protobuf mode it fits docarray's int32 integer,
// in JSON mode it may be any int64.
func (g *gen) int() int64 {
	special := []int64{0, 1, -1, math.MinInt32, math.MaxInt32}
	if g.json {
		special = append(special, math.MinInt64, math.MaxInt64, 1<<53+1)
	}
	if g.oneIn(2) {
		return special[g.r.IntN(len(special))]
	}
	if g.json {
		return int64(g.r.Uint64())
	}
	return int64(int32(g.r.Uint32()))
}

// knownDtypes lists dtypeSizes in a fixed order (map order is random).
func knownDtypes() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range dtypeSizes {
			if !yield(k) {
				return
			}
		}
	})
}

// unknownDtypes are numpy dtypes jig does not interpret; they must pass
// through untouched.
var unknownDtypes = []string{"<c8", "<c16", ">f4", "<U3", "|V4", "<M8[ns]", ""}

// array returns a random valid array: every known dtype with a buffer that
// fits a random shape (scalars and zero-sized dimensions included), or an
// unknown dtype with an arbitrary buffer.
func (g *gen) array() *NdArray {
	known := knownDtypes()
	a := &NdArray{}
	if g.oneIn(5) {
		a.Dtype = unknownDtypes[g.r.IntN(len(unknownDtypes))]
	} else {
		a.Dtype = known[g.r.IntN(len(known))]
	}
	rank := g.r.IntN(4)
	n := 1
	switch g.r.IntN(3) {
	case 0:
		a.Shape = nil // a scalar written the short way
	default:
		a.Shape = []int{}
	}
	for range rank {
		dim := g.r.IntN(4)
		a.Shape = append(a.Shape, dim)
		n *= dim
	}
	size, err := ItemSize(a.Dtype)
	if err != nil {
		size = 1 + g.r.IntN(3) // any buffer goes with an unknown dtype
	}
	a.Data = make([]byte, n*size)
	for i := range a.Data {
		a.Data[i] = byte(g.r.Uint32())
	}
	// Plant special floats (NaN, Inf, -0, subnormals) where they matter.
	if len(a.Data) > 0 && g.oneIn(2) {
		i := g.r.IntN(n)
		switch a.Dtype {
		case "<f4":
			specials := []uint32{0x7fc00000, 0x7f800000, 0xff800000, 0x80000000, 0x00000001, 0x7f7fffff}
			putUint(a.Data[4*i:], uint64(specials[g.r.IntN(len(specials))]), 4)
		case "<f8":
			putUint(a.Data[8*i:], math.Float64bits(specialFloats[g.r.IntN(len(specialFloats))]), 8)
		case "<f2":
			specials := []uint16{0x7e00, 0x7c00, 0xfc00, 0x8000, 0x0001, 0x3c00}
			putUint(a.Data[2*i:], uint64(specials[g.r.IntN(len(specials))]), 2)
		case "<u8":
			putUint(a.Data[8*i:], math.MaxUint64, 8)
		case "<i8":
			putUint(a.Data[8*i:], 1<<63, 8)
		}
	}
	if g.oneIn(4) {
		a.Params = g.params(0)
	}
	return a
}

// params returns NdArrayProto.parameters content: a google.protobuf.Struct,
// so JSON-like values with float64 numbers.
func (g *gen) params(depth int) map[string]any {
	m := map[string]any{}
	for range g.r.IntN(3) + 1 {
		m[g.key()] = g.paramValue(depth + 1)
	}
	return m
}

func (g *gen) paramValue(depth int) any {
	k := g.r.IntN(6)
	if depth > 2 {
		k = g.r.IntN(4)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return g.oneIn(2)
	case 2:
		return g.str()
	case 3:
		return g.float()
	case 4:
		l := make([]any, g.r.IntN(3))
		for i := range l {
			l[i] = g.paramValue(depth + 1)
		}
		return l
	default:
		return g.params(depth)
	}
}

// value returns a random tag value of one of the types listed on
// Document.Tags, in the normalised form decoding produces (int64 for
// integers, non-nil containers).
func (g *gen) value(depth int) any {
	kinds := 13
	if g.json {
		kinds = 8
	}
	if depth >= 4 {
		kinds = 6 // scalars only
	}
	switch g.r.IntN(kinds) {
	case 0:
		return nil
	case 1:
		return g.oneIn(2)
	case 2:
		return g.int()
	case 3:
		return g.float()
	case 4:
		return g.str()
	case 5:
		if g.json {
			return g.str()
		}
		return g.bytes()
	case 6:
		return g.list(depth)
	case 7:
		return g.tags(depth)
	case 8:
		return Set(g.list(depth))
	case 9:
		return Tuple(g.list(depth))
	case 10:
		return g.array()
	case 11:
		if depth >= maxDocDepth {
			return g.array()
		}
		return g.doc(depth + 1)
	default:
		if depth >= maxDocDepth {
			return DocList{}
		}
		return g.docList(depth+1, 3)
	}
}

func (g *gen) list(depth int) []any {
	l := make([]any, g.r.IntN(4))
	for i := range l {
		l[i] = g.value(depth + 1)
	}
	return l
}

func (g *gen) tags(depth int) map[string]any {
	m := make(map[string]any)
	for range g.r.IntN(4) {
		m[g.str()] = g.value(depth + 1)
	}
	return m
}

func (g *gen) docList(depth, max int) DocList {
	l := make(DocList, g.r.IntN(max+1))
	for i := range l {
		l[i] = g.doc(depth)
	}
	return l
}

// doc returns a random document; every field is set about half the time.
func (g *gen) doc(depth int) *Document {
	d := &Document{}
	if g.json || !g.oneIn(5) {
		// Never empty: JSON would invent an ID for it. Half the time in
		// docarray's 32-hex-digit form, drawn from the seed.
		d.ID = g.str() + "id"
		if g.oneIn(2) {
			d.ID = fmt.Sprintf("%016x%016x", g.r.Uint64(), g.r.Uint64())
		}
	}
	if g.oneIn(2) {
		d.Text = g.str()
	}
	if g.oneIn(3) {
		d.Blob = g.bytes() // may be empty but non-nil: set, with no bytes
	}
	if g.oneIn(3) {
		d.URL = "https://example.com/" + g.str()
	}
	if g.oneIn(2) {
		d.Tensor = g.array()
	}
	if g.oneIn(2) {
		d.Embedding = g.array()
	}
	if g.oneIn(2) {
		d.Tags = g.tags(depth)
	}
	if depth < maxDocDepth {
		if g.oneIn(3) {
			d.Chunks = g.docList(depth+1, 2)
		}
		if g.oneIn(3) {
			d.Matches = g.docList(depth+1, 2)
		}
	}
	if g.oneIn(2) {
		d.Scores = map[string]NamedScore{}
		for range g.r.IntN(3) + 1 {
			s := NamedScore{Value: g.float()}
			if g.oneIn(2) {
				s.OpName = g.str()
			}
			if g.oneIn(3) {
				s.Description = g.str()
			}
			if g.oneIn(3) {
				s.RefID = g.str()
			}
			d.Scores[g.str()] = s
		}
	}
	if g.oneIn(3) {
		for range g.r.IntN(3) + 1 {
			if g.json {
				if err := d.SetField(g.key(), g.value(depth+1)); err != nil {
					panic(err) // JSON-native values always encode
				}
				continue
			}
			if d.Extra == nil {
				d.Extra = map[string]*docarraypb.NodeProto{}
			}
			d.Extra[g.key()] = g.node(0)
		}
	}
	return d
}

// docarrayTypes are NodeProto.type strings: docarray's own class names,
// ones jig does not know, and the empty (but present) type.
var docarrayTypes = []string{"any_url", "id", "ndarray", "torch_tensor", "tensorflow_tensor", "image_url", "my.Custom", ""}

// node returns an arbitrary NodeProto, as another docarray schema could
// send in a field jig does not know.
func (g *gen) node(depth int) *docarraypb.NodeProto {
	n := &docarraypb.NodeProto{}
	if g.oneIn(3) {
		n.DocarrayType = &docarraypb.NodeProto_Type{Type: docarrayTypes[g.r.IntN(len(docarrayTypes))]}
	}
	kinds := 13
	if depth >= 3 {
		kinds = 6
	}
	list := func() *docarraypb.ListOfAnyProto {
		l := &docarraypb.ListOfAnyProto{}
		for range g.r.IntN(3) {
			l.Data = append(l.Data, g.node(depth+1))
		}
		return l
	}
	switch g.r.IntN(kinds) {
	case 0: // no content: a None
	case 1:
		n.Content = &docarraypb.NodeProto_Text{Text: g.str()}
	case 2:
		n.Content = &docarraypb.NodeProto_Integer{Integer: int32(g.int())}
	case 3:
		n.Content = &docarraypb.NodeProto_Float{Float: g.float()}
	case 4:
		n.Content = &docarraypb.NodeProto_Boolean{Boolean: g.oneIn(2)}
	case 5:
		n.Content = &docarraypb.NodeProto_Blob{Blob: g.bytes()}
	case 6:
		// Extra is opaque, so even an array that does not fit its shape
		// must come back as it was.
		nd := &docarraypb.NdArrayProto{Dense: &docarraypb.DenseNdArrayProto{Buffer: g.bytes(), Shape: []uint32{g.r.Uint32N(5)}, Dtype: "<f4"}}
		if g.oneIn(2) {
			s, err := structpb.NewStruct(g.params(0))
			if err != nil {
				panic(err)
			}
			nd.Parameters = s
		}
		n.Content = &docarraypb.NodeProto_Ndarray{Ndarray: nd}
	case 7:
		n.Content = &docarraypb.NodeProto_Doc{Doc: g.docProto(depth + 1)}
	case 8:
		l := &docarraypb.DocListProto{}
		for range g.r.IntN(3) {
			l.Docs = append(l.Docs, g.docProto(depth+1))
		}
		n.Content = &docarraypb.NodeProto_DocArray{DocArray: l}
	case 9:
		n.Content = &docarraypb.NodeProto_List{List: list()}
	case 10:
		n.Content = &docarraypb.NodeProto_Set{Set: list()}
	case 11:
		n.Content = &docarraypb.NodeProto_Tuple{Tuple: list()}
	default:
		d := &docarraypb.DictOfAnyProto{Data: map[string]*docarraypb.NodeProto{}}
		for range g.r.IntN(3) {
			d.Data[g.str()] = g.node(depth + 1)
		}
		n.Content = &docarraypb.NodeProto_Dict{Dict: d}
	}
	return n
}

// docProto returns a DocProto with arbitrary keys, legacy names included:
// inside an Extra node it is opaque data.
func (g *gen) docProto(depth int) *docarraypb.DocProto {
	p := &docarraypb.DocProto{Data: map[string]*docarraypb.NodeProto{}}
	for range g.r.IntN(3) {
		k := g.str()
		if g.oneIn(3) {
			k = keyText
		}
		p.Data[k] = g.node(depth + 1)
	}
	return p
}
