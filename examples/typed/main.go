// Command typed is an example executor on typed documents: its handlers
// take and return Go structs whose fields map to document keys by `doc`
// tags, and the SDK converts, validates and publishes their JSON Schemas.
//
//	/score     batch handler (dynamically batched): sentiment of each review
//	/keywords  single-document handler: the review's words as chunks
//	/summary   batch handler with results: count and mean sentiment
//
// Serve it with `jig serve examples/typed` (the engine builds it), or run
// the binary itself in this folder: it is a worker serving config.yml
// (`go run . --port 0`).
package main

import (
	"context"
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/workercmd"
)

func main() { workercmd.Main(newScorer) }

// newScorer is the factory of the executor type, with its defaults.
func newScorer() executors.Executor { return &ReviewScorer{Threshold: 0.25} }

// Review is what the endpoints read.
type Review struct {
	ID    string `doc:"id"`
	Text  string `doc:"text,required" desc:"the review"`
	Stars *int   `doc:"stars" desc:"the rating (1-5), if the reviewer gave one"`
}

// Scored is what /score adds to a review; its other fields pass through.
type Scored struct {
	Sentiment float64 `doc:"sentiment" desc:"from -1 (negative) to 1 (positive)"`
	Label     string  `doc:"label" desc:"positive, negative or neutral"`
	Words     int     `doc:"words" desc:"number of words"`
	// Agrees is set when the review has stars: whether they point the
	// same way as the text.
	Agrees *bool `doc:"agrees,omitempty"`
}

// Keywords is what /keywords adds: the review's distinct words.
type Keywords struct {
	Chunks []Keyword `doc:"chunks" desc:"distinct words, most frequent first"`
}

// Keyword is one word of a review, as a chunk.
type Keyword struct {
	Word  string `doc:"text"`
	Count int    `doc:"count"`
}

// ReviewScorer scores reviews with a small sentiment lexicon — no model
// to download, deterministic, enough to show typed endpoints.
type ReviewScorer struct {
	executors.Base
	// Threshold is the smallest |sentiment| that is not "neutral".
	Threshold float64 `yaml:"threshold"`
}

// Init checks the options.
func (s *ReviewScorer) Init(ctx context.Context) error {
	if s.Threshold < 0 || s.Threshold > 1 {
		return executors.Errorf("BadConfig", "threshold must be between 0 and 1, got %v", s.Threshold)
	}
	return nil
}

// Endpoints binds the handlers: Typed for batches, TypedDoc for single
// documents, TypedResults for batches with a results map.
func (s *ReviewScorer) Endpoints(r *executors.Router) {
	executors.On(r, "/score", executors.Typed(s.Score))
	executors.On(r, "/keywords", executors.TypedDoc(s.Keywords))
	executors.On(r, "/summary", executors.TypedResults(s.Summary))
}

// Score computes the sentiment of every review of the batch. With dynamic
// batching, the batch holds the reviews of several concurrent requests;
// every caller gets its own back.
func (s *ReviewScorer) Score(ctx context.Context, reviews []Review, p executors.Params) ([]Scored, error) {
	s.Logger.Debug("scoring a batch", "reviews", len(reviews))
	out := make([]Scored, len(reviews))
	for i, r := range reviews {
		sent, words := sentiment(r.Text)
		out[i] = Scored{Sentiment: sent, Label: s.label(sent), Words: words}
		if r.Stars != nil {
			agrees := (*r.Stars >= 3) == (sent >= 0)
			out[i].Agrees = &agrees
		}
	}
	return out, nil
}

// Keywords lists the distinct words of one review, most frequent first;
// the "min_count" parameter drops rarer words.
func (s *ReviewScorer) Keywords(ctx context.Context, r Review, p executors.Params) (Keywords, error) {
	minCount := p.Int("min_count", 1)
	if minCount < 1 {
		return Keywords{}, executors.Errorf("BadRequest", "min_count must be at least 1, got %d", minCount)
	}
	counts := map[string]int{}
	for _, w := range words(r.Text) {
		counts[w]++
	}
	var kws []Keyword
	for w, n := range counts {
		if n >= minCount {
			kws = append(kws, Keyword{Word: w, Count: n})
		}
	}
	sort.Slice(kws, func(i, j int) bool {
		if kws[i].Count != kws[j].Count {
			return kws[i].Count > kws[j].Count
		}
		return kws[i].Word < kws[j].Word
	})
	return Keywords{Chunks: kws}, nil
}

// Summary returns {"count": n, "mean_sentiment": m} and the reviews
// unchanged (a nil result).
func (s *ReviewScorer) Summary(ctx context.Context, reviews []Review, p executors.Params) ([]Review, executors.Results, error) {
	var sum float64
	for _, r := range reviews {
		sent, _ := sentiment(r.Text)
		sum += sent
	}
	mean := 0.0
	if len(reviews) > 0 {
		mean = sum / float64(len(reviews))
	}
	return nil, executors.Results{"count": len(reviews), "mean_sentiment": mean}, nil
}

func (s *ReviewScorer) label(sent float64) string {
	switch {
	case sent >= s.Threshold:
		return "positive"
	case sent <= -s.Threshold:
		return "negative"
	}
	return "neutral"
}

// lexicon scores a few common review words.
var lexicon = map[string]float64{
	"good": 1, "great": 2, "excellent": 2, "love": 2, "loved": 2, "nice": 1, "perfect": 2, "happy": 1, "recommend": 1, "fast": 1,
	"bad": -1, "poor": -1, "terrible": -2, "awful": -2, "hate": -2, "broken": -2, "slow": -1, "disappointed": -2, "refund": -1, "worst": -2,
}

// negators flip the sentiment of the next scored word ("not good").
var negators = map[string]bool{"not": true, "never": true, "no": true, "isn't": true, "wasn't": true, "don't": true}

// sentiment is the lexicon score of text squashed into [-1, 1], and its
// number of words.
func sentiment(text string) (float64, int) {
	ws := words(text)
	var score float64
	flip := false
	for _, w := range ws {
		if negators[w] {
			flip = true
			continue
		}
		if v, ok := lexicon[w]; ok {
			if flip {
				v = -v
			}
			score += v
			flip = false
		}
	}
	return math.Tanh(score / 2), len(ws)
}

// words splits text into lowercased words (letters, digits, apostrophes).
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}
