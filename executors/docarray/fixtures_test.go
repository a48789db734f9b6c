package docarray

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/proto"
)

// fixtureDir holds what real docarray 0.40.2 wrote: NAME.pb
// (to_protobuf().SerializeToString()), NAME.json (docarray's own JSON, when
// it can write one) and manifest.json with, per fixture, "expect": the
// value docarray held, in a neutral form ({"$str": ...}, {"$ndarray":
// {dtype, shape, hex}}, {"$doc": {...}}, ...). Regenerate with
// `source ../shared/interop/env.sh && $JINA_PY interop/fixtures/gen_docarray.py`.
const fixtureDir = "testdata/docarray"

type fixture struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"` // doc or doclist
	Class     string `json:"class"`
	JSON      bool   `json:"json"`
	JSONError string `json:"json_error"`
	Expect    any    `json:"expect"`
}

func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Docarray string    `json:"docarray"`
		Fixtures []fixture `json:"fixtures"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Docarray != "0.40.2" || len(m.Fixtures) == 0 {
		t.Fatalf("manifest: docarray %q, %d fixtures", m.Docarray, len(m.Fixtures))
	}
	return m.Fixtures
}

// decodeFixture reads NAME.pb as docarray wrote it.
func decodeFixture(t *testing.T, f fixture) (DocList, proto.Message) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, f.Name+".pb"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind == "doclist" {
		var p docarraypb.DocListProto
		if err := proto.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		l, err := FromProto(&p)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		return l, &p
	}
	var p docarraypb.DocProto
	if err := proto.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	d, err := DocFromProto(&p)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return DocList{d}, &p
}

// TestDocarrayFixturesDecode: every value docarray wrote decodes to what
// docarray held (same ids, texts, numbers with their int/float kind,
// tensors with their dtype, shape and bytes, containers with their kind).
func TestDocarrayFixturesDecode(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			l, _ := decodeFixture(t, f)
			var got any
			if f.Kind == "doclist" {
				got = neutral(l)
			} else {
				got = neutral(l[0])
			}
			if g, w := viaJSON(t, got), viaJSON(t, f.Expect); !reflect.DeepEqual(g, w) {
				gb, _ := json.MarshalIndent(g, "", " ")
				wb, _ := json.MarshalIndent(w, "", " ")
				t.Errorf("%s (%s) decoded as\n%s\nwant (what docarray held)\n%s", f.Name, f.Class, gb, wb)
			}
		})
	}
}

// TestDocarrayFixturesReencode: encoding what was decoded gives back the
// message docarray wrote (compared as protobuf messages: map order is not
// meaningful), minus the empty nodes docarray writes for unset
// LegacyDocument fields, which jig leaves out.
func TestDocarrayFixturesReencode(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			l, orig := decodeFixture(t, f)
			if f.Kind == "doclist" {
				want := proto.Clone(orig).(*docarraypb.DocListProto)
				for i, d := range want.Docs {
					want.Docs[i] = stripUnset(d)
				}
				if got := l.ToProto(); !proto.Equal(got, want) {
					t.Errorf("re-encoded list differs:\n got %v\nwant %v", got, want)
				}
			} else if got, want := l[0].ToProto(), stripUnset(orig.(*docarraypb.DocProto)); !proto.Equal(got, want) {
				t.Errorf("re-encoded doc differs:\n got %v\nwant %v", got, want)
			}
			// And through bytes (the docs_bytes form): same documents back.
			b, err := l.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffDocList("bytes", l, back); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestDocarrayFixturesJSON: docarray's JSON decodes to the same documents
// as its protobuf (ids, texts, tags, nesting; JSON has no dtypes, so
// tensors compare by value), and jig's JSON of them carries the same
// values docarray wrote.
func TestDocarrayFixturesJSON(t *testing.T) {
	n := 0
	for _, f := range loadFixtures(t) {
		if !f.JSON {
			if f.JSONError == "" {
				t.Errorf("%s: no JSON and no reason", f.Name)
			}
			continue
		}
		n++
		t.Run(f.Name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(fixtureDir, f.Name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			fromPB, _ := decodeFixture(t, f)
			var fromJSON DocList
			if f.Kind == "doclist" {
				err = json.Unmarshal(raw, &fromJSON)
			} else {
				var d Document
				err = json.Unmarshal(raw, &d)
				fromJSON = DocList{&d}
			}
			if err != nil {
				t.Fatalf("decode docarray's JSON: %v", err)
			}
			if g, w := viaJSON(t, jsonNeutral(neutral(fromJSON))), viaJSON(t, jsonNeutral(neutral(fromPB))); !reflect.DeepEqual(g, w) {
				gb, _ := json.MarshalIndent(g, "", " ")
				wb, _ := json.MarshalIndent(w, "", " ")
				t.Errorf("from JSON\n%s\nfrom protobuf\n%s", gb, wb)
			}
			var out []byte
			if f.Kind == "doclist" {
				out, err = json.Marshal(fromJSON)
			} else {
				out, err = json.Marshal(fromJSON[0])
			}
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(out, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &w); err != nil {
				t.Fatal(err)
			}
			if g, w := dropUnset(g), dropUnset(w); !reflect.DeepEqual(g, w) {
				gb, _ := json.MarshalIndent(g, "", " ")
				wb, _ := json.MarshalIndent(w, "", " ")
				t.Errorf("jig's JSON\n%s\ndocarray's JSON\n%s", gb, wb)
			}
		})
	}
	if n == 0 {
		t.Fatal("no JSON fixture")
	}
}

// neutral is the generator's neutral form of a Go value.
func neutral(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case *Document:
		return map[string]any{"$doc": docFields(x)}
	case DocList:
		out := make([]any, len(x))
		for i, d := range x {
			out[i] = neutral(d)
		}
		return map[string]any{"$doclist": out}
	case *NdArray:
		shape := x.Shape
		if shape == nil {
			shape = []int{}
		}
		return map[string]any{"$ndarray": map[string]any{"dtype": x.Dtype, "shape": shape, "hex": hex.EncodeToString(x.Data)}}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = neutral(e)
		}
		return map[string]any{"$dict": out}
	case Tuple:
		return map[string]any{"$tuple": neutralList(x)}
	case Set:
		return map[string]any{"$set": neutralList(x)}
	case []any:
		return map[string]any{"$list": neutralList(x)}
	case []byte:
		return map[string]any{"$bytes": hex.EncodeToString(x)}
	case bool:
		return map[string]any{"$bool": x}
	case int64:
		return map[string]any{"$int": x}
	case int:
		return map[string]any{"$int": x}
	case float64:
		return map[string]any{"$float": x}
	case string:
		return map[string]any{"$str": x}
	}
	return map[string]any{"$unknown": reflect.TypeOf(v).String()}
}

func neutralList(items []any) []any {
	out := make([]any, len(items))
	for i, e := range items {
		out[i] = neutral(e)
	}
	return out
}

// docFields lists a document's set fields as docarray does (fields that
// are None are left out).
func docFields(d *Document) map[string]any {
	m := map[string]any{}
	put := func(k string, v any) { m[k] = neutral(v) }
	if d.ID != "" {
		put(keyID, d.ID)
	}
	if d.Text != "" {
		put(keyText, d.Text)
	}
	if d.Blob != nil {
		put(keyBlob, d.Blob)
	}
	if d.URL != "" {
		put(keyURL, d.URL)
	}
	if d.Tensor != nil {
		put(keyTensor, d.Tensor)
	}
	if d.Embedding != nil {
		put(keyEmbedding, d.Embedding)
	}
	if d.Tags != nil {
		put(keyTags, d.Tags)
	}
	if d.Chunks != nil {
		put(keyChunks, d.Chunks)
	}
	if d.Matches != nil {
		put(keyMatches, d.Matches)
	}
	if d.Scores != nil {
		s := map[string]any{}
		for name, sc := range d.Scores {
			e := map[string]any{"value": sc.Value}
			for k, v := range map[string]string{"op_name": sc.OpName, "description": sc.Description, "ref_id": sc.RefID} {
				if v != "" {
					e[k] = v
				}
			}
			s[name] = e
		}
		put(keyScores, s)
	}
	for k, n := range d.Extra {
		v, err := valueFromNode(n, 0)
		if err != nil {
			m[k] = map[string]any{"$error": err.Error()}
			continue
		}
		if v != nil {
			put(k, v)
		}
	}
	return m
}

// jsonNeutral is what survives JSON: tensors become their values (as
// float64, whatever the dtype), tuples and sets become lists, and ints
// and floats are numbers.
func jsonNeutral(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, e := range x {
				switch k {
				case "$ndarray":
					a := e.(map[string]any)
					data, _ := hex.DecodeString(a["hex"].(string))
					arr := &NdArray{Dtype: a["dtype"].(string), Shape: a["shape"].([]int), Data: data}
					vals, err := arr.Float64s()
					if err != nil {
						return map[string]any{"$error": err.Error()}
					}
					return map[string]any{"$values": vals}
				case "$tuple", "$set", "$list":
					// A nested list of numbers may have been a tensor:
					// JSON cannot tell them apart.
					if vals, ok := neutralNumbers(e); ok && len(vals) > 0 {
						return map[string]any{"$values": vals}
					}
					return map[string]any{"$list": jsonNeutral(e)}
				case "$bytes":
					// pydantic writes bytes as their UTF-8 text.
					b, _ := hex.DecodeString(e.(string))
					return map[string]any{"$str": string(b)}
				case "$int", "$float":
					return map[string]any{"$number": e}
				case "$doc", "$dict":
					// JSON cannot tell a nested document from a dict,
					// nor an unset field (null) from an absent one.
					out := map[string]any{}
					for k, f := range e.(map[string]any) {
						if f != nil {
							out[k] = f
						}
					}
					return map[string]any{"$dict": jsonNeutral(out)}
				case "$doclist":
					return map[string]any{"$list": jsonNeutral(e)}
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if k == keyTags && reflect.DeepEqual(e, map[string]any{"$dict": map[string]any{}}) {
				continue // docarray's JSON and protobuf both carry tags={}; jig's JSON reader drops it
			}
			out[k] = jsonNeutral(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonNeutral(e)
		}
		return out
	}
	return v
}

// neutralNumbers flattens a neutral list (of lists) of numbers.
func neutralNumbers(v any) ([]float64, bool) {
	items, ok := v.([]any)
	if !ok {
		return nil, false
	}
	var out []float64
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok || len(m) != 1 {
			return nil, false
		}
		for k, e := range m {
			switch k {
			case "$int", "$float":
				f, ok := toFloat(e)
				if !ok {
					return nil, false
				}
				out = append(out, f)
			case "$list", "$tuple":
				sub, ok := neutralNumbers(e)
				if !ok {
					return nil, false
				}
				out = append(out, sub...)
			default:
				return nil, false
			}
		}
	}
	return out, true
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// dropUnset removes what docarray writes for unset fields (null, and the
// empty tags dict) from a decoded JSON value, recursively.
func dropUnset(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e := x[k]
			if e == nil {
				continue
			}
			if m, ok := e.(map[string]any); ok && len(m) == 0 && k == keyTags {
				continue
			}
			out[k] = dropUnset(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = dropUnset(e)
		}
		return out
	}
	return v
}

// viaJSON normalises a value through JSON (numbers become float64), so Go
// values and the manifest's compare with DeepEqual.
func viaJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
