package conn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

// waitInFlight waits until c has n stream ids in use.
func waitInFlight(t *testing.T, c *Conn, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.InFlight() != n {
		if time.Now().After(deadline) {
			t.Fatalf("InFlight() = %d, want %d", c.InFlight(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFakeTimeoutThenLateAnswer: a request's timeout (Request.Timeout) is
// enforced by the timeout sweep; the stream id stays taken until the late
// answer arrives, which frees it without disturbing anything.
func TestFakeTimeoutThenLateAnswer(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			srv := startServer(t, testserver.Options{Echo: true, Handler: func(req *testserver.Request) testserver.Reply {
				if req.Header.Opcode == frame.OpQuery {
					if q, _ := req.Envelope(); q != nil && q.Message.(*frame.Query).Query == "late" {
						r := req.Default()
						r.Delay = 300 * time.Millisecond
						return r
					}
				}
				return req.Default()
			}})
			c := dialT(t, srv.Addr(), fakeConfig(v))
			start := time.Now()
			_, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "late"}, Timeout: 50 * time.Millisecond})
			d := time.Since(start)
			var ce *Error
			if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ce) || !ce.Sent || d < 50*time.Millisecond || d > 250*time.Millisecond {
				t.Fatalf("after %v: %v", d, err)
			}
			if n := c.InFlight(); n != 1 {
				t.Errorf("InFlight() = %d after the timeout, want 1 (the id stays taken)", n)
			}
			waitInFlight(t, c, 0) // the late answer frees it
			for i := range int32(20) {
				resp, err := c.Do(context.Background(), echoRequest(i))
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := echoed(resp); got != i {
					t.Fatalf("echo %d, want %d", got, i)
				}
			}
			if c.Err() != nil {
				t.Fatal(c.Err())
			}
		})
	}
}

// stallConn is a net.Conn whose writes block while stalled.
type stallConn struct {
	net.Conn
	mu      sync.Mutex
	stalled bool
	release chan struct{}
	entered chan struct{} // a write blocked
}

func (s *stallConn) stall() {
	s.mu.Lock()
	s.stalled, s.release = true, make(chan struct{})
	s.mu.Unlock()
}

func (s *stallConn) resume() {
	s.mu.Lock()
	s.stalled = false
	close(s.release)
	s.mu.Unlock()
}

func (s *stallConn) Write(b []byte) (int, error) {
	s.mu.Lock()
	stalled, release := s.stalled, s.release
	s.mu.Unlock()
	if stalled {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		<-release
	}
	return s.Conn.Write(b)
}

// TestFakeTimeoutWhileWriterBlocked: while the writer is stuck in a write,
// the request it is writing times out as sent and the one queued behind it
// as not sent; the queued one is then never written.
func TestFakeTimeoutWhileWriterBlocked(t *testing.T) {
	srv := startServer(t, testserver.Options{Echo: true})
	var sc *stallConn
	cfg := fakeConfig(frame.V5)
	cfg.Timeout = 80 * time.Millisecond
	cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		sc = &stallConn{Conn: nc, entered: make(chan struct{}, 1)}
		return sc, nil
	}
	c := dialT(t, srv.Addr(), cfg)
	sc.stall()
	errs := make(chan error, 2)
	go func() { _, err := c.Do(context.Background(), echoRequest(1)); errs <- err }()
	<-sc.entered // the writer is blocked writing the first request
	go func() { _, err := c.Do(context.Background(), echoRequest(2)); errs <- err }()
	var sent, unsent int
	for range 2 {
		select {
		case err := <-errs:
			var ce *Error
			if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ce) {
				t.Fatalf("want a timeout, got %v", err)
			}
			if ce.Sent {
				sent++
			} else {
				unsent++
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no timeout while the writer is blocked")
		}
	}
	if sent != 1 || unsent != 1 {
		t.Fatalf("%d timed out as sent, %d as not sent; want 1 and 1", sent, unsent)
	}
	if n := c.InFlight(); n != 1 {
		t.Errorf("InFlight() = %d, want 1 (the sent request's id)", n)
	}
	sc.resume()
	waitInFlight(t, c, 0) // the first request's late answer; the second was never sent
	resp, err := c.Do(context.Background(), echoRequest(3))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := echoed(resp); got != 3 {
		t.Fatalf("echo %d, want 3", got)
	}
}

// TestExpire checks the timeout sweep on calls put in slots by hand: a
// call before its deadline is left alone; a queued one is answered as not
// sent and its id freed; a sent one is answered as sent and its id kept
// until take sees the late answer; one its caller gave up on is left to
// whoever frees it.
func TestExpire(t *testing.T) {
	c := &Conn{streams: newStreams(16), s: &settings{}, probeWake: make(chan struct{}, 1)}
	put := func(state int32, deadline int64) *call {
		id, _, err := c.streams.acquire(context.Background(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		cl := &call{ready: make(chan struct{}, 1), stream: id, timeout: time.Second}
		cl.deadline.Store(deadline)
		cl.state.Store(state)
		c.streams.slot(id).Store(cl)
		return cl
	}
	queued := put(stQueued, 100)
	sent := put(stSent, 100)
	gaveUp := put(stAbandonedSent, 100)
	never := put(stSent, 0)
	c.expire(99)
	if c.InFlight() != 4 || len(queued.ready) != 0 || len(sent.ready) != 0 {
		t.Fatal("expired before the deadline")
	}
	c.expire(100)
	if queued.state.Load() != stExpiredUnsent || len(queued.ready) != 1 || queued.sent || !errors.Is(queued.err, context.DeadlineExceeded) ||
		c.streams.slot(queued.stream).Load() != nil {
		t.Errorf("queued call: state %d, err %v, sent %t", queued.state.Load(), queued.err, queued.sent)
	}
	if sent.state.Load() != stDone || len(sent.ready) != 1 || !sent.sent || !errors.Is(sent.err, context.DeadlineExceeded) ||
		c.streams.slot(sent.stream).Load() != expiredSlot {
		t.Errorf("sent call: state %d, err %v, sent %t", sent.state.Load(), sent.err, sent.sent)
	}
	if gaveUp.state.Load() != stAbandonedSent || gaveUp.err != nil || c.streams.slot(gaveUp.stream).Load() != gaveUp {
		t.Error("a call its caller gave up on was touched")
	}
	if never.state.Load() != stSent || len(never.ready) != 0 {
		t.Error("a call without a deadline expired")
	}
	if n := c.InFlight(); n != 3 {
		t.Errorf("InFlight() = %d, want 3", n)
	}
	if cl, err := c.take(frame.Header{Stream: sent.stream}); cl != nil || err != nil {
		t.Errorf("take of a late answer: %v, %v", cl, err)
	}
	if n := c.InFlight(); n != 2 || c.streams.slot(sent.stream).Load() != nil {
		t.Errorf("InFlight() = %d after the late answer, want 2", n)
	}
}
