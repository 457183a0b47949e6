package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

// TestRealLoad10k runs 10,000 goroutines against the single real node
// (CQLWIRE_LOAD_DURATION, default 30 s, of which a third without the
// throttle): goroutines and heap must stay bounded, every statement must
// succeed or fail with a timeout, Overloaded or throttled error within its
// deadline, and every goroutine must be back when the run stops.
//
// It runs only with CQLWIRE_LOAD=1 (make load; CI has a phase of its own):
// beside other packages' tests, which go test runs at the same time, the
// machine's two cores would measure the neighbours as much as the driver.
func TestRealLoad10k(t *testing.T) {
	if os.Getenv("CQLWIRE_LOAD") != "1" {
		t.Skip("a 30 s load test of its own: run it alone with CQLWIRE_LOAD=1 (make load)")
	}
	total := 30 * time.Second
	if v := os.Getenv("CQLWIRE_LOAD_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CQLWIRE_LOAD_DURATION: %v", err)
		}
		total = d
	}
	setup := connectReal(t, nil)
	ctx := testCtx(t)
	for _, stmt := range []string{
		"CREATE KEYSPACE IF NOT EXISTS cqlwire_load WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
		"CREATE TABLE IF NOT EXISTS cqlwire_load.kv (k int PRIMARY KEY, v blob)",
	} {
		if err := setup.Query(stmt).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const keys = 1000
	for k := range keys {
		if err := setup.Query("INSERT INTO cqlwire_load.kv (k, v) VALUES (?, ?)", k, make([]byte, 100)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	setup.Close()

	t.Run("throttled", func(t *testing.T) {
		runLoad(t, total*2/3, Throttle{MaxInFlight: 1024, MaxQueued: 4096})
	})
	t.Run("unthrottled", func(t *testing.T) {
		runLoad(t, total/3, Throttle{})
	})
}

func runLoad(t *testing.T, length time.Duration, th Throttle) {
	const workers = 10000
	const timeout = 2 * time.Second
	// Slack for the garbage collector and the scheduler of a 2-core
	// machine running 10,000 goroutines and a Cassandra node.
	const overrun = 1500 * time.Millisecond
	s := connectReal(t, func(c *Config) {
		c.Throttle = th
		c.DefaultProfile = query.Profile{RequestTimeout: timeout}
	})
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	baseGoroutines := runtime.NumGoroutine()

	stop := make(chan struct{})
	var ok, throttled, timedOut, overloaded, late atomic.Int64
	var otherMu sync.Mutex
	other := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			val := make([]byte, 100)
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := rnd.IntN(1000)
				start := time.Now()
				var err error
				if rnd.IntN(2) == 0 {
					var v []byte
					err = s.Query("SELECT v FROM cqlwire_load.kv WHERE k = ?", k).Idempotent(true).One(context.Background(), &v)
				} else {
					err = s.Query("INSERT INTO cqlwire_load.kv (k, v) VALUES (?, ?)", k, val).Idempotent(true).Exec(context.Background())
				}
				if d := time.Since(start); d > timeout+overrun {
					late.Add(1)
				}
				var fe *frame.Error
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrThrottled):
					throttled.Add(1)
					// A client that is turned away backs off.
					time.Sleep(time.Duration(10+rnd.IntN(40)) * time.Millisecond)
				case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, frame.CodeReadTimeout) || errors.Is(err, frame.CodeWriteTimeout):
					timedOut.Add(1)
				case errors.As(err, &fe) && fe.Code == frame.CodeOverloaded:
					overloaded.Add(1)
				default:
					msg := err.Error()
					if len(msg) > 200 {
						msg = msg[:200]
					}
					otherMu.Lock()
					other[msg]++
					otherMu.Unlock()
				}
			}
		})
	}

	var maxGoroutines int
	var maxHeap uint64
	deadline := time.Now().Add(length)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		maxGoroutines = max(maxGoroutines, runtime.NumGoroutine())
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		maxHeap = max(maxHeap, ms.HeapInuse)
	}
	close(stop)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout + 10*time.Second):
		t.Fatal("workers still blocked 12 s after the run stopped: something hangs")
	}

	n := ok.Load() + throttled.Load() + timedOut.Load() + overloaded.Load()
	var others []string
	otherN := 0
	for m, c := range other {
		others = append(others, fmt.Sprintf("%d× %s", c, m))
		otherN += c
	}
	sort.Strings(others)
	t.Logf("%v, %d goroutines, throttle %+v: %d statements (%.0f/s): %d ok, %d throttled, %d timed out, %d overloaded, %d other; %d over their deadline by more than %v; peak %d goroutines (%d before), peak heap in use %d MiB (%d before)",
		length, workers, th, n+int64(otherN), float64(n+int64(otherN))/length.Seconds(), ok.Load(), throttled.Load(), timedOut.Load(), overloaded.Load(), otherN,
		late.Load(), overrun, maxGoroutines, baseGoroutines, maxHeap>>20, base.HeapInuse>>20)
	if otherN > 0 {
		t.Errorf("%d statements failed with an error that is not a timeout, Overloaded or throttling:\n%s", otherN, strings.Join(others, "\n"))
	}
	if ok.Load() == 0 {
		t.Error("no statement succeeded")
	}
	if l := late.Load(); l > 0 {
		t.Errorf("%d statements returned more than %v after their %v timeout", l, overrun, timeout)
	}
	// The driver's own goroutines do not grow with the requests: a few per
	// connection and per node.
	if extra := maxGoroutines - baseGoroutines - workers; extra > 200 {
		t.Errorf("peak %d goroutines: %d beyond the workers and the session", maxGoroutines, extra)
	}
	if maxHeap > 1<<30 {
		t.Errorf("peak heap in use %d MiB", maxHeap>>20)
	}
}
