package wire

import (
	"fmt"
	"slices"

	"github.com/jig-dev/jig/executors/docarray"
	"github.com/jig-dev/jig/proto/docarraypb"
	"github.com/jig-dev/jig/proto/jinapb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// ResultsKey is the parameters key under which executors' results travel
// ({"__results__": {"<executor>": {...}}}), as in Jina.
const ResultsKey = "__results__"

// Shallow copies the top level of a request (and of its data, so the
// documents can be replaced) so a response can differ from it without
// changing the caller's message; everything below is shared.
func Shallow(r *jinapb.DataRequestProto) *jinapb.DataRequestProto {
	return &jinapb.DataRequestProto{Header: r.GetHeader(), Parameters: r.GetParameters(), Routes: r.GetRoutes(), Data: copyData(r.GetData())}
}

// HeaderWithStatus returns a copy of h (an empty header when nil) carrying
// st; h is not changed.
func HeaderWithStatus(h *jinapb.HeaderProto, st *jinapb.StatusProto) *jinapb.HeaderProto {
	out := &jinapb.HeaderProto{}
	if h != nil {
		out.RequestId, out.ExecEndpoint, out.TargetExecutor, out.Timeout = h.RequestId, h.ExecEndpoint, h.TargetExecutor, h.Timeout
	}
	out.Status = st
	return out
}

// Failed is the error response to req: req's header with status st (an
// ERROR status), and its parameters, routes and documents as they came,
// as Jina answers a failed request. req is not changed.
func Failed(req *jinapb.DataRequestProto, st *jinapb.StatusProto) *jinapb.DataRequestProto {
	return &jinapb.DataRequestProto{Header: HeaderWithStatus(req.GetHeader(), st), Parameters: req.GetParameters(), Routes: req.GetRoutes(), Data: req.GetData()}
}

// Docs decodes a request's documents, whichever form (docs or docs_bytes)
// they travel in; a request without documents has an empty list.
func Docs(req *jinapb.DataRequestProto) (docarray.DocList, error) {
	switch d := req.GetData().GetDocuments().(type) {
	case *jinapb.DataRequestProto_DataContentProto_Docs:
		return docarray.FromProto(d.Docs)
	case *jinapb.DataRequestProto_DataContentProto_DocsBytes:
		return docarray.Unmarshal(d.DocsBytes)
	}
	return docarray.DocList{}, nil
}

// SetDocs stores docs in a request, in the form (docs or docs_bytes) the
// request already used. It fails, naming the document and field, when a
// document holds a value the wire cannot carry (see Document.Validate).
func SetDocs(req *jinapb.DataRequestProto, docs docarray.DocList) error {
	if _, isBytes := req.GetData().GetDocuments().(*jinapb.DataRequestProto_DataContentProto_DocsBytes); isBytes {
		// Straight to bytes: no DocListProto to build and marshal.
		b, err := docs.AppendChecked(nil)
		if err != nil {
			return err
		}
		req.Data.Documents = &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: b}
		return nil
	}
	p, err := docs.ToProtoChecked()
	if err != nil {
		return err
	}
	return SetDocList(req, p)
}

// SetDocList stores encoded documents in a request, in the form (docs or
// docs_bytes) the request already used; documents that came as docs but
// were held undecoded (see Codec) go back out as docs.
func SetDocList(req *jinapb.DataRequestProto, l *docarraypb.DocListProto) error {
	if _, isBytes := req.GetData().GetDocuments().(*jinapb.DataRequestProto_DataContentProto_DocsBytes); isBytes {
		b, err := proto.Marshal(l)
		if err != nil {
			return fmt.Errorf("encode documents: %w", err)
		}
		req.Data.Documents = &jinapb.DataRequestProto_DataContentProto_DocsBytes{DocsBytes: b}
		return nil
	}
	if req.Data == nil {
		req.Data = &jinapb.DataRequestProto_DataContentProto{}
	}
	req.Data.Documents = &jinapb.DataRequestProto_DataContentProto_Docs{Docs: l}
	return nil
}

// Merge reduces several requests or responses of one request (the shards
// of a deployment, the inputs of a join, the parts of a process_data
// call) into one: the first part's header, the parameters base plus the
// __results__ of every part, the routes of all parts (each route once:
// branches share the routes before they split), and the documents reduced
// by id (docarray.Reduce). One part is returned as it is. An error names
// the part whose documents do not decode.
func Merge(base *structpb.Struct, parts []*jinapb.DataRequestProto) (*jinapb.DataRequestProto, error) {
	if len(parts) == 1 {
		return parts[0], nil
	}
	lists := make([]docarray.DocList, len(parts))
	for i, p := range parts {
		docs, err := Docs(p)
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", i, err)
		}
		lists[i] = docs
	}
	out := &jinapb.DataRequestProto{Header: parts[0].GetHeader(), Parameters: mergeResults(base, parts), Routes: mergeRoutes(parts)}
	if err := SetDocs(out, docarray.Reduce(lists...)); err != nil {
		return nil, err
	}
	return out, nil
}

// mergeResults returns base with the __results__ entries of every part
// (base itself when no part has any).
func mergeResults(base *structpb.Struct, parts []*jinapb.DataRequestProto) *structpb.Struct {
	var all map[string]*structpb.Value
	for _, p := range parts {
		r := p.GetParameters().GetFields()[ResultsKey].GetStructValue()
		for k, v := range r.GetFields() {
			if all == nil {
				all = map[string]*structpb.Value{}
			}
			all[k] = v
		}
	}
	if all == nil {
		return base
	}
	out := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for k, v := range base.GetFields() {
		out.Fields[k] = v
	}
	out.Fields[ResultsKey] = structpb.NewStructValue(&structpb.Struct{Fields: all})
	return out
}

// mergeRoutes concatenates the routes of parts, keeping each route (the
// same message) once.
func mergeRoutes(parts []*jinapb.DataRequestProto) []*jinapb.RouteProto {
	var out []*jinapb.RouteProto
	for _, p := range parts {
		for _, r := range p.GetRoutes() {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}
