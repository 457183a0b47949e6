package report

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rows returns three rounds of two drivers at two concurrencies.
func sampleRows() []Row {
	var rows []Row
	for _, c := range []int{16, 256} {
		for round := 1; round <= 3; round++ {
			for _, d := range []string{"cqlwire-conn", "gocql"} {
				f := 1.0
				if d == "gocql" {
					f = 4
				}
				r := Row{Key: Key{Workload: "select", Server: "answering", Proto: 5, Compression: "none", Concurrency: c, Driver: d},
					Round: round, Ops: 1000, Elapsed: time.Second,
					OpsPerSec:   float64(1000*round) / f,
					P50:         time.Duration(f*float64(round)) * time.Millisecond,
					P90:         2 * time.Millisecond,
					P99:         time.Duration(f*10) * time.Millisecond,
					P999:        20 * time.Millisecond,
					CPUPer1k:    time.Duration(f*100) * time.Millisecond,
					AllocsPerOp: 3 * f, BytesPerOp: 300 * f}
				rows = append(rows, r)
			}
		}
	}
	return rows
}

func TestMediansAndRatios(t *testing.T) {
	med := Medians(sampleRows())
	if len(med) != 4 {
		t.Fatalf("%d medians, want 4 (2 drivers x 2 concurrencies)", len(med))
	}
	m := med[0]
	if m.Driver != "cqlwire-conn" || m.Concurrency != 16 || m.Round != 0 {
		t.Fatalf("first median %v, want cqlwire-conn at 16 (order of first appearance)", m.Key)
	}
	if m.OpsPerSec != 2000 || m.P50 != 2*time.Millisecond || m.Ops != 3000 || m.Elapsed != 3*time.Second {
		t.Fatalf("median ops/s %v p50 %v ops %d elapsed %v", m.OpsPerSec, m.P50, m.Ops, m.Elapsed)
	}
	r := NewRatios(med, "gocql")
	for name, want := range map[string]float64{"ops/s": 4, "p50": 0.25, "p99": 0.25, "CPU s/1k ops": 0.25, "allocs/op": 0.25, "B/op": 0.25} {
		if got := r.Of(&med[0], MetricByName(name)); math.Abs(got-want) > 1e-9 {
			t.Errorf("ratio of %s = %v, want %v", name, got, want)
		}
	}
	if got := r.Of(&med[1], MetricByName("ops/s")); got != 1 {
		t.Errorf("gocql's ratio to itself %v", got)
	}
	none := NewRatios(med, "absent")
	if !math.IsNaN(none.Of(&med[0], MetricByName("ops/s"))) {
		t.Error("a ratio without a baseline should be NaN")
	}
}

func TestMedianKeepsTheFirstError(t *testing.T) {
	rows := sampleRows()[:2]
	rows[1].Error = "boom"
	med := Medians(rows)
	if med[1].Error != "boom" || med[0].Error != "" {
		t.Fatalf("errors %q %q", med[0].Error, med[1].Error)
	}
}

func TestWriteCSV(t *testing.T) {
	rounds := sampleRows()
	med := Medians(rounds)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, rounds, med, "gocql"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	if len(recs) != 1+len(rounds)+len(med) {
		t.Fatalf("%d records, want header + %d rounds + %d medians", len(recs), len(rounds), len(med))
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	for _, name := range []string{"ops_per_s", "p99_us", "cpu_s_per_1k_ops", "allocs_per_op", "ratio_ops_per_s", "error"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("no column %s in %v", name, recs[0])
		}
	}
	first := recs[1]
	if first[col["row"]] != "round" || first[col["round"]] != "1" || first[col["driver"]] != "cqlwire-conn" ||
		first[col["ops_per_s"]] != "1000" || first[col["p99_us"]] != "10000" || first[col["ratio_ops_per_s"]] != "" {
		t.Fatalf("first round record %v", first)
	}
	medRec := recs[1+len(rounds)]
	if medRec[col["row"]] != "median" || medRec[col["ratio_ops_per_s"]] != "4" || medRec[col["cpu_s_per_1k_ops"]] != "0.1" {
		t.Fatalf("first median record %v", medRec)
	}
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	med := Medians(sampleRows())
	med[3].Error = "gocql: timeout"
	if err := WriteTable(&buf, med, "gocql"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"ops/s", "p99.9", "CPU s/1k ops", "xops", "4.00x", "0.25x", "FAILED: gocql: timeout", "divided by gocql"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	var buf bytes.Buffer
	env := Env{Date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), CPU: "Test CPU", Cores: 2, GoVersion: "go1.26.8",
		GocqlVersion: "v2.1.2", Command: "go run ./cmd/cqlbench -short", Rounds: 3, PerRound: "1s"}
	err := WriteMarkdown(&buf, env, Medians(sampleRows()), MarkdownOptions{Baseline: "gocql", Candidate: "cqlwire-conn",
		Plots: []string{"select-answering-v5-none.png"}})
	if err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{"2026-01-02 03:04 UTC", "Test CPU (2 cores)", "go1.26.8", "gocql v2.1.2",
		"`go run ./cmd/cqlbench -short`", "| select | answering | v5 | 16 | 2000 | 500 | 4.00x | 0.25x | 0.25x | 0.25x |",
		"![select-answering-v5-none](select-answering-v5-none.png)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "\n| select"); n != 2 {
		t.Errorf("%d table rows, want 2 (one per concurrency, drivers side by side)", n)
	}
	if strings.Contains(md, "ceiling") {
		t.Errorf("a ceiling column without a ceiling driver:\n%s", md)
	}

	// The ceiling column: the candidate's ops/s over the ceiling driver's
	// (gocql stands in for raw here).
	buf.Reset()
	if err := WriteMarkdown(&buf, env, Medians(sampleRows()), MarkdownOptions{Baseline: "gocql", Candidate: "cqlwire-conn", Ceiling: "gocql"}); err != nil {
		t.Fatal(err)
	}
	md = buf.String()
	for _, want := range []string{"| cqlwire-conn/gocql allocs/op | cqlwire-conn/gocql ops/s |",
		"| select | answering | v5 | 16 | 2000 | 500 | 4.00x | 0.25x | 0.25x | 0.25x | 4.00x |", "the ceiling of the machine"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestWritePlots(t *testing.T) {
	dir := t.TempDir()
	files, err := WritePlots(dir, Medians(sampleRows()))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0] != "select-answering-v5-none.png" {
		t.Fatalf("files %v", files)
	}
	f, err := os.Open(filepath.Join(dir, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != chartW || img.Bounds().Dy() != chartH {
		t.Fatalf("size %v", img.Bounds())
	}
}

func TestFormatRatio(t *testing.T) {
	for in, want := range map[float64]string{4: "4.00x", 12.34: "12.3x", 0.25: "0.25x", 0.0024: "0.0024x", 0.0000143: "0.000014x", 0.0567: "0.057x", math.NaN(): "-"} {
		if got := FormatRatio(in); got != want {
			t.Errorf("FormatRatio(%v) = %q, want %q", in, got, want)
		}
	}
}
