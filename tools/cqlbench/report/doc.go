// Package report turns the harness's measurements into what people read:
// the medians across rounds, the ratios of every driver to the baseline
// (gocql) on each metric, a text table for the terminal, a CSV file of every
// measurement, a Markdown summary small enough to include in a README, and
// PNG charts (ops/s and p99 latency against concurrency, one line per
// driver) drawn with package plot.
package report
