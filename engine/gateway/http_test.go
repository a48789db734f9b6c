package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type httpResult struct {
	code int
	raw  string
	body map[string]any
}

// do sends one request to h and decodes the JSON answer.
func do(t *testing.T, h http.Handler, method, path, body string, header ...string) httpResult {
	t.Helper()
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := httpResult{code: rec.Code, raw: rec.Body.String()}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: content type %q, body %s", method, path, ct, res.raw)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, res.raw)
	}
	return res
}

// get walks a decoded JSON value along keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestHTTPEndpointHappyPath(t *testing.T) {
	b := newBackend()
	h := NewHTTP(b, HTTPOptions{})
	res := do(t, h, "POST", "/search", `{
		"data": [{"id": "a", "text": "hello", "tags": {"x": 1}}, {"text": "no id"}],
		"parameters": {"limit": 3, "enc": {"mode": "fast"}},
		"header": {"targetExecutor": "enc", "requestId": "rid-1"}
	}`)
	if res.code != http.StatusOK {
		t.Fatalf("code %d: %s", res.code, res.raw)
	}
	// What the backend got.
	req := b.last(t)
	if got := req.GetHeader().GetExecEndpoint(); got != "/search" {
		t.Fatalf("endpoint %q", got)
	}
	if req.GetHeader().GetTargetExecutor() != "enc" || req.GetHeader().GetRequestId() != "rid-1" {
		t.Fatalf("header %v", req.GetHeader())
	}
	docs := reqDocs(t, req)
	if len(docs) != 2 || docs[0].ID != "a" || docs[0].Text != "hello" || fmt.Sprint(docs[0].Tags["x"]) != "1" || docs[1].ID == "" {
		t.Fatalf("docs %+v", docs)
	}
	if p := req.GetParameters().AsMap(); p["limit"] != float64(3) || get(p, "enc", "mode") != "fast" {
		t.Fatalf("parameters %v", p)
	}
	// The answer.
	body := res.body
	if get(body, "header", "requestId") != "rid-1" || get(body, "header", "execEndpoint") != "/search" ||
		get(body, "header", "targetExecutor") != "enc" || get(body, "header", "status", "code") != "SUCCESS" {
		t.Fatalf("header %v", body["header"])
	}
	if get(body, "parameters", "limit") != float64(3) || get(body, "parameters", "__results__", "enc", "n") != float64(2) {
		t.Fatalf("parameters %v", body["parameters"])
	}
	routes, _ := body["routes"].([]any)
	if len(routes) != 2 || get(routes, 0, "executor") != "gateway" || get(routes, 1, "executor") != "enc" {
		t.Fatalf("routes %v", routes)
	}
	for i := range routes {
		for _, k := range []string{"startTime", "endTime"} {
			s, _ := get(routes, i, k).(string)
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || ts.Before(routeStart) {
				t.Fatalf("route %d %s = %q: %v", i, k, s, err)
			}
		}
		if get(routes, i, "status") != nil {
			t.Fatalf("a successful route has no status: %v", routes[i])
		}
	}
	if s := get(routes, 0, "startTime"); s != "2026-01-02T03:04:05.6Z" {
		t.Fatalf("start time %v", s)
	}
	if get(body, "data", 0, "id") != "a" || get(body, "data", 0, "text") != "hello>enc" || get(body, "data", 1, "text") != "no id>enc" {
		t.Fatalf("data %v", body["data"])
	}
}

func TestHTTPNestedEndpointAndGeneratedID(t *testing.T) {
	b := newBackend()
	h := NewHTTP(b, HTTPOptions{})
	res := do(t, h, "POST", "/v1/search", `{"data": [{"text": "x"}]}`)
	if res.code != 200 {
		t.Fatalf("code %d: %s", res.code, res.raw)
	}
	req := b.last(t)
	if req.GetHeader().GetExecEndpoint() != "/v1/search" || req.GetHeader().GetRequestId() == "" || req.GetHeader().TargetExecutor != nil {
		t.Fatalf("header %v", req.GetHeader())
	}
	if get(res.body, "header", "requestId") != req.GetHeader().GetRequestId() {
		t.Fatal("the generated request id is answered")
	}
	if _, has := res.body["header"].(map[string]any)["targetExecutor"]; has {
		t.Fatal("no target executor: the key is left out")
	}
}

func TestHTTPPostForm(t *testing.T) {
	b := newBackend()
	h := NewHTTP(b, HTTPOptions{})
	res := do(t, h, "POST", "/post", `{"execEndpoint": "search", "data": [{"text": "q"}], "parameters": {"a": true}, "targetExecutor": "enc", "requestId": "r9"}`)
	if res.code != 200 {
		t.Fatalf("code %d: %s", res.code, res.raw)
	}
	hdr := b.last(t).GetHeader()
	if hdr.GetExecEndpoint() != "/search" || hdr.GetTargetExecutor() != "enc" || hdr.GetRequestId() != "r9" {
		t.Fatalf("header %v", hdr)
	}
	if get(res.body, "data", 0, "text") != "q>enc" || get(res.body, "parameters", "a") != true {
		t.Fatalf("body %s", res.raw)
	}

	// The endpoint may come in the header too; the header's target wins.
	res = do(t, h, "POST", "/post", `{"header": {"execEndpoint": "/index", "targetExecutor": "idx"}, "targetExecutor": "enc"}`)
	if res.code != 200 {
		t.Fatalf("code %d: %s", res.code, res.raw)
	}
	if hdr := b.last(t).GetHeader(); hdr.GetExecEndpoint() != "/index" || hdr.GetTargetExecutor() != "idx" {
		t.Fatalf("header form: %v", hdr)
	}

	n := len(b.requests())
	res = do(t, h, "POST", "/post", `{"data": []}`)
	if res.code != 400 || get(res.body, "error", "code") != "INVALID_ARGUMENT" || !strings.Contains(res.raw, "execEndpoint") {
		t.Fatalf("missing execEndpoint: %d %s", res.code, res.raw)
	}
	if len(b.requests()) != n {
		t.Fatal("a bad request reached the backend")
	}
}

func TestHTTPEmptyBody(t *testing.T) {
	b := newBackend()
	h := NewHTTP(b, HTTPOptions{})
	for _, body := range []string{"", "  \n", "{}", `{"data": null, "parameters": null}`} {
		res := do(t, h, "POST", "/index", body)
		if res.code != 200 {
			t.Fatalf("body %q: %d %s", body, res.code, res.raw)
		}
		req := b.last(t)
		if req.GetHeader().GetExecEndpoint() != "/index" || len(reqDocs(t, req)) != 0 || req.GetParameters() != nil {
			t.Fatalf("body %q: request %v", body, req)
		}
		if data, ok := res.body["data"].([]any); !ok || len(data) != 0 {
			t.Fatalf("body %q: data %v (want [])", body, res.body["data"])
		}
	}
}

func TestHTTPExecutorError(t *testing.T) {
	b := newBackend()
	b.setRoute(failRoute)
	h := NewHTTP(b, HTTPOptions{})
	res := do(t, h, "POST", "/search", `{"data": [{"text": "x"}]}`)
	if res.code != http.StatusInternalServerError {
		t.Fatalf("code %d", res.code)
	}
	st := get(res.body, "header", "status")
	if get(st, "code") != "ERROR" || get(st, "exception", "name") != "ValueError" || get(st, "exception", "executor") != "enc" ||
		get(st, "exception", "args", 0) != "bad value" || get(st, "exception", "stacks", 1) != "line 2" || get(st, "description") == "" {
		t.Fatalf("status %v", st)
	}
	if get(res.body, "routes", 1, "status", "code") != "ERROR" {
		t.Fatalf("the failing route carries its status: %v", res.body["routes"])
	}
	if get(res.body, "data", 0, "text") != "x" {
		t.Fatalf("docs are returned with the error: %v", res.body["data"])
	}
}

func TestHTTPBackendErrors(t *testing.T) {
	cases := []struct {
		err  error
		code int
		name string
	}{
		{status.Error(codes.Unavailable, "deployment enc is down"), 503, "UNAVAILABLE"},
		{status.Error(codes.DeadlineExceeded, "timed out, see timeout_send"), 504, "DEADLINE_EXCEEDED"},
		{status.Error(codes.InvalidArgument, "target_executor is not a regex"), 400, "INVALID_ARGUMENT"},
		{status.Error(codes.ResourceExhausted, "too big"), 413, "RESOURCE_EXHAUSTED"},
		{status.Error(codes.Unauthenticated, "who"), 401, "UNAUTHENTICATED"},
		{status.Error(codes.NotFound, "none"), 404, "NOT_FOUND"},
		{status.Error(codes.Canceled, "gone"), 499, "CANCELLED"},
		{status.Error(codes.Internal, "oops"), 500, "INTERNAL"},
		{errPlain, 500, "UNKNOWN"},
	}
	for _, c := range cases {
		b := newBackend()
		b.setRoute(errRoute(c.err))
		res := do(t, NewHTTP(b, HTTPOptions{}), "POST", "/search", `{"data": [{"text": "x"}]}`)
		if res.code != c.code || get(res.body, "error", "code") != c.name || get(res.body, "error", "message") != status.Convert(c.err).Message() {
			t.Errorf("%v: %d %s, want %d %s", c.err, res.code, res.raw, c.code, c.name)
		}
	}
}

func TestHTTPBadRequests(t *testing.T) {
	cases := []struct {
		body string
		want []string // in the message
	}{
		{`{"data": [`, []string{"invalid request body", "unexpected EOF"}},
		{`not json`, []string{"invalid request body", "invalid character", "at byte"}},
		{`{"data": [], "foo": 1}`, []string{`unknown field "foo"`}},
		{`{"header": {"requestId": "r", "bogus": 1}}`, []string{`unknown field "bogus"`}},
		{`{"header": {"requestId": 5}}`, []string{"requestId", "string", "number"}},
		{`{"execEndpoint": ["x"]}`, []string{"execEndpoint"}},
		{`{"data": 5}`, []string{`"data"`}},
		{`{"data": [5]}`, []string{`"data"`}},
		{`{"data": [{"embedding": "not numbers"}]}`, []string{`"data"`, "embedding"}},
		{`{"parameters": [1, 2]}`, []string{`"parameters" must be a JSON object`}},
		{`{"parameters": "x"}`, []string{`"parameters" must be a JSON object`}},
		{`{"data": []} {"data": []}`, []string{"trailing data"}},
		{`[]`, []string{"invalid request body"}},
	}
	for _, c := range cases {
		b := newBackend()
		res := do(t, NewHTTP(b, HTTPOptions{}), "POST", "/search", c.body)
		if res.code != http.StatusBadRequest || get(res.body, "error", "code") != "INVALID_ARGUMENT" {
			t.Errorf("body %s: %d %s", c.body, res.code, res.raw)
			continue
		}
		msg, _ := get(res.body, "error", "message").(string)
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("body %s: message %q lacks %q", c.body, msg, w)
			}
		}
		if len(b.requests()) != 0 {
			t.Errorf("body %s reached the backend", c.body)
		}
	}
}

func TestHTTPBodyLimit(t *testing.T) {
	b := newBackend()
	h := NewHTTP(b, HTTPOptions{MaxBodyBytes: 64})
	big := fmt.Sprintf(`{"data": [{"text": %q}]}`, strings.Repeat("x", 100))
	res := do(t, h, "POST", "/search", big)
	if res.code != http.StatusRequestEntityTooLarge || get(res.body, "error", "code") != "RESOURCE_EXHAUSTED" || !strings.Contains(res.raw, "64 bytes") {
		t.Fatalf("%d %s", res.code, res.raw)
	}
	if len(b.requests()) != 0 {
		t.Fatal("an oversized request reached the backend")
	}
	if res := do(t, h, "POST", "/search", `{"data": [{"text": "ok"}]}`); res.code != 200 {
		t.Fatalf("a small body: %d %s", res.code, res.raw)
	}
}

func TestHTTPToken(t *testing.T) {
	b := newBackend()
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"metrics": true}`))
	})
	h := NewHTTP(b, HTTPOptions{Token: "s3cret", Metrics: metrics})
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "s3cret"}, {"Authorization", "Basic s3cret"}} {
		for _, rq := range [][2]string{{"POST", "/search"}, {"POST", "/post"}, {"GET", "/status"}, {"GET", "/endpoints"}, {"GET", "/docs"}, {"GET", "/nope"}} {
			res := do(t, h, rq[0], rq[1], `{}`, hdr...)
			if res.code != http.StatusUnauthorized || get(res.body, "error", "code") != "UNAUTHENTICATED" || !strings.Contains(res.raw, "Bearer") {
				t.Errorf("%s %s with %v: %d %s", rq[0], rq[1], hdr, res.code, res.raw)
			}
		}
	}
	if len(b.requests()) != 0 {
		t.Fatal("an unauthenticated request reached the backend")
	}
	if res := do(t, h, "POST", "/search", `{}`, "Authorization", "Bearer s3cret"); res.code != 200 {
		t.Fatalf("with the token: %d %s", res.code, res.raw)
	}
	// Probes stay open.
	if res := do(t, h, "GET", "/dry_run", ""); res.code != 200 {
		t.Fatalf("/dry_run: %d %s", res.code, res.raw)
	}
	if res := do(t, h, "GET", "/metrics", ""); res.code != 200 || res.body["metrics"] != true {
		t.Fatalf("/metrics: %d %s", res.code, res.raw)
	}
}

func TestHTTPStatusDryRunEndpoints(t *testing.T) {
	b := newBackend()
	b.endpoints.Schemas = newStruct(t, map[string]any{"/search": map[string]any{}})
	h := NewHTTP(b, HTTPOptions{})

	res := do(t, h, "GET", "/status", "")
	if res.code != 200 || get(res.body, "jina", "jig") != "test" || get(res.body, "envs", "JINA_LOG_LEVEL") != "info" {
		t.Fatalf("/status: %d %s", res.code, res.raw)
	}

	// Jina's gateway answers StatusMessage().to_dict(): integer code,
	// description and exception always present; is_flow_ready() compares
	// code with 0.
	res = do(t, h, "GET", "/dry_run", "")
	if res.code != 200 || strings.TrimSpace(res.raw) != `{"code":0,"description":"","exception":null}` {
		t.Fatalf("/dry_run ready: %d %s", res.code, res.raw)
	}
	b.mu.Lock()
	b.ready = fmt.Errorf("deployment enc has no ready replica")
	b.mu.Unlock()
	res = do(t, h, "GET", "/dry_run", "")
	if res.code != 503 || res.body["code"] != float64(1) || res.body["description"] != "deployment enc has no ready replica" ||
		get(res.body, "exception", "name") != "FlowNotReady" || get(res.body, "exception", "args", 0) != "deployment enc has no ready replica" {
		t.Fatalf("/dry_run not ready: %d %s", res.code, res.raw)
	}

	res = do(t, h, "GET", "/endpoints", "")
	if res.code != 200 || get(res.body, "endpoints", 0) != "/search" || get(res.body, "writeEndpoints", 0) != "/index" || get(res.body, "schemas", "/search") == nil {
		t.Fatalf("/endpoints: %d %s", res.code, res.raw)
	}
}

func TestHTTPUnknownRoute(t *testing.T) {
	h := NewHTTP(newBackend(), HTTPOptions{})
	for _, rq := range [][2]string{{"GET", "/nope"}, {"GET", "/search"}, {"DELETE", "/status"}, {"GET", "/metrics"}} {
		res := do(t, h, rq[0], rq[1], "")
		if res.code != 404 || get(res.body, "error", "code") != "NOT_FOUND" || !strings.Contains(res.raw, rq[1]) {
			t.Errorf("%s %s: %d %s", rq[0], rq[1], res.code, res.raw)
		}
	}
}

func TestHTTPOpenAPI(t *testing.T) {
	b := newBackend()
	b.endpoints = &jinapb.EndpointsProto{
		Endpoints: []string{"/search", "/index", "/foo-bar", "_jina_dry_run_"},
		Schemas: newStruct(t, map[string]any{
			"/search": map[string]any{
				"input":  map[string]any{"name": "Query", "model": map[string]any{"type": "object", "properties": map[string]any{"q": map[string]any{"type": "string"}}}},
				"output": map[string]any{"name": "Hits", "model": map[string]any{"type": "object"}},
			},
		}),
	}
	h := NewHTTP(b, HTTPOptions{Title: "my flow"})
	for _, path := range []string{"/docs", "/openapi.json"} {
		res := do(t, h, "GET", path, "")
		if res.code != 200 {
			t.Fatalf("%s: %d", path, res.code)
		}
		doc := res.body
		if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
			t.Fatalf("openapi version %v", doc["openapi"])
		}
		if get(doc, "info", "title") != "my flow" || get(doc, "info", "version") == nil {
			t.Fatalf("info %v", doc["info"])
		}
		paths, _ := doc["paths"].(map[string]any)
		for _, ep := range []string{"/search", "/index", "/foo-bar"} {
			op := get(paths, ep, "post")
			if op == nil || get(op, "requestBody", "content", "application/json", "schema") == nil || get(op, "responses", "200") == nil {
				t.Fatalf("path %s: %v", ep, paths[ep])
			}
		}
		for _, p := range []string{"/status", "/dry_run", "/endpoints"} {
			if get(paths, p, "get") == nil {
				t.Fatalf("GET %s is not described", p)
			}
		}
		if paths["/_jina_dry_run_"] != nil || len(paths) != 6 {
			t.Fatalf("paths %v", keys(paths))
		}
		// Operation ids are unique.
		ids := map[any]bool{}
		for _, ep := range []string{"/search", "/index", "/foo-bar"} {
			ids[get(paths, ep, "post", "operationId")] = true
		}
		if len(ids) != 3 {
			t.Fatalf("operation ids %v", ids)
		}
		ref := func(ep, dir string) any {
			op := get(paths, ep, "post")
			if dir == "in" {
				return get(op, "requestBody", "content", "application/json", "schema", "properties", "data", "items", "$ref")
			}
			return get(op, "responses", "200", "content", "application/json", "schema", "properties", "data", "items", "$ref")
		}
		if ref("/search", "in") != "#/components/schemas/Query" || ref("/search", "out") != "#/components/schemas/Hits" {
			t.Fatalf("published schemas not used: %v %v", ref("/search", "in"), ref("/search", "out"))
		}
		if ref("/index", "in") != "#/components/schemas/LegacyDocument" || ref("/index", "out") != "#/components/schemas/LegacyDocument" {
			t.Fatalf("legacy documents: %v", ref("/index", "in"))
		}
		schemas, _ := get(doc, "components", "schemas").(map[string]any)
		if get(schemas, "Query", "properties", "q", "type") != "string" || schemas["Hits"] == nil || schemas["LegacyDocument"] == nil {
			t.Fatalf("components %v", keys(schemas))
		}
		// Every $ref resolves.
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if k == "$ref" {
						name := strings.TrimPrefix(e.(string), "#/components/schemas/")
						if schemas[name] == nil {
							t.Errorf("dangling $ref %v", e)
						}
					}
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(doc)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestHTTPOverRealServer checks the handler behind a real listener (the
// way the engine serves it): keep-alive connection, JSON both ways.
func TestHTTPOverRealServer(t *testing.T) {
	b := newBackend()
	srv := httptest.NewServer(NewHTTP(b, HTTPOptions{}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	for i := range 3 {
		resp, err := client.Post(srv.URL+"/search", "application/json", strings.NewReader(fmt.Sprintf(`{"data": [{"text": "%d"}]}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || get(body, "data", 0, "text") != fmt.Sprintf("%d>enc", i) {
			t.Fatalf("%d: %v %v", resp.StatusCode, err, body)
		}
	}
}

// jinaClientBody is what Jina 3.20.2's HTTP client posts (captured from
// HTTPClientlet.send_message: Request.to_dict() with proto field names,
// exec_endpoint and target_executor copied to the top level, docs as
// docarray's orjson), here for a DocList[TextDoc] and a custom BaseDoc.
const jinaClientBody = `{"header":{"request_id":"3c113fe1fabf4cc29d34f33a335d439b","exec_endpoint":"/foo","target_executor":"ex","timeout":5000},` +
	`"parameters":{"a":1.0,"ex__b":2.0},` +
	`"data":[{"id":"6840818a89b5425f6a2f0df2af197178","text":"a","url":null,"embedding":null,"bytes_":null},` +
	`{"id":"935b89ba687d71c064965f80677868cc","t32":[0.0,1.5],"t64":[[1.0,2.0]]}],` +
	`"exec_endpoint":"/foo","target_executor":"ex"}`

func TestHTTPAcceptsJinaClientBody(t *testing.T) {
	b := newBackend()
	h := NewHTTP(b, HTTPOptions{})
	for _, path := range []string{"/foo", "/post"} {
		res := do(t, h, "POST", path, jinaClientBody)
		if res.code != 200 {
			t.Fatalf("%s: %d %s", path, res.code, res.raw)
		}
		req := b.last(t)
		hdr := req.GetHeader()
		if hdr.GetRequestId() != "3c113fe1fabf4cc29d34f33a335d439b" || hdr.GetExecEndpoint() != "/foo" || hdr.GetTargetExecutor() != "ex" || hdr.GetTimeout() != 5000 {
			t.Fatalf("%s: header %v", path, hdr)
		}
		if p := req.GetParameters().AsMap(); p["a"] != 1.0 || p["ex__b"] != 2.0 {
			t.Fatalf("%s: parameters %v", path, p)
		}
		docs := reqDocs(t, req)
		if len(docs) != 2 || docs[0].ID != "6840818a89b5425f6a2f0df2af197178" || docs[0].Text != "a" || docs[1].ID != "935b89ba687d71c064965f80677868cc" {
			t.Fatalf("%s: docs %+v", path, docs)
		}
		// The answer is what the Jina client parses: the request id back,
		// floats still floats.
		if get(res.body, "header", "requestId") != "3c113fe1fabf4cc29d34f33a335d439b" {
			t.Fatalf("%s: header %s", path, res.raw)
		}
		if !strings.Contains(res.raw, `"t32":[0.0,1.5]`) || !strings.Contains(res.raw, `"t64":[[1.0,2.0]]`) {
			t.Fatalf("%s: float lists lost their float-ness: %s", path, res.raw)
		}
	}
	// On POST /{endpoint} the path names the endpoint, as in Jina's
	// gateway, whatever the body's exec_endpoint says.
	if res := do(t, h, "POST", "/bar", jinaClientBody); res.code != 200 || b.last(t).GetHeader().GetExecEndpoint() != "/bar" {
		t.Fatalf("path endpoint: %d %v", res.code, b.last(t).GetHeader())
	}
	// Unknown keys are still refused, in either spelling family.
	for _, body := range []string{`{"header": {"request_idd": "x"}}`, `{"exec_endpointt": "/x"}`, `{"dta": []}`} {
		if res := do(t, h, "POST", "/foo", body); res.code != 400 || !strings.Contains(res.raw, "unknown field") {
			t.Fatalf("%s: %d %s", body, res.code, res.raw)
		}
	}
}

// TestHTTPSingleDocumentData: Jina's gateway takes "data" as one document
// too (Union[List[Doc], Doc]).
func TestHTTPSingleDocumentData(t *testing.T) {
	b := newBackend()
	h := NewHTTP(b, HTTPOptions{})
	res := do(t, h, "POST", "/foo", `{"data": {"id": "one", "text": "x"}}`)
	if res.code != 200 {
		t.Fatalf("%d %s", res.code, res.raw)
	}
	if docs := reqDocs(t, b.last(t)); len(docs) != 1 || docs[0].ID != "one" {
		t.Fatalf("docs %+v", docs)
	}
}

// TestHTTPFloatTensorsStayFloats: a float32 tensor of whole numbers is
// written [0.0,1.0,2.0], not [0,1,2] (numpy would read int64).
func TestHTTPFloatTensorsStayFloats(t *testing.T) {
	b := newBackend()
	h := NewHTTP(b, HTTPOptions{})
	res := do(t, h, "POST", "/foo", `{"data": [{"id": "t", "tensor": [0.0, 1.0, 2.0], "embedding": {"dtype": "<f8", "shape": [2], "data": [3.0, -4.0]}}]}`)
	if res.code != 200 {
		t.Fatalf("%d %s", res.code, res.raw)
	}
	if !strings.Contains(res.raw, `"tensor":[0.0,1.0,2.0]`) || !strings.Contains(res.raw, `"data":[3.0,-4.0]`) {
		t.Fatalf("floats lost: %s", res.raw)
	}
}

// TestHTTPErrorCarriesDetail: a failed request's body has Jina's "detail"
// key (the description) next to jig's header.
func TestHTTPErrorCarriesDetail(t *testing.T) {
	b := newBackend()
	b.setRoute(failRoute)
	h := NewHTTP(b, HTTPOptions{})
	res := do(t, h, "POST", "/search", `{"data": [{"text": "x"}]}`)
	if res.code != http.StatusInternalServerError {
		t.Fatalf("%d %s", res.code, res.raw)
	}
	desc, _ := get(res.body, "header", "status", "description").(string)
	if desc == "" || res.body["detail"] != desc || get(res.body, "header", "status", "exception", "name") != "ValueError" {
		t.Fatalf("body %s", res.raw)
	}
}

// TestHTTPJinaDialectGetsNestedLists: a request spelled like Jina's client
// gets every numeric array as the nested list docarray writes (pydantic
// cannot load jig's {"dtype","shape","data"} object); jig's own spelling
// keeps the object, which keeps the dtype.
func TestHTTPJinaDialectGetsNestedLists(t *testing.T) {
	b := newBackend()
	b.setRoute(func(ctx context.Context, req *jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
		docs := docarray.DocList{{ID: "a",
			Embedding: docarray.NewFloat64([]float64{0.5, 1, 0.1, -2}, 2, 2),
			Tensor:    docarray.NewInt64([]int64{1, 2, 3}),
			Chunks:    docarray.DocList{{ID: "c", Embedding: &docarray.NdArray{Dtype: "<f8", Shape: []int{}, Data: docarray.NewFloat64([]float64{3}).Data}}},
		}}
		resp := &jinapb.DataRequestProto{Header: req.GetHeader()}
		return resp, executors.SetRequestDocs(resp, docs)
	})
	h := NewHTTP(b, HTTPOptions{})
	res := do(t, h, "POST", "/foo", jinaClientBody)
	if res.code != 200 {
		t.Fatalf("%d %s", res.code, res.raw)
	}
	for _, want := range []string{`"embedding":[[0.5,1.0],[0.1,-2.0]]`, `"tensor":[1,2,3]`, `"embedding":3.0`} {
		if !strings.Contains(res.raw, want) {
			t.Errorf("Jina dialect: %s missing in %s", want, res.raw)
		}
	}
	if get(res.body, "header", "requestId") != "3c113fe1fabf4cc29d34f33a335d439b" {
		t.Fatalf("header %s", res.raw)
	}
	res = do(t, h, "POST", "/foo", `{"data": [], "header": {"requestId": "r"}}`)
	if res.code != 200 || !strings.Contains(res.raw, `"embedding":{"dtype":"\u003cf8","shape":[2,2],"data":[0.5,1.0,0.1,-2.0]}`) {
		t.Fatalf("jig dialect: %d %s", res.code, res.raw)
	}
}

func TestJinaArraysLeavesOtherJSONAlone(t *testing.T) {
	for _, in := range []string{
		`{"a":1}`,
		`not json "dtype"`,
		`{"x":{"dtype":"<f8","shape":[2],"data":[1.0]}}`,                    // size mismatch
		`{"x":{"dtype":"<f2","shape":[1],"buffer":"ADw="}}`,                 // buffer form
		`{"x":{"dtype":"<f4","shape":[1],"data":[0.0],"params":{"s":1.0}}}`, // params
	} {
		got := JinaArrays([]byte(in))
		var a, b any
		if json.Unmarshal(got, &a) == nil && json.Unmarshal([]byte(in), &b) == nil {
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s became %s", in, got)
			}
		} else if string(got) != in {
			t.Errorf("%s became %s", in, got)
		}
	}
}
