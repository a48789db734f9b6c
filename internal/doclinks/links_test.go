package doclinks

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// mdLink matches an inline Markdown link or image, [text](target), where
// target has no spaces; an optional "title" after it is ignored.
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// repoRoot is the top of the checkout this test runs in.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// markdownFiles lists the tracked .md files (and untracked, not ignored
// ones, so a new page is checked before its first commit).
func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard", "*.md").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := strings.Fields(string(out))
	if len(files) == 0 {
		t.Fatal("no Markdown files found")
	}
	return files
}

// TestRelativeLinksResolve fails for each relative link of a Markdown
// file whose target does not exist, and for each #anchor that names no
// heading of its page.
func TestRelativeLinksResolve(t *testing.T) {
	root := repoRoot(t)
	checkedArchitecture := false
	for _, rel := range markdownFiles(t, root) {
		if rel == "docs/ARCHITECTURE.md" {
			checkedArchitecture = true
		}
		for _, p := range brokenLinks(t, root, rel) {
			t.Errorf("%s", p)
		}
	}
	if !checkedArchitecture {
		t.Error("docs/ARCHITECTURE.md is missing")
	}
}

// brokenLinks returns one message (file:line: target: why) per broken
// relative link in the Markdown file rel (relative to root).
func brokenLinks(t *testing.T, root, rel string) []string {
	t.Helper()
	src := filepath.Join(root, rel)
	lines := readLines(t, src)
	var bad []string
	inFence := false
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		for _, m := range mdLink.FindAllStringSubmatch(stripCode(line), -1) {
			target := m[1]
			if isExternal(target) {
				continue
			}
			if why := checkTarget(t, src, target); why != "" {
				bad = append(bad, rel+":"+strconv.Itoa(i+1)+": "+target+": "+why)
			}
		}
	}
	return bad
}

// checkTarget says why target (a link in the file src) is broken, or ""
// when it resolves.
func checkTarget(t *testing.T, src, target string) string {
	path, anchor, _ := strings.Cut(target, "#")
	file := src
	if path != "" {
		file = filepath.Join(filepath.Dir(src), filepath.FromSlash(path))
		st, err := os.Stat(file)
		if err != nil {
			return "no such file or folder"
		}
		if st.IsDir() {
			if anchor != "" {
				return "an anchor on a folder"
			}
			return ""
		}
	}
	if anchor == "" || !strings.HasSuffix(file, ".md") {
		return ""
	}
	if !headingAnchors(t, file)[anchor] {
		return "no heading with anchor #" + anchor
	}
	return ""
}

// isExternal reports whether target leaves the repository (a URL scheme
// or an e-mail address); those are not checked here.
func isExternal(target string) bool {
	if strings.HasPrefix(target, "//") || strings.HasPrefix(target, "mailto:") {
		return true
	}
	scheme, _, ok := strings.Cut(target, ":")
	return ok && !strings.ContainsAny(scheme, "/.#")
}

// stripCode removes inline code spans, so `[a](b)` in backticks is text,
// not a link.
func stripCode(line string) string {
	var b strings.Builder
	in := false
	for _, r := range line {
		if r == '`' {
			in = !in
			continue
		}
		if !in {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// headingAnchors returns the anchors GitHub gives the headings of a
// Markdown file: lower case, punctuation other than '-' and '_' dropped,
// spaces turned into '-', with -1, -2... for repeats.
func headingAnchors(t *testing.T, file string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	inFence := false
	for _, line := range readLines(t, file) {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		slug := slugify(text)
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

func slugify(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func readLines(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return lines
}

// TestBrokenLinksAreReported makes sure the check can fail: a page with a
// missing file, a missing anchor and a missing folder yields three
// reports, while its good links, code spans and URLs yield none.
func TestBrokenLinksAreReported(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	page := "# Title\n\n## The life of a request\n\n" +
		"[ok](../go.mod) [ok dir](../docs) [ok anchor](#the-life-of-a-request) [url](https://example.com/x)\n" +
		"`[in code](nowhere.go)`\n" +
		"[gone](../missing.go) [bad anchor](#nowhere) [gone dir](../nodir/)\n" +
		"```\n[fenced](nowhere.go)\n```\n"
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "docs", "page.md"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	got := brokenLinks(t, root, "docs/page.md")
	want := []string{
		"docs/page.md:7: ../missing.go: no such file or folder",
		"docs/page.md:7: #nowhere: no heading with anchor #nowhere",
		"docs/page.md:7: ../nodir/: no such file or folder",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("brokenLinks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
