package cqlbench

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cqlwire/cqlwire/tools/cqlbench/report"
)

// moduleVersion returns the version of a module built into this binary,
// "unknown" when the build information does not say.
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, m := range info.Deps {
		if m.Path == path {
			if m.Replace != nil {
				return m.Replace.Version + " (replaced)"
			}
			return m.Version
		}
	}
	return "unknown"
}

// cpuModel returns the CPU model the kernel reports, "unknown" if none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU (" + runtime.GOOS + "/" + runtime.GOARCH + ")"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU (" + runtime.GOARCH + ")"
}

// RunEnv describes this machine and run, for the Markdown summary.
func RunEnv(command string, rounds int, perRound string) report.Env {
	return report.Env{
		Date:         time.Now(),
		CPU:          cpuModel(),
		Cores:        runtime.NumCPU(),
		GoVersion:    runtime.Version(),
		GocqlVersion: gocqlVersion(),
		Command:      command,
		Rounds:       rounds,
		PerRound:     perRound,
	}
}

// Candidate is the cqlwire driver among names: the Session adapter when
// present, else cqlwire-conn; "" if neither.
func Candidate(names []string) string {
	best := ""
	for _, n := range names {
		switch n {
		case "cqlwire":
			return n
		case "cqlwire-conn":
			best = n
		}
	}
	return best
}

// WriteOutputs writes into dir results.csv (every round and the medians),
// one PNG chart per workload, server, protocol and compression, and
// results.md (the summary, linking the charts). It returns the medians.
func WriteOutputs(dir string, env report.Env, rows []report.Row, drivers []string) ([]report.Row, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	medians := report.Medians(rows)
	write := func(name string, f func(*os.File) error) error {
		file, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = f(file)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if err := write("results.csv", func(f *os.File) error {
		return report.WriteCSV(f, rows, medians, Baseline)
	}); err != nil {
		return medians, err
	}
	plots, err := report.WritePlots(dir, medians)
	if err != nil {
		return medians, err
	}
	err = write("results.md", func(f *os.File) error {
		return report.WriteMarkdown(f, env, medians, report.MarkdownOptions{
			Baseline: Baseline, Candidate: Candidate(drivers), Ceiling: "raw", Plots: plots,
		})
	})
	return medians, err
}
