package conn

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/types"
)

// These tests use the in-process fake server, or a net.Conn wrapped by
// Config.DialContext, because a real node cannot be made to freeze after
// the handshake on cue, to answer at a chosen byte rate, or to stop
// reading its socket while it keeps sending.

// frozenAfterHandshake answers the handshake and then nothing at all, as a
// node under SIGSTOP does (its TCP connections stay open).
func frozenAfterHandshake(req *testserver.Request) testserver.Reply {
	if ready(req) {
		return testserver.Reply{Fault: testserver.FaultHold}
	}
	return req.Default()
}

// TestFrozenServerIsAConnectionError: requests on a connection to a frozen
// node fail, once the stall probe gets nothing back, as a lost connection
// (sent), not as their own deadline, and long before their own timeout.
func TestFrozenServerIsAConnectionError(t *testing.T) {
	srv := startServer(t, testserver.Options{Handler: frozenAfterHandshake})
	cfg := fakeConfig(frame.V5)
	cfg.StallTimeout = 100 * time.Millisecond
	cfg.ProbeTimeout = 200 * time.Millisecond
	c := dialT(t, srv.Addr(), cfg)
	start := time.Now()
	_, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT 1"}, Timeout: 10 * time.Second})
	took := time.Since(start)
	var ce *Error
	if !errors.As(err, &ce) || !ce.Sent || !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Do = %v, want a sent request failing with ErrConnectionLost", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do = %v: a dead connection must not look like the request's own deadline", err)
	}
	if took > 2*time.Second {
		t.Errorf("found after %v, want about StallTimeout + ProbeTimeout (300 ms)", took)
	}
	t.Logf("frozen server found after %v: %v", took, err)
}

// TestSuspectWhileStalled: while requests wait and nothing arrives, the
// connection reports itself suspect before the probe gives up on it.
func TestSuspectWhileStalled(t *testing.T) {
	srv := startServer(t, testserver.Options{Handler: frozenAfterHandshake})
	cfg := fakeConfig(frame.V5)
	cfg.StallTimeout = 50 * time.Millisecond
	cfg.ProbeTimeout = 5 * time.Second
	c := dialT(t, srv.Addr(), cfg)
	if c.Suspect() {
		t.Fatal("an idle new connection is suspect")
	}
	go c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT 1"}, Timeout: 5 * time.Second})
	deadline := time.Now().Add(2 * time.Second)
	for !c.Health().Suspect {
		if time.Now().After(deadline) {
			t.Fatalf("not suspect 2 s into a stall: %+v", c.Health())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c.Err() != nil {
		t.Fatalf("closed before ProbeTimeout: %v", c.Err())
	}
}

// TestProbeOnRequest: Probe closes a connection to a frozen node within
// ProbeTimeout and leaves a healthy one alone.
func TestProbeOnRequest(t *testing.T) {
	t.Run("frozen", func(t *testing.T) {
		srv := startServer(t, testserver.Options{Handler: frozenAfterHandshake})
		cfg := fakeConfig(frame.V4)
		cfg.ProbeTimeout = 100 * time.Millisecond
		c := dialT(t, srv.Addr(), cfg)
		start := time.Now()
		c.Probe()
		connLost(t, c)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("closed %v after Probe", d)
		}
	})
	t.Run("healthy", func(t *testing.T) {
		srv := startServer(t, testserver.Options{Echo: true})
		cfg := fakeConfig(frame.V4)
		cfg.ProbeTimeout = 100 * time.Millisecond
		c := dialT(t, srv.Addr(), cfg)
		c.Probe()
		time.Sleep(300 * time.Millisecond)
		if err := c.Err(); err != nil {
			t.Fatalf("a healthy connection closed after Probe: %v", err)
		}
		if c.Suspect() {
			t.Error("suspect after an answered probe")
		}
	})
}

// TestStreamWaitIsBounded: with every stream id held by requests that
// timed out (their ids stay reserved until the late answer), a new request
// gives up after its timeout, as not sent, instead of waiting forever.
func TestStreamWaitIsBounded(t *testing.T) {
	srv := startServer(t, testserver.Options{Handler: frozenAfterHandshake})
	cfg := fakeConfig(frame.V5)
	cfg.MaxStreams = 4
	cfg.StallTimeout = -1 // isolate the stream wait from the stall probe
	cfg.HeartbeatInterval = -1
	cfg.Timeout = 300 * time.Millisecond
	c := dialT(t, srv.Addr(), cfg)
	q := Request{Message: &frame.Query{Query: "SELECT 1"}, Timeout: 30 * time.Millisecond}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := c.Do(context.Background(), q); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("held request: %v, want its timeout", err)
			}
		})
	}
	wg.Wait()
	if h := c.Health(); h.Orphaned != 4 || h.InFlight != 4 {
		t.Fatalf("Health = %+v, want 4 orphaned ids in flight", h)
	}
	for _, tc := range []struct {
		name string
		req  Request
		want time.Duration
	}{
		{"Request.Timeout", Request{Message: &frame.Query{Query: "SELECT 2"}, Timeout: 200 * time.Millisecond}, 200 * time.Millisecond},
		{"Config.Timeout", Request{Message: &frame.Query{Query: "SELECT 3"}}, 300 * time.Millisecond},
	} {
		start := time.Now()
		_, err := c.Do(context.Background(), tc.req)
		took := time.Since(start)
		var ce *Error
		if !errors.As(err, &ce) || ce.Sent || !errors.Is(err, ErrStreamsExhausted) {
			t.Errorf("%s: Do = %v, want an unsent request failing with ErrStreamsExhausted", tc.name, err)
		}
		if took < tc.want-10*time.Millisecond || took > tc.want+time.Second {
			t.Errorf("%s: gave up after %v, want about %v", tc.name, took, tc.want)
		}
	}
	if err := c.Err(); err != nil {
		t.Fatalf("the connection ended: %v", err)
	}
}

// TestOrphanLimitClosesConnection: past MaxOrphanedStreams unanswered
// timed-out requests, the connection is closed (and its ids with it).
func TestOrphanLimitClosesConnection(t *testing.T) {
	srv := startServer(t, testserver.Options{Handler: frozenAfterHandshake})
	cfg := fakeConfig(frame.V4)
	cfg.MaxOrphanedStreams = 3
	cfg.StallTimeout = -1
	cfg.HeartbeatInterval = -1
	c := dialT(t, srv.Addr(), cfg)
	for i := range 4 {
		_, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT 1"}, Timeout: 20 * time.Millisecond})
		if i < 3 && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("request %d: %v, want its timeout", i, err)
		}
	}
	connLost(t, c)
	if !strings.Contains(c.Err().Error(), "MaxOrphanedStreams") {
		t.Errorf("Err() = %v, want it to name MaxOrphanedStreams", c.Err())
	}
}

// dripConn delivers what the server sends at most chunk bytes per pause,
// once armed: a slow but steady link.
type dripConn struct {
	net.Conn
	armed atomic.Bool
	chunk int
	pause time.Duration
}

func (d *dripConn) Read(b []byte) (int, error) {
	if d.armed.Load() {
		time.Sleep(d.pause)
		if len(b) > d.chunk {
			b = b[:d.chunk]
		}
	}
	return d.Conn.Read(b)
}

// TestSlowAnswerIsLife: a 1 MiB answer arriving slowly but steadily keeps
// the connection alive, though its arrival takes far longer than the
// probe timeout and the OPTIONS probes queue behind it.
func TestSlowAnswerIsLife(t *testing.T) {
	big := make([]byte, 1<<20)
	srv := startServer(t, testserver.Options{Handler: func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode == frame.OpQuery {
			rows := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec, Columns: []frame.ColumnSpec{
				{Keyspace: "ks", Table: "t", Name: "b", Type: types.Native(types.Blob)}}}}
			if err := rows.AppendRow(big); err != nil {
				panic(err)
			}
			return testserver.Reply{Message: rows}
		}
		return req.Default()
	}})
	var dc *dripConn
	cfg := fakeConfig(frame.V4)
	cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		dc = &dripConn{Conn: nc, chunk: 32 << 10, pause: 40 * time.Millisecond}
		return dc, nil
	}
	cfg.HeartbeatInterval = 50 * time.Millisecond
	cfg.StallTimeout = 50 * time.Millisecond
	cfg.ProbeTimeout = 150 * time.Millisecond
	cfg.Timeout = 200 * time.Millisecond // the default wait of the OPTIONS probes before this change
	c := dialT(t, srv.Addr(), cfg)
	dc.armed.Store(true)
	start := time.Now()
	env, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT b FROM ks.t"}, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	if rows, ok := env.Message.(*frame.Rows); !ok || rows.RowCount != 1 {
		t.Fatalf("answer %s", frame.DescribeMessage(env.Message))
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Fatalf("the answer took only %v: the test did not slow it down", took)
	}
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
}

// stuckWriteConn stops accepting writes once armed (a peer that stopped
// reading and whose socket buffers are full), until closed.
type stuckWriteConn struct {
	net.Conn
	armed  atomic.Bool
	closed chan struct{}
	once   sync.Once
}

func (s *stuckWriteConn) Write(b []byte) (int, error) {
	if s.armed.Load() {
		<-s.closed
		return 0, net.ErrClosed
	}
	return s.Conn.Write(b)
}

func (s *stuckWriteConn) Close() error {
	s.once.Do(func() { close(s.closed) })
	return s.Conn.Close()
}

// TestStuckWriterClosesConnection: a write that makes no progress for
// WriteTimeout ends the connection, failing what was queued behind it.
func TestStuckWriterClosesConnection(t *testing.T) {
	srv := startServer(t, testserver.Options{Echo: true})
	var sc *stuckWriteConn
	cfg := fakeConfig(frame.V5)
	cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		sc = &stuckWriteConn{Conn: nc, closed: make(chan struct{})}
		return sc, nil
	}
	cfg.WriteTimeout = 200 * time.Millisecond
	cfg.StallTimeout = -1 // only the write timeout may end it
	cfg.HeartbeatInterval = -1
	c := dialT(t, srv.Addr(), cfg)
	sc.armed.Store(true)
	start := time.Now()
	_, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT 1"}, Timeout: 10 * time.Second})
	if !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Do = %v, want ErrConnectionLost", err)
	}
	connLost(t, c)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("closed after %v, want about WriteTimeout", d)
	}
	if !strings.Contains(c.Err().Error(), "WriteTimeout") {
		t.Errorf("Err() = %v, want it to name WriteTimeout", c.Err())
	}
}

// TestReservedNegativeStreamIsDropped: a message on a negative stream
// other than -1 (reserved for the server by the spec) is dropped, and the
// connection keeps working. A fake server: a real node never sends one.
func TestReservedNegativeStreamIsDropped(t *testing.T) {
	var once atomic.Bool
	srv := startServer(t, testserver.Options{Echo: true, Handler: func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode == frame.OpQuery && once.CompareAndSwap(false, true) {
			return testserver.Reply{Message: &frame.Void{}, Fault: testserver.FaultWrongStream, Stream: -2}
		}
		return req.Default()
	}})
	c := dialT(t, srv.Addr(), fakeConfig(frame.V4))
	_, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT 1"}, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the request answered on stream -2: %v, want its timeout", err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("the connection ended: %v", err)
	}
	if _, err := c.Do(context.Background(), echoRequest(5)); err != nil {
		t.Fatal(err)
	}
}

// TestPendingBytes: bytes received but not read yet are seen in the
// socket buffer (what the probe checks before blaming the server).
func TestPendingBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Write([]byte("hello"))
			time.Sleep(2 * time.Second)
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(2 * time.Second)
	for {
		n, ok := pendingBytes(c)
		if !ok {
			t.Skip("the socket's receive queue cannot be read on this system")
		}
		if n == 5 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes pending, want 5", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
