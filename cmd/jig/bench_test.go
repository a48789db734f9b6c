package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchList(t *testing.T) {
	out, _, code := runJig(t, "bench", "--list")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, c := range []string{"unary/1doc/c1", "stream/100docs", "stateful/failover", "flow/stop", "large/8MiB"} {
		if !strings.Contains(out, c+"\n") {
			t.Errorf("--list lacks %s:\n%s", c, out)
		}
	}
}

func TestBenchBadInput(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.txt")
	os.WriteFile(junk, []byte("not a report\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--runs", "0"}, "--runs must be at least 1, got 0"},
		{[]string{"--duration", "-1s"}, "--duration must be positive"},
		{[]string{"--scenario", "("}, `--scenario "(": not a regular expression`},
		{[]string{"--scenario", "^nothing$"}, "--scenario matches no case (cases: unary/1doc/c1,"},
		{[]string{"--gobench", junk}, "--gobench: " + junk + ": no benchmark results"},
		{[]string{"--compare", junk}, "--compare: " + junk + ": not a jig bench report"},
		{[]string{"--report", junk}, "--report: " + junk + ": not a jig bench report"},
		{[]string{"--json", filepath.Join(dir, "no", "such", "dir", "r.json")}, "--json: open "},
		{[]string{"extra"}, "accepts 0 arg(s)"},
	} {
		_, stderr, code := runJig(t, append([]string{"bench"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("jig bench %v: exit %d, stderr %q, want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

// TestBenchRunJSONAndCompare runs one tiny case for real, with TUI
// figures from a file of Go benchmark output, writes the report as JSON
// and compares a second run with it, as `make bench-compare` does.
func TestBenchRunJSONAndCompare(t *testing.T) {
	dir := t.TempDir()
	tui := filepath.Join(dir, "tui.txt")
	os.WriteFile(tui, []byte("pkg: github.com/jig-dev/jig/tui\n"+
		"BenchmarkLogIngest-2 \t 744 \t 1927479 ns/op \t 1.726 key-p99-ms \t 1297032 lines/s\n"), 0o644)
	base := filepath.Join(dir, "base.json")
	args := []string{"bench", "--scenario", "^flow/start$", "--runs", "1", "--duration", "50ms", "-q", "--gobench", tui}
	out, stderr, code := runJig(t, append(args, "--json", base)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"flow/start ready ms vs bare servers", "tui/log-ingest lines/s", "tui/log-ingest keypress p99", "targets: "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if stderr != "" {
		t.Errorf("-q printed progress: %q", stderr)
	}
	if b, err := os.ReadFile(base); err != nil || !strings.Contains(string(b), `"name": "flow/start ready ms vs bare servers"`) {
		t.Fatalf("JSON report: %v\n%s", err, b)
	}
	out, stderr, code = runJig(t, append(args, "--compare", base)...)
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "change from ") || !strings.Contains(out, "flow/start ready ms vs bare servers") || !strings.Contains(out, "beyond the noise") {
		t.Errorf("compare output:\n%s", out)
	}
	// Saved reports are printed and compared without measuring.
	out, _, code = runJig(t, "bench", "--report", base)
	if code != 0 || !strings.Contains(out, "flow/start ready ms vs bare servers") || !strings.Contains(out, "targets: ") {
		t.Errorf("--report: exit %d:\n%s", code, out)
	}
	out, _, code = runJig(t, "bench", "--report", base, "--compare", base)
	if code != 0 || !strings.Contains(out, "0 better, 0 worse") {
		t.Errorf("--report --compare with itself: exit %d:\n%s", code, out)
	}
	if _, stderr, code := runJig(t, "bench", "--report", base, "--scenario", "flow"); code != 2 || !strings.Contains(stderr, "--scenario measures") {
		t.Errorf("--report with --scenario: exit %d, %q", code, stderr)
	}
	// JSON to stdout replaces the table.
	out, _, code = runJig(t, append(args, "--json", "-")...)
	if code != 0 || !strings.HasPrefix(out, "{") || strings.Contains(out, "targets: ") {
		t.Errorf("--json -: exit %d:\n%s", code, out)
	}
}
