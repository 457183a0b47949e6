package conn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/segment"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

// These tests run against internal/testserver, an in-process server that
// misbehaves on demand. They need nothing running.

var versions = []frame.Version{frame.V4, frame.V5}

// startServer starts a testserver; handler nil means the answering machine.
func startServer(t testing.TB, opts testserver.Options) *testserver.Server {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	srv, err := testserver.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// ready reports whether the request came after the handshake.
func ready(req *testserver.Request) bool {
	return req.Conn.Version != 0 && req.Header.Opcode != frame.OpStartup
}

// faultOnQuery answers QUERY with rep (a fault) and everything else normally.
func faultOnQuery(rep testserver.Reply) testserver.Handler {
	return func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode == frame.OpQuery {
			return rep
		}
		return req.Default()
	}
}

func fakeConfig(v frame.Version) *Config {
	return &Config{MinVersion: v, MaxVersion: v, DialTimeout: 5 * time.Second}
}

// connLost waits for c to end and checks its error wraps every target.
func connLost(t *testing.T, c *Conn, targets ...error) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not end")
	}
	err := c.Err()
	for _, target := range append([]error{ErrConnectionLost}, targets...) {
		if !errors.Is(err, target) {
			t.Errorf("Err() = %v, want it to wrap %v", err, target)
		}
	}
	t.Logf("Err(): %v", err)
}

func TestFakeEcho(t *testing.T) {
	srv := startServer(t, testserver.Options{Echo: true})
	for _, v := range versions {
		for _, comp := range []string{"", "lz4", "snappy"} {
			if v == frame.V5 && comp == "snappy" {
				continue
			}
			t.Run(fmt.Sprintf("v%d-%s", v, comp), func(t *testing.T) {
				cfg := fakeConfig(v)
				cfg.Compression = comp
				c := dialT(t, srv.Addr(), cfg)
				if c.Version() != v || c.Compression() != comp {
					t.Fatalf("negotiated v%d %q", c.Version(), c.Compression())
				}
				var wg sync.WaitGroup
				for i := range int32(500) {
					wg.Go(func() {
						resp, err := c.Do(context.Background(), echoRequest(i))
						if err != nil {
							t.Error(err)
							return
						}
						if got, err := echoed(resp); err != nil || got != i {
							t.Errorf("echo %d: %d %v", i, got, err)
						}
					})
				}
				wg.Wait()
			})
		}
	}
}

func TestFakeNegotiation(t *testing.T) {
	t.Run("v4-only server", func(t *testing.T) {
		srv := startServer(t, testserver.Options{Versions: []frame.Version{frame.V4}})
		var logs bytes.Buffer
		c := dialT(t, srv.Addr(), &Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if c.Version() != frame.V4 {
			t.Fatalf("negotiated v%d, want v4", c.Version())
		}
		if st := srv.Stats(); st.Accepted != 2 {
			t.Errorf("%d connections, want 2 (v5 refused, then v4 on a fresh one)", st.Accepted)
		}
		if !strings.Contains(logs.String(), "retrying with a lower one") {
			t.Errorf("no log of the fallback: %s", logs.String())
		}
		if _, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT 1"}}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("v5 required", func(t *testing.T) {
		srv := startServer(t, testserver.Options{Versions: []frame.Version{frame.V4}})
		_, err := Dial(context.Background(), srv.Addr(), &Config{MinVersion: frame.V5})
		var fe *frame.Error
		if !errors.Is(err, errVersionRefused) || !errors.As(err, &fe) || fe.Code != frame.CodeProtocolError {
			t.Fatalf("got %v, want the server's protocol error", err)
		}
		t.Log(err)
	})
	t.Run("server hangs up on v5", func(t *testing.T) {
		var n atomic.Int32
		srv := startServer(t, testserver.Options{Handler: func(req *testserver.Request) testserver.Reply {
			if req.Header.Version == frame.V5 {
				n.Add(1)
				return testserver.Reply{Fault: testserver.FaultClose}
			}
			return req.Default()
		}})
		c := dialT(t, srv.Addr(), nil)
		if c.Version() != frame.V4 || n.Load() != 1 {
			t.Fatalf("negotiated v%d after %d v5 attempts", c.Version(), n.Load())
		}
	})
	t.Run("compression not offered", func(t *testing.T) {
		srv := startServer(t, testserver.Options{Compressions: []string{}})
		_, err := Dial(context.Background(), srv.Addr(), &Config{Compression: "lz4"})
		if err == nil || !strings.Contains(err.Error(), `does not offer compression "lz4"`) {
			t.Fatalf("got %v", err)
		}
		if st := srv.Stats(); st.Accepted != 1 {
			t.Errorf("%d connections: a missing compression must not cause a version fallback", st.Accepted)
		}
	})
}

func TestFakeAuthentication(t *testing.T) {
	srv := startServer(t, testserver.Options{
		Authenticator: testserver.PasswordAuthenticator,
		NewSASL:       (&testserver.Plain{Users: map[string]string{"alice": "secret"}}).NewSASL,
	})
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			cfg := fakeConfig(v)
			cfg.Authenticator = plainAuth{user: "alice", password: "secret"}
			c := dialT(t, srv.Addr(), cfg)
			if _, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT 1"}}); err != nil {
				t.Fatal(err)
			}
			starts := 0
			cfg.Authenticator = plainAuth{user: "alice", password: "wrong", starts: &starts}
			before := srv.Stats().Accepted
			_, err := Dial(context.Background(), srv.Addr(), cfg)
			var fe *frame.Error
			if !errors.As(err, &fe) || fe.Code != frame.CodeAuthenticationError || starts != 1 || srv.Stats().Accepted != before+1 {
				t.Fatalf("got %v after %d attempts on %d connections", err, starts, srv.Stats().Accepted-before)
			}
		})
	}
}

// TestFakeFaults checks each way a server can break the protocol: the
// connection ends with a clear error, every request on it fails at once,
// nothing panics and no goroutine is left.
func TestFakeFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		only    frame.Version
		rep     testserver.Reply
		maxSize int
		want    []error
		text    string
	}{
		{name: "unknown stream", rep: testserver.Reply{Fault: testserver.FaultWrongStream, Stream: 1234},
			want: []error{ErrProtocol}, text: "stream 1234, which has no request in flight"},
		{name: "truncated frame", rep: testserver.Reply{Fault: testserver.FaultTruncate},
			want: []error{errMidFrame, io.ErrUnexpectedEOF}, text: "in the middle of a frame"},
		{name: "closed mid-header", rep: testserver.Reply{Fault: testserver.FaultTruncate, Cut: 4},
			want: []error{errMidFrame}, text: "header"},
		{name: "bad CRC24", only: frame.V5, rep: testserver.Reply{Fault: testserver.FaultBadCRC24},
			want: []error{ErrProtocol, segment.ErrChecksum}, text: "crc24"},
		{name: "bad CRC32", only: frame.V5, rep: testserver.Reply{Fault: testserver.FaultBadCRC32},
			want: []error{ErrProtocol, segment.ErrChecksum}, text: "crc32"},
		{name: "oversize frame", rep: testserver.Reply{Fault: testserver.FaultOversize, Length: 2 << 20}, maxSize: 1 << 20,
			want: []error{ErrProtocol}, text: "limit"},
		{name: "oversize frame default limit", rep: testserver.Reply{Fault: testserver.FaultOversize},
			want: []error{ErrProtocol}, text: "limit"},
		{name: "server closes", rep: testserver.Reply{Fault: testserver.FaultClose},
			want: []error{io.EOF}, text: "EOF"},
	} {
		for _, v := range versions {
			if tc.only != 0 && v != tc.only {
				continue
			}
			t.Run(fmt.Sprintf("%s/v%d", tc.name, v), func(t *testing.T) {
				check := goroutineCheck(t)
				var poison atomic.Bool
				srv := startServer(t, testserver.Options{Handler: func(req *testserver.Request) testserver.Reply {
					if req.Header.Opcode == frame.OpQuery {
						if q, _ := req.Envelope(); q != nil && q.Message.(*frame.Query).Query == "poison" {
							poison.Store(true)
							rep := req.Default()
							rep.Fault, rep.Stream, rep.Cut, rep.Length = tc.rep.Fault, tc.rep.Stream, tc.rep.Cut, tc.rep.Length
							return rep
						}
						return testserver.Reply{Fault: testserver.FaultHold}
					}
					return req.Default()
				}})
				cfg := fakeConfig(v)
				cfg.MaxFrameSize = tc.maxSize
				c, err := Dial(context.Background(), srv.Addr(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				// Requests in flight that the server holds: all must fail
				// when the poisoned answer ends the connection.
				var wg sync.WaitGroup
				held := make(chan error, 50)
				for range 50 {
					wg.Go(func() {
						_, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "held"}})
						held <- err
					})
				}
				waitFor(t, func() bool { return c.InFlight() == 50 && srv.Stats().Requests >= 52 })
				start := time.Now()
				_, err = c.Do(context.Background(), Request{Message: &frame.Query{Query: "poison"}})
				wg.Wait()
				close(held)
				if !poison.Load() {
					t.Fatal("the poison request never reached the server")
				}
				var ce *Error
				if !errors.As(err, &ce) || !ce.Request || !ce.Sent || ce.Addr != srv.Addr() || ce.Op != "QUERY" {
					t.Fatalf("poisoned request: %v", err)
				}
				if !strings.Contains(err.Error(), tc.text) {
					t.Errorf("error %q does not say %q", err, tc.text)
				}
				for err := range held {
					if !errors.Is(err, ErrConnectionLost) || !errors.As(err, &ce) || !ce.Sent {
						t.Errorf("held request: %v", err)
					}
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("took %v to fail", d)
				}
				connLost(t, c, tc.want...)
				c.Close()
				srv.Close()
				check()
			})
		}
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFakeNeverAnswers: a request the server ignores ends at its deadline
// (its context's, or the connection's default), and the connection goes
// on serving others; the stream id stays taken.
func TestFakeNeverAnswers(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			srv := startServer(t, testserver.Options{Echo: true, Handler: func(req *testserver.Request) testserver.Reply {
				if req.Header.Opcode == frame.OpQuery {
					if q, _ := req.Envelope(); q != nil && q.Message.(*frame.Query).Query == "hold" {
						return testserver.Reply{Fault: testserver.FaultHold}
					}
				}
				return req.Default()
			}})
			cfg := fakeConfig(v)
			cfg.Timeout = 150 * time.Millisecond
			c := dialT(t, srv.Addr(), cfg)
			hold := Request{Message: &frame.Query{Query: "hold"}}

			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.Do(ctx, hold)
			d := time.Since(start)
			var ce *Error
			if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ce) || !ce.Sent || d > time.Second {
				t.Fatalf("after %v: %v", d, err)
			}
			start = time.Now()
			_, err = c.Do(context.Background(), hold) // the connection's Timeout
			d = time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timeout of 150ms") || d < 140*time.Millisecond || d > time.Second {
				t.Fatalf("after %v: %v", d, err)
			}
			t.Log(err)
			if n := c.InFlight(); n != 2 {
				t.Errorf("InFlight() = %d: the two unanswered stream ids must stay taken", n)
			}
			resp, err := c.Do(context.Background(), echoRequest(9))
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := echoed(resp); got != 9 {
				t.Errorf("echo %d", got)
			}
			if c.Err() != nil {
				t.Fatal(c.Err())
			}
		})
	}
}

// TestFakeStreamNotReused: a request given up on keeps its stream id until
// its late answer arrives; only then is the id used again.
func TestFakeStreamNotReused(t *testing.T) {
	var mu sync.Mutex
	var seen []int16
	srv := startServer(t, testserver.Options{Echo: true, Handler: func(req *testserver.Request) testserver.Reply {
		rep := req.Default()
		if req.Header.Opcode == frame.OpQuery {
			mu.Lock()
			seen = append(seen, req.Header.Stream)
			mu.Unlock()
			if q, _ := req.Envelope(); q != nil && q.Message.(*frame.Query).Query == "late" {
				rep.Delay = 300 * time.Millisecond
			}
		}
		return rep
	}})
	cfg := fakeConfig(frame.V5)
	cfg.MaxStreams = 2
	c := dialT(t, srv.Addr(), cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Do(ctx, Request{Message: &frame.Query{Query: "late"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("late request: %v", err)
	}
	mu.Lock()
	lateStream := seen[0]
	mu.Unlock()
	// With 2 ids and one held by the late request, these all use the other.
	for i := range int32(20) {
		if _, err := c.Do(context.Background(), echoRequest(i)); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	for _, s := range seen[1:] {
		if s == lateStream {
			t.Fatalf("stream %d reused before its late answer: %v", s, seen)
		}
	}
	mu.Unlock()
	waitFor(t, func() bool { return c.InFlight() == 0 })
	// Now both ids circulate again.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "late"}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	tail := seen[len(seen)-2:]
	if tail[0] != lateStream && tail[1] != lateStream {
		t.Errorf("stream %d never reused after its answer: %v", lateStream, seen)
	}
}

// TestFakeBackpressure: with every stream id taken a request waits, bounded
// by its context, and fails unsent when that ends.
func TestFakeBackpressure(t *testing.T) {
	var mu sync.Mutex
	streams := map[int16]bool{}
	srv := startServer(t, testserver.Options{Echo: true, Handler: func(req *testserver.Request) testserver.Reply {
		rep := req.Default()
		if req.Header.Opcode == frame.OpQuery {
			mu.Lock()
			streams[req.Header.Stream] = true
			mu.Unlock()
			rep.Delay = 5 * time.Millisecond
		}
		return rep
	}})
	cfg := fakeConfig(frame.V4)
	cfg.MaxStreams = 4
	c := dialT(t, srv.Addr(), cfg)
	var wg sync.WaitGroup
	var maxInFlight atomic.Int32
	for i := range int32(40) {
		wg.Go(func() {
			resp, err := c.Do(context.Background(), echoRequest(i))
			if n := int32(c.InFlight()); n > maxInFlight.Load() {
				maxInFlight.Store(n)
			}
			if err != nil {
				t.Error(err)
				return
			}
			if got, _ := echoed(resp); got != i {
				t.Errorf("echo %d: %d", i, got)
			}
		})
	}
	waitFor(t, func() bool { return c.InFlight() == 4 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	_, err := c.Do(ctx, echoRequest(-1))
	cancel()
	wg.Wait()
	var ce *Error
	if err != nil && (!errors.As(err, &ce) || ce.Sent || !strings.Contains(err.Error(), "free stream id")) {
		t.Errorf("waiting request: %v", err)
	}
	t.Log(err)
	mu.Lock()
	defer mu.Unlock()
	for s := range streams {
		if s < 0 || s >= 4 {
			t.Errorf("stream id %d used with MaxStreams 4", s)
		}
	}
	if m := maxInFlight.Load(); m > 4 {
		t.Errorf("InFlight() reached %d", m)
	}
}

// TestFakeKilled: the node dies with requests in flight; all of them fail
// promptly, saying they may have run.
func TestFakeKilled(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			check := goroutineCheck(t)
			srv := startServer(t, testserver.Options{Handler: faultOnQuery(testserver.Reply{Fault: testserver.FaultHold})})
			c, err := Dial(context.Background(), srv.Addr(), fakeConfig(v))
			if err != nil {
				t.Fatal(err)
			}
			const n = 1000
			errs := make(chan error, n)
			for range n {
				go func() {
					_, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT 1"}})
					errs <- err
				}()
			}
			waitFor(t, func() bool { return srv.Stats().Requests >= n+2 })
			start := time.Now()
			srv.KillConnections()
			for range n {
				err := <-errs
				var ce *Error
				if !errors.Is(err, ErrConnectionLost) || !errors.As(err, &ce) || !ce.Sent {
					t.Fatalf("request: %v", err)
				}
			}
			t.Logf("%d requests failed %v after the kill", n, time.Since(start))
			connLost(t, c)
			if _, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "SELECT 1"}}); !errors.Is(err, ErrConnectionLost) {
				t.Errorf("Do on a dead connection: %v", err)
			}
			c.Close()
			srv.Close()
			check()
		})
	}
}

// TestFakeHeartbeatMissed: a heartbeat that gets nothing back ends the
// connection, as a lost connection (never as a request's deadline, which
// a session would take for the statement's own and not retry elsewhere).
func TestFakeHeartbeatMissed(t *testing.T) {
	srv := startServer(t, testserver.Options{Handler: func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode == frame.OpOptions && req.Conn.Version != 0 {
			return testserver.Reply{Fault: testserver.FaultHold}
		}
		return req.Default()
	}})
	cfg := fakeConfig(frame.V5)
	cfg.HeartbeatInterval = 50 * time.Millisecond
	cfg.ProbeTimeout = 100 * time.Millisecond
	c := dialT(t, srv.Addr(), cfg)
	start := time.Now()
	connLost(t, c)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("closed after %v", d)
	}
	if errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Errorf("Err() = %v wraps context.DeadlineExceeded", c.Err())
	}
	if !strings.Contains(c.Err().Error(), "probe") {
		t.Errorf("Err() does not mention the probe: %v", c.Err())
	}
}

// TestFakeHeartbeatKeepsAlive: answered heartbeats keep an idle
// connection; a busy one sends none.
func TestFakeHeartbeatKeepsAlive(t *testing.T) {
	var mu sync.Mutex
	var beats []time.Time
	srv := startServer(t, testserver.Options{Echo: true, Handler: func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode == frame.OpOptions && req.Conn.Version != 0 {
			mu.Lock()
			beats = append(beats, time.Now())
			mu.Unlock()
		}
		return req.Default()
	}})
	const interval = 50 * time.Millisecond
	cfg := fakeConfig(frame.V5)
	cfg.HeartbeatInterval = interval
	c := dialT(t, srv.Addr(), cfg)
	time.Sleep(400 * time.Millisecond)
	mu.Lock()
	n := len(beats)
	mu.Unlock()
	if n < 2 || n > 9 {
		t.Errorf("%d heartbeats in 400 ms at a 50 ms interval", n)
	}

	// Busy: an answer every few milliseconds. This machine may stall a
	// goroutine now and then, so only gaps shorter than the interval count.
	busyStart := time.Now()
	last, maxGap := busyStart, time.Duration(0)
	for time.Since(busyStart) < 300*time.Millisecond {
		if _, err := c.Do(context.Background(), echoRequest(1)); err != nil {
			t.Fatal(err)
		}
		maxGap = max(maxGap, time.Since(last))
		last = time.Now()
		time.Sleep(2 * time.Millisecond)
	}
	mu.Lock()
	busyBeats := 0
	for _, b := range beats {
		// One already on its way when the busy phase began is fine.
		if b.After(busyStart.Add(interval / 2)) {
			busyBeats++
		}
	}
	mu.Unlock()
	switch {
	case maxGap >= interval*3/4:
		t.Logf("a %v gap between answers: cannot judge the busy phase (%d heartbeats)", maxGap, busyBeats)
	case busyBeats > 0:
		t.Errorf("%d heartbeats on a busy connection (largest gap between answers %v)", busyBeats, maxGap)
	}
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
}

// badMessage is an answer whose opcode no client knows.
type badMessage struct{}

func (badMessage) Opcode() frame.Opcode { return 0x42 }
func (badMessage) AppendBody(dst []byte, _ frame.Version) ([]byte, error) {
	return append(dst, 1, 2, 3), nil
}

// TestFakeUndecodableAnswer: an answer that frames correctly but does not
// decode fails its request only.
func TestFakeUndecodableAnswer(t *testing.T) {
	for _, v := range versions {
		srv := startServer(t, testserver.Options{Echo: true, Handler: func(req *testserver.Request) testserver.Reply {
			if req.Header.Opcode == frame.OpQuery {
				if q, _ := req.Envelope(); q != nil && q.Message.(*frame.Query).Query == "bad" {
					return testserver.Reply{Message: badMessage{}}
				}
			}
			return req.Default()
		}})
		c := dialT(t, srv.Addr(), fakeConfig(v))
		_, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "bad"}})
		var de *frame.DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("got %v, want a decode error", err)
		}
		t.Log(err)
		if _, err := c.Do(context.Background(), echoRequest(3)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFakeEvents: events reach the Events channel; a full channel drops
// them without blocking the reader.
func TestFakeEvents(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			srv := startServer(t, testserver.Options{Echo: true})
			events := make(chan frame.Event, 2)
			cfg := fakeConfig(v)
			cfg.Events = events
			c := dialT(t, srv.Addr(), cfg)
			if _, err := c.Do(context.Background(), Request{Message: &frame.Register{EventTypes: []string{frame.EventStatusChange}}}); err != nil {
				t.Fatal(err)
			}
			addr := netip.MustParseAddrPort("10.0.0.7:9042")
			for range 5 {
				srv.Broadcast(&frame.StatusChange{Change: frame.StatusDown, Address: addr})
			}
			ev := <-events
			if sc, ok := ev.(*frame.StatusChange); !ok || sc.Address != addr || sc.Change != frame.StatusDown {
				t.Fatalf("event %s", frame.DescribeMessage(ev))
			}
			// The three that did not fit were dropped; requests still flow.
			if _, err := c.Do(context.Background(), echoRequest(1)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestFakeDialTimeout: a server that never finishes the handshake fails
// Dial at DialTimeout, and a cancelled context stops it too.
func TestFakeDialTimeout(t *testing.T) {
	check := goroutineCheck(t)
	srv := startServer(t, testserver.Options{Handler: func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode == frame.OpStartup {
			return testserver.Reply{Fault: testserver.FaultHold}
		}
		return req.Default()
	}})
	start := time.Now()
	_, err := Dial(context.Background(), srv.Addr(), &Config{DialTimeout: 100 * time.Millisecond})
	var ce *Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ce) || ce.Op != "STARTUP" || !strings.Contains(err.Error(), "dial timeout of 100ms") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Dial took %v", d)
	}
	t.Log(err)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := Dial(ctx, srv.Addr(), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	srv.Close()
	check()
}

// countingConn counts the writes on a connection and keeps what was
// written after the handshake.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	rec    bool
	data   []byte
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	if c.rec {
		c.data = append(c.data, b...)
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *countingConn) reset() {
	c.mu.Lock()
	c.writes, c.rec, c.data = 0, true, nil
	c.mu.Unlock()
}

// TestFakeCoalescing: a lone request is written at once, on its own;
// concurrent requests share writes, and in v5 share segments.
func TestFakeCoalescing(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			srv := startServer(t, testserver.Options{Echo: true})
			var cc *countingConn
			cfg := fakeConfig(v)
			cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				cc = &countingConn{Conn: nc}
				return cc, nil
			}
			c := dialT(t, srv.Addr(), cfg)
			cc.reset()
			const seq = 50
			for i := range int32(seq) {
				if _, err := c.Do(context.Background(), echoRequest(i)); err != nil {
					t.Fatal(err)
				}
			}
			if cc.writes != seq {
				t.Errorf("%d sequential requests took %d writes", seq, cc.writes)
			}
			cc.reset()
			const conc = 2000
			var wg sync.WaitGroup
			for i := range int32(conc) {
				wg.Go(func() {
					if _, err := c.Do(context.Background(), echoRequest(i)); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			t.Logf("%d concurrent requests in %d writes", conc, cc.writes)
			if cc.writes >= conc {
				t.Errorf("%d concurrent requests took %d writes: no coalescing", conc, cc.writes)
			}
			if v == frame.V5 {
				segs, envs := 0, 0
				for b := cc.data; len(b) > 0; {
					payload, _, n, err := segment.DecodeSegment(b, false, nil)
					if err != nil {
						t.Fatal(err)
					}
					segs++
					for p := payload; len(p) >= frame.HeaderSize; {
						h, _ := frame.ParseHeader(p, nil)
						p = p[frame.HeaderSize+h.Length:]
						envs++
					}
					b = b[n:]
				}
				t.Logf("%d envelopes in %d segments", envs, segs)
				if envs != conc || segs >= conc {
					t.Errorf("%d envelopes in %d segments: small envelopes should share segments", envs, segs)
				}
			}
		})
	}
}

func TestFakeCloseLeavesNothing(t *testing.T) {
	check := goroutineCheck(t)
	srv := startServer(t, testserver.Options{Echo: true})
	for _, v := range versions {
		cfg := fakeConfig(v)
		cfg.HeartbeatInterval = 10 * time.Millisecond
		for range 10 {
			c, err := Dial(context.Background(), srv.Addr(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Do(context.Background(), echoRequest(1)); err != nil {
				t.Fatal(err)
			}
			c.Close()
			c.Close()
		}
	}
	srv.Close()
	check()
}

// TestFakeEnvelopeFields: tracing and custom payload reach the server, and
// the server's warnings and tracing id come back in the envelope.
func TestFakeEnvelopeFields(t *testing.T) {
	for _, v := range versions {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			traceID := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
			srv := startServer(t, testserver.Options{Handler: func(req *testserver.Request) testserver.Reply {
				if req.Header.Opcode != frame.OpQuery {
					return req.Default()
				}
				env, err := req.Envelope()
				if err != nil || !env.Tracing || string(env.CustomPayload["proxy"]) != "bob" {
					return testserver.Reply{Message: &frame.Error{Code: frame.CodeInvalid, Message: "tracing or payload missing"}}
				}
				return testserver.Reply{Envelope: &frame.Envelope{Tracing: true, TracingID: traceID,
					Warnings: []string{"careful"}, Message: &frame.Void{}}}
			}})
			c := dialT(t, srv.Addr(), fakeConfig(v))
			resp, err := c.Do(context.Background(), Request{Message: &frame.Query{Query: "x"}, Tracing: true,
				CustomPayload: map[string][]byte{"proxy": []byte("bob")}})
			if err != nil {
				t.Fatal(err)
			}
			if !resp.Tracing || resp.TracingID != traceID || len(resp.Warnings) != 1 || resp.Warnings[0] != "careful" {
				t.Fatalf("answer %s", frame.Describe(resp))
			}
		})
	}
}
