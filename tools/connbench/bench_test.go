package connbench

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
)

var concurrencies = []int{1, 16, 256}

// BenchmarkRoundTrip runs the same prepared SELECT through one connection
// of each driver, with 1, 16 and 256 requests in flight: a fixed set of c
// goroutines, each sending its next request as soon as the last is
// answered, until b.N requests have been answered in all.
//
// Names are BenchmarkRoundTrip/server=S/driver=D/c=N, so that benchstat
// can put the drivers side by side (-col /driver). Servers: the
// in-process answering machine speaking only v4 or only v5 (started once
// per server=... benchmark), and the real node (CQLWIRE_HOSTS, see
// internal/testenv) in v4 and v5, skipped when none is configured or
// reachable.
//
// Metrics: req/s (answered requests per second of wall time), p50-µs and
// p99-µs (latency of one request, from a log-linear histogram, ±4%),
// allocs/op and B/op from -benchmem (everything the process allocated per
// request, the in-process server included), and for cqlwire-conn
// conn-allocs/op: allocs/op minus what frame.DecodeBody allocates to
// decode the same answer, that is conn's own share (plus the server's).
func BenchmarkRoundTrip(b *testing.B) {
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		b.Run(fmt.Sprintf("server=answering-v%d", v), func(b *testing.B) {
			srv := startAnswering(b, v, nil)
			benchDrivers(b, answeringTarget(srv.Addr(), v))
		})
	}
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		b.Run(fmt.Sprintf("server=real-v%d", v), func(b *testing.B) {
			// Skips with a message when no node is configured or reachable
			// (fails instead under CQLWIRE_REQUIRE_CASSANDRA=1).
			env := testenv.Require(b)
			addr := env.Addrs()[0]
			t := realTarget(addr, v, env.Username, env.Password)
			warmUp(b, t)
			benchDrivers(b, t)
		})
	}
}

// warmUp sends the real node a second of the benchmark's requests, so that
// the first driver measured does not pay for the node's JIT compilation
// and caches.
func warmUp(b *testing.B, t *target) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := dialCqlwire(ctx, t)
	if err != nil {
		b.Fatalf("dial %s: %v", t.addr, err)
	}
	defer cl.Close()
	workers := make([]func(context.Context) error, 64)
	for i := range workers {
		workers[i] = cl.worker()
	}
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		if err := run(ctx, workers, nil, 2000); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDrivers(b *testing.B, t *target) {
	for _, d := range drivers {
		b.Run("driver="+d.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			cl, err := d.dial(ctx, t)
			cancel()
			if err != nil {
				b.Fatalf("%s: dial %s: %v", d.name, t.addr, err)
			}
			defer cl.Close()
			decodeAllocs := math.NaN()
			if c, ok := cl.(*cqlwireClient); ok {
				decodeAllocs = c.decodeAllocs(b)
			}
			for _, conc := range concurrencies {
				b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) {
					benchLoop(b, cl, conc, decodeAllocs)
				})
			}
		})
	}
}

// decodeAllocs returns what frame.DecodeBody allocates to decode the
// answer to the benchmark's request: the part of a request's allocations
// that belongs to package frame, not to conn.
func (c *cqlwireClient) decodeAllocs(b *testing.B) float64 {
	env, err := c.c.Do(context.Background(), c.execute())
	if err != nil {
		b.Fatal(err)
	}
	body, err := env.Message.AppendBody(nil, env.Version)
	if err != nil {
		b.Fatal(err)
	}
	hdr := frame.Header{Version: env.Version, Response: true, Opcode: frame.OpResult, Length: len(body)}
	return testing.AllocsPerRun(100, func() {
		if _, err := frame.DecodeBody(hdr, body, nil); err != nil {
			b.Fatal(err)
		}
	})
}

func benchLoop(b *testing.B, cl client, conc int, decodeAllocs float64) {
	ctx := context.Background()
	workers := make([]func(context.Context) error, conc)
	hists := make([]histogram, conc)
	for i := range workers {
		workers[i] = cl.worker()
	}
	// Warm up: a few rounds at this concurrency, so that pools, buffers
	// and stream ids are in their steady state before the timer starts.
	if err := run(ctx, workers, nil, int64(4*conc)); err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	err := run(ctx, workers, hists, int64(b.N))
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	var all histogram
	for i := range hists {
		all.merge(&hists[i])
	}
	b.ReportMetric(all.quantile(0.50).Seconds()*1e6, "p50-µs")
	b.ReportMetric(all.quantile(0.99).Seconds()*1e6, "p99-µs")
	if !math.IsNaN(decodeAllocs) {
		allocs := float64(after.Mallocs-before.Mallocs) / float64(b.N)
		b.ReportMetric(allocs-decodeAllocs, "conn-allocs/op")
	}
}

// run has the workers send n requests in all, each worker its next one as
// soon as its last is answered; with hists, worker i records its latencies
// in hists[i].
func run(ctx context.Context, workers []func(context.Context) error, hists []histogram, n int64) error {
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for i, do := range workers {
		var h *histogram
		if hists != nil {
			h = &hists[i]
		}
		wg.Go(func() {
			for next.Add(1) <= n {
				var t0 time.Time
				if h != nil {
					t0 = time.Now()
				}
				if err := do(ctx); err != nil {
					e := err // escapes only here, not on every request
					failed.CompareAndSwap(nil, &e)
					next.Store(n) // stop the others
					return
				}
				if h != nil {
					h.add(time.Since(t0))
				}
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		return *p
	}
	return nil
}

// histogram counts durations in log-linear buckets: 16 per power of two
// of nanoseconds, so a quantile is known within about 4%.
type histogram struct {
	counts [64 * 16]uint64
	n      uint64
}

func bucket(d time.Duration) int {
	ns := uint64(max(d, 1))
	e := bits.Len64(ns) - 1 // ns is in [2^e, 2^(e+1))
	if e < 4 {
		return int(ns) // exact below 16ns
	}
	return e*16 + int(ns>>(e-4))&15
}

// lower returns the smallest duration of bucket i.
func lower(i int) time.Duration {
	if i < 64 {
		if e := i / 16; e < 4 {
			return time.Duration(i)
		}
	}
	e, m := i/16, i%16
	return time.Duration((16 + uint64(m)) << (e - 4))
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucket(d)]++
	h.n++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the middle of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= max(rank, 1) {
			return (lower(i) + lower(i+1)) / 2
		}
	}
	return 0
}
