package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/docarraypb"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The answer's JSON, written without reflection.
//
// responseHead writes what ResponseJSON writes for a response without
// documents, and writeResponse writes plain documents of an encoded answer
// (what comes back from a remote executor) straight from their bytes
// (docarray.AppendPlainJSON), the others through Document.MarshalJSON as
// before. Tests compare both with the reflection path.

// outBufs are the chunk buffers answers are written through.
var outBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// maxPooled is the largest buffer kept for reuse (one huge document
// should not pin its memory).
const maxPooled = 1 << 20

// outChunk is how much of an answer is gathered before it is written: an
// answer that fits goes out in one write with its Content-Length (100
// documents of 1 KiB do), a longer one in chunks of about this size.
const outChunk = 256 << 10

// responseHead returns ResponseJSON of resp without its documents: the
// header, parameters and routes, ending in "data":[]}.
func responseHead(resp *jinapb.DataRequestProto) ([]byte, error) {
	b := make([]byte, 0, 256)
	h := resp.GetHeader()
	b = append(b, `{"header":{"requestId":`...)
	b = docarray.AppendJSONString(b, []byte(h.GetRequestId()))
	if s := h.GetExecEndpoint(); s != "" {
		b = append(b, `,"execEndpoint":`...)
		b = docarray.AppendJSONString(b, []byte(s))
	}
	if s := h.GetTargetExecutor(); s != "" {
		b = append(b, `,"targetExecutor":`...)
		b = docarray.AppendJSONString(b, []byte(s))
	}
	b = append(b, `,"status":`...)
	if st := h.GetStatus(); st != nil {
		b = appendStatusJSON(b, st)
	} else {
		b = append(b, `{"code":"SUCCESS"}`...)
	}
	b = append(b, `},"parameters":`...)
	if len(resp.GetParameters().GetFields()) == 0 {
		b = append(b, `{}`...)
	} else {
		p, err := json.Marshal(resp.GetParameters().AsMap())
		if err != nil {
			return nil, err
		}
		b = append(b, p...)
	}
	b = append(b, `,"routes":[`...)
	for i, r := range resp.GetRoutes() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"executor":`...)
		b = docarray.AppendJSONString(b, []byte(r.GetExecutor()))
		if r.GetStartTime() != nil {
			b = append(b, `,"startTime":"`...)
			b = r.GetStartTime().AsTime().AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		}
		if r.GetEndTime() != nil {
			b = append(b, `,"endTime":"`...)
			b = r.GetEndTime().AsTime().AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		}
		if st := r.GetStatus(); st != nil {
			b = append(b, `,"status":`...)
			b = appendStatusJSON(b, st)
		}
		b = append(b, '}')
	}
	return append(b, `],"data":[]}`...), nil
}

// appendStatusJSON writes a status as ResponseJSON does.
func appendStatusJSON(b []byte, st *jinapb.StatusProto) []byte {
	b = append(b, `{"code":`...)
	b = docarray.AppendJSONString(b, []byte(st.GetCode().String()))
	if s := st.GetDescription(); s != "" {
		b = append(b, `,"description":`...)
		b = docarray.AppendJSONString(b, []byte(s))
	}
	if ex := st.GetException(); ex != nil {
		b = append(b, `,"exception":{"name":`...)
		b = docarray.AppendJSONString(b, []byte(ex.GetName()))
		b = append(b, `,"args":`...)
		b = appendStringsJSON(b, ex.GetArgs())
		if len(ex.GetStacks()) > 0 {
			b = append(b, `,"stacks":`...)
			b = appendStringsJSON(b, ex.GetStacks())
		}
		b = append(b, `,"executor":`...)
		b = docarray.AppendJSONString(b, []byte(ex.GetExecutor()))
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendStringsJSON writes a []string as encoding/json does (nil: null).
func appendStringsJSON(b []byte, l []string) []byte {
	if l == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = docarray.AppendJSONString(b, []byte(s))
	}
	return append(b, ']')
}

// encodedAnswer is an answer's documents held encoded, checked: entries
// are its docs entries, and others the decoded documents that are not
// plain, by index.
type encodedAnswer struct {
	entries [][]byte
	others  map[int]*docarray.Document
}

// readEncodedAnswer splits an encoded DocListProto into its documents the
// way docarray.Unmarshal reads it directly, decoding the ones that are not
// plain; false when Unmarshal would not read it directly (the caller then
// decodes it the usual way, which gives the usual result or error).
func readEncodedAnswer(b []byte) (encodedAnswer, bool) {
	var a encodedAnswer
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != 1 || typ != protowire.BytesType {
			return a, false
		}
		b = b[n:]
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return a, false
		}
		b = b[n:]
		if !docarray.IsPlainEntry(v) {
			var p docarraypb.DocProto
			if proto.Unmarshal(v, &p) != nil {
				return a, false
			}
			d, err := docarray.DocFromProto(&p)
			if err != nil {
				return a, false
			}
			if a.others == nil {
				a.others = map[int]*docarray.Document{}
			}
			a.others[len(a.entries)] = d
		}
		a.entries = append(a.entries, v)
	}
	return a, true
}

// writeResponse writes a response in the JSON form ResponseJSON describes,
// the documents one at a time (with JinaArrays applied to each for a
// Jina-dialect request) through a chunk buffer, so the answer is never a
// second whole copy of the documents in memory.
//
// slow takes the reflection path for everything (tests compare the two).
func writeResponse(w http.ResponseWriter, resp *jinapb.DataRequestProto, jinaDialect, slow bool) error {
	var (
		docs    docarray.DocList
		encoded encodedAnswer
		direct  bool
	)
	if db, ok := resp.GetData().GetDocuments().(*jinapb.DataRequestProto_DataContentProto_DocsBytes); ok && !slow {
		encoded, direct = readEncodedAnswer(db.DocsBytes)
	}
	if !direct {
		var err error
		if docs, err = executors.RequestDocs(resp); err != nil {
			writeError(w, http.StatusInternalServerError, "INTERNAL", "encode response: "+err.Error())
			return nil
		}
	}
	var head []byte
	var err error
	if slow {
		head, err = ResponseJSON(&jinapb.DataRequestProto{Header: resp.GetHeader(), Parameters: resp.GetParameters(), Routes: resp.GetRoutes()})
	} else {
		head, err = responseHead(resp)
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL", "encode response: "+err.Error())
		return nil
	}
	if jinaDialect {
		head = JinaArrays(head)
	}
	code := http.StatusOK
	if st := resp.GetHeader().GetStatus(); st.GetCode() == jinapb.StatusProto_ERROR {
		code = http.StatusInternalServerError
		head = withDetail(head, st.GetDescription())
	}
	// head ends with "data":[]} (ResponseJSON writes data last).
	const tail = `"data":[]}`
	if !bytes.HasSuffix(head, []byte(tail)) {
		return fmt.Errorf("encode response: unexpected head %.40q", head[max(0, len(head)-40):])
	}
	w.Header().Set("Content-Type", "application/json")
	headerOut := false
	bp := outBufs.Get().(*[]byte)
	buf := append((*bp)[:0], head[:len(head)-2]...)
	defer func() {
		if cap(buf) <= maxPooled {
			*bp = buf[:0]
			outBufs.Put(bp)
		}
	}()
	n := len(docs)
	if direct {
		n = len(encoded.entries)
	}
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		mark := len(buf)
		var d *docarray.Document
		if direct {
			if d = encoded.others[i]; d == nil {
				buf, _ = docarray.AppendPlainJSON(buf, encoded.entries[i]) // checked plain
			}
		} else if d = docs[i]; d == nil {
			d = &docarray.Document{}
		}
		if d != nil {
			b, err := d.MarshalJSON()
			if err != nil {
				return fmt.Errorf("doc %d: %w", i, err)
			}
			buf = append(buf, b...)
			if !direct {
				docs[i] = nil // written: let the collector have it
			}
		}
		if jinaDialect && bytes.Contains(buf[mark:], []byte(`"dtype"`)) {
			b := JinaArrays(bytes.Clone(buf[mark:]))
			buf = append(buf[:mark], b...)
		}
		if len(buf) >= outChunk {
			if !headerOut {
				w.WriteHeader(code)
				headerOut = true
			}
			if _, err := w.Write(buf); err != nil {
				return nil // the client went away
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, "]}\n"...)
	if !headerOut {
		w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
		w.WriteHeader(code)
	}
	_, err = w.Write(buf)
	return err
}
