package gateway

import (
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// requireJSON answers 415 (Unsupported Media Type) to a POST whose
// Content-Type is given and is not JSON (application/json or a
// +json type): the body is decoded as JSON, and a form or a file upload
// silently read as JSON would give confusing errors. A missing
// Content-Type is accepted, as clients such as `curl --data-binary` may
// not send one.
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
				writeError(w, http.StatusUnsupportedMediaType, "INVALID_ARGUMENT", fmt.Sprintf("Content-Type %q is not supported: send the body as application/json", ct))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
