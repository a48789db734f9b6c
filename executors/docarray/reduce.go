package docarray

import (
	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/proto"
)

// Reduce merges the results of several shards or branches into one list, as
// Jina reduces polling-ALL shards and joins: documents are matched by ID;
// the first list to set a field wins; fields the first left unset are taken
// from later lists; tags and scores are merged key by key (first wins);
// matches and chunks are concatenated. Documents are ordered as they first
// appear. Inputs are not modified.
func Reduce(lists ...DocList) DocList {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	var out DocList
	byID := map[string]*Document{}
	for _, l := range lists {
		for _, d := range l {
			if d == nil {
				continue
			}
			if prev, ok := byID[d.ID]; ok && d.ID != "" {
				mergeInto(prev, d)
				continue
			}
			c := d.Clone()
			out = append(out, c)
			if d.ID != "" {
				byID[d.ID] = c
			}
		}
	}
	if out == nil {
		out = DocList{}
	}
	return out
}

// mergeInto merges src into dst, dst winning on conflicts.
func mergeInto(dst, src *Document) {
	if dst.Text == "" {
		dst.Text = src.Text
	}
	if dst.Blob == nil && src.Blob != nil {
		dst.Blob = append([]byte(nil), src.Blob...)
	}
	if dst.URL == "" {
		dst.URL = src.URL
	}
	if dst.Tensor == nil {
		dst.Tensor = src.Tensor.Clone()
	}
	if dst.Embedding == nil {
		dst.Embedding = src.Embedding.Clone()
	}
	for k, v := range src.Tags {
		if _, ok := dst.Tags[k]; !ok {
			dst.SetTag(k, cloneValue(v))
		}
	}
	for k, v := range src.Scores {
		if _, ok := dst.Scores[k]; !ok {
			if dst.Scores == nil {
				dst.Scores = map[string]NamedScore{}
			}
			dst.Scores[k] = v
		}
	}
	if src.Chunks != nil {
		dst.Chunks = append(dst.Chunks, src.Chunks.Clone()...)
	}
	if src.Matches != nil {
		dst.Matches = append(dst.Matches, src.Matches.Clone()...)
	}
	for k, v := range src.Extra {
		if _, ok := dst.Extra[k]; !ok {
			if dst.Extra == nil {
				dst.Extra = map[string]*docarraypb.NodeProto{}
			}
			dst.Extra[k] = proto.Clone(v).(*docarraypb.NodeProto) // the result shares nothing with src
		}
	}
}
