package builtin

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jig-dev/jig/executors"
	"github.com/jig-dev/jig/executors/docarray"
	"golang.org/x/text/unicode/norm"
)

func init() {
	executors.Register("TextNormalizer", func() executors.Executor {
		return &TextNormalizer{
			Lowercase:          true,
			Strip:              true,
			CollapseWhitespace: true,
			UnicodeForm:        "NFKC",
		}
	})
}

// TextNormalizer cleans up the Text of every document so that texts that
// mean the same compare (and embed, and index) the same: Unicode
// normalisation, lowercasing, collapsing and trimming whitespace.
//
// The steps run in this order: Unicode normalisation (so that e.g. the
// full-width "Ｈｅｌｌｏ" becomes "Hello" before it is lowercased), then
// lowercasing, then whitespace handling. Documents without text are left
// alone.
type TextNormalizer struct {
	executors.Base

	// Lowercase lowercases the text (Unicode-aware). Default true.
	Lowercase bool `yaml:"lowercase"`
	// Strip trims leading and trailing whitespace. Default true.
	Strip bool `yaml:"strip"`
	// CollapseWhitespace replaces every run of whitespace (spaces, tabs,
	// newlines, other Unicode spaces) with one ASCII space. Default true.
	CollapseWhitespace bool `yaml:"collapse_whitespace"`
	// UnicodeForm is the Unicode normalisation form: "NFKC" (default),
	// "NFC", "NFD", "NFKD" (in any case), or "" for none. NFKC folds
	// compatibility characters (full-width letters, ligatures,
	// superscripts) into their plain forms, which is what text search
	// usually wants.
	UnicodeForm string `yaml:"unicode_form"`
	// Chunks also normalises the chunks of each document, recursively.
	// Default false.
	Chunks bool `yaml:"chunks"`

	form    norm.Form
	useForm bool
}

// Init validates the options.
func (t *TextNormalizer) Init(ctx context.Context) error {
	switch strings.ToUpper(t.UnicodeForm) {
	case "":
		t.useForm = false
	case "NFC":
		t.form, t.useForm = norm.NFC, true
	case "NFD":
		t.form, t.useForm = norm.NFD, true
	case "NFKC":
		t.form, t.useForm = norm.NFKC, true
	case "NFKD":
		t.form, t.useForm = norm.NFKD, true
	default:
		return configError("unicode_form", "unknown form %q (want NFC, NFD, NFKC, NFKD, or \"\" for none)", t.UnicodeForm)
	}
	return nil
}

// Endpoints binds the normaliser to the default endpoint.
func (t *TextNormalizer) Endpoints(r *executors.Router) {
	executors.Default(r, t.Normalize)
}

// Normalize normalises the text of docs (and of their chunks when Chunks
// is set) in place.
func (t *TextNormalizer) Normalize(ctx context.Context, docs docarray.DocList, p executors.Params) (docarray.DocList, error) {
	t.normalizeAll(docs, 0)
	return nil, nil
}

// maxChunkDepth bounds the recursion into chunks; docarray already limits
// nesting, this is a second guard that costs nothing.
const maxChunkDepth = 64

func (t *TextNormalizer) normalizeAll(docs docarray.DocList, depth int) {
	for _, d := range docs {
		if d == nil {
			continue
		}
		if d.Text != "" {
			d.Text = t.NormalizeText(d.Text)
		}
		if t.Chunks && depth < maxChunkDepth {
			t.normalizeAll(d.Chunks, depth+1)
		}
	}
}

// NormalizeText applies the configured steps to one string (after Init).
// It is exported so that Go code embedding jig can normalise queries the
// same way the flow normalised the indexed texts.
func (t *TextNormalizer) NormalizeText(s string) string {
	if t.useForm {
		s = t.form.String(s)
	}
	if t.Lowercase {
		s = strings.ToLower(s)
		// Lowercasing can leave a string that is no longer in the
		// requested form (e.g. a precomposed capital whose lowercase
		// decomposes); normalise again only when that happened.
		if t.useForm && !t.form.IsNormalString(s) {
			s = t.form.String(s)
		}
	}
	if t.CollapseWhitespace {
		s = collapseSpace(s)
	}
	if t.Strip {
		s = strings.TrimSpace(s)
	}
	return s
}

// collapseSpace replaces each run of Unicode whitespace with one ASCII
// space. Strings that need no change are returned without allocating.
func collapseSpace(s string) string {
	if !needsCollapse(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !inSpace {
				b.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return b.String()
}

// needsCollapse reports whether s has whitespace other than single ASCII
// spaces.
func needsCollapse(s string) bool {
	prevSpace := false
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		if !unicode.IsSpace(r) {
			prevSpace = false
			continue
		}
		if r != ' ' || prevSpace {
			return true
		}
		prevSpace = true
	}
	return false
}
