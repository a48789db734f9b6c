package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
)

// formatValue renders a figure with its unit.
func formatValue(v float64, unit string) string {
	switch unit {
	case "µs":
		return fmt.Sprintf("%.0f µs", v)
	case "ms":
		if math.Abs(v) >= 100 {
			return fmt.Sprintf("%.0f ms", v)
		}
		return fmt.Sprintf("%.1f ms", v)
	case "MiB/s":
		return fmt.Sprintf("%.0f MiB/s", v)
	}
	if math.Abs(v) >= 10000 {
		return fmt.Sprintf("%.1fk %s", v/1000, unit)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

func formatCompare(r Row) string {
	if r.CompareUnit == "x" {
		return fmt.Sprintf("%.2f×", r.Compare)
	}
	return fmt.Sprintf("%+.0f %s", r.Compare, r.CompareUnit)
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
	fmt.Fprintf(w, "jig bench: %s %s, %d CPUs (GOMAXPROCS %d), median of %d runs of %s, jig and baselines interleaved\n\n",
		rep.Go, rep.Platform, rep.NumCPU, rep.GOMAXPROCS, rep.Runs, rep.Duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tjig\tbaseline\tratio / added\ttarget\tresult")
	fmt.Fprintln(tw, "--------\t---\t--------\t-------------\t------\t------")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, formatValue(r.Jig, r.Unit), formatValue(r.Baseline, r.Unit),
			formatCompare(r), formatTarget(r), formatStatus(r.Status))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	seen := map[string]bool{}
	for _, r := range rep.Rows {
		if r.Note != "" && !seen[r.Case+r.Note] {
			seen[r.Case+r.Note] = true
			notes = append(notes, fmt.Sprintf("  %s: %s", r.Case, r.Note))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nnotes:\n%s\n", strings.Join(notes, "\n"))
	}
	pass, miss, info := Tally(rep)
	fmt.Fprintf(w, "\ntargets: %d pass, %d miss (%d rows informational); took %s\n", pass, miss, info, rep.Took)
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	return nil
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
	return &rep, nil
}

// WriteCompare prints, for every row in both reports, how the jig figure
// and the comparison with its baseline changed from old to cur. The
// comparison is the figure to watch: it is measured against a baseline of
// the same run, so it holds across machines and noise better than the
// absolute figures.
func WriteCompare(w io.Writer, old, cur *Report) error {
	fmt.Fprintf(w, "change from %s (%s) to %s (%s):\n\n", old.Started.Format("2006-01-02 15:04"), old.Platform, cur.Started.Format("2006-01-02 15:04"), cur.Platform)
	prev := map[string]Row{}
	for _, r := range old.Rows {
		prev[r.Name] = r
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tjig old → new\tΔ jig\tratio / added old → new\tΔ\tresult")
	fmt.Fprintln(tw, "--------\t-------------\t-----\t-----------------------\t-\t------")
	missing := 0
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
		case r.CompareUnit == "x" && o.Compare != 0:
			dCmp = fmt.Sprintf("%+.1f%%", (r.Compare-o.Compare)/math.Abs(o.Compare)*100)
		case r.CompareUnit != "x":
			dCmp = fmt.Sprintf("%+.0f %s", r.Compare-o.Compare, r.CompareUnit)
		default:
			dCmp = "—"
		}
		result := formatStatus(r.Status)
		if o.Status != r.Status {
			result = formatStatus(o.Status) + " → " + result
		}
		fmt.Fprintf(tw, "%s\t%s → %s\t%s\t%s → %s\t%s\t%s\n", r.Name, formatValue(o.Jig, o.Unit), formatValue(r.Jig, r.Unit), dJig,
			formatCompare(o), formatCompare(r), dCmp, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if missing > 0 {
		fmt.Fprintf(w, "\n%d row(s) have no counterpart in the old report\n", missing)
	}
	return nil
}
