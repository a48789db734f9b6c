package builtin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

func TestTextNormalizerDefaults(t *testing.T) {
	inst := newInstance(t, "TextNormalizer", nil)
	cases := []struct{ in, want string }{
		{"  Hello   WORLD \n\t Foo  ", "hello world foo"},
		{"Ｈｅｌｌｏ\u3000Ｗｏｒｌｄ", "hello world"}, // full-width letters and ideographic space
		{"ﬁne ﬂow", "fine flow"},            // ligatures
		{"Cafe\u0301", "caf\u00e9"},         // combining accent composed
		{"x² + ½", "x2 + 1⁄2"},              // compatibility forms
		{"ℌello", "hello"},                  // uppercase only after NFKC
		{"ÀÉÎ", "àéî"},
		{"already clean", "already clean"},
	}
	docs := make(docarray.DocList, len(cases))
	for i, c := range cases {
		docs[i] = &docarray.Document{ID: string(rune('a' + i)), Text: c.in}
	}
	out := call(t, inst, "/default", docs, nil)
	for i, c := range cases {
		if out[i].Text != c.want {
			t.Errorf("%q: got %q, want %q", c.in, out[i].Text, c.want)
		}
	}
}

func TestTextNormalizerOptions(t *testing.T) {
	const in = "  Ｈi  \t Cafe\u0301\n "
	cases := []struct {
		name string
		with map[string]any
		want string
	}{
		{"all off", map[string]any{"lowercase": false, "strip": false, "collapse_whitespace": false, "unicode_form": ""}, in},
		{"collapse only", map[string]any{"lowercase": false, "strip": false, "unicode_form": ""}, " Ｈi Cafe\u0301 "},
		{"strip only", map[string]any{"lowercase": false, "collapse_whitespace": false, "unicode_form": ""}, "Ｈi  \t Cafe\u0301"},
		{"lowercase only", map[string]any{"strip": false, "collapse_whitespace": false, "unicode_form": ""}, "  ｈi  \t cafe\u0301\n "},
		{"NFC keeps width", map[string]any{"unicode_form": "NFC"}, "ｈi caf\u00e9"},
		{"NFD decomposes", map[string]any{"unicode_form": "NFD", "lowercase": false}, "Ｈi Cafe\u0301"},
		{"NFKD folds and decomposes", map[string]any{"unicode_form": "nfkd"}, "hi cafe\u0301"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inst := newInstance(t, "TextNormalizer", c.with)
			out := call(t, inst, "/default", texts(in), nil)
			if out[0].Text != c.want {
				t.Errorf("got %q, want %q", out[0].Text, c.want)
			}
		})
	}
}

func TestTextNormalizerChunks(t *testing.T) {
	doc := func() docarray.DocList {
		return docarray.DocList{{
			ID:   "p",
			Text: " Top ",
			Chunks: docarray.DocList{
				{ID: "p/0", Text: "  Chunk  ONE ", Chunks: docarray.DocList{{ID: "p/0/0", Text: " Deep\tCHUNK "}}},
				{ID: "p/1"}, // no text: stays without text
			},
		}}
	}
	off := call(t, newInstance(t, "TextNormalizer", nil), "/default", doc(), nil)
	if off[0].Text != "top" || off[0].Chunks[0].Text != "  Chunk  ONE " {
		t.Errorf("chunks: false: got %q / %q", off[0].Text, off[0].Chunks[0].Text)
	}
	on := call(t, newInstance(t, "TextNormalizer", map[string]any{"chunks": true}), "/default", doc(), nil)
	if got := on[0].Chunks[0].Text; got != "chunk one" {
		t.Errorf("chunk: got %q", got)
	}
	if got := on[0].Chunks[0].Chunks[0].Text; got != "deep chunk" {
		t.Errorf("nested chunk: got %q", got)
	}
	if on[0].Chunks[1].Text != "" || on[0].Chunks[1].ID != "p/1" {
		t.Errorf("text-less chunk changed: %+v", on[0].Chunks[1])
	}
}

func TestTextNormalizerInvalidForm(t *testing.T) {
	spec, err := executors.NewSpec("TextNormalizer", map[string]any{"unicode_form": "NFX"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = executors.New(context.Background(), spec)
	if err == nil {
		t.Fatal("New accepted unicode_form NFX")
	}
	if !strings.Contains(err.Error(), "unicode_form") || !strings.Contains(err.Error(), "NFX") {
		t.Errorf("error does not name the field and value: %v", err)
	}
	if !errors.Is(err, executors.ErrBadInput) {
		t.Errorf("error is not ErrBadInput: %v", err)
	}
}

func TestTextNormalizerFromYAML(t *testing.T) {
	cfg, err := executors.ParseConfig("config.yml", []byte("jtype: TextNormalizer\nwith:\n  lowercase: false\n  unicode_form: NFC\nmetas:\n  name: norm\n"))
	if err != nil {
		t.Fatal(err)
	}
	inst := newFromSpec(t, executors.Spec{Config: cfg, Runtime: executors.RuntimeArgs{Workspace: t.TempDir()}})
	if inst.Name() != "norm" {
		t.Errorf("name %q", inst.Name())
	}
	out := call(t, inst, "/default", texts("  Ｈｅｌｌｏ   World "), nil)
	if want := "Ｈｅｌｌｏ World"; out[0].Text != want { // NFC does not fold width; case kept
		t.Errorf("got %q, want %q", out[0].Text, want)
	}

	// Options are strict: a typo is an error, not a silent default.
	cfg, err = executors.ParseConfig("config.yml", []byte("jtype: TextNormalizer\nwith:\n  lowercse: false\n"))
	if err == nil {
		_, err = executors.New(context.Background(), executors.Spec{Config: cfg})
	}
	if err == nil || !strings.Contains(err.Error(), "lowercse") {
		t.Errorf("typo in with: got %v", err)
	}
}

func BenchmarkTextNormalizer(b *testing.B) {
	inst := newInstance(b, "TextNormalizer", nil)
	n := inst.Executor().(*TextNormalizer)
	s := strings.Repeat("The  Quick Brown\tFox — ＪＵＭＰＳ over the lazy dog. ", 20)
	for b.Loop() {
		n.NormalizeText(s)
	}
}
