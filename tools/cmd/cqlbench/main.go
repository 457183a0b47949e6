package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/tools/cqlbench"
	"github.com/cqlwire/cqlwire/tools/cqlbench/answering"
	"github.com/cqlwire/cqlwire/tools/cqlbench/report"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
)

func main() {
	// The answering server runs as a child process of this same binary.
	answering.ServeIfChild()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags.
type options struct {
	server      string
	drivers     []cqlbench.Driver
	workloads   []workload.Kind
	concurrency []int
	versions    []frame.Version
	lz4         bool
	ops         int64
	duration    time.Duration
	warmup      time.Duration
	rounds      int
	conns       int
	pageSize    int
	pagedMax    int
	vectorMax   int
	timeout     time.Duration
	out         string
	inProcess   bool
	quiet       bool
	cpuProfile  string
	memProfile  string
}

// shortPreset are the values -short sets (unless the flag is given too):
// a run of well under three minutes on two cores, both servers included.
var shortPreset = map[string]string{
	"concurrency": "1,16,256,1024",
	"proto":       "5",
	"duration":    "150ms",
	"warmup":      "60ms",
	"rounds":      "2",
	// Paged operations read 10,000 rows each: at 256 or 1,024 in flight
	// one round takes seconds on a real node.
	"paged-max-concurrency": "16",
}

func parse(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("cqlbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "both", "answering, real or both (real is skipped when no node is reachable, unless asked for alone)")
	drivers := fs.String("drivers", "cqlwire,gocql,raw", "comma-separated drivers: cqlwire, cqlwire-conn, gocql, gocql-nocoalesce, raw")
	workloads := fs.String("workloads", "select,insert10,vector-insert,vector-ann,paged,mixed", "comma-separated workloads")
	concurrency := fs.String("concurrency", "1,16,256,1024", "comma-separated numbers of requests in flight")
	proto := fs.String("proto", "4,5", "comma-separated protocol versions")
	lz4 := fs.Bool("lz4", false, "also run every measurement with LZ4 compression")
	ops := fs.Int64("ops", 0, "operations per measurement (instead of -duration)")
	duration := fs.Duration("duration", 2*time.Second, "length of a measurement, when -ops is not given")
	warmup := fs.Duration("warmup", 500*time.Millisecond, "unmeasured run before each measurement")
	rounds := fs.Int("rounds", 3, "rounds (every driver once per round, in turn); the table shows medians")
	conns := fs.Int("conns", 2, "connections per host, for every driver (2 is gocql's default)")
	pageSize := fs.Int("page-size", workload.DefaultPageSize, "page size of the paged workload")
	pagedMax := fs.Int("paged-max-concurrency", 256, "run the paged workload at concurrencies up to this only (0: all)")
	vectorMax := fs.Int("real-vector-insert-max-concurrency", cqlbench.VectorInsertLimit,
		"on the real node, run vector-insert at concurrencies up to this only (0: all; Cassandra 5.0 without the fix of CASSANDRA-21644 fails more)")
	timeout := fs.Duration("timeout", 30*time.Second, "request timeout, for every driver")
	out := fs.String("out", "", "directory for results.csv, results.md and the PNG charts (none written when empty)")
	short := fs.Bool("short", false, "the preset of make bench-gocql: "+presetText())
	inProcess := fs.Bool("answering-in-process", false, "run the answering server in this process (its CPU time and allocations are then counted too)")
	quiet := fs.Bool("quiet", false, "no progress line")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *short {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		for name, value := range shortPreset {
			if !given[name] {
				if err := fs.Set(name, value); err != nil {
					return nil, err
				}
			}
		}
	}
	o := &options{server: *server, lz4: *lz4, ops: *ops, duration: *duration, warmup: *warmup, rounds: *rounds,
		conns: *conns, pageSize: *pageSize, pagedMax: *pagedMax, vectorMax: *vectorMax, timeout: *timeout, out: *out, inProcess: *inProcess, quiet: *quiet,
		cpuProfile: *cpuProfile, memProfile: *memProfile}
	switch o.server {
	case "answering", "real", "both":
	default:
		return nil, fmt.Errorf("-server %q: want answering, real or both", o.server)
	}
	for _, name := range splitList(*drivers) {
		d, err := cqlbench.DriverByName(name)
		if err != nil {
			return nil, err
		}
		o.drivers = append(o.drivers, d)
	}
	if len(o.drivers) == 0 {
		return nil, errors.New("-drivers: none given")
	}
	var err error
	if o.workloads, err = workload.ParseKinds(*workloads); err != nil {
		return nil, err
	}
	for _, s := range splitList(*concurrency) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 32767 {
			return nil, fmt.Errorf("-concurrency: %q is not a number from 1 to 32767", s)
		}
		o.concurrency = append(o.concurrency, n)
	}
	if len(o.concurrency) == 0 {
		return nil, errors.New("-concurrency: none given")
	}
	for _, s := range splitList(*proto) {
		switch s {
		case "4":
			o.versions = append(o.versions, frame.V4)
		case "5":
			o.versions = append(o.versions, frame.V5)
		default:
			return nil, fmt.Errorf("-proto: %q is not 4 or 5", s)
		}
	}
	if len(o.versions) == 0 {
		return nil, errors.New("-proto: none given")
	}
	if o.ops < 0 || (o.ops == 0 && o.duration <= 0) {
		return nil, errors.New("give a positive -ops or -duration")
	}
	if o.rounds < 1 || o.conns < 1 || o.pageSize < 1 {
		return nil, errors.New("-rounds, -conns and -page-size must be at least 1")
	}
	return o, nil
}

func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func presetText() string {
	var parts []string
	for _, name := range []string{"proto", "concurrency", "duration", "warmup", "rounds", "paged-max-concurrency"} {
		parts = append(parts, "-"+name+" "+shortPreset[name])
	}
	return strings.Join(parts, " ")
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "cqlbench:", err)
		}
		return 2
	}
	shape := cqlbench.Shape{Versions: o.versions, Compressions: []string{""}, Conns: o.conns,
		PageSize: o.pageSize, Timeout: o.timeout}
	if o.lz4 {
		shape.Compressions = append(shape.Compressions, "lz4")
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "\ncqlbench: "+format+"\n", args...) }
	var sources []cqlbench.TargetSource
	if o.server != "real" {
		sources = append(sources, cqlbench.AnsweringServer(shape, o.inProcess))
	}
	if o.server != "answering" {
		sources = append(sources, cqlbench.RealNode(shape, o.server == "real", o.vectorMax, logf))
	}
	cfg := cqlbench.Config{
		Targets: sources, Drivers: o.drivers, Workloads: o.workloads, Concurrency: o.concurrency,
		Ops: o.ops, Duration: o.duration, Warmup: o.warmup, Rounds: o.rounds, Log: stderr,
		PagedMaxConcurrency: o.pagedMax,
	}
	if !o.quiet {
		cfg.Progress = stderr
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "cqlbench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "cqlbench:", err)
			return 1
		}
	}
	if o.memProfile != "" {
		runtime.MemProfileRate = 4096 // finer than the default, for allocations of a few bytes
	}
	start := time.Now()
	rows, runErr := cqlbench.Run(ctx, cfg)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			fmt.Fprintln(stderr, "cqlbench:", err)
			return 1
		}
	}
	medians := report.Medians(rows)
	if len(medians) > 0 {
		if err := report.WriteTable(stdout, medians, cqlbench.Baseline); err != nil {
			fmt.Fprintln(stderr, "cqlbench:", err)
			return 1
		}
	}
	if o.out != "" && len(rows) > 0 {
		perRound := o.duration.String()
		if o.ops > 0 {
			perRound = strconv.FormatInt(o.ops, 10) + " operations"
		}
		var names []string
		for _, d := range o.drivers {
			names = append(names, d.Name())
		}
		command := "go run ./cmd/cqlbench " + strings.Join(args, " ")
		env := cqlbench.RunEnv(strings.TrimSpace(command), o.rounds, perRound)
		if _, err := cqlbench.WriteOutputs(o.out, env, rows, names); err != nil {
			fmt.Fprintln(stderr, "cqlbench: writing results:", err)
			return 1
		}
		where := o.out
		if abs, err := filepath.Abs(o.out); err == nil {
			where = abs
		}
		fmt.Fprintf(stdout, "results: %s (results.md, results.csv and PNG charts)\n", where)
	}
	fmt.Fprintf(stderr, "cqlbench: %d measurements in %s\n", len(rows), time.Since(start).Round(100*time.Millisecond))
	if runErr != nil {
		fmt.Fprintln(stderr, "cqlbench: FAILED:", runErr)
		return 1
	}
	return 0
}
