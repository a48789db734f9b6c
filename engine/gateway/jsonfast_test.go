package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fastSeeds are bodies for the fast/full comparisons: the common shapes
// and the corners of JSON strings, numbers and keys.
var fastSeeds = []string{
	jinaBody(1, 16),
	jinaBody(3, 100),
	jinaClientBody,
	``,
	`   `,
	`{}`,
	` {"data": []} `,
	`{"data": null}`,
	`{"data": {"id": "one", "text": "x"}}`,
	`{"data": [{}]}`,
	`{"data": [{"id": "", "text": ""}]}`,
	`{"data": [{"id": 12, "text": "n"}]}`,
	`{"data": [{"id": 1e400}]}`,
	`{"data": [{"id": "a", "id": "b"}]}`,
	`{"data": [{"id": "a", "id": null}]}`,
	`{"data": [{"text": "a\"b\\c\/d\b\f\n\r\t\u0000\u001f\u00e9\u20ac<>&\u2028\u2029"}]}`,
	`{"data": [{"text": "\ud83d\ude00 pair, \ud83d lone high, \ude00 lone low, \ud83d\u0041 high then A, \ud83d\ud83d two highs"}]}`,
	"{\"data\": [{\"text\": \"caf\xc3\xa9 \xff\xfe bad utf8 \xe2\x82 cut\"}]}",
	"{\"data\": [{\"id\": \"\xff\", \"text\": \"\\u00e9\", \"url\": \"\\u002f\"}]}",
	`{"data": [{"text": "x\y"}]}`,
	`{"data": [{"text": "\u12"}]}`,
	"{\"data\": [{\"text\": \"tab\there\"}]}",
	`{"data": [{"blob": "aGVsbG8="}, {"blob": ""}, {"blob": null}, {"blob": "not base64!"}, {"blob": "aGVs\nbG8="}]}`,
	`{"data": [{"url": "http://x/?a=1&b=<2>", "tags": {}, "tensor": null, "embedding": null, "chunks": null, "matches": null, "scores": null}]}`,
	`{"data": [{"tags": {"a": 1, "b": [1, 2.5, -0, 1e300, 123456789012345678901234567890], "c": {"d": {"e": null}}, "f": "\u00e9"}}]}`,
	`{"data": [{"tags": {"big": 1e400}}]}`,
	`{"data": [{"tags": 5}]}`,
	`{"data": [{"tags": { }, "tags": null}]}`,
	`{"data": [{"embedding": [1, 2.5, -3e-2]}, {"tensor": {"dtype": "<i8", "shape": [2], "data": [1, 2]}}]}`,
	`{"data": [{"text": "a", "extra_field": {"x": [true, false, null]}}]}`,
	`{"data": [{"text": 5}]}`,
	`{"data": [{"text": ["a"]}]}`,
	`{"data": [{"Text": "case"}]}`,
	`{"data": [{"te\u0078t": "escaped key"}]}`,
	`{"data": [{"matches": [{"id": "m", "scores": {"cosine": {"value": 0.5}}}]}]}`,
	`{"data": [1]}`,
	`{"data": ["x"]}`,
	`{"data": [{"text": "a"},]}`,
	`{"data": [{"text": "a"} {"text": "b"}]}`,
	`{"data": [{"text": "a"}], "data": [{"text": "b"}]}`,
	`{"data": [{"text": "a"}]} trailing`,
	`{"data": [{"text": "a"}]} {}`,
	`{"data": [{"text": "a"}`,
	`{"data": [{"text": "a`,
	`[]`,
	`"x"`,
	`{"parameters": {"a": 1, "b": {"c": [1, "x", null, true]}, "d": 1.5e3}}`,
	`{"parameters": {"a": 1e400}}`,
	`{"parameters": []}`,
	`{"parameters": 5}`,
	`{"parameters": null}`,
	`{"parameters": {"a": 1}, "parameters": {"b": 2}}`,
	`{"parameters": {"a": 01}}`,
	`{"parameters": {"a": -}}`,
	`{"parameters": {"a": 1.}}`,
	`{"parameters": {"a": .5}}`,
	`{"parameters": {"a": tru}}`,
	`{"parameters": {"a": "<&>"}}`,
	`{"header": {"requestId": "r", "targetExecutor": "t", "execEndpoint": "/e", "timeout": 5000, "status": {"code": 0}}}`,
	`{"header": {"request_id": "r", "target_executor": "t", "exec_endpoint": "e", "timeout": 4294967295}}`,
	`{"header": {"timeout": 4294967296}}`,
	`{"header": {"timeout": -1}}`,
	`{"header": {"timeout": 1.5}}`,
	`{"header": {"timeout": 0}}`,
	`{"header": {"timeout": null}}`,
	`{"header": {"REQUESTID": "case-insensitive"}}`,
	`{"header": {"requestId": "a", "requestId": "b"}}`,
	`{"header": {"requestId": null}}`,
	`{"header": {"requestId": 5}}`,
	`{"header": {"nope": 1}}`,
	`{"header": null}`,
	`{"header": []}`,
	`{"routes": [{"executor": "gateway"}], "execEndpoint": "/x", "targetExecutor": "e.*"}`,
	`{"execEndpoint": "x", "exec_endpoint": "y", "requestId": "\u0041", "request_id": "b", "target_executor": "z"}`,
	`{"execEndpoint": null}`,
	`{"execEndpoint": 5}`,
	`{"execEndpoint": "a", "execEndpoint": "b"}`,
	`{"unknown": 1}`,
	`{"dat\u0061": []}`,
	`{"data": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}`,
	`{"parameters": {"a": ` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}}`,
	"{\"data\"\t:\r\n[ {\"id\" : \"x\" , \"text\":\"y\" } ] }",
	"\ufeff{}",
}

// hexID matches the ids docarray.NewID makes, which differ run to run.
var hexID = regexp.MustCompile(`[0-9a-f]{32}`)

// FuzzFastDecodeMatchesFull: whenever fastDecode reads a body, the full
// decoder (decodeRequestBody, which defines what a body means) reads it
// without error, to the same fields and the same documents on the wire
// and in JSON.
func FuzzFastDecodeMatchesFull(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var fr fastResult
		if !fastDecode([]byte(body), &fr) {
			return
		}
		rb, docs, err := decodeRequestBody(strings.NewReader(body))
		if err != nil {
			t.Fatalf("fast path read %q, the full one refuses it: %v", body, err)
		}
		got, want := fr.rb, *rb
		if !equalRaw(got.Parameters, want.Parameters) || !equalRaw(got.Routes, want.Routes) {
			t.Fatalf("%q: parameters/routes %s %s, want %s %s", body, got.Parameters, got.Routes, want.Parameters, want.Routes)
		}
		gh, wh := got.Header, want.Header
		got.Parameters, got.Routes, got.Header, want.Parameters, want.Routes, want.Header = nil, nil, nil, nil, nil, nil
		if !equalJSON(t, got, want) {
			t.Fatalf("%q: body fields %+v, want %+v", body, got, want)
		}
		if (gh == nil) != (wh == nil) {
			t.Fatalf("%q: header %+v, want %+v", body, gh, wh)
		}
		if gh != nil {
			if !equalRaw(gh.Status, wh.Status) {
				t.Fatalf("%q: header status %s, want %s", body, gh.Status, wh.Status)
			}
			g, w := *gh, *wh
			g.Status, w.Status = nil, nil
			if !equalJSON(t, g, w) {
				t.Fatalf("%q: header %+v, want %+v", body, g, w)
			}
		}
		if (fr.docs == nil) != (docs == nil) {
			t.Fatalf("%q: data present %v, want %v", body, fr.docs != nil, docs != nil)
		}
		gotDocs, err := docarray.Unmarshal(fr.docs)
		if err != nil {
			t.Fatalf("%q: fast documents do not decode: %v", body, err)
		}
		// The full path's documents as the backend gets them: encoded by
		// SetRequestDocs, decoded by whoever reads them.
		p, err := docs.ToProtoChecked()
		if err != nil {
			return // the request is refused later on either path ("data": ...)
		}
		wantDocs, err := docarray.FromProto(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(gotDocs) != len(wantDocs) {
			t.Fatalf("%q: %d documents, want %d", body, len(gotDocs), len(wantDocs))
		}
		for i := range gotDocs {
			g, w := gotDocs[i], wantDocs[i]
			sameGeneratedIDs(g, w)
			if !proto.Equal(g.ToProto(), w.ToProto()) {
				t.Fatalf("%q: doc %d is %+v, want %+v", body, i, g, w)
			}
			gj, err1 := g.MarshalJSON()
			wj, err2 := w.MarshalJSON()
			if err1 != nil || err2 != nil || !bytes.Equal(gj, wj) {
				t.Fatalf("%q: doc %d JSON %s (%v), want %s (%v)", body, i, gj, err1, wj, err2)
			}
		}
	})
}

// sameGeneratedIDs gives g the ids of w (and so on down chunks and
// matches) where both are generated ones, which differ run to run.
func sameGeneratedIDs(g, w *docarray.Document) {
	if g == nil || w == nil {
		return
	}
	if g.ID != w.ID && len(g.ID) == 32 && len(w.ID) == 32 && hexID.MatchString(g.ID) && hexID.MatchString(w.ID) {
		g.ID = w.ID
	}
	for _, l := range [][2]docarray.DocList{{g.Chunks, w.Chunks}, {g.Matches, w.Matches}} {
		for i := range min(len(l[0]), len(l[1])) {
			sameGeneratedIDs(l[0][i], l[1][i])
		}
	}
}

// equalRaw compares raw JSON values as encoding/json reads them.
func equalRaw(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(x, y)
}

// FuzzHTTPFastMatchesFull: the gateway with its fast JSON paths answers
// every body exactly as with the full ones (status and body, generated
// ids aside), both for a backend that answers with encoded documents
// (remote executors) and for one that answers with decoded ones.
func FuzzHTTPFastMatchesFull(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add(s, "/foo")
		f.Add(s, "/post")
	}
	failing := newBackend()
	failing.setRoute(failRoute) // answers with the request's documents, as they came
	backends := []Backend{&codecEchoBackend{*newBackend()}, newBackend(), failing}
	f.Fuzz(func(t *testing.T, body, path string) {
		if path != "/foo" && path != "/post" {
			return
		}
		for _, b := range backends {
			fast := newHTTP(b, HTTPOptions{MaxBodyBytes: 1 << 20}, false)
			full := newHTTP(b, HTTPOptions{MaxBodyBytes: 1 << 20}, true)
			var answers [2]*httptest.ResponseRecorder
			for i, h := range []any{fast, full} {
				req := httptest.NewRequest("POST", path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.(interface {
					ServeHTTP(w http.ResponseWriter, r *http.Request)
				}).ServeHTTP(rec, req)
				answers[i] = rec
			}
			g, w := answers[0], answers[1]
			gb, wb := hexID.ReplaceAllString(g.Body.String(), "<id>"), hexID.ReplaceAllString(w.Body.String(), "<id>")
			if g.Code != w.Code || gb != wb {
				t.Fatalf("%T %s %q:\nfast %d %s\nfull %d %s", b, path, body, g.Code, gb, w.Code, wb)
			}
		}
	})
}

// TestResponseHeadMatchesResponseJSON: the head written without
// reflection is ResponseJSON's, byte for byte.
func TestResponseHeadMatchesResponseJSON(t *testing.T) {
	at := timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC))
	params, err := structpb.NewStruct(map[string]any{"a": 1, "b": 1e21, "c": "<&>\u2028", "d": []any{1.5, "x", nil, true}, "e": map[string]any{"z": 1, "a": math.Copysign(0, -1)}})
	if err != nil {
		t.Fatal(err)
	}
	nan := &structpb.Struct{Fields: map[string]*structpb.Value{"n": structpb.NewNumberValue(math.NaN())}}
	ex := executors.ErrorStatus(executors.Errorf("ValueError", "bad \"value\" <x>"), "enc", "line 1\nline 2")
	noArgs := &jinapb.StatusProto{Code: jinapb.StatusProto_ERROR, Exception: &jinapb.StatusProto_ExceptionProto{Name: "E"}}
	for i, resp := range []*jinapb.DataRequestProto{
		{},
		{Header: &jinapb.HeaderProto{RequestId: "r"}},
		{Header: &jinapb.HeaderProto{RequestId: "r\xff", ExecEndpoint: proto.String("/x<"), TargetExecutor: proto.String("e.*"), Status: ex}, Parameters: params},
		{Header: &jinapb.HeaderProto{Status: noArgs}, Parameters: &structpb.Struct{}},
		{Parameters: nan},
		{Header: &jinapb.HeaderProto{RequestId: "r"}, Routes: []*jinapb.RouteProto{
			{Executor: "gateway", StartTime: at, EndTime: at},
			{Executor: "enc\u00e9", StartTime: at},
			{Executor: "x", Status: ex},
			{},
		}},
	} {
		want, werr := ResponseJSON(resp)
		got, gerr := responseHead(resp)
		if (werr != nil) != (gerr != nil) || (werr != nil && werr.Error() != gerr.Error()) {
			t.Fatalf("%d: error %v, want %v", i, gerr, werr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestFastDecodeTakesCommonBodies: the bodies clients send take the fast
// path (else the comparisons above compare nothing).
func TestFastDecodeTakesCommonBodies(t *testing.T) {
	for _, body := range []string{
		jinaBody(100, 1024), jinaClientBody, `{}`, `{"data": []}`,
		`{"data": [{"text": "a\"b\\c\/d\b\f\n\r\t\u0000\u001f\u00e9\u20ac<>&\u2028\u2029"}]}`,
		`{"data": [{"text": "\ud83d\ude00 pair, \ud83d lone high, \ude00 lone low, \ud83d\u0041 high then A"}]}`,
		"{\"data\": [{\"text\": \"caf\xc3\xa9 \xff\xfe bad utf8 \xe2\x82 cut\"}]}",
		`{"data": [{"blob": "aGVsbG8="}, {"blob": ""}, {"blob": null}, {"blob": "aGVs\nbG8="}]}`,
		`{"data": [{"url": "u", "tags": {}, "tensor": null, "embedding": null, "chunks": null, "matches": null, "scores": null}]}`,
		`{"data": [{"id": 12, "tags": {"a": [1, 2.5, {"b": null}]}, "embedding": [1, 2]}]}`,
		`{"parameters": {"a": 1, "b": {"c": [1, "x", null, true]}, "d": 1.5e3}}`,
		`{"header": {"requestId": "r", "targetExecutor": "t", "execEndpoint": "/e", "timeout": 5000, "status": {"code": 0}}}`,
		`{"routes": [{"executor": "gateway"}], "execEndpoint": "/x", "targetExecutor": "e.*"}`,
	} {
		var fr fastResult
		if !fastDecode([]byte(body), &fr) {
			t.Errorf("full path for %.80q", body)
		}
	}
}

// TestFastStringEveryByteEveryOffset: each byte value (and escape) at
// each position of a word, in and after the eight-byte fast path, reads
// as encoding/json reads it, or takes the full path.
func TestFastStringEveryByteEveryOffset(t *testing.T) {
	for c := range 256 {
		for at := range 20 {
			s := bytes.Repeat([]byte("a"), 20)
			s[at] = byte(c)
			for _, text := range [][]byte{s, append(append(bytes.Clone(s[:at]), `\n\u00e9`...), s[at:]...)} {
				body := `{"data": [{"id": "x", "text": "` + string(text) + `"}]}`
				var fr fastResult
				ok := fastDecode([]byte(body), &fr)
				var want struct {
					Data []struct{ Text string } `json:"data"`
				}
				err := json.Unmarshal([]byte(body), &want)
				if !ok {
					if err == nil && c != '"' && c != '\\' && c >= 0x20 {
						t.Fatalf("byte %#x at %d: full path for a valid body %q", c, at, body)
					}
					continue
				}
				if err != nil {
					t.Fatalf("byte %#x at %d: fast path read an invalid body %q", c, at, body)
				}
				docs, err := docarray.Unmarshal(fr.docs)
				if err != nil || len(docs) != 1 || docs[0].Text != want.Data[0].Text {
					t.Fatalf("byte %#x at %d: %q, want %q (%v)", c, at, docs[0].Text, want.Data[0].Text, err)
				}
			}
		}
	}
}

// TestHTTPAnswerSizes: an answer that fits in one chunk goes out with its
// Content-Length; a longer one is written in chunks and arrives whole,
// document for document.
func TestHTTPAnswerSizes(t *testing.T) {
	srv := httptest.NewServer(NewHTTP(&codecEchoBackend{*newBackend()}, HTTPOptions{}))
	defer srv.Close()
	for _, n := range []int{1, 100, 1000} {
		body := jinaBody(n, 1024)
		resp, err := http.Post(srv.URL+"/foo", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Data []struct{ ID, Text string } `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d docs: %d %v", n, resp.StatusCode, err)
		}
		if fits := resp.ContentLength > 0; fits != (n <= 100) {
			t.Errorf("%d docs: Content-Length %d", n, resp.ContentLength)
		}
		if len(got.Data) != n || got.Data[n-1].ID != fmt.Sprintf("%032x", n) || len(got.Data[n-1].Text) != 1024 {
			t.Fatalf("%d docs: got %d back", n, len(got.Data))
		}
	}
}
