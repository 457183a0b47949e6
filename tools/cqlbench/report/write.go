package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes the medians as an aligned text table: every metric,
// then every metric's ratio to the baseline driver ("x" columns).
func WriteTable(w io.Writer, medians []Row, baseline string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"workload", "server", "proto", "comp", "conc", "driver"}
	for _, m := range Metrics {
		head = append(head, m.Name)
	}
	for _, m := range Metrics {
		head = append(head, m.Short)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	ratios := NewRatios(medians, baseline)
	var last Key
	for i := range medians {
		r := &medians[i]
		if i > 0 && r.group() != last {
			fmt.Fprintln(tw, strings.Repeat("\t", len(head)))
		}
		last = r.group()
		cells := []string{r.Workload, r.Server, "v" + strconv.Itoa(r.Proto), r.Compression, strconv.Itoa(r.Concurrency), r.Driver}
		for _, m := range Metrics {
			cells = append(cells, m.Format(m.Get(r)))
		}
		for j := range Metrics {
			cells = append(cells, FormatRatio(ratios.Of(r, &Metrics[j])))
		}
		if r.Error != "" {
			cells = append(cells, "FAILED: "+r.Error)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "x columns: the driver's value divided by %s's, measured side by side (ops/s: higher is better; the others: lower is better). Medians over rounds.\n", baseline)
	return err
}

// csvHeader are the columns of WriteCSV.
var csvHeader = []string{
	"row", "round", "workload", "server", "proto", "compression", "concurrency", "driver",
	"ops", "elapsed_s", "ops_per_s", "p50_us", "p90_us", "p99_us", "p999_us",
	"cpu_s_per_1k_ops", "allocs_per_op", "bytes_per_op",
	"ratio_ops_per_s", "ratio_p50", "ratio_p90", "ratio_p99", "ratio_p999",
	"ratio_cpu", "ratio_allocs", "ratio_bytes", "error",
}

// WriteCSV writes every round's measurement (row "round") and the medians
// (row "median", with the ratios to the baseline driver).
func WriteCSV(w io.Writer, rounds, medians []Row, baseline string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	num := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	us := func(d time.Duration) string { return num(micros(d)) }
	record := func(kind string, r *Row, ratios *Ratios) []string {
		rec := []string{kind, strconv.Itoa(r.Round), r.Workload, r.Server, strconv.Itoa(r.Proto), r.Compression,
			strconv.Itoa(r.Concurrency), r.Driver, strconv.FormatInt(r.Ops, 10), num(r.Elapsed.Seconds()),
			num(r.OpsPerSec), us(r.P50), us(r.P90), us(r.P99), us(r.P999),
			num(r.CPUPer1k.Seconds()), num(r.AllocsPerOp), num(r.BytesPerOp)}
		for i := range Metrics {
			if ratios == nil {
				rec = append(rec, "")
			} else {
				rec = append(rec, num(ratios.Of(r, &Metrics[i])))
			}
		}
		return append(rec, r.Error)
	}
	for i := range rounds {
		if err := cw.Write(record("round", &rounds[i], nil)); err != nil {
			return err
		}
	}
	ratios := NewRatios(medians, baseline)
	for i := range medians {
		if err := cw.Write(record("median", &medians[i], ratios)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Env describes where and how a run was made, for the Markdown summary.
type Env struct {
	Date         time.Time
	CPU          string
	Cores        int
	GoVersion    string
	GocqlVersion string
	Command      string
	Rounds       int
	PerRound     string // "2000 ops" or "1s"
}

// MarkdownOptions chooses what the summary compares.
type MarkdownOptions struct {
	Baseline  string // the driver ratios divide by: gocql
	Candidate string // the driver compared with it: cqlwire (the Session)
	// Ceiling, when it ran, is the driver with no driver logic (raw): a
	// column gives the candidate's ops/s as a fraction of its.
	Ceiling string
	// Plots are the PNG files to link, relative to the Markdown file.
	Plots []string
}

// WriteMarkdown writes the summary: when, where and how the run was made,
// then one table row per workload, server, protocol and concurrency with
// each driver's ops/s and the candidate's ratios to the baseline on
// throughput, p99 latency, CPU per operation and allocations per operation.
func WriteMarkdown(w io.Writer, env Env, medians []Row, opts MarkdownOptions) error {
	var drivers []string
	seen := map[string]bool{}
	for _, r := range medians {
		if !seen[r.Driver] {
			seen[r.Driver] = true
			drivers = append(drivers, r.Driver)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s (%d cores), %s, gocql %s; medians of %d rounds of %s per driver; every answer checked.\n\n",
		env.Date.UTC().Format("2006-01-02 15:04 UTC"), env.CPU, env.Cores, env.GoVersion, env.GocqlVersion, env.Rounds, env.PerRound)
	fmt.Fprintf(&b, "Command: `%s`\n\n", env.Command)
	cols := []string{"workload", "server", "proto", "c"}
	for _, d := range drivers {
		cols = append(cols, d+" ops/s")
	}
	ratioMetrics := []string{"ops/s", "p99", "CPU s/1k ops", "allocs/op"}
	ratioNames := []string{"ops/s", "p99", "CPU/op", "allocs/op"}
	if seen[opts.Candidate] && seen[opts.Baseline] {
		for _, n := range ratioNames {
			cols = append(cols, fmt.Sprintf("%s/%s %s", opts.Candidate, opts.Baseline, n))
		}
	}
	ceiling := opts.Ceiling != "" && seen[opts.Ceiling] && seen[opts.Candidate]
	if ceiling {
		cols = append(cols, fmt.Sprintf("%s/%s ops/s", opts.Candidate, opts.Ceiling))
	}
	b.WriteString("| " + strings.Join(cols, " | ") + " |\n|")
	for i := range cols {
		if i < 4 {
			b.WriteString("---|")
		} else {
			b.WriteString("--:|")
		}
	}
	b.WriteString("\n")
	ratios := NewRatios(medians, opts.Baseline)
	byKey := map[Key]*Row{}
	var groups []Key
	for i := range medians {
		byKey[medians[i].Key] = &medians[i]
		if g := medians[i].group(); len(groups) == 0 || groups[len(groups)-1] != g {
			groups = append(groups, g)
		}
	}
	opsMetric := MetricByName("ops/s")
	for _, g := range groups {
		proto := "v" + strconv.Itoa(g.Proto)
		if g.Compression != "none" {
			proto += " " + g.Compression
		}
		cells := []string{g.Workload, g.Server, proto, strconv.Itoa(g.Concurrency)}
		for _, d := range drivers {
			k := g
			k.Driver = d
			if r := byKey[k]; r != nil && r.Error == "" {
				cells = append(cells, opsMetric.Format(r.OpsPerSec))
			} else if r != nil {
				cells = append(cells, "failed")
			} else {
				cells = append(cells, "")
			}
		}
		if seen[opts.Candidate] && seen[opts.Baseline] {
			k := g
			k.Driver = opts.Candidate
			for _, name := range ratioMetrics {
				if r := byKey[k]; r != nil {
					cells = append(cells, FormatRatio(ratios.Of(r, MetricByName(name))))
				} else {
					cells = append(cells, "")
				}
			}
		}
		if ceiling {
			k, kc := g, g
			k.Driver, kc.Driver = opts.Candidate, opts.Ceiling
			r, rc := byKey[k], byKey[kc]
			if r != nil && rc != nil && r.Error == "" && rc.Error == "" && rc.OpsPerSec > 0 {
				cells = append(cells, FormatRatio(r.OpsPerSec/rc.OpsPerSec))
			} else {
				cells = append(cells, "")
			}
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	fmt.Fprintf(&b, "\nRatios are %s's value divided by %s's: above 1 is better for ops/s, below 1 for p99, CPU time and allocations per operation.",
		opts.Candidate, opts.Baseline)
	if ceiling {
		fmt.Fprintf(&b, " %s/%s ops/s is %s's throughput as a fraction of %s's, which writes pre-encoded requests with no driver logic (the ceiling of the machine).",
			opts.Candidate, opts.Ceiling, opts.Candidate, opts.Ceiling)
	}
	b.WriteString(" Every measurement, with p50/p90/p99.9 and bytes per operation: `results.csv`.\n")
	if len(opts.Plots) > 0 {
		b.WriteString("\n")
		for _, p := range opts.Plots {
			fmt.Fprintf(&b, "![%s](%s)\n", strings.TrimSuffix(p, ".png"), p)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
