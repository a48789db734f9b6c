// Package flowedit writes changes made to a running flow back into its
// YAML file: an executor added, a deployment's uses_with replaced. It
// edits the yaml.v3 node tree, so comments, key order and everything it
// does not touch stay as the user wrote them, and shows the change as a
// line diff before anything is written.
package flowedit

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/jig-dev/jig/internal/yamlutil"
	"gopkg.in/yaml.v3"
)

// Change is one runtime change of the flow.
type Change struct {
	// Add is true for an added executor (Name, Uses, Reload); else the
	// change replaces the uses_with of deployment Name with UsesWith.
	Add      bool
	Name     string
	Uses     string
	Reload   bool
	UsesWith string
}

// Apply returns src with the changes made, in order.
func Apply(src []byte, changes []Change) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("flow YAML: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("flow YAML: not a mapping")
	}
	execs := yamlutil.Lookup(doc.Content[0], "executors")
	if execs == nil {
		execs = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		doc.Content[0].Content = append(doc.Content[0].Content, scalar("executors"), execs)
	}
	if execs.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("flow YAML line %d: executors is not a list", execs.Line)
	}
	for _, c := range changes {
		if c.Add {
			m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			m.Content = append(m.Content, scalar("name"), scalar(c.Name), scalar("uses"), scalar(c.Uses))
			if c.Reload {
				m.Content = append(m.Content, scalar("reload"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
			}
			execs.Content = append(execs.Content, m)
			continue
		}
		var dep *yaml.Node
		for _, e := range execs.Content {
			if n := yamlutil.Lookup(e, "name"); n != nil && n.Value == c.Name {
				dep = e
			}
		}
		if dep == nil {
			return nil, fmt.Errorf("flow YAML: no executor named %q", c.Name)
		}
		var uw yaml.Node
		if err := yaml.Unmarshal([]byte(c.UsesWith), &uw); err != nil {
			return nil, fmt.Errorf("uses_with of %s: %w", c.Name, err)
		}
		var node *yaml.Node
		if len(uw.Content) > 0 {
			node = uw.Content[0]
		}
		setValue(dep, "uses_with", node)
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return keepAlignment(src, out.Bytes()), nil
}

// commentGap matches the spaces before a line comment.
var commentGap = regexp.MustCompile(`\s+#`)

// keepAlignment puts back the original form of lines the encoder only
// re-spaced: yaml.v3 keeps comments but writes one space before a line
// comment, which would undo the user's aligned comment column and show
// every such line in the diff.
func keepAlignment(src, out []byte) []byte {
	orig := map[string]string{}
	for _, l := range strings.Split(string(src), "\n") {
		k := commentGap.ReplaceAllString(l, " #")
		if _, ok := orig[k]; !ok {
			orig[k] = l
		}
	}
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if o, ok := orig[commentGap.ReplaceAllString(l, " #")]; ok {
			lines[i] = o
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// setValue replaces (or appends) key in mapping m; a nil v removes it.
func setValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			if v == nil {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
				return
			}
			// Keep the comments that were on the old value.
			v.HeadComment, v.LineComment, v.FootComment = m.Content[i+1].HeadComment, m.Content[i+1].LineComment, m.Content[i+1].FootComment
			m.Content[i+1] = v
			return
		}
	}
	if v != nil {
		m.Content = append(m.Content, scalar(key), v)
	}
}

// Diff is a line diff of a and b: unchanged lines start with "  ",
// removed ones with "- " and added ones with "+ ". Only changed lines and
// context lines around them are kept; "…" marks what is left out.
func Diff(a, b string) []string {
	x, y := strings.Split(strings.TrimRight(a, "\n"), "\n"), strings.Split(strings.TrimRight(b, "\n"), "\n")
	// Longest common subsequence table (flow files are small).
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var all []string
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			all = append(all, "  "+x[i])
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			all = append(all, "+ "+y[j])
			j++
		default:
			all = append(all, "- "+x[i])
			i++
		}
	}
	const context = 2
	keep := make([]bool, len(all))
	for k, l := range all {
		if !strings.HasPrefix(l, "  ") {
			for c := max(0, k-context); c <= min(len(all)-1, k+context); c++ {
				keep[c] = true
			}
		}
	}
	var out []string
	skipped := false
	for k, l := range all {
		if keep[k] {
			out = append(out, l)
			skipped = false
		} else if !skipped {
			out = append(out, "…")
			skipped = true
		}
	}
	return out
}
