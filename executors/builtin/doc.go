// Package builtin holds jig's built-in executors. Importing it (a blank
// import is enough) registers them, so a Flow can use them in-process
// without a compile step, as `uses: builtin:<Name>` or `jtype: <Name>`:
//
//	Echo            returns the documents unchanged (a handled no-op)
//	TextNormalizer  Unicode normalisation, lowercasing, whitespace clean-up
//	Sentencizer     splits each text into sentence chunks
//	HashEmbedder    deterministic feature-hashing embeddings of text
//	Sleep           waits a configurable latency (load and timeout tests)
//	Fault           fails or panics at configurable rates (chaos tests)
//	SimpleIndexer   stateful in-memory cosine kNN index with snapshots
//	TokenStreamer   a generator: streams each text token by token (stream_doc)
//
// Each executor's options are struct fields filled from `with:` /
// uses_with by their yaml tag; the factory registered for it sets the
// defaults, so an option left out of the YAML keeps its default.
//
// Together they cover a complete text-search flow with no model to
// download — normalise, split, embed and index text, then search it — plus
// the latency and failure injection that load and chaos tests need.
package builtin
