package flowedit

import (
	"strings"
	"testing"
)

const flowYAML = `jtype: Flow
# the gateway
with:
  port: 12345
executors:
  - name: norm        # lower-cases
    uses: builtin:TextNormalizer
    uses_with:
      lowercase: true # keep
  - name: index
    uses: builtin:SimpleIndexer
`

func TestApplyKeepsCommentsAndOrder(t *testing.T) {
	out, err := Apply([]byte(flowYAML), []Change{
		{Name: "norm", UsesWith: "lowercase: false\nstrip: true\n"},
		{Add: true, Name: "shouter", Uses: "executors/shouter", Reload: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{"# the gateway", "name: norm        # lower-cases", "lowercase: false", "strip: true", "- name: shouter\n    uses: executors/shouter\n    reload: true"} {
		if !strings.Contains(s, want) {
			t.Errorf("lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "name: norm") > strings.Index(s, "name: index") || strings.Index(s, "name: index") > strings.Index(s, "name: shouter") {
		t.Errorf("order changed:\n%s", s)
	}
	d := strings.Join(Diff(flowYAML, s), "\n")
	if !strings.Contains(d, "-       lowercase: true") || !strings.Contains(d, "+       lowercase: false") || !strings.Contains(d, "+   - name: shouter") {
		t.Errorf("diff:\n%s", d)
	}
	if _, err := Apply([]byte(flowYAML), []Change{{Name: "nope", UsesWith: "a: 1"}}); err == nil {
		t.Error("an unknown executor is an error")
	}
}

// TestDiffShowsOnlyTheChange: aligned comments are kept, so the diff of
// one uses_with change holds only that change.
func TestDiffShowsOnlyTheChange(t *testing.T) {
	out, err := Apply([]byte(flowYAML), []Change{{Name: "norm", UsesWith: "lowercase: false\n"}})
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, l := range Diff(flowYAML, string(out)) {
		if strings.HasPrefix(l, "+ ") || strings.HasPrefix(l, "- ") {
			changed = append(changed, l)
		}
	}
	if len(changed) != 2 || !strings.Contains(changed[0]+changed[1], "lowercase: false") {
		t.Errorf("changed lines %q:\n%s", changed, out)
	}
}
