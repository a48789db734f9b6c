package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/jig-dev/jig/executors/docarray"
)

// decodeRequestBody reads a request body as a stream of JSON tokens: the
// small fields (header, parameters, names) are decoded whole, the
// documents of "data" one at a time, so it never holds a generic JSON
// tree of the body, only the documents decoded so far (and the decoder's
// buffer of about one document). It defines what a body means: the
// gateway's fast decoder (fastDecode) gives the same result or leaves the
// body to it.
//
// Every key of requestBody's JSON tags is accepted, in either spelling;
// any other is refused as encoding/json's DisallowUnknownFields would.
// An empty body is an empty request.
func decodeRequestBody(r io.Reader) (*requestBody, docarray.DocList, error) {
	rb := &requestBody{}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	// Numbers keep their text, for the single-document copy below;
	// nothing else is decoded into an interface.
	dec.UseNumber()
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return rb, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("want a JSON object, got a JSON %s", tokenKind(tok))
	}
	var docs docarray.DocList
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, unexpectedEOF(err)
		}
		key, _ := tok.(string)
		var dst any
		switch key {
		case "data":
			if docs, err = decodeData(dec); err != nil {
				return nil, nil, err
			}
			continue
		case "parameters":
			dst = &rb.Parameters
		case "header":
			dst = &rb.Header
		case "routes":
			dst = &rb.Routes
		case "execEndpoint":
			dst = &rb.ExecEndpoint
		case "exec_endpoint":
			dst = &rb.ExecEndpointSnake
		case "targetExecutor":
			dst = &rb.TargetExecutor
		case "target_executor":
			dst = &rb.TargetExecutorSnake
		case "requestId":
			dst = &rb.RequestID
		case "request_id":
			dst = &rb.RequestIDSnake
		default:
			return nil, nil, fmt.Errorf("json: unknown field %q", key)
		}
		if err := dec.Decode(dst); err != nil {
			return nil, nil, fieldError(key, unexpectedEOF(err))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, unexpectedEOF(err)
	}
	if dec.More() {
		return nil, nil, errTrailing
	}
	// More stops at the end of the body or at a byte it cannot start a
	// value with; either way nothing but white space may follow.
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	return rb, docs, nil
}

// errTrailing: something follows the body's JSON object.
var errTrailing = errors.New("trailing data after the JSON object")

// decodeData decodes "data": a list of documents, one document (as Jina's
// gateway accepts: Union[List[Doc], Doc]) or null.
func decodeData(dec *json.Decoder) (docarray.DocList, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fieldError("data", unexpectedEOF(err))
	}
	switch tok {
	case nil:
		return nil, nil
	case json.Delim('['):
		docs := docarray.DocList{}
		for dec.More() {
			d := &docarray.Document{}
			if err := dec.Decode(d); err != nil {
				var se *json.SyntaxError
				if errors.As(err, &se) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, unexpectedEOF(err)
				}
				return nil, fmt.Errorf(`"data": doc %d: %w`, len(docs), err)
			}
			docs = append(docs, d)
		}
		if _, err := dec.Token(); err != nil { // the closing ']'
			return nil, unexpectedEOF(err)
		}
		return docs, nil
	case json.Delim('{'):
		var b bytes.Buffer
		if err := copyValue(dec, &b); err != nil {
			return nil, unexpectedEOF(err)
		}
		d := &docarray.Document{}
		if err := d.UnmarshalJSON(b.Bytes()); err != nil {
			return nil, fmt.Errorf(`"data": %w`, err)
		}
		return docarray.DocList{d}, nil
	}
	return nil, fmt.Errorf(`"data": want a JSON array of documents: got a JSON %s`, tokenKind(tok))
}

// maxCopyDepth bounds copyValue's nesting, as encoding/json bounds its own.
const maxCopyDepth = 10000

// copyValue writes the JSON object whose '{' dec has just returned to b,
// token by token (json.Decoder cannot peek, and "data" may be a list or an
// object).
func copyValue(dec *json.Decoder, b *bytes.Buffer) error {
	type frame struct {
		obj bool
		n   int // values (and keys) written in this frame
	}
	stack := []frame{{obj: true}}
	b.WriteByte('{')
	for len(stack) > 0 {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			b.WriteByte(byte(d))
			stack = stack[:len(stack)-1]
			continue
		}
		top := &stack[len(stack)-1]
		switch {
		case top.obj && top.n%2 == 1:
			b.WriteByte(':')
		case top.n > 0:
			b.WriteByte(',')
		}
		top.n++
		switch v := tok.(type) {
		case json.Delim:
			if len(stack) >= maxCopyDepth {
				return fmt.Errorf("JSON nests deeper than %d levels", maxCopyDepth)
			}
			b.WriteByte(byte(v))
			stack = append(stack, frame{obj: v == '{'})
		case string:
			s, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Write(s)
		case json.Number:
			b.WriteString(v.String())
		case bool:
			b.WriteString(strconv.FormatBool(v))
		case nil:
			b.WriteString("null")
		}
	}
	return nil
}

// unexpectedEOF turns the io.EOF a token read returns in the middle of a
// value into io.ErrUnexpectedEOF, as json.Unmarshal reports it.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// fieldError names the top-level key a decode error is about, unless the
// error is about the body as a whole (syntax, a failed read).
func fieldError(key string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Errorf("field %q: want a JSON %s, got a JSON %s", key, jsonKind(te.Type), te.Value)
		}
		return fmt.Errorf("field %q: want a JSON %s, got a JSON %s", key+"."+te.Field, jsonKind(te.Type), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || !isJSONError(err) {
		return err
	}
	return fmt.Errorf("field %q: %w", key, err)
}

// isJSONError reports whether err comes from decoding rather than from
// reading the body.
func isJSONError(err error) bool {
	var ue *json.UnmarshalTypeError
	var ie *json.InvalidUnmarshalError
	return errors.As(err, &ue) || errors.As(err, &ie) || bytes.HasPrefix([]byte(err.Error()), []byte("json: "))
}

// tokenKind names a JSON token for messages.
func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}
