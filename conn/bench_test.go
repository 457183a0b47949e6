package conn

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

// BenchmarkRoundTrip measures requests per second and allocations per
// request on one connection, with 1, 16 and 256 requests in flight (a
// fixed set of goroutines, each sending its next request as soon as the
// last is answered), against the in-process answering machine (which
// shows the driver's own cost) and against the real node.
//
// allocs/op counts every allocation of a request: conn's own, the
// decoding of the answer by package frame, and the benchmark's. The
// conn-allocs/op metric subtracts what frame.DecodeBody of the same answer
// allocates, leaving conn's share.
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("testserver", func(b *testing.B) {
		srv, err := testserver.Start(testserver.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		benchTargets(b, srv.Addr(), &Config{}, "SELECT v FROM t")
	})
	b.Run("cassandra", func(b *testing.B) {
		env := testenv.Require(b)
		benchTargets(b, env.Addrs()[0], realConfig(b, env), "SELECT key FROM system.local")
	})
}

func benchTargets(b *testing.B, addr string, base *Config, cql string) {
	for _, v := range []struct {
		name    string
		version frame.Version
		comp    string
	}{{"v4", frame.V4, ""}, {"v5", frame.V5, ""}, {"v5-lz4", frame.V5, "lz4"}} {
		for _, conc := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/conc=%d", v.name, conc), func(b *testing.B) {
				cfg := *base
				cfg.MinVersion, cfg.MaxVersion, cfg.Compression = v.version, v.version, v.comp
				c, err := Dial(context.Background(), addr, &cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				benchRoundTrip(b, c, cql, conc)
			})
		}
	}
}

func benchRoundTrip(b *testing.B, c *Conn, cql string, conc int) {
	ctx := context.Background()
	// One request and its answer, for the decode share of the allocations.
	req := Request{Message: &frame.Query{Query: cql, Params: frame.QueryParams{Consistency: frame.One}}}
	resp, err := c.Do(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := resp.Message.AppendBody(nil, c.Version())
	if err != nil {
		b.Fatal(err)
	}
	hdr := frame.Header{Version: c.Version(), Response: true, Opcode: frame.OpResult, Length: len(body)}
	decodeAllocs := testing.AllocsPerRun(100, func() {
		if _, err := frame.DecodeBody(hdr, body, nil); err != nil {
			b.Fatal(err)
		}
	})

	var next atomic.Int64
	var failed atomic.Pointer[failure]
	var wg sync.WaitGroup
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	for range conc {
		wg.Go(func() {
			// Each goroutine reuses its request, as a prepared statement
			// executed in a loop would.
			req := Request{Message: &frame.Query{Query: cql, Params: frame.QueryParams{Consistency: frame.One}}}
			for next.Add(1) <= int64(b.N) {
				if _, err := c.Do(ctx, req); err != nil {
					failed.CompareAndSwap(nil, &failure{err})
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	if p := failed.Load(); p != nil {
		b.Fatal(p.err)
	}
	allocs := float64(after.Mallocs-before.Mallocs) / float64(b.N)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(allocs-decodeAllocs, "conn-allocs/op")
}

type failure struct{ err error }
