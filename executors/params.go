package executors

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ResultsKey is the parameter under which executors' results travel back:
// parameters["__results__"][<executor name>] = results.
const ResultsKey = "__results__"

// Params are request parameters as a handler sees them: the client's
// parameters with those addressed to this executor merged in (see Scope).
// They arrive as a protobuf Struct, so numbers are float64.
type Params map[string]any

// String returns the string parameter key, or def when unset or not a string.
func (p Params) String(key, def string) string {
	if s, ok := p[key].(string); ok {
		return s
	}
	return def
}

// Float returns the numeric parameter key, or def.
func (p Params) Float(key string, def float64) float64 {
	switch v := p[key].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	}
	return def
}

// Int returns the numeric parameter key truncated to an int, or def.
func (p Params) Int(key string, def int) int {
	switch v := p[key].(type) {
	case float64:
		return int(v)
	case int:
		return v
	case int64:
		return int(v)
	}
	return def
}

// Bool returns the boolean parameter key, or def.
func (p Params) Bool(key string, def bool) bool {
	if b, ok := p[key].(bool); ok {
		return b
	}
	return def
}

// Decode fills the struct pointed to by v from the parameters, using its
// `json` tags (the parameters' own format). Unknown keys are ignored.
func (p Params) Decode(v any) error {
	b, err := json.Marshal(map[string]any(p))
	if err != nil {
		return fmt.Errorf("decode parameters: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode parameters: %w", err)
	}
	return nil
}

// Scope returns the parameters as executor `name` sees them (Jina's rules):
//
//   - parameters[name], when a dict, is merged into the top level;
//   - "name__key" becomes "key" for this executor;
//   - "other__key" keys addressed to other executors are dropped;
//   - __results__ is not shown to handlers.
//
// aliases are further names the executor answers to (e.g. metas.name).
// The input map is not modified.
func Scope(params map[string]any, name string, aliases ...string) Params {
	names := append([]string{name}, aliases...)
	isMine := func(n string) bool {
		for _, m := range names {
			if m != "" && m == n {
				return true
			}
		}
		return false
	}
	out := make(Params, len(params))
	specific := map[string]any{}
	for k, v := range params {
		if k == ResultsKey {
			continue
		}
		if exec, key, ok := splitSpecific(k); ok {
			if isMine(exec) {
				specific[key] = v
			}
			continue
		}
		out[k] = v
	}
	for _, n := range names {
		if sub, ok := params[n].(map[string]any); ok && n != "" {
			for k, v := range sub {
				out[k] = v
			}
		}
	}
	for k, v := range specific {
		out[k] = v
	}
	return out
}

// splitSpecific splits "exec__key" into ("exec", "key"). Keys that start or
// end with "__" (like "__results__") are not executor-specific. The executor
// part may itself contain "__": the last separator splits.
func splitSpecific(k string) (exec, key string, ok bool) {
	if strings.HasPrefix(k, "__") || strings.HasSuffix(k, "__") {
		return "", "", false
	}
	i := strings.LastIndex(k, "__")
	if i <= 0 {
		return "", "", false
	}
	return k[:i], k[i+2:], true
}
