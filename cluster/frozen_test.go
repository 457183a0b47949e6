package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

// Frozen nodes, on fake nodes: a real node can be frozen (SIGSTOP; the
// chaos suite does it on the 3-node cluster), but not at a chosen instant
// between two requests of a test, nor without a whole cluster to spare.
// The sessions here use the default StallTimeout and ProbeTimeout, so the
// times they check are the defaults'.

// TestFrozenNodeFailsOver: an idempotent statement whose node freezes is
// retried on the next node once the frozen node's connection is found
// dead, well within its own timeout: a dead connection is a connection
// error, not the statement's deadline.
func TestFrozenNodeFailsOver(t *testing.T) {
	tp := startTopology(t, 2)
	A, B := tp.node(0), tp.node(1)
	log := &attemptLog{cql: "SELECT v FROM ks1.t"}
	cfg := tp.config()
	cfg.Policy = fixedOrder{A.hostID(), B.hostID()}
	cfg.Observer = log.observer()
	s := tp.connect(t, cfg)
	A.frozen.Store(true)
	start := time.Now()
	var v int32
	err := s.Query("SELECT v FROM ks1.t").Idempotent(true).Timeout(10*time.Second).One(context.Background(), &v)
	took := time.Since(start)
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatalf("after %v: %v (attempts %+v)", took, err, summarize(tp, log.ends))
	}
	got := summarize(tp, log.ends)
	want := []attemptSummary{{Node: "A", Result: "conn", Retry: query.RetryNextHost}, {Node: "B", Result: "ok", Retry: query.Rethrow}}
	if !slices.Equal(got, want) {
		t.Errorf("attempts %+v, want %+v", got, want)
	}
	// StallTimeout (500 ms) + ProbeTimeout (1 s), plus slack for a busy machine.
	if took > 4*time.Second {
		t.Errorf("the statement took %v, want the frozen node found in about 1.5 s", took)
	}
	t.Logf("failed over from the frozen node in %v", took)
}

// TestFrozenNodeAvoided: under load, a node that freezes stops getting new
// requests within 2 s (first suspect, then down), the session reports it
// down, and no idempotent statement fails.
func TestFrozenNodeAvoided(t *testing.T) {
	tp := startTopology(t, 3)
	A := tp.node(0)
	var mu sync.Mutex
	var onA []time.Time // when attempts to A started
	log := &attemptLog{}
	obs := log.observer().(query.ObserverFuncs)
	inner := obs.OnStart
	obs.OnStart = func(a query.Attempt) {
		if a.Host == A.addr.String() {
			mu.Lock()
			onA = append(onA, a.Start)
			mu.Unlock()
		}
		inner(a)
	}
	cfg := tp.config()
	cfg.Observer = obs
	s := tp.connect(t, cfg)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var failMu sync.Mutex
	var failures []error
	ops := 0
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				var v int32
				err := s.Query("SELECT v FROM ks1.t").Idempotent(true).Timeout(5*time.Second).One(context.Background(), &v)
				failMu.Lock()
				ops++
				if err != nil && !errors.Is(err, ErrNotFound) {
					failures = append(failures, err)
				}
				failMu.Unlock()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	frozeAt := time.Now()
	A.frozen.Store(true)
	waitFor(t, "the session to report A suspect or down", func() bool {
		for _, h := range s.Hosts() {
			if h.Host.ID == A.hostID() {
				return h.Suspect || !h.Up
			}
		}
		return false
	})
	suspectAfter := time.Since(frozeAt)
	waitFor(t, "the session to report A down", func() bool {
		for _, h := range s.Hosts() {
			if h.Host.ID == A.hostID() {
				return !h.Up
			}
		}
		return false
	})
	downAfter := time.Since(frozeAt)
	time.Sleep(time.Second)
	cancel()
	wg.Wait()

	mu.Lock()
	var late []time.Duration
	for _, at := range onA {
		if d := at.Sub(frozeAt); d > 2*time.Second {
			late = append(late, d)
		}
	}
	mu.Unlock()
	if len(late) > 0 {
		t.Errorf("%d attempts went to the frozen node more than 2 s after it froze (first at +%v)", len(late), late[0])
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d idempotent statements failed, first: %v", len(failures), ops, failures[0])
	}
	if downAfter > 4*time.Second {
		t.Errorf("reported down %v after freezing, want about 1.5 s", downAfter)
	}
	if suspectAfter > 2*time.Second {
		t.Errorf("reported suspect %v after freezing, want about StallTimeout (500 ms)", suspectAfter)
	}
	t.Logf("%d statements; A reported suspect %v and down %v after freezing", ops, suspectAfter, downAfter)
}

// TestDownEventProbesConnections: a STATUS_CHANGE DOWN about a node whose
// idle connections look open makes the session probe them: a frozen node
// is then found within ProbeTimeout, not after a heartbeat interval.
func TestDownEventProbesConnections(t *testing.T) {
	tp := startTopology(t, 2)
	A, B := tp.node(0), tp.node(1)
	cfg := tp.config()
	cfg.HeartbeatInterval = time.Hour
	s := tp.connect(t, cfg)
	B.frozen.Store(true)
	start := time.Now()
	if n := A.srv.Broadcast(&frame.StatusChange{Change: frame.StatusDown, Address: B.addr}); n != 1 {
		t.Fatalf("the event reached %d control connections", n)
	}
	waitFor(t, "B's pool to go down", func() bool {
		for _, h := range s.Hosts() {
			if h.Host.ID == B.hostID() {
				return !h.Up
			}
		}
		return false
	})
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("B found down %v after the event, want about ProbeTimeout (1 s)", d)
	}
	t.Log(fmt.Sprintf("B down %v after the DOWN event", time.Since(start)))
}
