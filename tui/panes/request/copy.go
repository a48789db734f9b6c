package request

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// Draft is the composer's content as typed, before documents are built;
// the copy commands are made from it so they read like what the user
// wrote (texts stay --text flags, a file stays --data).
type Draft struct {
	Addr, Endpoint, Target string
	Mode                   DocsMode
	Lines                  string // text lines mode
	N                      int    // generate mode
	File                   string // JSONL file mode
	Params                 string // JSON or YAML
	RequestSize            int
}

// DocsMode says where the documents of a request come from.
type DocsMode int

// Document sources.
const (
	ModeLines    DocsMode = iota // one document per line (text, or JSON)
	ModeGenerate                 // N generated documents
	ModeFile                     // a JSON-lines file
)

// String names the mode as the composer shows it.
func (d DocsMode) String() string {
	return [...]string{"text lines", "generated", "JSONL file"}[d]
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// JigPost returns the draft as a `jig post` command line.
func JigPost(d Draft) (string, error) {
	args := []string{"jig", "post", shellQuote(d.Addr), "--on", shellQuote(d.Endpoint)}
	switch d.Mode {
	case ModeLines:
		var jsonLines []string
		var texts []string
		for _, l := range strings.Split(d.Lines, "\n") {
			t := strings.TrimSpace(l)
			switch {
			case t == "":
			case strings.HasPrefix(t, "{"):
				jsonLines = append(jsonLines, t)
			default:
				texts = append(texts, l)
			}
		}
		if len(jsonLines) > 0 {
			// Mixed or JSON documents: feed them as a JSONL file through
			// process substitution (bash, zsh), so the command stays one line.
			all := jsonLines[:0:0]
			for _, l := range strings.Split(d.Lines, "\n") {
				t := strings.TrimSpace(l)
				switch {
				case t == "":
				case strings.HasPrefix(t, "{"):
					all = append(all, t)
				default:
					b, _ := json.Marshal(map[string]string{"text": l})
					all = append(all, string(b))
				}
			}
			q := make([]string, len(all))
			for i, l := range all {
				q[i] = shellQuote(l)
			}
			args = append(args, "--data", "<(printf '%s\\n' "+strings.Join(q, " ")+")")
		} else {
			for _, t := range texts {
				args = append(args, "--text", shellQuote(t))
			}
		}
	case ModeGenerate:
		args = append(args, "--n", fmt.Sprint(d.N))
	case ModeFile:
		args = append(args, "--data", shellQuote(d.File))
	}
	if strings.TrimSpace(d.Params) != "" {
		p, err := ParseParameters(d.Params)
		if err != nil {
			return "", err
		}
		b, err := json.Marshal(p)
		if err != nil {
			return "", err
		}
		args = append(args, "--parameters", shellQuote(string(b)))
	}
	if d.RequestSize > 0 {
		args = append(args, "--request-size", fmt.Sprint(d.RequestSize))
	}
	if d.Target != "" {
		args = append(args, "--target", shellQuote(d.Target))
	}
	return strings.Join(args, " "), nil
}

// Grpcurl returns the request as a grpcurl command calling the gateway's
// jina.JinaSingleDataRequestRPC/process_single_data with the documents
// in their protobuf JSON form. docs are the documents to embed.
func Grpcurl(d Draft, docs docarray.DocList) (string, error) {
	req := &jinapb.DataRequestProto{
		Header: &jinapb.HeaderProto{ExecEndpoint: proto.String(d.Endpoint)},
		Data: &jinapb.DataRequestProto_DataContentProto{
			Documents: &jinapb.DataRequestProto_DataContentProto_Docs{Docs: docs.ToProto()},
		},
	}
	if d.Target != "" {
		req.Header.TargetExecutor = proto.String(d.Target)
	}
	if strings.TrimSpace(d.Params) != "" {
		p, err := ParseParameters(d.Params)
		if err != nil {
			return "", err
		}
		if len(p) > 0 {
			s, err := structpb.NewStruct(p)
			if err != nil {
				return "", fmt.Errorf("parameters: %v", err)
			}
			req.Parameters = s
		}
	}
	b, err := protojson.Marshal(req)
	if err != nil {
		return "", err
	}
	// protojson randomises its whitespace on purpose; compact it so the
	// command is stable and short.
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		return "", err
	}
	return fmt.Sprintf("grpcurl -plaintext -d %s %s jina.JinaSingleDataRequestRPC/process_single_data",
		shellQuote(c.String()), shellQuote(d.Addr)), nil
}

// copyDocs builds the documents embedded in the grpcurl command. Plain
// text lines get no id (the server assigns one), so copying twice gives
// the same command.
func copyDocs(d Draft) (docarray.DocList, error) {
	switch d.Mode {
	case ModeGenerate:
		out := make(docarray.DocList, d.N)
		for i := range out {
			out[i] = &docarray.Document{Text: fmt.Sprintf("doc %d", i)}
		}
		return out, nil
	case ModeFile:
		return ReadJSONL(d.File)
	}
	var out docarray.DocList
	for i, l := range strings.Split(d.Lines, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
		case strings.HasPrefix(t, "{"):
			doc := &docarray.Document{}
			if err := json.Unmarshal([]byte(t), doc); err != nil {
				return nil, fmt.Errorf("docs line %d: %v", i+1, err)
			}
			out = append(out, doc)
		default:
			out = append(out, &docarray.Document{Text: l})
		}
	}
	return out, nil
}
