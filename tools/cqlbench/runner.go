package cqlbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/tools/cqlbench/report"
	"github.com/cqlwire/cqlwire/tools/cqlbench/stats"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
)

// Config is one run of the harness.
type Config struct {
	// Targets are the servers, protocol versions and compressions to run
	// on, in order (see AnsweringTargets and RealTargets).
	Targets []TargetSource

	Drivers     []Driver
	Workloads   []workload.Kind
	Concurrency []int

	// Ops is the number of operations of one measurement; when zero,
	// a measurement lasts Duration instead (the operations in flight at
	// the end are waited for, and counted).
	Ops      int64
	Duration time.Duration
	// Warmup runs each driver's workers this long before each of its
	// measurements, unrecorded: connections, buffers, prepared statements
	// and the server reach their steady state.
	Warmup time.Duration
	// Rounds is the number of times each measurement is made. A round
	// runs every driver once, in turn, so that a change in the machine's
	// load during the run falls on all drivers alike.
	Rounds int

	// PagedMaxConcurrency, when positive, skips the paged workload at
	// higher concurrencies: each of its operations reads 10,000 rows, so
	// 1,024 of them in flight measure mostly the server's queue (and take
	// long on a real node).
	PagedMaxConcurrency int

	// Progress, when set, receives a progress line, rewritten in place
	// with \r.
	Progress io.Writer
	// Log receives what is skipped and why.
	Log io.Writer
}

// TargetSource provides the targets of one server: it starts the server or
// checks it is there, and says when to stop.
type TargetSource struct {
	// Server names the server: "answering" or "real".
	Server string
	// Open returns the targets to run on and a function releasing the
	// server; skip (with a reason) when the server is not available and
	// that is allowed.
	Open func(ctx context.Context) (targets []Target, release func(), skip string, err error)
}

// Run runs the measurements of cfg and returns one row per measurement
// and round.
func Run(ctx context.Context, cfg Config) ([]report.Row, error) {
	if cfg.Rounds < 1 {
		cfg.Rounds = 1
	}
	if cfg.Ops <= 0 && cfg.Duration <= 0 {
		return nil, errors.New("cqlbench: neither a number of operations nor a duration per measurement")
	}
	r := &runner{cfg: cfg, log: cfg.Log, told: map[string]bool{}}
	if r.log == nil {
		r.log = io.Discard
	}
	maxConc := 0
	for _, c := range cfg.Concurrency {
		maxConc = max(maxConc, c)
	}
	r.hists = make([]stats.Histogram, maxConc)
	var rows []report.Row
	for _, src := range cfg.Targets {
		targets, release, skip, err := src.Open(ctx)
		if err != nil {
			return rows, fmt.Errorf("%s server: %w", src.Server, err)
		}
		if skip != "" {
			fmt.Fprintf(r.log, "cqlbench: %s server skipped: %s\n", src.Server, skip)
			continue
		}
		for i := range targets {
			for _, kind := range cfg.Workloads {
				r.total += len(r.concurrencies(&targets[i], kind)) * cfg.Rounds * len(cfg.Drivers)
			}
		}
		got, err := r.runTargets(ctx, targets)
		rows = append(rows, got...)
		release()
		if err != nil {
			return rows, err
		}
	}
	r.progressDone()
	return rows, nil
}

// maxConcurrency returns the highest concurrency a workload runs at on a
// target, 0 for no limit, and why.
func (r *runner) maxConcurrency(t *Target, kind workload.Kind) (int, string) {
	if n := t.MaxConcurrency[kind]; n > 0 {
		return n, t.MaxConcurrencyWhy[kind]
	}
	if kind == workload.Paged && r.cfg.PagedMaxConcurrency > 0 {
		return r.cfg.PagedMaxConcurrency, "each operation reads 10,000 rows"
	}
	return 0, ""
}

// concurrencies returns the concurrencies a workload runs at on a target.
func (r *runner) concurrencies(t *Target, kind workload.Kind) []int {
	limit, _ := r.maxConcurrency(t, kind)
	if limit <= 0 {
		return r.cfg.Concurrency
	}
	var out []int
	for _, c := range r.cfg.Concurrency {
		if c <= limit {
			out = append(out, c)
		}
	}
	return out
}

type runner struct {
	cfg   Config
	log   io.Writer
	hists []stats.Histogram

	done, total int // measurements, for the progress line
	started     time.Time
	lastLine    int

	told map[string]bool // messages already logged
}

func (r *runner) runTargets(ctx context.Context, targets []Target) ([]report.Row, error) {
	var rows []report.Row
	for _, t := range targets {
		clients := make([]Client, len(r.cfg.Drivers))
		closeAll := func() {
			for _, c := range clients {
				if c != nil {
					c.Close()
				}
			}
		}
		for i, d := range r.cfg.Drivers {
			octx, cancel := context.WithTimeout(ctx, 30*time.Second)
			c, err := d.Open(octx, t)
			cancel()
			if err != nil {
				closeAll()
				return rows, fmt.Errorf("%s on %s v%d %s: %w", d.Name(), t.Server, t.Version, t.CompressionName(), err)
			}
			clients[i] = c
		}
		for _, kind := range r.cfg.Workloads {
			concs := r.concurrencies(&t, kind)
			if skipped := len(r.cfg.Concurrency) - len(concs); skipped > 0 {
				limit, why := r.maxConcurrency(&t, kind)
				msg := fmt.Sprintf("cqlbench: %s on the %s server runs at concurrency %d at most (%d levels skipped): %s\n",
					kind, t.Server, limit, skipped, why)
				if !r.told[msg] {
					r.progressDone()
					fmt.Fprint(r.log, msg)
					r.told[msg] = true
				}
			}
			for _, conc := range concs {
				for round := 1; round <= r.cfg.Rounds; round++ {
					for i, d := range r.cfg.Drivers {
						key := report.Key{Workload: string(kind), Server: t.Server, Proto: int(t.Version),
							Compression: t.CompressionName(), Concurrency: conc, Driver: d.Name()}
						r.progress(key, round)
						row, err := r.measure(ctx, clients[i], kind, conc)
						row.Key, row.Round = key, round
						rows = append(rows, row)
						if err != nil {
							closeAll()
							return rows, fmt.Errorf("%s: %w", key, err)
						}
					}
				}
			}
		}
		closeAll()
	}
	return rows, nil
}

// measure makes one measurement: warm-up, then the measured phase between
// two readings of the process's usage.
func (r *runner) measure(ctx context.Context, c Client, kind workload.Kind, conc int) (report.Row, error) {
	var row report.Row
	workers := make([]Op, conc)
	for i := range workers {
		op, err := workerFor(c, kind, i)
		if err != nil {
			return row, err
		}
		workers[i] = op
	}
	hists := r.hists[:conc]
	if r.cfg.Warmup > 0 {
		if err := runPhase(ctx, workers, hists, 0, r.cfg.Warmup); err != nil {
			return row, fmt.Errorf("warm-up: %w", err)
		}
	}
	for i := range hists {
		hists[i].Reset()
	}
	// Collect the garbage of what ran before (another driver, the
	// warm-up) now, so that this measurement pays for its own only.
	runtime.GC()
	before, err := stats.ReadUsage()
	if err != nil {
		return row, err
	}
	start := time.Now()
	runErr := runPhase(ctx, workers, hists, r.cfg.Ops, r.cfg.Duration)
	elapsed := time.Since(start)
	after, err := stats.ReadUsage()
	if err != nil {
		return row, err
	}
	var all stats.Histogram
	for i := range hists {
		all.Merge(&hists[i])
	}
	row.Ops = int64(all.Count())
	row.Elapsed = elapsed
	row.OpsPerSec = float64(row.Ops) / elapsed.Seconds()
	row.P50, row.P90, row.P99, row.P999 = all.Quantile(0.50), all.Quantile(0.90), all.Quantile(0.99), all.Quantile(0.999)
	cost := after.Sub(before).PerOp(row.Ops)
	row.CPUPer1k, row.AllocsPerOp, row.BytesPerOp = cost.CPUPer1k, cost.AllocsPerOp, cost.BytesPerOp
	if runErr != nil {
		row.Error = runErr.Error()
	}
	return row, runErr
}

// runPhase has the workers run operations, each its next one as soon as
// its last is answered, recording latencies in hists (worker i in
// hists[i]): ops operations in all, or when ops is zero, until d has
// passed. The first error stops every worker and is returned.
func runPhase(ctx context.Context, workers []Op, hists []stats.Histogram, ops int64, d time.Duration) error {
	var next atomic.Int64
	var stop atomic.Bool
	var failed atomic.Pointer[error]
	if ops <= 0 {
		t := time.AfterFunc(d, func() { stop.Store(true) })
		defer t.Stop()
		// Operations in flight at the end are waited for, but not for
		// ever: the raw driver has no request timeout of its own.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d+2*time.Minute)
		defer cancel()
	}
	var wg sync.WaitGroup
	for i, op := range workers {
		h := &hists[i]
		wg.Go(func() {
			for !stop.Load() && (ops <= 0 || next.Add(1) <= ops) {
				t0 := time.Now()
				if err := op(ctx); err != nil {
					e := err // escapes here only, not on every operation
					failed.CompareAndSwap(nil, &e)
					stop.Store(true)
					return
				}
				h.Add(time.Since(t0))
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		return *p
	}
	return ctx.Err()
}

// progress rewrites the progress line.
func (r *runner) progress(k report.Key, round int) {
	if r.cfg.Progress == nil {
		return
	}
	if r.started.IsZero() {
		r.started = time.Now()
	}
	eta := ""
	if r.done > 0 {
		left := time.Duration(float64(time.Since(r.started)) / float64(r.done) * float64(r.total-r.done))
		eta = fmt.Sprintf(" ~%s left", left.Round(time.Second))
	}
	r.done++
	line := fmt.Sprintf("cqlbench [%d/%d] %s v%d %s %s c=%d %s round %d/%d%s",
		r.done, r.total, k.Server, k.Proto, k.Compression, k.Workload, k.Concurrency, k.Driver, round, r.cfg.Rounds, eta)
	pad := max(r.lastLine-len(line), 0)
	r.lastLine = len(line)
	fmt.Fprintf(r.cfg.Progress, "\r%s%s", line, strings.Repeat(" ", pad))
}

func (r *runner) progressDone() {
	if r.cfg.Progress != nil && r.lastLine > 0 {
		fmt.Fprintf(r.cfg.Progress, "\r%s\r", strings.Repeat(" ", r.lastLine))
		r.lastLine = 0
	}
}
