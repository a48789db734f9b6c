package builtin

import (
	"context"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
)

func init() {
	executors.Register("Sentencizer", func() executors.Executor {
		return &Sentencizer{PunctChars: DefaultPunctChars, MinSentLen: 1}
	})
}

// DefaultPunctChars are the sentence-ending characters Sentencizer splits
// on by default: Latin and CJK (full-width) terminators and newline.
const DefaultPunctChars = ".!?。！？\n"

// Sentencizer splits the Text of each document into sentences and stores
// them as the document's Chunks, replacing any chunks it had. As in
// Jina's Sentencizer, a sentence runs up to and including a run of
// punctuation characters ("Really?!" is one sentence) and is trimmed of
// surrounding whitespace; a run of punctuation with no text before it is
// not a sentence. Note that "3.14" splits after "3." as in Jina.
//
// Chunk IDs are derived from the parent (`<parent id>/<index>`), so
// processing the same document twice yields the same chunks — important
// when a write is replayed or a request retried. Each chunk carries the
// tags parent_id (string), offset (its index among the chunks) and start
// (the byte offset of the sentence in the parent's text).
//
// Documents without text keep their chunks: they may have been produced by
// another executor (e.g. image crops). A document without an ID is given a
// fresh one, as chunk IDs need a parent.
type Sentencizer struct {
	executors.Base

	// PunctChars are the characters that end a sentence. Default
	// DefaultPunctChars.
	PunctChars string `yaml:"punct_chars"`
	// MinSentLen drops sentences shorter than this many runes (after
	// trimming). Default 1.
	MinSentLen int `yaml:"min_sent_len"`
	// MaxSentLen truncates sentences to at most this many runes; 0 (the
	// default) means unlimited.
	MaxSentLen int `yaml:"max_sent_len"`

	punct map[rune]bool
}

// Init validates the options.
func (s *Sentencizer) Init(ctx context.Context) error {
	if s.PunctChars == "" {
		return configError("punct_chars", "must not be empty")
	}
	if !utf8.ValidString(s.PunctChars) {
		return configError("punct_chars", "is not valid UTF-8")
	}
	if s.MinSentLen < 0 {
		return configError("min_sent_len", "must not be negative, got %d", s.MinSentLen)
	}
	if s.MaxSentLen < 0 {
		return configError("max_sent_len", "must not be negative (0 means unlimited), got %d", s.MaxSentLen)
	}
	if s.MaxSentLen > 0 && s.MinSentLen > s.MaxSentLen {
		return configError("min_sent_len", "%d is larger than max_sent_len %d: every sentence would be dropped", s.MinSentLen, s.MaxSentLen)
	}
	s.punct = make(map[rune]bool, len(s.PunctChars))
	for _, r := range s.PunctChars {
		s.punct[r] = true
	}
	return nil
}

// Endpoints binds the sentencizer to the default endpoint.
func (s *Sentencizer) Endpoints(r *executors.Router) {
	executors.Default(r, s.Split)
}

// Split replaces the chunks of each document that has text with its
// sentences.
func (s *Sentencizer) Split(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	for _, d := range docs {
		if d == nil || d.Text == "" {
			continue
		}
		if d.ID == "" {
			d.ID = docarray.NewID()
		}
		var chunks docarray.DocList
		for _, sent := range s.Sentences(d.Text) {
			i := len(chunks)
			chunks = append(chunks, &docarray.Document{
				ID:   d.ID + "/" + strconv.Itoa(i),
				Text: sent.Text,
				Tags: map[string]any{
					"parent_id": d.ID,
					"offset":    int64(i),
					"start":     int64(sent.Start),
				},
			})
		}
		d.Chunks = chunks
	}
	return nil, nil
}

// Sentence is one sentence found by Sentences.
type Sentence struct {
	// Text is the trimmed (and possibly truncated) sentence.
	Text string
	// Start is the byte offset of Text in the input.
	Start int
}

// Sentences splits text with the configured options (after Init). It is
// exported so Go code can split text exactly as the executor does.
func (s *Sentencizer) Sentences(text string) []Sentence {
	var out []Sentence
	start := 0 // start of the current segment
	inPunct := false
	emit := func(end int) {
		if sent, ok := s.sentence(text, start, end); ok {
			out = append(out, sent)
		}
		start = end
	}
	for i, r := range text {
		isP := s.punct[r]
		if inPunct && !isP {
			// The run of terminators is over: the segment ends here.
			emit(i)
		}
		inPunct = isP
	}
	if start < len(text) {
		emit(len(text))
	}
	return out
}

// sentence trims text[start:end] and applies the length limits. A segment
// made only of punctuation and whitespace (e.g. a stray "!" after a
// sentence) is not a sentence.
func (s *Sentencizer) sentence(text string, start, end int) (Sentence, bool) {
	seg := text[start:end]
	trimmed := strings.TrimLeftFunc(seg, unicode.IsSpace)
	start += len(seg) - len(trimmed)
	trimmed = strings.TrimRightFunc(trimmed, unicode.IsSpace)
	hasContent := false
	n := 0
	for _, r := range trimmed {
		n++
		if !s.punct[r] && !unicode.IsSpace(r) {
			hasContent = true
		}
	}
	if !hasContent || n < s.MinSentLen {
		return Sentence{}, false
	}
	if s.MaxSentLen > 0 && n > s.MaxSentLen {
		cut := 0
		for range s.MaxSentLen {
			_, size := utf8.DecodeRuneInString(trimmed[cut:])
			cut += size
		}
		trimmed = strings.TrimRightFunc(trimmed[:cut], unicode.IsSpace)
	}
	return Sentence{Text: trimmed, Start: start}, true
}
