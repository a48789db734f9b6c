package common

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are strings a log line or a document may carry to drive the
// terminal: clipboard writes (OSC 52), hyperlinks (OSC 8), title changes,
// screen clears, cursor moves, device queries whose answers the terminal
// types back, DCS/APC/PM payloads, 8-bit C1 introducers, and sequences
// cut off at the end of a line.
var hostile = map[string]string{
	"copy \x1b]52;c;cm0gLXJmIH4=\x07me":             "copy me",
	"copy \x1b]52;c;cm0gLXJmIH4=\x1b\\me":           "copy me",
	"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ text": "link text",
	"\x1b]8;;http://x\x07link\x1b]8;;\x07":          "link",
	"\x1b]0;owned\x07title":                         "title",
	"\x1b]2;owned\x1b\\title":                       "title",
	"\x1b[2J\x1b[Hclear":                            "clear",
	"\x1b[1;1H\x1b[Kmove":                           "move",
	"ask\x1b[6n\x1b[c\x1b[>c":                       "ask",
	"\x1bP+q544e\x1b\\dcs":                          "dcs",
	"\x1b_apc payload\x1b\\apc":                     "apc",
	"\x1b^pm payload\x1b\\pm":                       "pm",
	"\x1b[38;2;255;0;0mred\x1b[0m":                  "red",
	"\x1b[?1049h\x1b[?25lalt":                       "alt",
	"\x1bcreset":                                    "reset",
	"esc at end \x1b":                               "esc at end ",
	"csi at end \x1b[31":                            "csi at end ",
	"osc at end \x1b]52;c;AAAA":                     "osc at end ",
	// C1 introducers are dropped; what followed them is plain text then.
	"8-bit osc \u009d52;c;AAAA\u009c ok": "8-bit osc 52;c;AAAA ok",
	"8-bit csi \u009b2J ok":              "8-bit csi 2J ok",
	"nul\x00 bs\b cr\r lf\n vt\v ff\f":   "nul bs cr lf vt ff",
	"ok ünïcödé ✓ 日本":                    "ok ünïcödé ✓ 日本",
}

func TestSanitizeHostileSequences(t *testing.T) {
	for in, want := range hostile {
		got := Sanitize(in)
		if got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
		checkInert(t, in, got)
	}
	// Line by line, as the Logs and Request panes use it.
	got := SanitizeLines("a\x1b]52;c;x\x07\r\nb\x1b[2J\nc")
	if got != "a\nb\nc" {
		t.Errorf("SanitizeLines = %q", got)
	}
}

// checkInert fails unless out can be printed safely: no ESC, no C0 or C1
// control (newlines included), no DEL, valid UTF-8, and sanitising again
// changes nothing.
func checkInert(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("Sanitize(%q) = %q: invalid UTF-8", in, out)
	}
	for _, r := range out {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Fatalf("Sanitize(%q) = %q keeps control %U", in, out, r)
		}
	}
	if again := Sanitize(out); again != out {
		t.Fatalf("Sanitize is not idempotent on %q: %q then %q", in, out, again)
	}
}

// FuzzSanitize: whatever a child process prints, the sanitised text is
// inert. Seeds are the hostile strings above.
func FuzzSanitize(f *testing.F) {
	for in := range hostile {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkInert(t, in, Sanitize(in))
		for _, l := range strings.Split(SanitizeLines(in), "\n") {
			checkInert(t, in, l)
		}
	})
}
