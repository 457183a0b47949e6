package conn

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/internal/testenv"
)

// TestRealNodeKilledMidTraffic kills the real node (SIGKILL) while a
// connection has requests in flight: every one must fail promptly with a
// connection-lost error, and the connection must report its end.
//
// It destroys the node, so it runs only when CQLWIRE_KILL_NODE_PID names the
// node's process: .ci/run sets it in a phase of its own, after every other
// test that needs the node.
func TestRealNodeKilledMidTraffic(t *testing.T) {
	pidText := os.Getenv("CQLWIRE_KILL_NODE_PID")
	if pidText == "" {
		t.Skip("destructive: kills the node; set CQLWIRE_KILL_NODE_PID to its pid (.ci/run does, in its own phase)")
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 1 {
		t.Fatalf("CQLWIRE_KILL_NODE_PID=%q is not a pid", pidText)
	}
	env := testenv.Require(t)
	c := dialT(t, env.Addrs()[0], realConfig(t, env))

	const workers = 64
	var answered, failed sync.WaitGroup
	errs := make(chan error, workers)
	firstAnswers := make(chan struct{})
	for w := range workers {
		answered.Add(1)
		failed.Add(1)
		go func() {
			defer failed.Done()
			done := false
			for i := int32(0); ; i++ {
				resp, err := c.Do(context.Background(), echoRequest(int32(w)<<16|i))
				if err != nil {
					errs <- err
					if !done {
						answered.Done()
					}
					return
				}
				if got, err := echoed(resp); err != nil || got != int32(w)<<16|i {
					errs <- errors.New("wrong answer before the kill")
					if !done {
						answered.Done()
					}
					return
				}
				if !done {
					done = true
					answered.Done()
				}
			}
		}()
	}
	go func() { answered.Wait(); close(firstAnswers) }()
	select {
	case <-firstAnswers:
	case <-time.After(30 * time.Second):
		t.Fatal("no traffic flowing before the kill")
	}
	killedAt := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	allFailed := make(chan struct{})
	go func() { failed.Wait(); close(allFailed) }()
	select {
	case <-allFailed:
	case <-time.After(10 * time.Second):
		t.Fatalf("requests still pending 10 s after the node was killed (%d in flight)", c.InFlight())
	}
	elapsed := time.Since(killedAt)
	close(errs)
	n := 0
	for err := range errs {
		n++
		var ce *Error
		if !errors.As(err, &ce) || !errors.Is(err, ErrConnectionLost) {
			t.Errorf("request error %v: want a *conn.Error wrapping ErrConnectionLost", err)
		}
	}
	if n != workers {
		t.Errorf("%d of %d workers saw an error", n, workers)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done() not closed after the node died")
	}
	if !errors.Is(c.Err(), ErrConnectionLost) {
		t.Errorf("Err() = %v, want ErrConnectionLost", c.Err())
	}
	t.Logf("all %d workers failed %v after the kill", workers, elapsed)
}
