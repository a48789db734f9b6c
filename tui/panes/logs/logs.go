// Package logs is the Logs pane: every log source of the flow (engine,
// gateway, each replica) merged in one bounded ring, coloured per source,
// following the tail until the user scrolls up, with live text, source
// and level filters and optional wrapping.
package logs

import (
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/jig-dev/jig/tui/common"
)

// DefaultCapacity is how many lines the ring keeps.
const DefaultCapacity = 10000

// levels are the minimum-level steps `l` cycles through.
var levels = []struct {
	name  string
	level slog.Level
}{
	{"all", math.MinInt},
	{"info+", slog.LevelInfo},
	{"warn+", slog.LevelWarn},
	{"error", slog.LevelError},
}

// maxSourceWidth caps the source column; longer names are cut.
const maxSourceWidth = 24

// Model is the Logs pane.
type Model struct {
	ctx  *common.Context
	keys KeyMap
	ring *ring
	w, h int

	// follow keeps the newest line at the bottom. When it is off, anchor
	// is the sequence number of the bottom visible line, so the view stays
	// still while lines keep arriving (k9s #732: auto-scroll must not
	// fight the user).
	follow bool
	anchor uint64

	input     textinput.Model
	filtering bool   // the filter input has focus
	text      string // the text filter in effect
	source    string // "" for every source, else a source or a deployment prefix
	level     int    // index into levels
	wrap      bool

	// matches lists the sequence numbers of lines passing the filters,
	// oldest first; it is maintained only while a filter is set, so the
	// unfiltered view costs nothing per line.
	matches []uint64

	sources map[string]int // lines seen per source
	srcW    int
	dropped uint64
	picker  picker
}

// picker is the source chooser opened with S.
type picker struct {
	open    bool
	cursor  int
	choices []string
}

// New returns the Logs pane holding at most capacity lines.
func New(ctx *common.Context, capacity int) *Model {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "text to match (smart case, !text to exclude)"
	in.Cursor.SetMode(cursor.CursorStatic)
	return &Model{
		ctx:     ctx,
		keys:    DefaultKeyMap(),
		ring:    newRing(capacity),
		follow:  true,
		input:   in,
		sources: map[string]int{},
		srcW:    6,
	}
}

// Title implements common.Pane.
func (m *Model) Title() string { return "Logs" }

// ShortTitle implements common.Pane.
func (m *Model) ShortTitle() string { return "Logs" }

// Init implements common.Pane.
func (m *Model) Init() tea.Cmd { return nil }

// SetSize implements common.Pane.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = w, h
	m.input.Width = max(10, w-4)
}

// Capturing implements common.Pane: typing a filter or picking a source.
func (m *Model) Capturing() bool { return m.filtering || m.picker.open }

// Esc closes the picker, then clears the filters; it reports whether
// there was anything to close.
func (m *Model) Esc() bool {
	switch {
	case m.picker.open:
		m.picker.open = false
		return true
	case m.text != "" || m.source != "" || m.level != 0:
		m.text, m.source, m.level = "", "", 0
		m.input.SetValue("")
		m.refilter()
		return true
	}
	return false
}

// Following reports whether the view follows the newest line.
func (m *Model) Following() bool { return m.follow }

// Len is the number of lines in the ring.
func (m *Model) Len() int { return m.ring.len() }

// Visible is the number of lines passing the filters.
func (m *Model) Visible() int { return m.count() }

// Filter returns the text filter in effect.
func (m *Model) Filter() string { return m.text }

// SetFilter sets the text filter (the palette and tests use it).
func (m *Model) SetFilter(s string) {
	m.input.SetValue(s)
	m.text = s
	m.refilter()
}

// SetSource restricts the view to a source or deployment ("" for all).
func (m *Model) SetSource(s string) { m.source = s; m.refilter() }

// ToggleWrap switches line wrapping.
func (m *Model) ToggleWrap() { m.wrap = !m.wrap }

// Append ingests lines (oldest first). It is O(1) per line: push into the
// ring, and test the filters only when one is set.
func (m *Model) Append(lines []common.LogLine) {
	filtered := m.filtered()
	for _, l := range lines {
		seq := m.ring.push(l)
		if n := m.sources[l.Source]; n == 0 {
			m.srcW = min(maxSourceWidth, max(m.srcW, len(l.Source)))
		}
		m.sources[l.Source]++
		if filtered && m.match(&l) {
			m.matches = append(m.matches, seq)
		}
	}
	if filtered {
		m.trimMatches()
	}
}

// Update implements common.Pane.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.EventsMsg:
		m.Append(msg.Logs)
		m.dropped += msg.Dropped
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if m.filtering {
		switch {
		case key.Matches(msg, k.Commit):
			m.filtering = false
			m.input.Blur()
			return nil
		case key.Matches(msg, k.ClearFilter):
			m.filtering = false
			m.input.Blur()
			m.input.SetValue("")
		default:
			var cmd tea.Cmd
			m.input, cmd = m.input.Update(msg)
			if m.input.Value() != m.text {
				m.text = m.input.Value()
				m.refilter()
			}
			return cmd
		}
		if m.text != "" {
			m.text = ""
			m.refilter()
		}
		return nil
	}
	if m.picker.open {
		return m.pickerKey(msg)
	}
	page := max(1, m.contentHeight()-1)
	switch {
	case key.Matches(msg, k.Up):
		m.scroll(-1)
	case key.Matches(msg, k.Down):
		m.scroll(1)
	case key.Matches(msg, k.PageUp):
		m.scroll(-page)
	case key.Matches(msg, k.PageDown):
		m.scroll(page)
	case key.Matches(msg, k.Top):
		m.scroll(math.MinInt / 2)
	case key.Matches(msg, k.Bottom):
		m.follow = true
	case key.Matches(msg, k.Follow):
		if m.follow {
			m.pause(m.count() - 1)
		} else {
			m.follow = true
		}
	case key.Matches(msg, k.Filter):
		m.filtering = true
		m.input.SetValue(m.text)
		m.input.CursorEnd()
		return m.input.Focus()
	case key.Matches(msg, k.PickSource):
		m.picker = picker{open: true, choices: m.sourceChoices()}
		m.picker.cursor = max(0, slices.Index(m.picker.choices, m.source))
	case key.Matches(msg, k.Level):
		m.level = (m.level + 1) % len(levels)
		m.refilter()
	case key.Matches(msg, k.Wrap):
		m.wrap = !m.wrap
	case key.Matches(msg, k.ClearFilter):
		m.Esc()
	case key.Matches(msg, k.Clear):
		m.ring.clear()
		m.matches = m.matches[:0]
		m.follow = true
	}
	return nil
}

func (m *Model) pickerKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	p := &m.picker
	switch {
	case key.Matches(msg, k.Up):
		p.cursor = max(0, p.cursor-1)
	case key.Matches(msg, k.Down):
		p.cursor = min(len(p.choices)-1, p.cursor+1)
	case key.Matches(msg, k.Commit):
		m.source = p.choices[p.cursor]
		p.open = false
		m.refilter()
	case key.Matches(msg, k.ClearFilter):
		p.open = false
	}
	return nil
}

// sourceChoices lists "" (all), every deployment prefix and every source,
// sorted.
func (m *Model) sourceChoices() []string {
	set := map[string]bool{}
	for s := range m.sources {
		set[s] = true
		if i := strings.IndexByte(s, '/'); i > 0 {
			set[s[:i]] = true
		}
	}
	out := make([]string, 0, len(set)+1)
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return append([]string{""}, out...)
}

// filtered reports whether any filter is set.
func (m *Model) filtered() bool { return m.text != "" || m.source != "" || m.level != 0 }

// match tests a line against the filters.
func (m *Model) match(l *common.LogLine) bool {
	if l.Level < levels[m.level].level {
		return false
	}
	if m.source != "" && l.Source != m.source && !(strings.HasPrefix(l.Source, m.source) && len(l.Source) > len(m.source) && l.Source[len(m.source)] == '/') {
		return false
	}
	if m.text == "" {
		return true
	}
	pat, invert := m.text, false
	if strings.HasPrefix(pat, "!") && len(pat) > 1 {
		pat, invert = pat[1:], true
	}
	return contains(l.Source+" "+l.Text, pat) != invert
}

// contains is a smart-case substring test: case-insensitive unless the
// pattern has an upper-case letter.
func contains(s, pat string) bool {
	if strings.IndexFunc(pat, unicode.IsUpper) >= 0 {
		return strings.Contains(s, pat)
	}
	return strings.Contains(strings.ToLower(s), pat)
}

// refilter rebuilds matches after a filter change, keeping the view's
// position when paused.
func (m *Model) refilter() {
	m.matches = m.matches[:0]
	if m.filtered() {
		for seq := m.ring.first(); seq < m.ring.next; seq++ {
			if e := m.ring.get(seq); e != nil && m.match(&e.LogLine) {
				m.matches = append(m.matches, seq)
			}
		}
	}
}

// trimMatches drops matches evicted from the ring, compacting now and
// then so the slice does not grow without bound.
func (m *Model) trimMatches() {
	first := m.ring.first()
	i := sort.Search(len(m.matches), func(i int) bool { return m.matches[i] >= first })
	if i == 0 {
		return
	}
	if i > len(m.matches)/2 {
		m.matches = append(m.matches[:0], m.matches[i:]...)
	} else {
		m.matches = m.matches[i:]
	}
}

// count is the number of lines in view (after filters).
func (m *Model) count() int {
	if m.filtered() {
		m.trimMatches()
		return len(m.matches)
	}
	return m.ring.len()
}

// seqAt returns the sequence number of the i-th line in view.
func (m *Model) seqAt(i int) uint64 {
	if m.filtered() {
		return m.matches[i]
	}
	return m.ring.first() + uint64(i)
}

// indexOf returns the index of the last line in view at or before seq
// (0 when seq is older than everything).
func (m *Model) indexOf(seq uint64) int {
	if m.filtered() {
		i := sort.Search(len(m.matches), func(i int) bool { return m.matches[i] > seq })
		return max(0, i-1)
	}
	first := m.ring.first()
	if seq < first {
		return 0
	}
	return min(int(seq-first), m.ring.len()-1)
}

// bottom is the index of the bottom visible line, or -1 when empty.
func (m *Model) bottom() int {
	n := m.count()
	if n == 0 {
		return -1
	}
	if m.follow {
		return n - 1
	}
	return m.indexOf(m.anchor)
}

// pause stops following with line i at the bottom.
func (m *Model) pause(i int) {
	n := m.count()
	if n == 0 {
		return
	}
	i = max(0, min(i, n-1))
	m.follow = false
	m.anchor = m.seqAt(i)
}

// scroll moves the view by delta lines; scrolling up pauses, reaching the
// newest line resumes following.
func (m *Model) scroll(delta int) {
	n := m.count()
	if n == 0 {
		return
	}
	b := m.bottom() + delta
	if b >= n-1 {
		m.follow = true
		return
	}
	// Keep a full screen above the bottom line when there is one.
	b = max(b, min(n-1, m.contentHeight()-1))
	if b >= n-1 {
		m.follow = true
		return
	}
	m.pause(b)
}

// newLines is how many lines arrived below the view while paused.
func (m *Model) newLines() int {
	if m.follow {
		return 0
	}
	return max(0, m.count()-1-m.bottom())
}

// contentHeight is the number of rows for log lines.
func (m *Model) contentHeight() int {
	h := m.h - 1 // status line
	if m.filtering {
		h--
	}
	return max(1, h)
}

// Click handles a click on the pane (row 0 is the status line): a click
// on a line stops following, keeping the view still to read it; a click
// on its source column shows only that source (again: all sources).
func (m *Model) Click(col, row int) tea.Cmd {
	if m.filtering || m.picker.open || row < 1 || row > m.contentHeight() {
		return nil
	}
	e := m.entryAtRow(row - 1)
	if e == nil {
		return nil
	}
	if b := m.bottom(); m.follow && b >= 0 {
		m.pause(b)
	}
	srcAt := len(timeLayout) + 1
	if col >= srcAt && col < srcAt+m.srcW {
		if m.source == e.Source {
			m.SetSource("")
		} else {
			m.SetSource(e.Source)
		}
	}
	return nil
}

// entryAtRow is the line drawn on row r of the lines area (0 is its
// top), walking the visible lines the way View does; nil: none there.
func (m *Model) entryAtRow(r int) *entry {
	ch := m.contentHeight()
	b := m.bottom()
	if b < 0 {
		return nil
	}
	type drawn struct {
		e    *entry
		rows int
	}
	var shown []drawn
	n := 0
	for i := b; i >= 0 && n < ch; i-- {
		e := m.ring.get(m.seqAt(i))
		if e == nil {
			break
		}
		k := min(len(m.render(e)), ch-n)
		shown = append(shown, drawn{e, k})
		n += k
	}
	// shown is bottom-up; rows are top-down.
	for j := len(shown) - 1; j >= 0; j-- {
		if r < shown[j].rows {
			return shown[j].e
		}
		r -= shown[j].rows
	}
	return nil
}
