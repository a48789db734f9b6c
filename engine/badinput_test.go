package engine_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jig-dev/jig/proto/docarraypb"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Bad requests against a running flow: malformed HTTP bodies and
// DataRequestProto messages with bad documents each get a clear error
// (HTTP 400 naming the problem, an ERROR status or INVALID_ARGUMENT), the
// gateway never panics, and it keeps serving. The command-line side (flow
// and executor YAML, flags, JSONL documents) is cmd/jig/badinput_test.go.

func TestBadHTTPRequests(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
with: {protocol: [grpc, http]}
executors:
  - {name: a, uses: EngTagger}
`)
	base := "http://" + eng.Addresses().HTTP
	cases := []struct {
		method, path, body string
		code               int
		want               string // the exact error message
	}{
		{"POST", "/x", `{"data": [`, 400, `invalid request body: unexpected EOF (want {"data": [documents], "parameters": {...}})`},
		{"POST", "/x", `not json`, 400, `invalid request body: invalid character 'o' in literal null (expecting 'u') at byte 2 (want {"data": [documents], "parameters": {...}})`},
		{"POST", "/x", "\xff\xfe", 400, `invalid request body: invalid character 'ÿ' looking for beginning of value at byte 1 (want {"data": [documents], "parameters": {...}})`},
		{"POST", "/x", `[]`, 400, `invalid request body: want a JSON object, got a JSON array (want {"data": [documents], "parameters": {...}})`},
		{"POST", "/x", `{"data": [], "foo": 1}`, 400, `invalid request body: json: unknown field "foo" (want {"data": [documents], "parameters": {...}})`},
		{"POST", "/x", `{"header": {"requestId": 5}}`, 400, `invalid request body: field "header.requestId": want a JSON string, got a JSON number (want {"data": [documents], "parameters": {...}})`},
		{"POST", "/x", `{"data": []} {}`, 400, `invalid request body: trailing data after the JSON object`},
		{"POST", "/x", `{"data": 5}`, 400, `"data": want a JSON array of documents: got a JSON number`},
		{"POST", "/x", `{"data": [5]}`, 400, `"data": doc 0: want a JSON object: got a JSON number`},
		{"POST", "/x", `{"data": [{"text": 1}]}`, 400, `"data": doc 0: field "text": want a string: got a JSON number`},
		{"POST", "/x", `{"data": [{"text": "ok"}, {"tags": "x"}]}`, 400, `"data": doc 1: field "tags": want an object, got a string`},
		{"POST", "/x", `{"data": [{"embedding": "x"}]}`, 400, `"data": doc 0: field "embedding": want a list of numbers or {"dtype", "shape", "data"}, got a string`},
		{"POST", "/x", `{"data": [{"embedding": [1, "a"]}]}`, 400, `"data": doc 0: field "embedding": array elements must be numbers, got a string`},
		{"POST", "/x", `{"data": [{"embedding": [1e400]}]}`, 400, `"data": doc 0: field "embedding": element 0: 1e400 is not a valid <f4 element: value out of range`},
		{"POST", "/x", `{"data": [{"tensor": {"dtype": "<f4", "shape": [2], "data": [1]}}]}`, 400, `"data": doc 0: field "tensor": buffer of 4 bytes does not fit shape [2] of <f4 (want 8 bytes)`},
		{"POST", "/x", `{"data": [{"blob": "%%%"}]}`, 400, `"data": doc 0: field "blob": want a base64 string: illegal base64 data at input byte 0`},
		{"POST", "/x", `{"data": [{"matches": {}}]}`, 400, `"data": doc 0: field "matches": want a JSON array of documents: got a JSON object`},
		{"POST", "/x", `{"parameters": [1]}`, 400, `"parameters" must be a JSON object, got a JSON array`},
		{"POST", "/x", `{"parameters": "x"}`, 400, `"parameters" must be a JSON object, got a JSON string`},
		{"POST", "/x", `{"header": {"targetExecutor": "("}}`, 400, "target_executor \"(\" is not a valid regular expression: error parsing regexp: missing closing ): `^(?:()`"},
		{"POST", "/post", `{"data": []}`, 400, `"execEndpoint" is required for POST /post`},
		{"PUT", "/x", ``, 404, `no route PUT /x: send documents with POST /<endpoint>; see GET /docs`},
		{"GET", "/nope", ``, 404, `no route GET /nope: send documents with POST /<endpoint>; see GET /docs`},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s %q: %v (the gateway went down?)", c.method, c.path, c.body, err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("%s %s %q: answer is not JSON: %s", c.method, c.path, c.body, raw)
			continue
		}
		if res.StatusCode != c.code || body.Error.Message != c.want {
			t.Errorf("%s %s %q:\n  got  %d %s\n  want %d %s", c.method, c.path, c.body, res.StatusCode, body.Error.Message, c.code, c.want)
		}
	}
	// Still serving.
	res, err := http.Post(base+"/x", "application/json", strings.NewReader(`{"data": [{"text": "ok"}]}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("after bad requests: %v %v", res, err)
	}
	res.Body.Close()
}

// TestBadDataRequests: DataRequestProto messages with malformed documents
// get an ERROR status naming the document and field (or INVALID_ARGUMENT
// for a bad header); odd but harmless ones are served; nothing panics.
func TestBadDataRequests(t *testing.T) {
	eng := startFlow(t, `
jtype: Flow
executors:
  - {name: a, uses: EngTagger}
`)
	c := jinapb.NewJinaSingleDataRequestRPCClient(dial(t, eng.Addresses().GRPC))
	hdr := func() *jinapb.HeaderProto {
		return &jinapb.HeaderProto{RequestId: "r", ExecEndpoint: proto.String("/x")}
	}
	withDocs := func(docs ...*docarraypb.DocProto) *jinapb.DataRequestProto {
		return &jinapb.DataRequestProto{Header: hdr(), Data: &jinapb.DataRequestProto_DataContentProto{
			Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: &docarraypb.DocListProto{Docs: docs}}}}
	}
	ndarray := func(key, dtype string, buf []byte, shape ...uint32) *docarraypb.DocProto {
		return &docarraypb.DocProto{Data: map[string]*docarraypb.NodeProto{key: {Content: &docarraypb.NodeProto_Ndarray{
			Ndarray: &docarraypb.NdArrayProto{Dense: &docarraypb.DenseNdArrayProto{Buffer: buf, Shape: shape, Dtype: dtype}}}}}}
	}
	text := func(s string) *docarraypb.DocProto {
		return &docarraypb.DocProto{Data: map[string]*docarraypb.NodeProto{"text": {Content: &docarraypb.NodeProto_Text{Text: s}}}}
	}
	cases := []struct {
		name string
		req  *jinapb.DataRequestProto
		code codes.Code // gRPC error code, or OK for an answer
		want string     // the exact error or ERROR status description; "" when served
	}{
		{"docs_bytes not a DocListProto", &jinapb.DataRequestProto{Header: hdr(), Data: &jinapb.DataRequestProto_DataContentProto{
			Documents: &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: []byte("\xff\xfe garbage")}}},
			codes.OK, `BadRequest("decode DocListProto: proto: cannot parse invalid wire-format data")`},
		{"embedding buffer too short", withDocs(ndarray("embedding", "<f4", []byte{1, 2, 3}, 1)),
			codes.OK, `BadRequest("doc 0: field embedding: buffer of 3 bytes does not fit shape [1] of <f4 (want 4 bytes)")`},
		{"tensor shape larger than buffer", withDocs(text("ok"), ndarray("tensor", "<f8", make([]byte, 8), 2, 2)),
			codes.OK, `BadRequest("doc 1: field tensor: buffer of 8 bytes does not fit shape [2 2] of <f8 (want 32 bytes)")`},
		{"target_executor not a regex", &jinapb.DataRequestProto{Header: &jinapb.HeaderProto{ExecEndpoint: proto.String("/x"), TargetExecutor: proto.String("(")}},
			codes.InvalidArgument, "target_executor \"(\" is not a valid regular expression: error parsing regexp: missing closing ): `^(?:()`"},
		{"no header at all", &jinapb.DataRequestProto{}, codes.OK, ""},
		{"a nil document", withDocs(nil), codes.OK, ""},
		{"a nil field", withDocs(&docarraypb.DocProto{Data: map[string]*docarraypb.NodeProto{"text": nil}}), codes.OK, ""},
		{"an empty node", withDocs(&docarraypb.DocProto{Data: map[string]*docarraypb.NodeProto{"tags": {}}}), codes.OK, ""},
	}
	for _, tc := range cases {
		resp, err := c.ProcessSingleData(context.Background(), tc.req)
		switch {
		case tc.code != codes.OK:
			if status.Code(err) != tc.code || status.Convert(err).Message() != tc.want {
				t.Errorf("%s: got %v, want %v %q", tc.name, err, tc.code, tc.want)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "":
			if st := resp.GetHeader().GetStatus(); st.GetCode() != jinapb.StatusProto_SUCCESS {
				t.Errorf("%s: want it served, got %v", tc.name, st)
			}
		default:
			st := resp.GetHeader().GetStatus()
			// protobuf puts a no-break space in its errors, at random, so
			// that nobody depends on their text (and the description
			// quotes it as \u00a0); this test does on purpose.
			desc := strings.NewReplacer("\u00a0", " ", `\u00a0`, " ").Replace(st.GetDescription())
			if st.GetCode() != jinapb.StatusProto_ERROR || desc != tc.want || st.GetException().GetName() != "BadRequest" {
				t.Errorf("%s:\n  got  %v\n  want ERROR %s", tc.name, st, tc.want)
			}
		}
	}
	if _, docs := send(t, dial(t, eng.Addresses().GRPC), newReq("/x", nil, "ok")); docs[0].Text != "ok>a" {
		t.Fatalf("after bad requests: %q", docs[0].Text)
	}
}
