package builtin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"google.golang.org/protobuf/proto"
)

func TestSentencizerSplits(t *testing.T) {
	inst := newInstance(t, "Sentencizer", nil)
	cases := []struct {
		name   string
		text   string
		want   []string
		starts []int64
	}{
		{"latin", "Hello world. How are you? I'm fine!", []string{"Hello world.", "How are you?", "I'm fine!"}, []int64{0, 13, 26}},
		{"cjk", "今天天气很好。我们去公园吧！你来吗？", []string{"今天天气很好。", "我们去公园吧！", "你来吗？"}, []int64{0, 21, 42}},
		{"runs of punctuation", "Really?! Yes... ok", []string{"Really?!", "Yes...", "ok"}, []int64{0, 9, 16}},
		{"newlines", "line one\nline two\n\n", []string{"line one", "line two"}, []int64{0, 9}},
		{"stray punctuation", "...Hi. ! ", []string{"Hi."}, []int64{3}},
		{"no terminator", "  just words  ", []string{"just words"}, []int64{2}},
		{"mixed scripts", "Ｏｋ！Fine? 好。", []string{"Ｏｋ！", "Fine?", "好。"}, []int64{0, 9, 15}},
	}
	docs := make(docarray.DocList, len(cases))
	for i, c := range cases {
		docs[i] = &docarray.Document{ID: c.name, Text: c.text}
	}
	out := call(t, inst, "/default", docs, nil)
	for i, c := range cases {
		d := out[i]
		if got := d.Chunks.Texts(); !slices.Equal(got, c.want) {
			t.Errorf("%s: sentences %q, want %q", c.name, got, c.want)
			continue
		}
		if d.Text != c.text {
			t.Errorf("%s: parent text changed to %q", c.name, d.Text)
		}
		for j, ch := range d.Chunks {
			if want := fmt.Sprintf("%s/%d", c.name, j); ch.ID != want {
				t.Errorf("%s: chunk %d id %q, want %q", c.name, j, ch.ID, want)
			}
			if ch.Tags["parent_id"] != c.name || ch.Tags["offset"] != int64(j) || ch.Tags["start"] != c.starts[j] {
				t.Errorf("%s: chunk %d tags %v, want parent_id %s offset %d start %d", c.name, j, ch.Tags, c.name, j, c.starts[j])
			}
			// start points at the sentence in the parent text.
			if !strings.HasPrefix(c.text[c.starts[j]:], ch.Text) {
				t.Errorf("%s: chunk %d start %d does not point at %q", c.name, j, c.starts[j], ch.Text)
			}
		}
	}
}

func TestSentencizerLengthLimits(t *testing.T) {
	min5 := newInstance(t, "Sentencizer", map[string]any{"min_sent_len": 5})
	out := call(t, min5, "/default", texts("Hi. Hello there. Ok."), nil)
	if got := out[0].Chunks.Texts(); !slices.Equal(got, []string{"Hello there."}) {
		t.Errorf("min_sent_len 5: %q", got)
	}
	if out[0].Chunks[0].ID != "d0/0" || out[0].Chunks[0].Tags["offset"] != int64(0) {
		t.Errorf("kept chunks are numbered from 0: %+v", out[0].Chunks[0])
	}

	max5 := newInstance(t, "Sentencizer", map[string]any{"max_sent_len": 5})
	out = call(t, max5, "/default", texts("Hello there. Ok.", "日本語のテキスト。"), nil)
	if got := out[0].Chunks.Texts(); !slices.Equal(got, []string{"Hello", "Ok."}) {
		t.Errorf("max_sent_len 5: %q", got)
	}
	if got := out[1].Chunks.Texts(); !slices.Equal(got, []string{"日本語のテ"}) { // runes, not bytes
		t.Errorf("max_sent_len 5 (CJK): %q", got)
	}
}

func TestSentencizerCustomPunct(t *testing.T) {
	inst := newInstance(t, "Sentencizer", map[string]any{"punct_chars": ";|"})
	out := call(t, inst, "/default", texts("a; b. c|d"), nil)
	if got := out[0].Chunks.Texts(); !slices.Equal(got, []string{"a;", "b. c|", "d"}) {
		t.Errorf("punct_chars ;|: %q", got)
	}
}

func TestSentencizerIdempotentAndReplaces(t *testing.T) {
	inst := newInstance(t, "Sentencizer", nil)
	in := docarray.DocList{
		{ID: "p", Text: "One. Two.", Chunks: docarray.DocList{{ID: "stale", Text: "old chunk"}}},
		{ID: "img", Chunks: docarray.DocList{{ID: "crop", Text: "kept"}}}, // no text: chunks kept
	}
	once := call(t, inst, "/default", in, nil)
	if got := once[0].Chunks.IDs(); !slices.Equal(got, []string{"p/0", "p/1"}) {
		t.Errorf("existing chunks not replaced: %v", got)
	}
	if got := once[1].Chunks.IDs(); !slices.Equal(got, []string{"crop"}) {
		t.Errorf("chunks of a text-less doc changed: %v", got)
	}
	twice := call(t, inst, "/default", once, nil)
	if !proto.Equal(once.ToProto(), twice.ToProto()) {
		t.Errorf("second pass changed the docs:\n%v\n%v", once.ToProto(), twice.ToProto())
	}
}

func TestSentencizerNoIDGetsOne(t *testing.T) {
	inst := newInstance(t, "Sentencizer", nil)
	out := call(t, inst, "/default", docarray.DocList{{Text: "A. B."}}, nil)
	if out[0].ID == "" || out[0].Chunks[1].ID != out[0].ID+"/1" || out[0].Chunks[0].Tags["parent_id"] != out[0].ID {
		t.Errorf("doc without id: %+v / %+v", out[0], out[0].Chunks)
	}
}

func TestSentencizerInvalidOptions(t *testing.T) {
	for field, with := range map[string]map[string]any{
		"min_sent_len": {"min_sent_len": 10, "max_sent_len": 5},
		"max_sent_len": {"max_sent_len": -1},
		"punct_chars":  {"punct_chars": ""},
	} {
		spec, err := executors.NewSpec("Sentencizer", with)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := executors.New(context.Background(), spec); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%v: error %v does not name %s", with, err, field)
		}
	}
}
