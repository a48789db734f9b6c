package request

import (
	"strings"
	"testing"
)

func TestPreferredEndpoint(t *testing.T) {
	writes := map[string]bool{"/clear": true, "/index": true}
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"/clear", "/count", "/index", "/search"}, "/search"},
		{[]string{"/clear", "/default", "/index"}, "/default"},
		{[]string{"/clear", "/count", "/index"}, "/count"},
		{[]string{"/clear", "/index"}, "/clear"},
	} {
		if got := preferredEndpoint(c.names, writes); got != c.want {
			t.Errorf("%v: got %s, want %s", c.names, got, c.want)
		}
	}
}

func TestCompactNumberArrays(t *testing.T) {
	in := "{\n  \"embedding\": [\n    0.1,\n    -2,\n    3e-05\n  ],\n  \"tags\": [\n    \"a\"\n  ]\n}"
	want := "{\n  \"embedding\": [0.1, -2, 3e-05],\n  \"tags\": [\n    \"a\"\n  ]\n}"
	if got := compactNumberArrays(in); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	long := "[\n" + strings.Repeat("  1,\n", 20) + "  1\n]"
	if got := compactNumberArrays(long); got != "[1, 1, 1, 1, 1, 1, 1, 1, … 21 numbers]" {
		t.Fatalf("long: %s", got)
	}
}
