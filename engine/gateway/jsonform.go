package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
)

// JinaArrays rewrites a JSON answer for Jina's Python client: every array
// written in jig's {"dtype", "shape", "data"} object form (numeric dtypes
// other than float32, and scalars) becomes the nested list docarray writes
// for any numpy array (orjson), since the client loads documents with
// pydantic, whose NdArray accepts a list but not that object
// ("Expected one of [torch.Tensor, tensorflow.Tensor, numpy.ndarray]
// compatible type, got <class 'dict'>"). A Python executor's float64
// embedding is the common case. The dtype is lost, as it is with Jina's
// own HTTP gateway; the elements keep their exact text (floats keep ".0").
//
// Arrays JSON cannot spell as numbers ({"dtype", "shape", "buffer"}) and
// arrays with "params" are left as they are. body is returned unchanged
// when it holds no array object or is not valid JSON.
func JinaArrays(body []byte) []byte {
	if !bytes.Contains(body, []byte(`"dtype"`)) {
		return body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	out, err := json.Marshal(rewriteArrays(v, 0))
	if err != nil {
		return body
	}
	return out
}

// maxRewriteDepth bounds the walk (documents nest chunks and matches).
const maxRewriteDepth = 200

func rewriteArrays(v any, depth int) any {
	if depth > maxRewriteDepth {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		if l, ok := arrayObjectAsList(x); ok {
			return l
		}
		for k, e := range x {
			x[k] = rewriteArrays(e, depth+1)
		}
	case []any:
		for i, e := range x {
			x[i] = rewriteArrays(e, depth+1)
		}
	}
	return v
}

// arrayObjectAsList turns {"dtype": "<f8", "shape": [2, 2], "data": [...]}
// into [[...], [...]] (a scalar for shape []).
func arrayObjectAsList(m map[string]any) (any, bool) {
	if len(m) != 3 {
		return nil, false
	}
	dtype, ok1 := m["dtype"].(string)
	shapeAny, ok2 := m["shape"].([]any)
	data, ok3 := m["data"].([]any)
	if !ok1 || !ok2 || !ok3 || !(strings.HasPrefix(dtype, "<") || strings.HasPrefix(dtype, "|")) {
		return nil, false
	}
	shape := make([]int, len(shapeAny))
	size := 1
	for i, s := range shapeAny {
		n, ok := s.(json.Number)
		if !ok {
			return nil, false
		}
		d, err := n.Int64()
		if err != nil || d < 0 {
			return nil, false
		}
		shape[i] = int(d)
		size *= int(d)
	}
	if size != len(data) {
		return nil, false
	}
	if len(shape) == 0 {
		return data[0], true
	}
	i := 0
	return nest(shape, data, &i), true
}

func nest(shape []int, data []any, i *int) []any {
	out := make([]any, shape[0])
	for k := range out {
		if len(shape) == 1 {
			out[k] = data[*i]
			*i++
		} else {
			out[k] = nest(shape[1:], data, i)
		}
	}
	return out
}
