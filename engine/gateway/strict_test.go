package gateway

import (
	"net/http"
	"testing"
)

// TestHTTPBearerSchemeCaseInsensitive: RFC 7235 makes the scheme
// case-insensitive; lowercase "bearer" used to be refused.
func TestHTTPBearerSchemeCaseInsensitive(t *testing.T) {
	h := NewHTTP(newBackend(), HTTPOptions{Token: "s3cret"})
	for _, v := range []string{"bearer s3cret", "BEARER s3cret", "Bearer  s3cret"} {
		if res := do(t, h, "POST", "/search", `{}`, "Authorization", v); res.code != 200 {
			t.Errorf("Authorization: %s: %d %s", v, res.code, res.raw)
		}
	}
	if res := do(t, h, "POST", "/search", `{}`, "Authorization", "bearer wrong"); res.code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", res.code)
	}
}

// TestHTTPNonJSONContentType: a body declared as something other than
// JSON is refused with 415 instead of being parsed as JSON anyway.
func TestHTTPNonJSONContentType(t *testing.T) {
	b := newBackend()
	h := NewHTTP(b, HTTPOptions{})
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "not a type"} {
		for _, path := range []string{"/search", "/post"} {
			res := do(t, h, "POST", path, `{"data": [{"text": "a"}], "execEndpoint": "/search"}`, "Content-Type", ct)
			if res.code != http.StatusUnsupportedMediaType {
				t.Errorf("POST %s with %q: %d %s", path, ct, res.code, res.raw)
			}
		}
	}
	if n := len(b.requests()); n != 0 {
		t.Fatalf("%d requests with a non-JSON body reached the backend", n)
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/vnd.api+json", ""} {
		if res := do(t, h, "POST", "/search", `{}`, "Content-Type", ct); res.code != 200 {
			t.Errorf("Content-Type %q: %d %s", ct, res.code, res.raw)
		}
	}
}
