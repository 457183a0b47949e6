package cqlbench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/tools/cqlbench/answering"
	"github.com/cqlwire/cqlwire/tools/cqlbench/stats"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
)

// benchChild is the answering server of the benchmarks, in a child
// process (this test binary again, see TestMain), started on first use and
// shared by every benchmark of the run.
var benchChild struct {
	mu    sync.Mutex
	child *answering.Child
}

func benchServer() (*answering.Child, error) {
	benchChild.mu.Lock()
	defer benchChild.mu.Unlock()
	if benchChild.child == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		child, err := answering.Spawn(ctx)
		if err != nil {
			return nil, err
		}
		benchChild.child = child
	}
	return benchChild.child, nil
}

// stopBenchServer stops the benchmarks' server, if one was started.
func stopBenchServer() {
	benchChild.mu.Lock()
	defer benchChild.mu.Unlock()
	if benchChild.child != nil {
		benchChild.child.Close()
		benchChild.child = nil
	}
}

// BenchmarkDrivers measures each workload through each driver on the
// answering server (protocol v5, no compression, 2 connections), with 1,
// 16 and 256 operations in flight: b.N operations in all, each worker
// starting its next as soon as its last is answered and checked.
//
// The server runs in a child process, so -benchmem's allocs/op and B/op
// are the client's alone; cpu-µs/op is the process's CPU time (getrusage)
// per operation; ops/s, p50-µs and p99-µs are as in the cqlbench table.
// Names are workload=W/driver=D/c=N, for benchstat -col /driver:
//
//	cd tools
//	go test -run '^$' -bench Drivers -benchmem -count 6 ./cqlbench/ | tee /tmp/drivers.txt
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /driver /tmp/drivers.txt
func BenchmarkDrivers(b *testing.B) {
	child, err := benchServer()
	if err != nil {
		b.Fatal(err)
	}
	host, port, err := splitHostPort(child.Addr())
	if err != nil {
		b.Fatal(err)
	}
	t := Target{Server: "answering", Hosts: []string{host}, Port: port, Version: frame.V5, Conns: 2,
		PageSize: workload.DefaultPageSize, Timeout: 30 * time.Second}
	for _, kind := range workload.Kinds {
		b.Run("workload="+string(kind), func(b *testing.B) {
			for _, name := range []string{"cqlwire", "cqlwire-conn", "gocql", "raw"} {
				d, err := DriverByName(name)
				if err != nil {
					b.Fatal(err)
				}
				b.Run("driver="+name, func(b *testing.B) {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					c, err := d.Open(ctx, t)
					cancel()
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
					for _, conc := range []int{1, 16, 256} {
						b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) { benchWorkload(b, c, kind, conc) })
					}
				})
			}
		})
	}
}

func benchWorkload(b *testing.B, c Client, kind workload.Kind, conc int) {
	ctx := context.Background()
	workers := make([]Op, conc)
	for i := range workers {
		op, err := workerFor(c, kind, i)
		if err != nil {
			b.Fatal(err)
		}
		workers[i] = op
	}
	hists := make([]stats.Histogram, conc)
	// Warm up: a few operations per worker (gocql prepares on first use).
	if err := runPhase(ctx, workers, hists, int64(4*conc), 0); err != nil {
		b.Fatal(err)
	}
	for i := range hists {
		hists[i].Reset()
	}
	b.ReportAllocs()
	before, err := stats.ReadUsage()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	err = runPhase(ctx, workers, hists, int64(b.N), 0)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	after, err := stats.ReadUsage()
	if err != nil {
		b.Fatal(err)
	}
	var all stats.Histogram
	for i := range hists {
		all.Merge(&hists[i])
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(all.Quantile(0.50))/1e3, "p50-µs")
	b.ReportMetric(float64(all.Quantile(0.99))/1e3, "p99-µs")
	b.ReportMetric(float64(after.Sub(before).CPU)/1e3/float64(b.N), "cpu-µs/op")
}
