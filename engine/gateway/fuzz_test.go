package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzHTTP feeds arbitrary methods, paths, bodies and headers to the HTTP
// gateway (over a fake backend that routes like a one-executor flow). It
// must never panic, and every answer is a JSON object: errors (4xx/5xx)
// as {"error": {"code", "message"}}, with a code matching the status.
// Seeds are in testdata/fuzz/FuzzHTTP.
func FuzzHTTP(f *testing.F) {
	f.Add("POST", "/search", `{"data": [{"text": "a", "tags": {"k": [1, {"x": null}]}}], "parameters": {"enc": {"limit": 3}}}`, "")
	f.Add("POST", "/post", `{"execEndpoint": "index", "data": [{"embedding": [1, 2.5]}], "targetExecutor": "e.*"}`, "Bearer tok")
	f.Add("GET", "/status", ``, "")
	f.Add("GET", "/docs", ``, "")
	f.Add("POST", "/a/b/c", `{"data": [{"tensor": {"dtype": "<i8", "shape": [2, 1], "data": [1, 2]}}]}`, "")
	f.Add("DELETE", "/x", `{}`, "Bearer wrong")
	f.Add("POST", "/x", `{"data": [{"matches": [{"chunks": [{}]}]}], "header": {"requestId": "r"}}`, "")
	tokenHandler := NewHTTP(newBackend(), HTTPOptions{Token: "tok", MaxBodyBytes: 1 << 16})
	openHandler := NewHTTP(newBackend(), HTTPOptions{MaxBodyBytes: 1 << 16})
	f.Fuzz(func(t *testing.T, method, path, body, auth string) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(auth, "\r\n\x00") ||
			strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return // not a request a server can receive
		}
		if u, err := url.ParseRequestURI(path); err != nil || u.Path == "" {
			return // nor is this
		}
		for _, h := range []http.Handler{openHandler, tokenHandler} {
			req := httptest.NewRequest(method, "http://gw"+path, strings.NewReader(body))
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 300 && rec.Code < 400 {
				// ServeMux redirects unclean paths ("/a/../b", "//x").
				if rec.Header().Get("Location") == "" {
					t.Fatalf("%s %s: %d without Location", method, path, rec.Code)
				}
				continue
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("%s %s: %d with content type %q: %s", method, path, rec.Code, ct, rec.Body)
			}
			var m map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatalf("%s %s: %d, not a JSON object: %v\n%s", method, path, rec.Code, err, rec.Body)
			}
			if rec.Code < 400 {
				continue
			}
			e, _ := m["error"].(map[string]any)
			if e == nil {
				// An executor's error (500) carries the Jina response.
				if rec.Code == http.StatusInternalServerError && m["header"] != nil {
					continue
				}
				if path == "/dry_run" && rec.Code == http.StatusServiceUnavailable {
					continue
				}
				t.Fatalf("%s %s: %d without an error object: %s", method, path, rec.Code, rec.Body)
			}
			code, _ := e["code"].(string)
			msg, _ := e["message"].(string)
			if code == "" || msg == "" {
				t.Fatalf("%s %s: error without code or message: %s", method, path, rec.Body)
			}
			want := map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 413: "RESOURCE_EXHAUSTED"}[rec.Code]
			if want != "" && code != want {
				t.Fatalf("%s %s: %d with code %s, want %s", method, path, rec.Code, code, want)
			}
		}
	})
}

// validMethod reports whether m is an HTTP token, as servers accept.
func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for _, c := range m {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
