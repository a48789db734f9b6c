package docarray

import (
	"github.com/jig-dev/jig/proto/docarraypb"
	"google.golang.org/protobuf/proto"
)

// Reduce merges the results of several shards or branches into one list, as
// Jina reduces polling-ALL shards and joins: documents are matched by ID;
// the first list to set a field wins; fields the first left unset are taken
// from later lists; tags and scores are merged key by key (first wins);
// matches and chunks are merged the same way, as unions by ID, so a chunk
// every shard passes back unchanged appears once while matches found by
// different shards are all kept (docarray's reduce_all). Documents are
// ordered as they first appear; documents without an ID are never merged.
// Inputs are not modified.
func Reduce(lists ...DocList) DocList {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	out := DocList{}
	byID := map[string]*Document{}
	for _, l := range lists {
		out = unionInto(out, byID, l)
	}
	return out
}

// unionInto merges the documents of src into dst, whose documents with an
// ID are indexed in byID: a document dst already holds absorbs src's (see
// mergeInto), any other is appended as a copy.
func unionInto(dst DocList, byID map[string]*Document, src DocList) DocList {
	for _, d := range src {
		if d == nil {
			continue
		}
		if prev, ok := byID[d.ID]; ok && d.ID != "" {
			mergeInto(prev, d)
			continue
		}
		c := d.Clone()
		dst = append(dst, c)
		if d.ID != "" {
			byID[d.ID] = c
		}
	}
	return dst
}

// unionLists is unionInto for a nested list (chunks, matches) of a
// document the result already owns.
func unionLists(dst, src DocList) DocList {
	if src == nil {
		return dst
	}
	byID := make(map[string]*Document, len(dst))
	for _, d := range dst {
		if d != nil && d.ID != "" {
			if _, dup := byID[d.ID]; !dup {
				byID[d.ID] = d
			}
		}
	}
	if dst == nil {
		dst = DocList{}
	}
	return unionInto(dst, byID, src)
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
	dst.Chunks = unionLists(dst.Chunks, src.Chunks)
	dst.Matches = unionLists(dst.Matches, src.Matches)
	for k, v := range src.Extra {
		if _, ok := dst.Extra[k]; !ok {
			if dst.Extra == nil {
				dst.Extra = map[string]*docarraypb.NodeProto{}
			}
			dst.Extra[k] = proto.Clone(v).(*docarraypb.NodeProto) // the result shares nothing with src
		}
	}
}
