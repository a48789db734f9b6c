package builtin

import (
	"context"
	"math"
	"unicode"
	"unicode/utf8"

	"github.com/jig-dev/jig/executors"
)

func init() {
	executors.Register("HashEmbedder", func() executors.Executor {
		return &HashEmbedder{Dim: 128, EmbedChunks: true}
	})
}

// HashEmbedder computes a deterministic embedding of each document's Text
// by feature hashing (the "hashing trick"): every token, and optionally
// every character n-gram, is hashed into one of Dim buckets and adds ±1
// there; the vector is then L2-normalised. Texts that share words get a
// high cosine similarity, with no model to download — enough for demos,
// tests and benchmarks of the search path, and identical on every replica
// and every run for the same options.
//
// Tokens are maximal runs of Unicode letters, digits and combining marks,
// lowercased. Each is hashed with 64-bit FNV-1a, seeded with Seed, and the
// hash is passed through MurmurHash3's 64-bit finaliser: FNV's low bits
// depend only on the low bits of the input bytes, so without mixing "a"
// and "q" would share a bucket whenever Dim is 16 or less. The bucket is
// the mixed hash modulo Dim and the sign comes from its top bit, so that
// collisions cancel out on average instead of piling up.
//
// The embedding is a float32 vector ("<f4") of shape [Dim]. Documents with
// empty text, or with no token (only punctuation), are left as they are:
// a zero vector has no direction to compare.
type HashEmbedder struct {
	executors.Base

	// Dim is the number of dimensions (buckets). Default 128.
	Dim int `yaml:"dim"`
	// Seed changes every hash, giving an unrelated embedding space.
	// Default 0.
	Seed uint64 `yaml:"seed"`
	// Ngrams, when > 0, also hashes the character n-grams of this length of
	// each token (padded with "<" and ">" so prefixes and suffixes are
	// distinct features). Trigrams (3) make the embedding robust to typos
	// and inflections. Default 0: tokens only.
	Ngrams int `yaml:"ngrams"`
	// EmbedChunks also embeds the chunks (recursively) that have text.
	// Default true.
	EmbedChunks bool `yaml:"embed_chunks"`

	tokenBasis, gramBasis uint64 // FNV states after the seed and a feature-kind byte
}

// FNV-1a 64-bit parameters.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// Init validates the options and derives the seeded hash states.
func (h *HashEmbedder) Init(ctx context.Context) error {
	if h.Dim <= 0 {
		return configError("dim", "must be positive, got %d", h.Dim)
	}
	if h.Ngrams < 0 {
		return configError("ngrams", "must not be negative (0 turns n-grams off), got %d", h.Ngrams)
	}
	basis := uint64(fnvOffset64)
	for i := range 8 {
		basis = fnvByte(basis, byte(h.Seed>>(8*i)))
	}
	// Distinct prefixes keep the token "ab" and the n-gram "ab" apart.
	h.tokenBasis = fnvByte(basis, 't')
	h.gramBasis = fnvByte(basis, 'g')
	return nil
}

func fnvByte(h uint64, b byte) uint64 {
	h ^= uint64(b)
	return h * fnvPrime64
}

func fnvBytes(h uint64, s []byte) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// fmix64 is MurmurHash3's finaliser: every input bit affects every output
// bit.
func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

// TextDoc is what HashEmbedder reads: the text of a document and of its
// chunks.
type TextDoc struct {
	Text   string    `doc:"text" desc:"the text to embed; a document without text (or without a word in it) is left as it is"`
	Chunks []TextDoc `doc:"chunks" desc:"sub-documents, embedded too unless embed_chunks is false"`
}

// EmbeddedDoc is what HashEmbedder writes: the embedding of a document and
// of its chunks. Every other field of the documents passes through.
type EmbeddedDoc struct {
	Embedding []float32     `doc:"embedding,omitempty" desc:"L2-normalised float32 (<f4) vector of dim elements"`
	Chunks    []EmbeddedDoc `doc:"chunks,omitempty"`
}

// Endpoints binds the embedder to the default endpoint.
func (h *HashEmbedder) Endpoints(r *executors.Router) {
	executors.Default(r, executors.Typed(h.Encode))
}

// Encode embeds every document (and chunk, when EmbedChunks) that has
// text; the SDK merges the embeddings onto the documents.
func (h *HashEmbedder) Encode(ctx context.Context, docs []TextDoc, p executors.Params) ([]EmbeddedDoc, error) {
	acc := make([]float64, h.Dim)
	return h.encodeAll(docs, acc, 0), nil
}

func (h *HashEmbedder) encodeAll(docs []TextDoc, acc []float64, depth int) []EmbeddedDoc {
	out := make([]EmbeddedDoc, len(docs))
	for i, d := range docs {
		if d.Text != "" {
			out[i].Embedding = h.embedInto(d.Text, acc) // nil: left as it is
		}
		if h.EmbedChunks && depth < maxChunkDepth && len(d.Chunks) > 0 {
			out[i].Chunks = h.encodeAll(d.Chunks, acc, depth+1)
		}
	}
	return out
}

// Embed returns the embedding of text, or nil when text has no token. It
// is exported so Go code can embed queries exactly as the executor does;
// call it on an initialised executor (Instance.Executor()).
func (h *HashEmbedder) Embed(text string) []float32 {
	return h.embedInto(text, make([]float64, h.Dim))
}

// embedInto computes the embedding using acc (len Dim) as scratch space.
func (h *HashEmbedder) embedInto(text string, acc []float64) []float32 {
	clear(acc)
	var tok []byte   // current token, lowercased UTF-8
	var runes []rune // the token's runes, for n-grams
	found := false
	flush := func() {
		if len(tok) == 0 {
			return
		}
		found = true
		h.add(acc, fnvBytes(h.tokenBasis, tok))
		if h.Ngrams > 0 {
			h.addGrams(acc, runes)
		}
		tok, runes = tok[:0], runes[:0]
	}
	for _, r := range text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || (unicode.IsMark(r) && len(tok) > 0) {
			r = unicode.ToLower(r)
			tok = utf8.AppendRune(tok, r)
			if h.Ngrams > 0 {
				runes = append(runes, r)
			}
			continue
		}
		flush()
	}
	flush()
	if !found {
		return nil
	}
	var sum float64
	for _, v := range acc {
		sum += v * v
	}
	if sum == 0 {
		return nil // every feature cancelled out: no direction
	}
	inv := 1 / math.Sqrt(sum)
	out := make([]float32, len(acc))
	for i, v := range acc {
		out[i] = float32(v * inv)
	}
	return out
}

// addGrams adds the character n-grams of the token "<runes>"; a padded
// token shorter than Ngrams is one feature by itself.
func (h *HashEmbedder) addGrams(acc []float64, runes []rune) {
	padded := make([]rune, 0, len(runes)+2)
	padded = append(padded, '<')
	padded = append(padded, runes...)
	padded = append(padded, '>')
	n := min(h.Ngrams, len(padded))
	var buf []byte
	for i := 0; i+n <= len(padded); i++ {
		buf = buf[:0]
		for _, r := range padded[i : i+n] {
			buf = utf8.AppendRune(buf, r)
		}
		h.add(acc, fnvBytes(h.gramBasis, buf))
	}
}

// add adds ±1 to the bucket of the FNV hash x: the bucket from the mixed
// hash modulo Dim, the sign from its top bit (independent of the low bits
// the modulo uses for power-of-two dimensions).
func (h *HashEmbedder) add(acc []float64, x uint64) {
	x = fmix64(x)
	i := x % uint64(len(acc))
	if x>>63 == 1 {
		acc[i]--
	} else {
		acc[i]++
	}
}
