package report

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/cqlwire/cqlwire/tools/cqlbench/stats"
)

// Key identifies a measurement, apart from its round.
type Key struct {
	Workload    string
	Server      string // "answering" or "real"
	Proto       int    // 4 or 5
	Compression string // "none" or "lz4"
	Concurrency int
	Driver      string
}

func (k Key) String() string {
	return fmt.Sprintf("%s on %s v%d %s c=%d %s", k.Workload, k.Server, k.Proto, k.Compression, k.Concurrency, k.Driver)
}

// group is the key without the driver: the drivers measured side by side.
func (k Key) group() Key { k.Driver = ""; return k }

// Row is one measurement (Round from 1), or the median of a measurement's
// rounds (Round 0, see Medians).
type Row struct {
	Key
	Round int

	Ops       int64
	Elapsed   time.Duration
	OpsPerSec float64
	// Latency quantiles of one operation.
	P50, P90, P99, P999 time.Duration
	// CPUPer1k is the process's CPU time (user + system) per 1,000
	// operations.
	CPUPer1k    time.Duration
	AllocsPerOp float64
	BytesPerOp  float64
	// Error is the first failure of the measurement ("" if none).
	Error string
}

// Metric is one measured quantity of a row.
type Metric struct {
	Name string
	// Short names the metric's ratio column.
	Short string
	// Get returns the value; Format shows it.
	Get    func(*Row) float64
	Format func(float64) string
	// HigherIsBetter is true for throughput, false for latency and costs.
	HigherIsBetter bool
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// Metrics are the metrics of the table, in column order.
var Metrics = []Metric{
	{"ops/s", "xops", func(r *Row) float64 { return r.OpsPerSec }, formatCount, true},
	{"p50", "xp50", func(r *Row) float64 { return micros(r.P50) }, formatMicros, false},
	{"p90", "xp90", func(r *Row) float64 { return micros(r.P90) }, formatMicros, false},
	{"p99", "xp99", func(r *Row) float64 { return micros(r.P99) }, formatMicros, false},
	{"p99.9", "xp99.9", func(r *Row) float64 { return micros(r.P999) }, formatMicros, false},
	{"CPU s/1k ops", "xcpu", func(r *Row) float64 { return r.CPUPer1k.Seconds() }, formatSeconds, false},
	{"allocs/op", "xallocs", func(r *Row) float64 { return r.AllocsPerOp }, formatCount, false},
	{"B/op", "xB", func(r *Row) float64 { return r.BytesPerOp }, formatCount, false},
}

// MetricByName returns the metric with that name.
func MetricByName(name string) *Metric {
	for i := range Metrics {
		if Metrics[i].Name == name {
			return &Metrics[i]
		}
	}
	return nil
}

// Medians returns, for each key in order of first appearance, a row (Round
// 0) whose every metric is the median of that key's rounds; Ops and Elapsed
// are the rounds' totals. A key any of whose rounds failed keeps the first
// error.
func Medians(rows []Row) []Row {
	var order []Key
	byKey := map[Key][]*Row{}
	for i := range rows {
		k := rows[i].Key
		if _, ok := byKey[k]; !ok {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], &rows[i])
	}
	out := make([]Row, 0, len(order))
	for _, k := range order {
		rs := byKey[k]
		m := Row{Key: k}
		med := func(get func(*Row) float64) float64 {
			xs := make([]float64, len(rs))
			for i, r := range rs {
				xs[i] = get(r)
			}
			return stats.Median(xs)
		}
		dur := func(get func(*Row) time.Duration) time.Duration {
			return time.Duration(med(func(r *Row) float64 { return float64(get(r)) }))
		}
		for _, r := range rs {
			m.Ops += r.Ops
			m.Elapsed += r.Elapsed
			if m.Error == "" {
				m.Error = r.Error
			}
		}
		m.OpsPerSec = med(func(r *Row) float64 { return r.OpsPerSec })
		m.P50 = dur(func(r *Row) time.Duration { return r.P50 })
		m.P90 = dur(func(r *Row) time.Duration { return r.P90 })
		m.P99 = dur(func(r *Row) time.Duration { return r.P99 })
		m.P999 = dur(func(r *Row) time.Duration { return r.P999 })
		m.CPUPer1k = dur(func(r *Row) time.Duration { return r.CPUPer1k })
		m.AllocsPerOp = med(func(r *Row) float64 { return r.AllocsPerOp })
		m.BytesPerOp = med(func(r *Row) float64 { return r.BytesPerOp })
		out = append(out, m)
	}
	return out
}

// Ratios finds, for every row, the row of the baseline driver measured
// side by side with it.
type Ratios struct {
	baseline string
	byGroup  map[Key]*Row
}

// NewRatios indexes the baseline's rows among rows (medians).
func NewRatios(rows []Row, baseline string) *Ratios {
	r := &Ratios{baseline: baseline, byGroup: map[Key]*Row{}}
	for i := range rows {
		if rows[i].Driver == baseline {
			r.byGroup[rows[i].group()] = &rows[i]
		}
	}
	return r
}

// Of returns metric m of row divided by the baseline's, NaN when there is
// no baseline row or its value is zero.
func (r *Ratios) Of(row *Row, m *Metric) float64 {
	b := r.byGroup[row.group()]
	if b == nil {
		return math.NaN()
	}
	den := m.Get(b)
	if den == 0 {
		return math.NaN()
	}
	return m.Get(row) / den
}

func formatCount(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func formatMicros(us float64) string {
	switch {
	case math.IsNaN(us):
		return "-"
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e4:
		return fmt.Sprintf("%.1fms", us/1e3)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	case us >= 100:
		return fmt.Sprintf("%.0fµs", us)
	}
	return fmt.Sprintf("%.1fµs", us)
}

func formatSeconds(s float64) string {
	if math.IsNaN(s) {
		return "-"
	}
	return fmt.Sprintf("%.3g", s)
}

// FormatRatio shows a ratio with two significant decimals, "-" for none.
func FormatRatio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	switch {
	case v >= 10:
		return fmt.Sprintf("%.1fx", v)
	case v >= 0.1 || v == 0:
		return fmt.Sprintf("%.2fx", v)
	}
	// Two significant digits, 0.0024x rather than 0.00x, and never in
	// exponent form.
	decimals := int(-math.Floor(math.Log10(v))) + 1
	return strconv.FormatFloat(v, 'f', decimals, 64) + "x"
}
