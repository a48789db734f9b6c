package builtin

import (
	"context"
	"iter"
	"strings"
	"time"

	"github.com/jig-dev/jig/executors"
)

func init() {
	executors.Register("TokenStreamer", func() executors.Executor {
		return &TokenStreamer{DelayMs: 50}
	})
}

// TokenStreamer is a generator executor: for one input document it yields
// one document per whitespace-separated token of the text, in order, each
// after DelayMs — the shape of a language model streaming its answer token
// by token. Clients receive the tokens as they are produced through
// stream_doc (`jig post --stream`, Jina's Client.stream_doc, GET
// /<endpoint> on the HTTP gateway); an ordinary POST gets them all at once.
//
// Each yielded document has the token as its text and tags
// {"index": i, "last": true|false}. The parameters "delay_ms" and
// "max_tokens" override the options for one request.
type TokenStreamer struct {
	executors.Base

	// DelayMs is the wait before each token, in milliseconds. Default 50.
	DelayMs float64 `yaml:"delay_ms"`
	// MaxTokens stops the stream after that many tokens (0: no limit).
	MaxTokens int `yaml:"max_tokens"`
}

// TokenIn is the input document of TokenStreamer (docarray's TextDoc).
type TokenIn struct {
	Text string `doc:"text"`
}

// Token is one yielded document.
type Token struct {
	Text string         `doc:"text"`
	Tags map[string]any `doc:"tags"`
}

// Init validates the options.
func (t *TokenStreamer) Init(ctx context.Context) error {
	if t.DelayMs < 0 {
		return configError("delay_ms", "must not be negative, got %v", t.DelayMs)
	}
	if t.MaxTokens < 0 {
		return configError("max_tokens", "must not be negative, got %v", t.MaxTokens)
	}
	return nil
}

// Endpoints binds the generator to the default endpoint, so every endpoint
// streams.
func (t *TokenStreamer) Endpoints(r *executors.Router) {
	executors.Default(r, executors.TypedGenerator(t.Stream))
}

// Stream yields the tokens of doc's text one by one.
func (t *TokenStreamer) Stream(ctx context.Context, doc TokenIn, p executors.Params) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		delay := p.Float("delay_ms", t.DelayMs)
		limit := p.Int("max_tokens", t.MaxTokens)
		if delay < 0 || limit < 0 {
			yield(Token{}, badRequest("delay_ms and max_tokens must not be negative, got %v and %v", delay, limit))
			return
		}
		tokens := strings.Fields(doc.Text)
		if limit > 0 && len(tokens) > limit {
			tokens = tokens[:limit]
		}
		for i, tok := range tokens {
			if err := sleepCtx(ctx, time.Duration(delay*float64(time.Millisecond))); err != nil {
				yield(Token{}, err)
				return
			}
			if !yield(Token{Text: tok, Tags: map[string]any{"index": i, "last": i == len(tokens)-1}}, nil) {
				return
			}
		}
	}
}
