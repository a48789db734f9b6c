package request_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/tui/panes/request"
	"github.com/jig-dev/jig/tui/tuitest"
)

type listing struct {
	Title     string    `doc:"text,required" desc:"what is sold"`
	Price     float64   `doc:"price"`
	Embedding []float32 `doc:"embedding"`
	Seller    *seller   `doc:"seller"`
}

type seller struct {
	Name string `doc:"name"`
}

func listingFields(t *testing.T) []request.Field {
	t.Helper()
	c, err := docarray.CodecOf[listing]()
	if err != nil {
		t.Fatal(err)
	}
	return request.FieldsOf(c.Schema())
}

func TestFieldsOfATypedSchema(t *testing.T) {
	fs := listingFields(t)
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	// The id every typed document has is filled in by the composer.
	if !slices.Equal(names, []string{"embedding", "price", "seller", "text"}) {
		t.Fatalf("fields %v", names)
	}
	want := map[string]request.Field{
		"embedding": {Name: "embedding", Type: "array", Items: "number"},
		"price":     {Name: "price", Type: "number"},
		"seller":    {Name: "seller", Type: "object"},
		"text":      {Name: "text", Type: "string", Required: true, Description: "what is sold"},
	}
	for _, f := range fs {
		if f != want[f.Name] {
			t.Errorf("field %+v, want %+v", f, want[f.Name])
		}
	}
	if got := request.Template(fs); got != `{"embedding": [], "price": 0, "seller": {}, "text": ""}` {
		t.Errorf("Template = %s", got)
	}
	if got := request.Template([]request.Field{{Name: "id", Type: "string"}, {Name: "text", Type: "string"}}); got != `{"text": ""}` {
		t.Errorf("an optional id is left out of the template: %s", got)
	}
}

func TestComposerMarksRequiredFields(t *testing.T) {
	s := &tuitest.Sender{EndpointList: []request.Endpoint{{Name: "/search", Fields: listingFields(t)}}}
	m, _ := setup(t, s)
	v := strings.Join(strings.Fields(m.View()), " ")
	if !strings.Contains(v, "fields: embedding, price, seller, text*") || !strings.Contains(v, "* required") {
		t.Errorf("composer should offer the schema's fields, required ones marked:\n%s", m.View())
	}
	press(m, "ctrl+t", "esc")
	if !strings.Contains(m.Draft().Lines, `"text": ""`) || strings.Contains(m.Draft().Lines, `"id"`) {
		t.Errorf("template: %q", m.Draft().Lines)
	}
}
