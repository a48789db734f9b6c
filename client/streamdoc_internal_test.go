package client

import (
	"strings"
	"testing"

	"github.com/jig-dev/jig/executors/docarray"
)

func TestReadEvents(t *testing.T) {
	type ev struct{ name, data string }
	for name, tc := range map[string]struct {
		in   string
		want []ev
	}{
		"jina form (CRLF)": {"event: update\r\ndata: {\"text\": \"a\"}\r\n\r\nevent: update\r\ndata: {\"text\": \"b\"}\r\n\r\nevent: end\r\n\r\n",
			[]ev{{"update", `{"text": "a"}`}, {"update", `{"text": "b"}`}, {"end", ""}}},
		"LF, comments, multi-line data, no event name": {": ping\n\ndata: x\ndata: y\n\nevent: update\ndata:{}\n\n",
			[]ev{{"message", "x\ny"}, {"update", "{}"}}},
		"unterminated last event": {"event: update\ndata: 1", []ev{{"update", "1"}}},
	} {
		var got []ev
		err := readEvents(strings.NewReader(tc.in), 1<<20, func(n string, d []byte) bool {
			got = append(got, ev{n, string(d)})
			return true
		})
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("%s: %v %v", name, got, err)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: event %d = %+v, want %+v", name, i, got[i], tc.want[i])
			}
		}
	}
	big := "event: update\ndata: " + strings.Repeat("x", 200<<10) + "\n\n"
	n := 0
	if err := readEvents(strings.NewReader(big), 1<<20, func(string, []byte) bool { n++; return true }); err != nil || n != 1 {
		t.Errorf("a 200 KiB event: %d events, %v", n, err)
	}
	if err := readEvents(strings.NewReader(big), 1<<10, func(string, []byte) bool { return true }); err == nil {
		t.Error("an event over the limit must fail")
	}
}

// TestQueryValues: the document's fields as Jina's client sends them
// (doc.dict() without None): strings as they are, other values as JSON.
func TestQueryValues(t *testing.T) {
	d := &docarray.Document{ID: "x1", Text: "hello world", Tags: map[string]any{"k": 1}}
	q, err := queryValues(d)
	if err != nil {
		t.Fatal(err)
	}
	if q.Get("id") != "x1" || q.Get("text") != "hello world" || q.Get("tags") != `{"k":1}` {
		t.Fatalf("query %v", q)
	}
}
