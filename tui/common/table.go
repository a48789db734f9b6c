package common

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Column describes a table column.
type Column struct {
	Title string
	// Width is the preferred width; Min the width under which the column
	// is hidden rather than squeezed.
	Width, Min int
	// Right aligns the column's cells right (numbers).
	Right bool
	// Drop is the column's hiding order when the table is too wide: the
	// highest Drop goes first; 0 is never hidden.
	Drop int
	// Flex columns take the space left over (and shrink to Min first
	// when space is short).
	Flex bool
	// Fixed keeps a Flex column from growing: it shrinks when space is
	// short but leaves extra space to the other Flex columns (a name that
	// is rarely long should not starve a chart).
	Fixed bool
}

// Cell is one table cell: plain text and the style to draw it with.
type Cell struct {
	Text  string
	Style lipgloss.Style
	// Raw is pre-rendered text (e.g. a coloured bar); it is used instead of
	// Text+Style when the row is not selected.
	Raw string
}

// C returns a cell.
func C(text string, st lipgloss.Style) Cell { return Cell{Text: text, Style: st} }

// colSep separates columns.
const colSep = " "

// Layout fits columns into width: it hides the highest-Drop columns until
// the rest fit, then shares any leftover space among Flex columns. A
// hidden column gets width 0. Two cells are kept for the selection marker.
func Layout(cols []Column, width int) []int {
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = c.Width
	}
	total := func() int {
		t, n := 2, 0
		for _, w := range widths {
			if w > 0 {
				t += w
				n++
			}
		}
		return t + max(0, n-1)*len(colSep)
	}
	for total() > width {
		// shrink flex columns down to their minimum first
		shrunk := false
		for i, c := range cols {
			if c.Flex && widths[i] > c.Min && widths[i] > 0 {
				widths[i] = max(c.Min, widths[i]-(total()-width))
				shrunk = true
			}
		}
		if shrunk && total() <= width {
			break
		}
		drop := -1
		for i, c := range cols {
			if widths[i] > 0 && c.Drop > 0 && (drop < 0 || c.Drop > cols[drop].Drop) {
				drop = i
			}
		}
		if drop < 0 {
			break
		}
		widths[drop] = 0
	}
	if extra := width - total(); extra > 0 {
		var flex []int
		for i, c := range cols {
			if c.Flex && !c.Fixed && widths[i] > 0 {
				flex = append(flex, i)
			}
		}
		for k, i := range flex {
			share := extra / len(flex)
			if k == 0 {
				share += extra % len(flex)
			}
			widths[i] += share
		}
	}
	return widths
}

// HeaderRow renders the column titles.
func HeaderRow(cols []Column, widths []int, st lipgloss.Style) string {
	var b strings.Builder
	b.WriteString("  ")
	first := true
	for i, c := range cols {
		if widths[i] <= 0 {
			continue
		}
		if !first {
			b.WriteString(colSep)
		}
		first = false
		if c.Right {
			b.WriteString(FitRight(c.Title, widths[i]))
		} else {
			b.WriteString(Fit(c.Title, widths[i]))
		}
	}
	return st.Render(b.String())
}

// Row renders one row. A selected row is drawn plain inside the Selected
// style (inner styles would reset its background) and marked with "›",
// which also shows the selection when there is no colour.
func Row(cols []Column, widths []int, cells []Cell, selected bool, sel lipgloss.Style, width int) string {
	var b strings.Builder
	if selected {
		b.WriteString("› ")
	} else {
		b.WriteString("  ")
	}
	first := true
	for i, c := range cols {
		if widths[i] <= 0 {
			continue
		}
		if !first {
			b.WriteString(colSep)
		}
		first = false
		var cell Cell
		if i < len(cells) {
			cell = cells[i]
		}
		text := cell.Text
		fit := Fit
		if c.Right {
			fit = FitRight
		}
		switch {
		case selected:
			b.WriteString(fit(text, widths[i]))
		case cell.Raw != "":
			b.WriteString(fit(cell.Raw, widths[i]))
		default:
			b.WriteString(cell.Style.Render(fit(text, widths[i])))
		}
	}
	if selected {
		return sel.Render(Fit(b.String(), width))
	}
	return b.String()
}

// Scroll returns the first visible index so that cursor stays inside a
// window of h rows, moving the window as little as possible from top.
func Scroll(top, cursor, h, n int) int {
	if h <= 0 {
		return 0
	}
	if cursor < top {
		top = cursor
	}
	if cursor >= top+h {
		top = cursor - h + 1
	}
	top = min(top, max(0, n-h))
	return max(0, top)
}
