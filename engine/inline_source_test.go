package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// TestInlineSourceExecutor: `uses: {jtype, source: ./folder, with, metas}`
// runs the Go executor of the folder with the inline config (Jina's
// documented inline form, with source naming the folder as py_modules
// names a module).
func TestInlineSourceExecutor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an executor")
	}
	eng := startFlowIn(t, "testdata", `
jtype: Flow
executors:
  - name: up
    uses: {jtype: Upper, source: upper, with: {prefix: "#"}, metas: {name: inl}}
`)
	st := eng.Status().Deployments[0]
	if st.InProcess || st.Ready != 1 {
		t.Fatalf("status %+v", st)
	}
	cc := dial(t, eng.Addresses().GRPC)
	resp, docs := send(t, cc, newReq("/x", nil, "abc"))
	if docs[0].Text != "#ABC" {
		t.Fatalf("got %q (routes %v)", docs[0].Text, routeNames(resp))
	}
}

// TestInlineSourceErrors: a bad source is located at the field, and an
// unknown type in an inline mapping says how to use a folder executor.
func TestInlineSourceErrors(t *testing.T) {
	for _, c := range []struct{ yml, want string }{
		{"executors:\n  - {name: a, uses: {jtype: Upper, source: nope}}\n", "executors[0].uses.source: nope: no such folder"},
		{"executors:\n  - {name: a, uses: {jtype: Upper, source: [x]}}\n", "executors[0].uses.source: want the folder"},
		{"executors:\n  - {name: a, uses: {jtype: Upper, source: ., with: {prefix: x}}}\n", "holds no Go main package"},
		{"executors:\n  - {name: a, uses: {jtype: Upper, with: {prefix: x}}}\n", "uses: {jtype: Upper, source: ./folder"},
	} {
		_, err := flow.Parse("f.yml", "testdata", []byte(c.yml))
		if err == nil || !errors.Is(err, yamlutil.ErrBadInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.yml, err, c.want)
		}
	}
	f, err := flow.Parse("f.yml", "testdata", []byte("executors:\n  - {name: a, uses: {jtype: Upper, source: upper, with: {prefix: x}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := f.Deployments[0]
	if !strings.HasSuffix(d.Source, "upper") || !d.Config.Inline || d.Config.JType != "Upper" {
		t.Fatalf("deployment %+v config %+v", d, d.Config)
	}
}
