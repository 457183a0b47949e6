package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cqlwire/cqlwire/tools/cqlbench/plot"
)

// Chart size: two panels side by side.
const chartW, chartH = 1000, 380

// WritePlots writes one PNG per workload, server, protocol version and
// compression into dir: ops/s and p99 latency against concurrency (log2),
// one line per driver. It returns the file names, in order.
func WritePlots(dir string, medians []Row) ([]string, error) {
	type plotKey struct {
		Workload, Server string
		Proto            int
		Compression      string
	}
	var order []plotKey
	rowsOf := map[plotKey][]*Row{}
	for i := range medians {
		r := &medians[i]
		if r.Error != "" {
			continue
		}
		k := plotKey{r.Workload, r.Server, r.Proto, r.Compression}
		if _, ok := rowsOf[k]; !ok {
			order = append(order, k)
		}
		rowsOf[k] = append(rowsOf[k], r)
	}
	var files []string
	for _, k := range order {
		var drivers []string
		series := map[string]*[2]plot.Series{}
		for _, r := range rowsOf[k] {
			s := series[r.Driver]
			if s == nil {
				s = &[2]plot.Series{{Name: r.Driver}, {Name: r.Driver}}
				series[r.Driver] = s
				drivers = append(drivers, r.Driver)
			}
			c := float64(r.Concurrency)
			s[0].X, s[0].Y = append(s[0].X, c), append(s[0].Y, r.OpsPerSec)
			s[1].X, s[1].Y = append(s[1].X, c), append(s[1].Y, micros(r.P99))
		}
		title := fmt.Sprintf("%s, %s server, v%d %s", k.Workload, k.Server, k.Proto, k.Compression)
		integer := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
		ops := plot.Chart{Title: title + ": throughput", XLabel: "concurrency (requests in flight)", YLabel: "ops/s",
			LogX: true, XFormat: integer}
		p99 := plot.Chart{Title: title + ": p99 latency", XLabel: "concurrency (requests in flight)", YLabel: "p99",
			LogX: true, LogY: true, XFormat: integer, YFormat: plot.FormatMicros}
		for _, d := range drivers {
			ops.Series = append(ops.Series, series[d][0])
			p99.Series = append(p99.Series, series[d][1])
		}
		name := fmt.Sprintf("%s-%s-v%d-%s.png", k.Workload, k.Server, k.Proto, k.Compression)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return files, err
		}
		err = plot.WritePNG(f, plot.Draw(chartW, chartH, ops, p99))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return files, err
		}
		files = append(files, name)
	}
	return files, nil
}
