package auth

import "testing"

func TestBearerToken(t *testing.T) {
	for _, c := range []struct {
		in, tok string
		ok      bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"Bearer   abc", "abc", true},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearerabc", "", false},
	} {
		tok, ok := BearerToken(c.in)
		if tok != c.tok || ok != c.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", c.in, tok, ok, c.tok, c.ok)
		}
	}
	if !BearerMatches([]string{"Basic x", "bearer s3cret"}, "s3cret") || BearerMatches([]string{"bearer nope"}, "s3cret") {
		t.Fatal("BearerMatches")
	}
}
