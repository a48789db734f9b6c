package wire

import (
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func withDocs(t *testing.T, r *jinapb.DataRequestProto, docs ...*docarray.Document) *jinapb.DataRequestProto {
	t.Helper()
	if err := SetDocs(r, docarray.DocList(docs)); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestShallowDoesNotChangeTheOriginal(t *testing.T) {
	in := withDocs(t, &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "r"}, Routes: []*jinapb.RouteProto{{Executor: "a"}}}, &docarray.Document{ID: "1"})
	before := proto.Clone(in)
	out := Shallow(in)
	out.Header = &jinapb.HeaderProto{RequestId: "other"}
	out.Routes = nil
	if err := SetDocs(out, docarray.DocList{{ID: "2"}}); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, before) {
		t.Fatalf("the original changed: %v", in)
	}
	if Shallow(&jinapb.DataRequestProto{}).Data != nil {
		t.Fatal("no data stays no data")
	}
}

func TestFailedKeepsTheRequest(t *testing.T) {
	in := withDocs(t, &jinapb.DataRequestProto{
		Header:     &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String("/x"), TargetExecutor: proto.String("t"), Timeout: proto.Uint32(5)},
		Parameters: &structpb.Struct{Fields: map[string]*structpb.Value{"k": structpb.NewStringValue("v")}},
	}, &docarray.Document{ID: "1"})
	before := proto.Clone(in)
	st := &jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Description: "boom"}
	out := Failed(in, st)
	want := proto.Clone(in).(*jinapb.DataRequestProto)
	want.Header.Status = st
	if !proto.Equal(out, want) {
		t.Fatalf("Failed = %v, want %v", out, want)
	}
	if !proto.Equal(in, before) {
		t.Fatal("the request changed")
	}
	if h := Failed(&jinapb.DataRequestProto{}, st).GetHeader(); h.GetStatus() != st || h.GetRequestId() != "" {
		t.Fatalf("a request without header: %v", h)
	}
}

func TestMerge(t *testing.T) {
	shared := &jinapb.RouteProto{Executor: "gateway"}
	results := func(name string) *structpb.Struct {
		return &structpb.Struct{Fields: map[string]*structpb.Value{ResultsKey: structpb.NewStructValue(&structpb.Struct{
			Fields: map[string]*structpb.Value{name: structpb.NewNumberValue(1)}})}}
	}
	a := withDocs(t, &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "a"}, Parameters: results("x"),
		Routes: []*jinapb.RouteProto{shared, {Executor: "x"}}}, &docarray.Document{ID: "1", Text: "from a"}, &docarray.Document{ID: "2"})
	b := withDocs(t, &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{RequestId: "b"}, Parameters: results("y"),
		Routes: []*jinapb.RouteProto{shared, {Executor: "y"}}}, &docarray.Document{ID: "1", Text: "from b"}, &docarray.Document{ID: "3"})
	base := &structpb.Struct{Fields: map[string]*structpb.Value{"k": structpb.NewStringValue("v")}}
	out, err := Merge(base, []*jinapb.DataRequestProto{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if out.GetHeader().GetRequestId() != "a" {
		t.Fatalf("header %v, want the first part's", out.GetHeader())
	}
	docs, err := Docs(out)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	if !slices.Equal(ids, []string{"1", "2", "3"}) || docs[0].Text != "from a" {
		t.Fatalf("documents %v (%q), want 1 2 3 reduced by id, the first part winning", ids, docs[0].Text)
	}
	var execs []string
	for _, r := range out.GetRoutes() {
		execs = append(execs, r.GetExecutor())
	}
	if !slices.Equal(execs, []string{"gateway", "x", "y"}) {
		t.Fatalf("routes %v", execs)
	}
	p := out.GetParameters().AsMap()
	res, _ := p[ResultsKey].(map[string]any)
	if p["k"] != "v" || len(res) != 2 || res["x"] == nil || res["y"] == nil {
		t.Fatalf("parameters %v, want base plus the results of both", p)
	}
	if len(base.Fields) != 1 {
		t.Fatal("base changed")
	}
	if one, _ := Merge(base, []*jinapb.DataRequestProto{a}); one != a {
		t.Fatal("one part is returned as it is")
	}
	bad := &jinapb.DataRequestProto{Data: &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: []byte{0xff}}}}
	if _, err := Merge(base, []*jinapb.DataRequestProto{a, bad}); err == nil || !strings.Contains(err.Error(), "part 1") {
		t.Fatalf("undecodable part: %v", err)
	}
}

func TestSetDocsKeepsTheForm(t *testing.T) {
	r := &jinapb.DataRequestProto{Data: &jinapb.DataRequestProto_DataContentProto{Documents: &jinapb.DataRequestProto_DataContentProto_DocsBytes{}}}
	withDocs(t, r, &docarray.Document{ID: "1"})
	if _, ok := r.GetData().GetDocuments().(*jinapb.DataRequestProto_DataContentProto_DocsBytes); !ok {
		t.Fatalf("docs_bytes became %T", r.GetData().GetDocuments())
	}
	if docs, err := Docs(r); err != nil || len(docs) != 1 || docs[0].ID != "1" {
		t.Fatalf("Docs = %v, %v", docs, err)
	}
	if docs, err := Docs(&jinapb.DataRequestProto{}); err != nil || docs == nil || len(docs) != 0 {
		t.Fatalf("no data: %v, %v", docs, err)
	}
}
