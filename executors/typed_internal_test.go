package executors

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestDocErrorNamesTheDocument(t *testing.T) {
	for _, c := range []struct {
		err        error
		name, text string
	}{
		{io.EOF, "", "doc 2 (id x): EOF"},
		{Errorf("ValueError", "no %s", "way"), "ValueError", "ValueError: doc 2 (id x): no way"},
		{&Error{Name: "Bare"}, "Bare", "Bare: doc 2 (id x): Bare"},
		{fmt.Errorf("lookup: %w", Errorf("NotFound", "gone")), "NotFound", "NotFound: doc 2 (id x): lookup: NotFound: gone"},
	} {
		err := docError(2, "x", c.err)
		if err.Error() != c.text {
			t.Errorf("%v: %q, want %q", c.err, err.Error(), c.text)
		}
		var e *Error
		if errors.As(err, &e) != (c.name != "") || (e != nil && e.Name != c.name) {
			t.Errorf("%v: name %v", c.err, e)
		}
		if !errors.Is(err, c.err) && c.name == "" {
			t.Errorf("%v: the cause is lost", c.err)
		}
	}
	if got := docError(0, "", io.EOF).Error(); got != "doc 0: EOF" {
		t.Errorf("without id: %q", got)
	}
}
