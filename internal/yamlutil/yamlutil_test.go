package yamlutil

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type inner struct {
	Count int               `yaml:"count"`
	Tags  map[string]string `yaml:"tags"`
}

type embedded struct {
	Shared string `yaml:"shared"`
}

type outer struct {
	embedded `yaml:",inline"`
	Name     string        `yaml:"name"`
	Ratio    float64       `yaml:"ratio"`
	On       bool          `yaml:"on"`
	Wait     time.Duration `yaml:"wait"`
	Inner    inner         `yaml:"inner"`
	List     []inner       `yaml:"list"`
	Any      any           `yaml:"any"`
	Raw      yaml.Node     `yaml:"raw"`
	Skipped  string        `yaml:"-"`
	Ptr      *int          `yaml:"ptr"`
}

func TestDecodeStrict(t *testing.T) {
	ok := "name: x\nratio: 0.5\non: true\nwait: 2s\ninner: {count: 3, tags: {a: b}}\nlist: [{count: 1}]\nany: [1, {x: y}]\nraw: {whatever: [1]}\nshared: s\nptr: 4\n"
	n, err := Parse("f.yml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	var o outer
	if err := Decode("f.yml", n, "", &o); err != nil {
		t.Fatal(err)
	}
	if o.Name != "x" || o.Inner.Count != 3 || o.List[0].Count != 1 || o.Shared != "s" || *o.Ptr != 4 || o.Wait != 2*time.Second || o.Raw.Kind != yaml.MappingNode {
		t.Fatalf("%+v", o)
	}
	cases := []struct{ yml, want string }{
		{"nam: x\n", `f.yml:1:1: nam: unknown field "nam" (known: any, inner, list, name, on, ptr, ratio, raw, shared, wait)`},
		{"inner: {cont: 1}\n", `f.yml:1:9: inner.cont: unknown field "cont"`},
		{"list: [{count: x}]\n", `f.yml:1:16: list[0].count: want an integer, got "x"`},
		{"ratio: high\n", `ratio: want a number, got "high"`},
		{"on: maybe\n", `on: want true or false, got "maybe"`},
		{"wait: soon\n", `wait: want a duration (like 500ms or 2s), got "soon"`},
		{"inner: 3\n", `inner: want a mapping, got "3"`},
		{"list: {a: 1}\n", `list: want a list, got a mapping`},
		{"name: [a]\n", `name: want a string, got a list`},
		{"inner: {tags: {a: [1]}}\n", `inner.tags.a: want a string, got a list`},
		{"Skipped: x\n", `unknown field "Skipped"`},
	}
	for _, c := range cases {
		n, err := Parse("f.yml", []byte(c.yml))
		if err != nil {
			t.Fatal(err)
		}
		var o outer
		err = Decode("f.yml", n, "", &o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.yml, err, c.want)
		}
		if !errors.Is(err, ErrBadInput) {
			t.Errorf("%q: not ErrBadInput", c.yml)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ yml, want string }{
		{"a: [1, 2\n", "f.yml:1: invalid YAML"},
		{"a: b\n c: d\n", "f.yml:2: invalid YAML"},
		{"\t- x\n", "invalid YAML"},
	} {
		_, err := Parse("f.yml", []byte(c.yml))
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrBadInput) {
			t.Errorf("%q: got %v, want %q", c.yml, err, c.want)
		}
	}
	n, err := Parse("f.yml", nil)
	if err != nil || n.Kind != yaml.MappingNode {
		t.Fatalf("empty document: %v %v", n, err)
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("JIG_TEST_TOKEN", "s3cret")
	t.Setenv("JIG_TEST_PORT", "4242")
	n, err := Parse("f.yml", []byte("name: 'tok-${{ ENV.JIG_TEST_TOKEN }}'\nptr: ${{ env.JIG_TEST_PORT }}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var o outer
	if err := Decode("f.yml", n, "", &o); err != nil {
		t.Fatal(err)
	}
	if o.Name != "tok-s3cret" || *o.Ptr != 4242 {
		t.Fatalf("%+v", o)
	}
	_, err = Parse("f.yml", []byte("a:\n  b: ${{ ENV.JIG_TEST_SURELY_UNSET }}\n"))
	if err == nil || !strings.Contains(err.Error(), "f.yml:2:6: environment variable JIG_TEST_SURELY_UNSET is not set") {
		t.Fatalf("got %v", err)
	}
}

func TestErrorFormatting(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yml", Line: 3, Column: 2, Field: "x.y", Msg: "bad"}, "a.yml:3:2: x.y: bad"},
		{Error{File: "a.yml", Msg: "bad"}, "a.yml: bad"},
		{Error{Field: "--uses", Msg: "bad"}, "--uses: bad"},
		{Error{Line: 2, Msg: "bad"}, "<inline>:2: bad"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("name: x\ninner: {count: 1}\nlist: [{count: 2}]\n"))
	f.Add([]byte("a: &x [1, *x]\n"))
	f.Add([]byte("${{ ENV.HOME }}: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse("f.yml", data)
		if err != nil {
			return
		}
		var o outer
		_ = Decode("f.yml", n, "", &o)
	})
}

// TestNoFileContentInErrors: a file that is not YAML (uses: /etc/passwd)
// parses as one long scalar; the error must not echo it.
func TestNoFileContentInErrors(t *testing.T) {
	data := []byte("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
	node, err := Parse("passwd", data)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		JType string `yaml:"jtype"`
	}
	err = Decode("passwd", node, "", &out)
	if err == nil {
		t.Fatal("decoded a passwd file")
	}
	if strings.Contains(err.Error(), "root:") || strings.Contains(err.Error(), "daemon") {
		t.Fatalf("error echoes the file: %v", err)
	}
	if want := "passwd:1:1: want a mapping, got a text of 79 bytes"; err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}
