package cluster

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

func TestThrottlerBounds(t *testing.T) {
	th, err := newThrottler(Throttle{MaxInFlight: 4, MaxQueued: 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := th.acquire(context.Background(), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	// Two may wait; the third is refused at once.
	var waiting sync.WaitGroup
	got := make(chan error, 2)
	for range 2 {
		waiting.Go(func() { got <- th.acquire(context.Background(), time.Now().Add(5*time.Second)) })
	}
	for th.queued.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := th.acquire(context.Background(), time.Now().Add(5*time.Second)); !errors.Is(err, ErrThrottled) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a third waiter: %v, want ErrThrottled at once", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refused after %v, want at once", d)
	}
	th.release()
	th.release()
	waiting.Wait()
	for range 2 {
		if err := <-got; err != nil {
			t.Errorf("a waiter got %v after slots were released", err)
		}
	}
	// Full again: a waiter gives up at its deadline, as throttled and timed out.
	start = time.Now()
	err = th.acquire(context.Background(), time.Now().Add(100*time.Millisecond))
	if !errors.Is(err, ErrThrottled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v, want ErrThrottled and DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Errorf("gave up after %v, want 100 ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if err := th.acquire(ctx, time.Time{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	if th.queued.Load() != 0 {
		t.Errorf("%d still counted as queued", th.queued.Load())
	}
}

// TestThrottlerLimitsConcurrency: never more than MaxInFlight hold a slot.
func TestThrottlerLimitsConcurrency(t *testing.T) {
	th, _ := newThrottler(Throttle{MaxInFlight: 8, MaxQueued: 1000})
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if err := th.acquire(context.Background(), time.Now().Add(10*time.Second)); err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			th.release()
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 8 || p < 2 {
		t.Errorf("peak concurrency %d, want at most 8 (and some)", p)
	}
}

func TestThrottleConfig(t *testing.T) {
	if th, err := newThrottler(Throttle{}); th != nil || err != nil {
		t.Errorf("zero Throttle: %v, %v; want no throttler", th, err)
	}
	for _, bad := range []Throttle{{MaxInFlight: -1}, {MaxInFlight: 1, MaxQueued: -1}} {
		if _, err := newThrottler(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestSessionThrottle: with two statements running and one waiting, a
// fourth is refused at once and never reaches a node; the waiting one
// runs when a slot frees. On fake nodes: their answers are held for a
// chosen time, which a real node's are not.
func TestSessionThrottle(t *testing.T) {
	tp := startTopology(t, 1)
	A := tp.node(0)
	A.setHook(func(*testserver.Request, int) (testserver.Reply, bool) {
		return testserver.Reply{Message: &frame.Void{}, Delay: 300 * time.Millisecond}, true
	})
	cfg := tp.config()
	cfg.Throttle = Throttle{MaxInFlight: 2, MaxQueued: 1}
	s := tp.connect(t, cfg)
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- s.Query("INSERT INTO ks1.t (k) VALUES (1)").Exec(context.Background()) }()
	}
	waitFor(t, "two statements on the node and one waiting", func() bool {
		return A.stmts.Load() == 2 && s.throttle.queued.Load() == 1
	})
	start := time.Now()
	err := s.Query("INSERT INTO ks1.t (k) VALUES (2)").Exec(context.Background())
	if !errors.Is(err, ErrThrottled) {
		t.Fatalf("the fourth statement: %v, want ErrThrottled", err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("refused after %v, want at once", d)
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("an admitted statement failed: %v", err)
		}
	}
	if n := A.stmts.Load(); n != 3 {
		t.Errorf("the node received %d statements, want 3 (the refused one never sent)", n)
	}
}
