package docarray_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/types/known/structpb"
)

type review struct {
	ID    string  `doc:"id"`
	Text  string  `doc:"text"`
	Stars int     `doc:"stars"`
	Score float64 `doc:"score,omitempty"`
}

type common struct {
	Lang string // flattened: key "lang"
}

type product struct {
	common
	ID        string                         `doc:"id"`
	Title     string                         `doc:"text,required" desc:"the product name"`
	Price     float64                        // "price"
	Stock     int                            `doc:"stock"`
	Small     int8                           `doc:"small"`
	Count     uint32                         `doc:"count"`
	OnSale    bool                           `doc:"on_sale"`
	Blob      []byte                         `doc:"blob"`
	Photo     []byte                         `doc:"photo"`
	Embedding []float32                      `doc:"embedding"`
	Vec       []float64                      `doc:"vec"`
	Tensor    *docarray.NdArray              `doc:"tensor"`
	Tags      map[string]any                 `doc:"tags"`
	Labels    map[string]string              `doc:"labels"`
	Reviews   []review                       `doc:"chunks"`
	Best      *review                        `doc:"best"`
	Matches   docarray.DocList               `doc:"matches"`
	Scores    map[string]docarray.NamedScore `doc:"scores"`
	Sizes     []string                       `doc:"sizes"`
	Discount  *float64                       `doc:"discount"`
	Any       any                            `doc:"any"`
	ImageURL  string                         // "image_url"
	Skipped   string                         `doc:"-"`
	secret    string
}

func sampleProduct() product {
	d := 0.25
	return product{
		common:    common{Lang: "en"},
		ID:        "p1",
		Title:     "kettle",
		Price:     19.5,
		Stock:     -3,
		Small:     -8,
		Count:     7,
		OnSale:    true,
		Blob:      []byte{1, 2, 3},
		Photo:     []byte("jpeg"),
		Embedding: []float32{0.5, -1, 2},
		Vec:       []float64{1.25, 2.5},
		Tensor:    docarray.NewInt64([]int64{1, 2, 3, 4}, 2, 2),
		Tags:      map[string]any{"color": "red", "n": int64(2)},
		Labels:    map[string]string{"brand": "acme"},
		Reviews:   []review{{ID: "r1", Text: "great", Stars: 5}, {ID: "r2", Text: "meh", Stars: 2, Score: 0.5}},
		Best:      &review{ID: "r1", Text: "great", Stars: 5},
		Matches:   docarray.DocList{{ID: "m1", Text: "other kettle"}},
		Scores:    map[string]docarray.NamedScore{"cosine": {Value: 0.75, OpName: "cosine"}},
		Sizes:     []string{"s", "m"},
		Discount:  &d,
		Any:       []any{"x", int64(1)},
		ImageURL:  "http://example.com/k.jpg",
	}
}

func TestTypedRoundTripThroughTheWire(t *testing.T) {
	in := sampleProduct()
	doc, err := docarray.Encode(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Legacy keys land in the Document's own fields.
	if doc.ID != "p1" || doc.Text != "kettle" || doc.Embedding == nil || doc.Embedding.Dtype != "<f4" || len(doc.Chunks) != 2 || doc.Tags["color"] != "red" {
		t.Fatalf("legacy fields not set: %+v", doc)
	}
	if _, ok := doc.Extra["price"]; !ok {
		t.Fatalf("price should be an extra key: %v", doc.Extra)
	}
	// Through protobuf bytes and back, as a request travels.
	b, err := docarray.DocList{doc}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wire, err := docarray.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := docarray.Decode[product](wire[0])
	if err != nil {
		t.Fatal(err)
	}
	in.Skipped, in.secret = "", ""
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", out, in)
	}
}

func TestTypedDecodeErrorsNameDocAndField(t *testing.T) {
	type vec struct {
		Embedding []float32 `doc:"embedding"`
	}
	// "embedding" as text: the wire decoder keeps odd-shaped legacy values.
	odd, err := docarray.DocFromProto(&docarraypb.DocProto{Data: map[string]*docarraypb.NodeProto{
		"id":        {Content: &docarraypb.NodeProto_Text{Text: "x"}},
		"embedding": {Content: &docarraypb.NodeProto_Text{Text: "not a vector"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	docs := docarray.DocList{docarray.New("a"), docarray.New("b"), docarray.New("c"), odd}
	_, err = docarray.DecodeList[vec](docs)
	want := `doc 3 (id x): field "embedding" (Embedding []float32): want an ndarray or a list of numbers, got text`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}

	_, err = docarray.Decode[product](&docarray.Document{ID: "p"})
	if err == nil || !strings.Contains(err.Error(), `field "text" (Title string): required, but missing`) {
		t.Errorf("missing required field: %v", err)
	}

	bad := &docarray.Document{Text: "t"}
	if err := bad.SetField("stock", 1.5); err != nil {
		t.Fatal(err)
	}
	_, err = docarray.Decode[product](bad)
	if err == nil || !strings.Contains(err.Error(), `field "stock" (Stock int): want an integer, got float 1.5`) {
		t.Errorf("fractional integer: %v", err)
	}

	big := &docarray.Document{Text: "t"}
	_ = big.SetField("small", 300)
	if _, err := docarray.Decode[product](big); err == nil || !strings.Contains(err.Error(), "300 does not fit int8") {
		t.Errorf("overflow: %v", err)
	}

	nested := &docarray.Document{Text: "t", Chunks: docarray.DocList{{ID: "r1"}, {ID: "r2"}}}
	_ = nested.Chunks[1].SetField("stars", "five")
	_, err = docarray.Decode[product](nested)
	if err == nil || !strings.Contains(err.Error(), `field "chunks" (Reviews []docarray_test.review): doc 1 (id r2): field "stars" (Stars int): want an integer, got text`) {
		t.Errorf("nested error: %v", err)
	}
}

func TestTypedJSONInput(t *testing.T) {
	// The HTTP gateway's JSON: unknown keys arrive as plain values.
	var l docarray.DocList
	if err := json.Unmarshal([]byte(`[{"id": "j", "text": "t", "vec": [1, 2.5], "photo": "anBlZw==", "stock": 4, "best": {"text": "ok", "stars": 3}}]`), &l); err != nil {
		t.Fatal(err)
	}
	p, err := docarray.Decode[product](l[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Vec, []float64{1, 2.5}) || string(p.Photo) != "jpeg" || p.Stock != 4 || p.Best == nil || p.Best.Stars != 3 {
		t.Errorf("decoded %+v", p)
	}
}

func TestTypedEncodeMergesOntoBase(t *testing.T) {
	type embedded struct {
		Embedding []float32 `doc:"embedding,omitempty"`
		Note      string    `doc:"note"`
		Tags      map[string]any
	}
	base := &docarray.Document{ID: "b", Text: "keep me", Tags: map[string]any{"old": true}, Embedding: docarray.NewFloat32([]float32{9})}
	_ = base.SetField("upstream", "also kept")
	_ = base.SetField("note", "replaced")

	d, err := docarray.Encode(embedded{Note: "new"}, base)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "b" || d.Text != "keep me" {
		t.Errorf("undeclared keys must survive: %+v", d)
	}
	if v, _ := d.Field("upstream"); v != "also kept" {
		t.Errorf("extra key lost: %v", d.Extra)
	}
	if v, _ := d.Field("note"); v != "new" {
		t.Errorf("declared key not replaced: %v", v)
	}
	if d.Embedding == nil || d.Embedding.Len() != 1 {
		t.Errorf("omitempty zero must leave the base value: %+v", d.Embedding)
	}
	if d.Tags != nil {
		t.Errorf("nil map without omitempty removes the key: %v", d.Tags)
	}
	if base.Tags == nil || base.Text != "keep me" {
		t.Error("base was modified")
	}
	if v, _ := base.Field("note"); v != "replaced" {
		t.Error("base extra was modified")
	}

	fresh, err := docarray.Encode(embedded{Note: "x"}, nil)
	if err != nil || len(fresh.ID) != 32 {
		t.Errorf("a new document gets a fresh id: %v %q", err, fresh.ID)
	}
}

func TestTypedListMergeByIDAndPosition(t *testing.T) {
	type noID struct {
		Stars int `doc:"stars"`
	}
	base := docarray.DocList{{ID: "a", Text: "A"}, {ID: "b", Text: "B"}}
	out, err := docarray.EncodeList([]noID{{1}, {2}}, base)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].ID != "a" || out[0].Text != "A" || out[1].ID != "b" || out[1].Text != "B" {
		t.Errorf("positional merge: %v %v", out.IDs(), out.Texts())
	}
	if v, _ := out[1].Field("stars"); v != int64(2) {
		t.Errorf("stars = %v", v)
	}

	// With ids, elements find their base whatever the order and length.
	out, err = docarray.EncodeList([]review{{ID: "b", Stars: 4}, {ID: "new", Text: "N"}, {Stars: 1}}, base)
	if err != nil {
		t.Fatal(err)
	}
	// review declares text, so "b" gets an empty text: declared keys win.
	if out[0].ID != "b" || out[0].Text != "" {
		t.Errorf("merge by id: %+v", out[0])
	}
	if out[1].ID != "new" || out[1].Text != "N" {
		t.Errorf("unknown id is a new document: %+v", out[1])
	}
	if out[2].ID == "" || out[2].ID == "a" || out[2].ID == "b" {
		t.Errorf("no id and no positional base: fresh id, got %q", out[2].ID)
	}

	// Nil pointers keep the input document at their position.
	kept, err := docarray.EncodeList([]*noID{nil, {Stars: 3}}, base)
	if err != nil || kept[0] != base[0] || kept[1].ID != "b" {
		t.Errorf("nil element: %v %v", err, kept)
	}
	if _, err := docarray.EncodeList([]*noID{nil}, base); err == nil {
		t.Error("a nil element without a positional base must fail")
	}

	// Nested doc lists merge element by element too.
	type chunk struct {
		Embedding []float32 `doc:"embedding"`
	}
	type withChunks struct {
		Chunks []chunk `doc:"chunks"`
	}
	parent := &docarray.Document{ID: "p", Chunks: docarray.DocList{{ID: "c0", Text: "zero"}, {ID: "c1", Text: "one"}}}
	merged, err := docarray.Encode(withChunks{Chunks: []chunk{{[]float32{1}}, {[]float32{2}}}}, parent)
	if err != nil {
		t.Fatal(err)
	}
	if got := merged.Chunks.Texts(); !slices.Equal(got, []string{"zero", "one"}) || merged.Chunks[1].ID != "c1" || merged.Chunks[1].Embedding == nil {
		t.Errorf("nested merge: %v %v", merged.Chunks.IDs(), got)
	}
}

func TestTypedWholeDocument(t *testing.T) {
	type indexed struct {
		ID  string             `doc:"id,required"`
		Doc *docarray.Document `doc:"*"`
	}
	d := &docarray.Document{ID: "x", Text: "everything"}
	v, err := docarray.Decode[indexed](d)
	if err != nil || v.Doc != d || v.ID != "x" {
		t.Fatalf("whole doc: %v %+v", err, v)
	}
	out, err := docarray.Encode(indexed{Doc: &docarray.Document{ID: "y", Text: "replacement"}}, d)
	if err != nil || out.ID != "y" || out.Text != "replacement" {
		t.Errorf("the * field replaces the base: %v %+v", err, out)
	}
}

type node struct {
	Name     string `doc:"text"`
	Children []node `doc:"chunks"`
}

func TestTypedSchema(t *testing.T) {
	c, err := docarray.CodecOf[product]()
	if err != nil {
		t.Fatal(err)
	}
	s := c.Schema()
	if s["title"] != "product" || s["type"] != "object" {
		t.Errorf("schema head: %v", s)
	}
	props := s["properties"].(map[string]any)
	check := func(key, field, want string) {
		t.Helper()
		p, ok := props[key].(map[string]any)
		if !ok {
			t.Errorf("no property %q in %v", key, props)
			return
		}
		if got, _ := p[field].(string); got != want {
			t.Errorf("%s.%s = %q, want %q", key, field, got, want)
		}
	}
	check("text", "type", "string")
	check("text", "title", "Text")
	check("text", "description", "the product name")
	check("price", "type", "number")
	check("stock", "type", "integer")
	check("on_sale", "type", "boolean")
	check("embedding", "type", "array")
	check("embedding", "x-dtype", "<f4")
	check("embedding", "tensor/array shape", "not specified")
	check("chunks", "type", "array")
	check("labels", "type", "object")
	check("image_url", "title", "Image Url")
	check("lang", "type", "string")
	if items := props["chunks"].(map[string]any)["items"].(map[string]any); items["$ref"] != "#/definitions/review" {
		t.Errorf("chunks items: %v", items)
	}
	if best := props["best"].(map[string]any)["allOf"].([]any)[0].(map[string]any); best["$ref"] != "#/definitions/review" {
		t.Errorf("best: %v", best)
	}
	if req := s["required"].([]any); !slices.Equal(req, []any{"text"}) {
		t.Errorf("required = %v", req)
	}
	defs := s["definitions"].(map[string]any)
	if _, ok := defs["review"]; !ok {
		t.Errorf("definitions: %v", defs)
	}
	if _, ok := defs[docarray.LegacyName]; !ok {
		t.Errorf("matches (a DocList) should refer to the legacy document: %v", defs)
	}
	if _, skipped := props["-"]; skipped {
		t.Error("skipped field published")
	}
	if _, err := structpb.NewStruct(s); err != nil {
		t.Errorf("schema is not a valid protobuf Struct: %v", err)
	}

	// A recursive type never refers to itself: Jina's gateway would
	// follow the reference forever. The closing field is untyped.
	rc, err := docarray.CodecOf[*node]()
	if err != nil {
		t.Fatal(err)
	}
	rs := rc.Schema()
	if cyc := refCycle(rs); cyc != "" {
		t.Errorf("recursive schema refers to itself: %s in %v", cyc, rs)
	}
	if items := rs["properties"].(map[string]any)["chunks"].(map[string]any)["items"]; !reflect.DeepEqual(items, map[string]any{}) {
		t.Errorf("self-referencing chunks: items = %v, want {} (untyped)", items)
	}
	if _, ok := rs["properties"].(map[string]any)["id"]; !ok {
		t.Error("every typed document has an id")
	}
	// Mutual recursion (a → b → a) is cut too, wherever it is entered.
	for _, c := range []func() (*docarray.Codec, error){docarray.CodecOf[mutualA], docarray.CodecOf[mutualB], docarray.CodecOf[holder]} {
		mc, err := c()
		if err != nil {
			t.Fatal(err)
		}
		if cyc := refCycle(mc.Schema()); cyc != "" {
			t.Errorf("%s: schema has a reference cycle %s: %v", mc.Name(), cyc, mc.Schema())
		}
	}
	// The untyped document's schema is docarray's, with no reference at all.
	if cyc := refCycle(docarray.LegacySchema()); cyc != "" {
		t.Errorf("legacy schema has a cycle: %s", cyc)
	}
}

type mutualA struct {
	Name string    `doc:"text"`
	B    *mutualB  `doc:"b"`
	Bs   []mutualB `doc:"bs"`
}

type mutualB struct {
	Name string    `doc:"text"`
	A    *mutualA  `doc:"a"`
	As   []mutualA `doc:"as"`
}

type holder struct {
	A  mutualA `doc:"a"`
	B  mutualB `doc:"b"`
	Bs []node  `doc:"chunks"`
	M  *holder `doc:"self"`
}

// refCycle follows every "$ref" of a schema through its definitions, as
// Jina's _create_pydantic_model_from_schema does, and returns the first
// cycle it finds ("" when there is none).
func refCycle(schema map[string]any) string {
	defs, _ := schema["definitions"].(map[string]any)
	var refs func(v any, out *[]string)
	refs = func(v any, out *[]string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "definitions" {
					continue
				}
				if k == "$ref" {
					if s, ok := e.(string); ok {
						*out = append(*out, strings.TrimPrefix(s, "#/definitions/"))
					}
					continue
				}
				refs(e, out)
			}
		case []any:
			for _, e := range x {
				refs(e, out)
			}
		}
	}
	var visit func(name string, v any, path []string) string
	visit = func(name string, v any, path []string) string {
		if slices.Contains(path, name) {
			return strings.Join(append(path, name), " → ")
		}
		path = append(path, name)
		var out []string
		refs(v, &out)
		for _, r := range out {
			if c := visit(r, defs[r], path); c != "" {
				return c
			}
		}
		return ""
	}
	return visit("(top)", schema, nil)
}

func TestTypedRecursiveRoundTrip(t *testing.T) {
	tree := node{Name: "root", Children: []node{{Name: "a", Children: []node{{Name: "a1"}}}, {Name: "b"}}}
	d, err := docarray.Encode(tree, nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := docarray.Decode[node](d)
	if err != nil || !reflect.DeepEqual(back, tree) {
		t.Errorf("recursive round trip: %v %+v", err, back)
	}
}

func TestTypedInvalidTypes(t *testing.T) {
	for name, typ := range map[string]reflect.Type{
		"chan": reflect.TypeFor[struct{ C chan int }](),
		"dup": reflect.TypeFor[struct {
			A string `doc:"x"`
			B string `doc:"x"`
		}](),
		"option": reflect.TypeFor[struct {
			A string `doc:"a,bogus"`
		}](),
		"id type": reflect.TypeFor[struct {
			ID int `doc:"id"`
		}](),
		"whole type": reflect.TypeFor[struct {
			W string `doc:"*"`
		}](),
		"int keys":   reflect.TypeFor[struct{ M map[int]string }](),
		"not struct": reflect.TypeFor[string](),
		"ndarray":    reflect.TypeFor[struct{ A docarray.NdArray }](),
	} {
		if _, err := docarray.CodecFor(typ); err == nil {
			t.Errorf("%s: type %s accepted", name, typ)
		}
	}
}

func TestTypedCodecIsCached(t *testing.T) {
	a, err := docarray.CodecOf[review]()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := docarray.CodecOf[review]()
	if a != b {
		t.Error("codec built twice")
	}
}
