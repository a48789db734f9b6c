package executors

import (
	"encoding/json"
	"fmt"

	"github.com/jig-dev/jig/internal/wire"
)

// ResultsKey is the parameter under which executors' results travel back:
// parameters["__results__"][<executor name>] = results.
const ResultsKey = wire.ResultsKey

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

// Scope returns the parameters as executor `name` sees them, by the rule of
// Jina's worker (_parse_params in jina/serve/runtimes/worker/
// request_handling.py): parameters[name], when a non-empty dict, is merged
// into the top level; every other key is passed as it came, parameters[name]
// included. __results__ is not shown to handlers.
//
// "NAME__key" keys are not resolved here: like Jina, the gateway resolves
// them per deployment before sending (engine/router.SpecificParams), so an
// executor sees the same parameters behind jig's gateway and behind
// Jina's, and a jig worker behind Jina's gateway gets them resolved by it.
//
// aliases are further names the executor answers to (e.g. metas.name).
// The input map is not modified.
func Scope(params map[string]any, name string, aliases ...string) Params {
	out := make(Params, len(params))
	for k, v := range params {
		if k == ResultsKey {
			continue
		}
		out[k] = v
	}
	for _, n := range append([]string{name}, aliases...) {
		if sub, ok := params[n].(map[string]any); ok && n != "" {
			for k, v := range sub {
				out[k] = v
			}
		}
	}
	return out
}
