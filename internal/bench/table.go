package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// formatValue renders a figure with its unit.
func formatValue(v float64, unit string) string {
	switch unit {
	case "µs":
		return fmt.Sprintf("%.0f µs", v)
	case "ms":
		switch a := math.Abs(v); {
		case a >= 100:
			return fmt.Sprintf("%.0f ms", v)
		case a >= 1 || a == 0:
			return fmt.Sprintf("%.1f ms", v)
		default:
			return fmt.Sprintf("%.2f ms", v)
		}
	case "MiB/s":
		return fmt.Sprintf("%.0f MiB/s", v)
	}
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.2fM %s", v/1e6, unit)
	case a >= 1e4:
		return fmt.Sprintf("%.1fk %s", v/1e3, unit)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

// formatDiff renders a signed difference with its unit.
func formatDiff(v float64, unit string) string {
	s := formatValue(v, unit)
	if v >= 0 {
		s = "+" + s
	}
	return s
}

func hasBaseline(r Row) bool { return r.BaselineName != "" }

func formatBaseline(r Row) string {
	if !hasBaseline(r) {
		return "—"
	}
	return formatValue(r.Baseline, r.Unit)
}

func formatCompare(r Row) string {
	switch r.CompareUnit {
	case "":
		return "—"
	case "x":
		return fmt.Sprintf("%.2f×", r.Compare)
	}
	return formatDiff(r.Compare, r.CompareUnit)
}

// formatSpread renders the range of the per-run comparisons (or, without
// a baseline, of the per-run figures): how much the runs disagreed.
func formatSpread(r Row) string {
	runs, unit := r.CompareRuns, r.CompareUnit
	if !hasBaseline(r) {
		runs, unit = r.JigRuns, r.Unit
	}
	if len(runs) < 2 {
		return "—"
	}
	lo, hi := slices.Min(runs), slices.Max(runs)
	format := formatValue
	switch {
	case unit == "x":
		return fmt.Sprintf("%.2f–%.2f", lo, hi)
	case hasBaseline(r):
		format = formatDiff // added latency
	}
	return strings.TrimSuffix(format(lo, unit), " "+unit) + "…" + format(hi, unit)
}

func formatTarget(r Row) string {
	t := r.Target
	if t == nil {
		return "—"
	}
	op := map[string]string{">=": "≥", "<=": "≤", "≈": "≈"}[t.Op]
	var v string
	switch {
	case t.On == "jig":
		v = formatValue(t.Value, r.Unit)
	case r.CompareUnit == "x":
		v = fmt.Sprintf("%g×", t.Value)
	default:
		v = fmt.Sprintf("%g %s", t.Value, r.CompareUnit)
	}
	s := op + " " + v
	if t.Source == "ideal" {
		s += " (ideal)"
	}
	return s
}

func formatStatus(s string) string {
	if s == "miss" {
		return "MISS"
	}
	return s
}

// WriteTable prints the report as a table, followed by the notes, the
// tally of targets and any errors.
func WriteTable(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "jig bench: %s %s, %d CPUs (GOMAXPROCS %d), median of %d runs of %s, jig and baselines interleaved\n",
		rep.Go, rep.Platform, rep.NumCPU, rep.GOMAXPROCS, rep.Runs, rep.Duration)
	if rep.Load != "" {
		fmt.Fprintf(w, "load average at start: %s\n", rep.Load)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tjig\tbaseline\tratio / added\truns min…max\ttarget\tresult")
	fmt.Fprintln(tw, "--------\t---\t--------\t-------------\t------------\t------\t------")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, formatValue(r.Jig, r.Unit), formatBaseline(r),
			formatCompare(r), formatSpread(r), formatTarget(r), formatStatus(r.Status))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if notes := groupNotes(rep.Rows); len(notes) > 0 {
		fmt.Fprintf(w, "\nnotes:\n")
		for _, n := range notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	pass, miss, info := Tally(rep)
	fmt.Fprintf(w, "\ntargets: %d pass, %d miss (%d rows informational); took %s\n", pass, miss, info, rep.Took)
	for _, r := range rep.Rows {
		if r.Status == "miss" {
			fmt.Fprintf(w, "  missed: %s: %s, target %s\n", r.Name, missedFigure(r), formatTarget(r))
		}
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	return nil
}

// groupNotes returns one line per distinct note, in the order of the
// rows, naming the cases it explains (their common prefix and "*" when
// there are more than two).
func groupNotes(rows []Row) []string {
	var order []string
	cases := map[string][]string{}
	for _, r := range rows {
		if r.Note == "" {
			continue
		}
		if _, ok := cases[r.Note]; !ok {
			order = append(order, r.Note)
		}
		if cs := cases[r.Note]; len(cs) == 0 || cs[len(cs)-1] != r.Case {
			cases[r.Note] = append(cs, r.Case)
		}
	}
	out := make([]string, len(order))
	for i, note := range order {
		cs := slices.Compact(cases[note])
		name := strings.Join(cs, ", ")
		if len(cs) > 2 {
			name = commonPrefix(cs) + "*"
		}
		out[i] = name + ": " + note
	}
	return out
}

// commonPrefix returns the longest common prefix of ss that ends at a
// "/" (case names are paths: "unary/1doc/c1", "unary/100docs/c1" share
// "unary/").
func commonPrefix(ss []string) string {
	p := ss[0]
	for _, s := range ss[1:] {
		for !strings.HasPrefix(s, p) {
			p = p[:len(p)-1]
		}
	}
	return p[:strings.LastIndex(p, "/")+1]
}

func missedFigure(r Row) string {
	if r.Target != nil && r.Target.On == "jig" {
		return formatValue(r.Jig, r.Unit)
	}
	return formatCompare(r)
}

// Tally counts the rows that pass, miss and are informational.
func Tally(rep *Report) (pass, miss, info int) {
	for _, r := range rep.Rows {
		switch r.Status {
		case "pass":
			pass++
		case "miss":
			miss++
		default:
			info++
		}
	}
	return
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: not a jig bench report: %w", path, err)
	}
	if len(rep.Rows) == 0 {
		return nil, fmt.Errorf("%s: not a jig bench report: no rows", path)
	}
	return &rep, nil
}

// direction says which way a row's figure improves: +1 when higher is
// better (rates), -1 when lower is (times). Ratios of times (shards'
// latency) improve downwards too, so the unit decides.
func direction(r Row) int {
	if strings.HasSuffix(r.Unit, "/s") {
		return 1
	}
	return -1
}

// watched is the figure a comparison of two reports follows: the
// comparison with the same run's baseline where there is one (it holds
// across machines and noise better than absolute figures), else the
// figure itself.
func watched(r Row) (v float64, runs []float64) {
	if hasBaseline(r) {
		return r.Compare, r.CompareRuns
	}
	return r.Jig, r.JigRuns
}

// minChange is the smallest relative change Verdict reports: tight runs
// (the TUI's Go benchmarks) would otherwise flag a 2% wobble.
const minChange = 0.05

// Verdict compares a row of two reports: "better" or "WORSE" when each
// report's median lies outside the other's per-run range (a change larger
// than the noise either run showed) and the change is at least 5% (of
// the figure, or for added latency of the baseline it is added to), else
// "~".
func Verdict(old, cur Row) string {
	ov, oruns := watched(old)
	cv, cruns := watched(cur)
	outside := func(v float64, runs []float64) bool {
		if len(runs) == 0 {
			return v != 0
		}
		return v < slices.Min(runs) || v > slices.Max(runs)
	}
	scale := math.Abs(ov)
	if hasBaseline(old) && old.CompareUnit != "x" {
		scale = math.Abs(old.Baseline) // an added latency: relative to the latency
	}
	if ov == cv || !outside(cv, oruns) || !outside(ov, cruns) || math.Abs(cv-ov) < minChange*scale {
		return "~"
	}
	if (cv > ov) == (direction(cur) > 0) {
		return "better"
	}
	return "WORSE"
}

// WriteCompare prints, for every row in both reports, how the jig figure
// and the comparison with its baseline changed from old to cur, and
// whether the change is beyond the noise of the runs (Verdict).
func WriteCompare(w io.Writer, old, cur *Report) error {
	fmt.Fprintf(w, "change from %s (%s, %d runs of %s) to %s (%s, %d runs of %s):\n\n",
		old.Started.Format("2006-01-02 15:04"), old.Platform, old.Runs, old.Duration,
		cur.Started.Format("2006-01-02 15:04"), cur.Platform, cur.Runs, cur.Duration)
	prev := map[string]Row{}
	for _, r := range old.Rows {
		prev[r.Name] = r
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tjig old → new\tΔ jig\tratio / added old → new\tΔ\tchange\tresult")
	fmt.Fprintln(tw, "--------\t-------------\t-----\t-----------------------\t-\t------\t------")
	missing := 0
	var better, worse int
	for _, r := range cur.Rows {
		o, ok := prev[r.Name]
		if !ok {
			missing++
			continue
		}
		dJig := "—"
		if o.Jig != 0 {
			dJig = fmt.Sprintf("%+.1f%%", (r.Jig-o.Jig)/math.Abs(o.Jig)*100)
		}
		var dCmp string
		switch {
		case !hasBaseline(r) || !hasBaseline(o):
			dCmp = "—"
		case r.CompareUnit == "x" && o.Compare != 0:
			dCmp = fmt.Sprintf("%+.1f%%", (r.Compare-o.Compare)/math.Abs(o.Compare)*100)
		case r.CompareUnit != "x":
			dCmp = formatDiff(r.Compare-o.Compare, r.CompareUnit)
		default:
			dCmp = "—"
		}
		v := Verdict(o, r)
		switch v {
		case "better":
			better++
		case "WORSE":
			worse++
		}
		result := formatStatus(r.Status)
		if o.Status != r.Status {
			result = formatStatus(o.Status) + " → " + result
		}
		fmt.Fprintf(tw, "%s\t%s → %s\t%s\t%s → %s\t%s\t%s\t%s\n", r.Name, formatValue(o.Jig, o.Unit), formatValue(r.Jig, r.Unit), dJig,
			formatCompare(o), formatCompare(r), dCmp, v, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d better, %d worse beyond the noise of the runs (each median outside the other report's per-run range, and at least 5%%); ~ is within it\n", better, worse)
	if missing > 0 {
		fmt.Fprintf(w, "%d row(s) have no counterpart in the old report\n", missing)
	}
	return nil
}
