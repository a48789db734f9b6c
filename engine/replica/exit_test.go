package replica

import "testing"

func TestStderrTailReason(t *testing.T) {
	cases := []struct {
		name      string
		lines     []string
		anyLines  bool
		want      string
		errorLine bool
	}{
		{"panic wins", []string{"x", "panic: boom [recovered]", "goroutine 1 [running]:", "error: later"}, true, "panic: boom [recovered]", false},
		{"worker error line", []string{`{"level":"INFO","msg":"hi"}`, "error: config.yml:3: with.x: unknown field"}, true, "config.yml:3: with.x: unknown field", true},
		{"error log", []string{`{"level":"ERROR","msg":"raft shutdown failed","err":"boom"}`, `{"level":"INFO","msg":"bye"}`}, true, "raft shutdown failed: boom", false},
		{"last lines", []string{"a", "b", "", "c", "d"}, true, "b | c | d", false},
		{"no reason", []string{"a", `{"level":"INFO","msg":"hi"}`}, false, "", false},
	}
	for _, c := range cases {
		tail := &stderrTail{}
		for _, l := range c.lines {
			tail.add(l)
		}
		got, el := tail.reason(c.anyLines)
		if got != c.want || el != c.errorLine {
			t.Errorf("%s: reason %q (error line %v), want %q (%v)", c.name, got, el, c.want, c.errorLine)
		}
	}
}
