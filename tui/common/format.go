package common

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Duration formats a latency compactly: 850µs, 12.3ms, 1.20s, 2m05s.
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	default:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
}

// Ago formats how long ago t was, relative to now: 3s, 5m, 2h, 3d.
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return Age(now.Sub(t))
}

// Age formats an elapsed time coarsely: 3s, 5m, 2h, 3d.
func Age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// Rate formats requests per second.
func Rate(r float64) string {
	switch {
	case r <= 0:
		return "0"
	case r < 10:
		return fmt.Sprintf("%.1f", r)
	case r < 10000:
		return fmt.Sprintf("%.0f", r)
	default:
		return fmt.Sprintf("%.1fk", r/1000)
	}
}

// Count formats a counter: 950, 12.3k, 4.5M.
func Count(n uint64) string {
	switch {
	case n < 10000:
		return fmt.Sprint(n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1fk", float64(n)/1000)
	default:
		return fmt.Sprintf("%.1fM", float64(n)/1_000_000)
	}
}

var sparks = []rune(" ▁▂▃▄▅▆▇█")

// Sparkline draws the last w values as a one-line chart scaled to their
// maximum (empty cells for missing history).
func Sparkline(values []float64, w int) string {
	if w <= 0 {
		return ""
	}
	if len(values) > w {
		values = values[len(values)-w:]
	}
	hi := 0.0
	for _, v := range values {
		hi = math.Max(hi, v)
	}
	var b strings.Builder
	b.Grow(w * 3)
	for range w - len(values) {
		b.WriteRune(' ')
	}
	for _, v := range values {
		i := 0
		if hi > 0 && v > 0 {
			i = 1 + int(math.Round(v/hi*float64(len(sparks)-2)))
			i = min(i, len(sparks)-1)
		}
		b.WriteRune(sparks[i])
	}
	return b.String()
}

var eighths = []rune(" ▏▎▍▌▋▊▉")

// Bar draws value/maximum as a horizontal bar of w cells with eighth-cell
// resolution, padded with spaces.
func Bar(value, maximum float64, w int) string {
	if w <= 0 {
		return ""
	}
	if maximum <= 0 || value <= 0 {
		return strings.Repeat(" ", w)
	}
	frac := math.Min(value/maximum, 1)
	cells := frac * float64(w)
	full := int(cells)
	rest := int((cells - float64(full)) * 8)
	var b strings.Builder
	b.WriteString(strings.Repeat("█", full))
	n := full
	if n < w && rest > 0 {
		b.WriteRune(eighths[rest])
		n++
	}
	b.WriteString(strings.Repeat(" ", w-n))
	return b.String()
}
