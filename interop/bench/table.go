package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func median[T int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianRPS(ws []window) float64 {
	xs := make([]float64, len(ws))
	for i, w := range ws {
		xs[i] = w.rps()
	}
	return median(xs)
}

func medianP50(ws []window) time.Duration {
	xs := make([]time.Duration, len(ws))
	for i, w := range ws {
		xs[i] = w.p50
	}
	return median(xs)
}

// cores is the median CPU (in cores) a side used over the windows.
func cores(ws []window, server bool) float64 {
	xs := make([]float64, len(ws))
	for i, w := range ws {
		d := w.clientCPU
		if server {
			d = w.serverCPU
		}
		xs[i] = d.Seconds() / w.elapsed.Seconds()
	}
	return median(xs)
}

func errCount(ws []window) int {
	n := 0
	for _, w := range ws {
		n += w.errs
	}
	return n
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

func span(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	if len(ds) == 1 {
		return ms(ds[0])
	}
	return fmt.Sprintf("%s (%s–%s)", ms(median(ds)), ms(slices.Min(ds)), ms(slices.Max(ds)))
}

func printTable(out io.Writer, r *results) {
	o := r.opts
	fmt.Fprintf(out, "\njig vs real Jina 3.20.2 (%s), same machine, same client, same run\n", r.versions)
	fmt.Fprintf(out, "machine: %s (at the end: %s)\n", r.machine, loadAvg())
	fmt.Fprintf(out, "echo flow of one executor (Jina: Python Executor returning its DocList[TextDoc]; jig: builtin:Echo), %d-byte texts;\n", docText)
	body := "the JSON body Jina's Client sends"
	if minimalBody {
		body = `{"data": [...], "parameters": {}}`
	}
	rpc := "JinaSingleDataRequestRPC/process_single_data"
	if useCall {
		rpc = "JinaRPC/Call (one stream per request in flight)"
	}
	var what []string
	if strings.Contains(o.protocols, "grpc") {
		what = append(what, "gRPC: "+rpc)
	}
	if strings.Contains(o.protocols, "http") {
		what = append(what, "HTTP: POST /bench with "+body)
	}
	fmt.Fprintf(out, "%s;\n", strings.Join(what, "; "))
	if r.bodyNote != "" {
		fmt.Fprintf(out, "  (the body Jina's Client sends was refused: %s)\n", r.bodyNote)
	}
	fmt.Fprintf(out, "%d windows of %s per system per case, alternating Jina and jig, medians; CPU in cores (of %d) over the jig windows\n\n", o.rounds, o.duration, runtime.NumCPU())

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tJina req/s\tJina p50\tjig req/s\tjig p50\tjig/Jina\ttarget\tmet\tclient CPU\tjig CPU\tnote\t")
	var notes []string
	for _, c := range r.cells {
		jr, gr := medianRPS(c.jina), medianRPS(c.jig)
		ratio := gr / jr
		target := 10.0
		if c.conc >= 16 {
			target = 20
		}
		met := "no"
		if ratio >= target {
			met = "yes"
		}
		cc, sc := cores(c.jig, false), cores(c.jig, true)
		var note []string
		// The client is the limit when it burns as much CPU as the server
		// it drives, or when together they fill the machine and the
		// client has a large share of it.
		if cc >= sc || (cc+sc >= 0.9*float64(runtime.NumCPU()) && cc >= 0.4*sc) {
			note = append(note, "client-bound")
		}
		if jc := cores(c.jina, false); jc >= 0.5*cores(c.jina, true) {
			note = append(note, fmt.Sprintf("client %.2f cores on Jina", jc))
		}
		if e := errCount(c.jina) + errCount(c.jig); e > 0 {
			note = append(note, fmt.Sprintf("%d errors", e))
		}
		name := fmt.Sprintf("%s %3d doc %2d in flight", map[string]string{"grpc": "gRPC", "http": "HTTP"}[c.protocol], c.ndocs, c.conc)
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%.1f\t%s\t%.1f×\t≥ %.0f×\t%s\t%.2f\t%.2f\t%s\t\n", name, jr, ms(medianP50(c.jina)), gr, ms(medianP50(c.jig)), ratio, target, met, cc, sc, strings.Join(note, "; "))
		if len(note) > 0 && strings.Contains(note[0], "client-bound") {
			notes = append(notes, name)
		}
	}
	tw.Flush()
	if len(notes) > 0 {
		fmt.Fprintf(out, "client-bound (the Go client used as much CPU as jig, or together they filled the machine): %s — jig's figure there is a lower bound\n", strings.Join(notes, ", "))
	}

	if o.skipFlows {
		return
	}
	fmt.Fprintf(out, "\nflow of 10 echo executors (median (min–max) of %d runs each, alternating)\n\n", o.flowRuns)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tJina (10 Python executors)\tjig (10 × builtin:Echo)\tjig/Jina time\t")
	row := func(name string, j, g []time.Duration) {
		ratio := "-"
		if mj, mg := median(j), median(g); mj > 0 && mg > 0 {
			ratio = fmt.Sprintf("%.3f", float64(mg)/float64(mj))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, span(j), span(g), ratio)
	}
	row("ready: exec → first answer", r.jina10.ready, r.jig10.ready)
	row("start in-process (Flow.start() / jig banner)", r.jina10.inner, r.jig10.inner)
	row("stop: signal → exit", r.jina10.stop, r.jig10.stop)
	row("stop in-process (Flow.close())", r.jina10.innerStop, nil)
	tw.Flush()

	if !o.skipGoExe {
		fmt.Fprintf(out, "\n10 deployments of one user Go executor (jig new, sources unchanged) vs 10 Python executors (issue 24; target ≤ 1 s ready)\n\n")
		if r.goexecErr != "" {
			fmt.Fprintf(out, "  not measured: %s\n", r.goexecErr)
			return
		}
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tJina (10 Python executors)\tjig (10 × ./goexec)\tjig/Jina time\ttarget\tmet\t")
		mj, mg := median(r.jina10.ready), median(r.goexec.ready)
		met := "no"
		if mg <= time.Second {
			met = "yes"
		}
		fmt.Fprintf(tw, "ready: exec → first answer\t%s\t%s\t%.2f\t≤ 1 s\t%s\t\n", span(r.jina10.ready), span(r.goexec.ready), float64(mg)/float64(mj), met)
		fmt.Fprintf(tw, "start in-process (Flow.start() / jig banner)\t%s\t%s\t\t\t\t\n", span(r.jina10.inner), span(r.goexec.inner))
		fmt.Fprintf(tw, "first start of the run (may build)\t\t%s\t\t\t\t\n", ms(r.goexecFirst))
		tw.Flush()
	}
}
