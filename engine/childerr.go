package engine

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/jig-dev/jig/engine/flow"
	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/internal/yamlutil"
)

// A child-process replica receives the flow's uses_with, uses_metas,
// uses_requests and inline `uses: {jtype, source, with}` as flag text the
// engine re-serialized, so its config errors point into that text
// ("--uses-with:1:11: prefix: want a string, got a list"), which the user
// never wrote. The field path the child names is the same in the flow's
// node, so the engine finds the node there and says where it is in the
// flow file, exactly as a built-in executor's error does.

// childFlagError matches a worker's located error on one of the flags the
// engine passed: the flag, an optional line:col, the field path, the rest.
var childFlagError = regexp.MustCompile(`(?:^|: )(--uses-with|--uses-metas|--uses-requests|--uses)(?::\d+:\d+)?: (\S+): (.*)$`)

// childRemapError matches the worker's error for a --uses-requests entry
// naming a method the executor does not have (no position: the remap is
// checked after decoding).
var childRemapError = regexp.MustCompile(`(?:^|: )uses_requests\.(\S+): (.*)$`)

// childErrorLocator returns the ProcessSpec.Locate of a deployment.
func childErrorLocator(cfg *flow.Deployment) func(string) (string, bool) {
	return func(reason string) (string, bool) {
		if m := childRemapError.FindStringSubmatch(reason); m != nil {
			return locateIn(cfg.UsesRequestsAt, m[1], m[2], true)
		}
		m := childFlagError.FindStringSubmatch(reason)
		if m == nil {
			return "", false
		}
		field, msg := m[2], m[3]
		switch m[1] {
		case "--uses-with":
			return locateIn(cfg.UsesWith, field, msg, false)
		case "--uses-metas":
			return locateIn(cfg.UsesMetas, field, msg, false)
		case "--uses-requests":
			return locateIn(cfg.UsesRequestsAt, field, msg, true)
		default: // --uses: the inline config of a folder executor
			return locateIn(cfg.ConfigAt, field, msg, false)
		}
	}
}

// locateIn renders msg at field of o's node. An endpoint remap's keys are
// endpoint paths (they may hold dots), so oneKey takes field whole.
func locateIn(o *executors.Override, field, msg string, oneKey bool) (string, bool) {
	if o == nil || o.Node == nil {
		return "", false
	}
	var n *yaml.Node
	if oneKey {
		n = yamlutil.Lookup(o.Node, field)
	} else {
		n = walk(o.Node, field)
	}
	if n == nil {
		n = o.Node
	}
	full := field
	if o.Field != "" {
		full = o.Field + "." + field
	}
	return yamlutil.At(o.File, n, full, "%s", msg).Error(), true
}

// walk follows a field path such as "a.b[2].c" from n; it stops at the
// deepest node it can reach (nil when not even the first step exists).
func walk(n *yaml.Node, path string) *yaml.Node {
	var found *yaml.Node
	for part := range strings.SplitSeq(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			next := yamlutil.Lookup(n, key)
			if next == nil {
				return found
			}
			n, found = next, next
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			if !ok || err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return found
			}
			n, found = n.Content[i], n.Content[i]
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return found
}
