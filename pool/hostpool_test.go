package pool

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testenv"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

type hpEvent struct {
	up    bool
	cause error
	at    time.Time
}

// hpEvents returns an OnStateChange that sends to the returned channel.
func hpEvents() (func(*HostPool, bool, error), chan hpEvent) {
	ch := make(chan hpEvent, 100)
	return func(_ *HostPool, up bool, cause error) { ch <- hpEvent{up, cause, time.Now()} }, ch
}

func hpWaitEvent(t *testing.T, ch chan hpEvent, up bool) hpEvent {
	t.Helper()
	select {
	case e := <-ch:
		if e.up != up {
			t.Fatalf("state change: got up=%v (cause %v), want up=%v", e.up, e.cause, up)
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatalf("no state change to up=%v within 10s", up)
	}
	panic("unreachable")
}

func hpServer(t *testing.T, opts testserver.Options) *testserver.Server {
	t.Helper()
	srv, err := testserver.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func hpPool(t *testing.T, addr string, cfg *conn.Config, opts HostPoolOptions) *HostPool {
	t.Helper()
	p, err := NewHostPool(context.Background(), addr, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func hpEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hpLeakCheck fails t if goroutines started after it remain when the
// returned function is called (after giving them time to end).
func hpLeakCheck(t *testing.T) func() {
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		var after int
		for range 300 {
			if after = runtime.NumGoroutine(); after <= before {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

var hpQuery = conn.Request{Message: &frame.Query{Query: "SELECT v FROM t", Params: frame.QueryParams{Consistency: frame.One}}}

func TestHostPoolOpensConnections(t *testing.T) {
	srv := hpServer(t, testserver.Options{})
	p := hpPool(t, srv.Addr(), nil, HostPoolOptions{Size: 3})
	if got := srv.Stats().Accepted; got != 3 {
		t.Errorf("server accepted %d connections, want 3", got)
	}
	if p.Live() != 3 || !p.Up() || p.Size() != 3 || p.Version() != frame.V5 || p.Addr() != srv.Addr() {
		t.Errorf("Live %d Up %v Size %d Version %d Addr %s", p.Live(), p.Up(), p.Size(), p.Version(), p.Addr())
	}
	c, err := p.Pick()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), hpQuery); err != nil {
		t.Fatal(err)
	}

	d := hpPool(t, srv.Addr(), nil, HostPoolOptions{})
	if d.Size() != DefaultPoolSize || d.Live() != DefaultPoolSize {
		t.Errorf("default pool: Size %d Live %d, want %d", d.Size(), d.Live(), DefaultPoolSize)
	}
}

// The first connection negotiates the version (v5 refused, then v4, on two
// TCP connections); the others go straight to v4.
func TestHostPoolPinsVersion(t *testing.T) {
	srv := hpServer(t, testserver.Options{Versions: []frame.Version{frame.V4}})
	onChange, events := hpEvents()
	p := hpPool(t, srv.Addr(), nil, HostPoolOptions{Size: 3, ReconnectBase: 50 * time.Millisecond, ReconnectMax: 100 * time.Millisecond, OnStateChange: onChange})
	if p.Version() != frame.V4 {
		t.Fatalf("Version %d, want 4", p.Version())
	}
	if got := srv.Stats().Accepted; got != 4 {
		t.Errorf("server accepted %d connections, want 4 (2 for the first, 1 each for the 2 others)", got)
	}
	srv.KillConnections()
	hpWaitEvent(t, events, false)
	hpWaitEvent(t, events, true)
	hpEventually(t, "3 connections back", func() bool { return p.Live() == 3 })
	if got := srv.Stats().Accepted; got != 7 {
		t.Errorf("server accepted %d connections, want 7 (replacements pinned to v4)", got)
	}
}

func TestHostPoolPickSpreadsLoad(t *testing.T) {
	srv := hpServer(t, testserver.Options{Handler: func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode == frame.OpQuery {
			return testserver.Reply{Fault: testserver.FaultHold}
		}
		return req.Default()
	}})
	p := hpPool(t, srv.Addr(), nil, HostPoolOptions{Size: 3})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()

	conns := *p.live.Load()
	total := func() int {
		n := 0
		for _, c := range conns {
			n += c.InFlight()
		}
		return n
	}
	for i := range 30 {
		c, err := p.Pick()
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { c.Do(ctx, hpQuery) })
		hpEventually(t, "request in flight", func() bool { return total() == i+1 })
	}
	for i, c := range conns {
		if c.InFlight() != 10 {
			t.Errorf("connection %d has %d requests in flight, want 10", i, c.InFlight())
		}
	}
}

// One connection failing replaces it without marking the host down.
func TestHostPoolOneConnectionFails(t *testing.T) {
	srv := hpServer(t, testserver.Options{Handler: func(req *testserver.Request) testserver.Reply {
		if req.Header.Opcode == frame.OpQuery {
			return testserver.Reply{Fault: testserver.FaultClose}
		}
		return req.Default()
	}})
	onChange, events := hpEvents()
	p := hpPool(t, srv.Addr(), nil, HostPoolOptions{Size: 2, ReconnectBase: 20 * time.Millisecond, OnStateChange: onChange})
	c, _ := p.Pick()
	if _, err := c.Do(context.Background(), hpQuery); !errors.Is(err, conn.ErrConnectionLost) {
		t.Fatalf("Do: %v, want the connection lost", err)
	}
	<-c.Done()
	hpEventually(t, "the broken connection leaves the pool", func() bool { return p.Live() == 1 })
	if !p.Up() {
		t.Error("host down with one connection left")
	}
	for range 100 {
		if d, err := p.Pick(); err != nil || d == c {
			t.Fatalf("Pick: %p, %v; want the other connection", d, err)
		}
	}
	hpEventually(t, "connection replaced", func() bool { return p.Live() == 2 })
	if got := srv.Stats().Accepted; got != 3 {
		t.Errorf("accepted %d, want 3", got)
	}
	select {
	case e := <-events:
		t.Errorf("unexpected state change %+v", e)
	default:
	}
}

func TestHostPoolDownAndUp(t *testing.T) {
	srv := hpServer(t, testserver.Options{})
	onChange, events := hpEvents()
	base := 100 * time.Millisecond
	p := hpPool(t, srv.Addr(), nil, HostPoolOptions{Size: 2, ReconnectBase: base, ReconnectMax: time.Second, OnStateChange: onChange})

	killed := time.Now()
	if n := srv.KillConnections(); n != 2 {
		t.Fatalf("killed %d connections, want 2", n)
	}
	down := hpWaitEvent(t, events, false)
	if down.cause == nil || !strings.Contains(down.cause.Error(), srv.Addr()) || !errors.Is(down.cause, conn.ErrConnectionLost) {
		t.Errorf("DOWN cause %v: want the host's address and ErrConnectionLost", down.cause)
	}
	up := hpWaitEvent(t, events, true)
	// Backoff: no reconnection before half the base delay.
	if d := up.at.Sub(killed); d < base/2 {
		t.Errorf("UP %v after the kill, before the backoff's minimum %v", d, base/2)
	}
	hpEventually(t, "both connections back", func() bool { return p.Live() == 2 })
	if !p.Up() {
		t.Error("not Up")
	}
	c, err := p.Pick()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), hpQuery); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-events:
		t.Errorf("unexpected state change %+v", e)
	default:
	}
}

// attemptDialer records when each TCP connection is attempted.
type attemptDialer struct {
	mu    sync.Mutex
	times []time.Time
}

func (a *attemptDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	a.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (a *attemptDialer) attempts() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.times...)
}

// A host whose listener is closed is retried with growing delays, then
// comes back UP when a server listens on its address again.
func TestHostPoolBackoffGrows(t *testing.T) {
	srv, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	var ad attemptDialer
	onChange, events := hpEvents()
	base, maxDelay := 10*time.Millisecond, 160*time.Millisecond
	p := hpPool(t, addr, &conn.Config{DialContext: ad.dial},
		HostPoolOptions{Size: 1, ReconnectBase: base, ReconnectMax: maxDelay, OnStateChange: onChange})

	srv.Close() // closes the listener and the connection
	hpWaitEvent(t, events, false)
	const n = 9
	hpEventually(t, "reconnection attempts", func() bool { return len(ad.attempts()) >= 1+n })
	at := ad.attempts()[1:] // [0] is the initial dial
	// Gap k (between failed attempts k and k+1) waited at least half of
	// min(base<<(k+1), max): a timer never fires early. Upper bounds are
	// not checked (a loaded machine may be slow), except that the delays
	// do grow.
	var gaps []time.Duration
	for k := 0; k+1 < len(at) && k+1 < n; k++ {
		gap := at[k+1].Sub(at[k])
		gaps = append(gaps, gap)
		want := min(base<<(k+1), maxDelay) / 2
		if gap < want {
			t.Errorf("gap %d: %v, want >= %v", k, gap, want)
		}
	}
	if gaps[len(gaps)-1] <= gaps[0] {
		t.Errorf("delays do not grow: %v", gaps)
	}
	t.Logf("gaps between attempts: %v", gaps)

	_, err = p.Pick()
	if !errors.Is(err, ErrHostDown) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Pick on a down host: %v; want ErrHostDown, the address and the cause", err)
	}

	srv2 := hpServer(t, testserver.Options{Addr: addr})
	hpWaitEvent(t, events, true)
	if c, err := p.Pick(); err != nil {
		t.Fatal(err)
	} else if _, err := c.Do(context.Background(), hpQuery); err != nil {
		t.Fatal(err)
	}
	if srv2.Stats().Accepted != 1 {
		t.Errorf("new server accepted %d, want 1", srv2.Stats().Accepted)
	}
}

// Wake retries at once, whatever the backoff had reached.
func TestHostPoolWake(t *testing.T) {
	srv, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	var ad attemptDialer
	onChange, events := hpEvents()
	p := hpPool(t, addr, &conn.Config{DialContext: ad.dial},
		HostPoolOptions{Size: 1, ReconnectBase: time.Hour, ReconnectMax: time.Hour, OnStateChange: onChange})
	srv.Close()
	hpWaitEvent(t, events, false)
	hpServer(t, testserver.Options{Addr: addr})
	p.Wake()
	hpWaitEvent(t, events, true)
	if got := len(ad.attempts()); got != 2 {
		t.Errorf("%d dials, want 2", got)
	}
}

func TestHostPoolCloseDuringReconnect(t *testing.T) {
	check := hpLeakCheck(t)
	srv, err := testserver.Start(testserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ad attemptDialer
	p, err := NewHostPool(context.Background(), srv.Addr(), &conn.Config{DialContext: ad.dial},
		HostPoolOptions{Size: 3, ReconnectBase: 5 * time.Millisecond, ReconnectMax: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	hpEventually(t, "reconnection attempts", func() bool { return len(ad.attempts()) >= 3+6 })
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if _, err := p.Pick(); !errors.Is(err, ErrPoolClosed) {
		t.Errorf("Pick after Close: %v, want ErrPoolClosed", err)
	}
	p.Close()
	n := len(ad.attempts())
	time.Sleep(50 * time.Millisecond)
	if m := len(ad.attempts()); m != n {
		t.Errorf("%d dials after Close", m-n)
	}
	check()
}

func TestHostPoolCloseLeaksNothing(t *testing.T) {
	srv := hpServer(t, testserver.Options{})
	check := hpLeakCheck(t)
	p, err := NewHostPool(context.Background(), srv.Addr(), nil, HostPoolOptions{Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	check()
	hpEventually(t, "server sees the connections closed", func() bool { return srv.Stats().Open == 0 })
}

func TestHostPoolErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = NewHostPool(context.Background(), addr, nil, HostPoolOptions{})
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("NewHostPool on a closed port: %v; want the address and the cause", err)
	}
	for _, o := range []HostPoolOptions{{Size: -1}, {ReconnectBase: time.Second, ReconnectMax: time.Millisecond}} {
		if _, err := NewHostPool(context.Background(), addr, nil, o); err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestHostPoolDelay(t *testing.T) {
	p := &HostPool{opts: HostPoolOptions{ReconnectBase: 100 * time.Millisecond, ReconnectMax: time.Second}}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			if d := p.delay(n); d < want/2 || d > want {
				t.Fatalf("delay(%d) = %v, want in [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := p.delay(1 << 20); d > time.Second {
		t.Errorf("delay(huge) = %v", d)
	}
}

func TestHostPoolPickNoAlloc(t *testing.T) {
	srv := hpServer(t, testserver.Options{})
	p := hpPool(t, srv.Addr(), nil, HostPoolOptions{Size: 2})
	if a := testing.AllocsPerRun(1000, func() { p.Pick() }); a != 0 {
		t.Errorf("Pick allocates %v times", a)
	}
}

// A pool of 2 connections to the real node serves 1000 concurrent requests.
func TestHostPoolRealNode(t *testing.T) {
	env := testenv.Require(t)
	cfg := &conn.Config{Authenticator: auth.Plain{Username: env.Username, Password: auth.Secret(env.Password)}}
	p := hpPool(t, env.Addrs()[0], cfg, HostPoolOptions{Size: 2})
	if p.Live() != 2 {
		t.Fatalf("Live %d", p.Live())
	}
	req := conn.Request{Message: &frame.Query{Query: "SELECT release_version FROM system.local",
		Params: frame.QueryParams{Consistency: frame.One}}}
	var (
		wg     sync.WaitGroup
		failed atomic.Int32
		mu     sync.Mutex
		used   = map[*conn.Conn]int{}
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 1000 {
		wg.Go(func() {
			c, err := p.Pick()
			if err == nil {
				mu.Lock()
				used[c]++
				mu.Unlock()
				var env *frame.Envelope
				env, err = c.Do(ctx, req)
				if err == nil {
					if _, ok := env.Message.(*frame.Rows); !ok {
						err = errors.New("not rows")
					}
				}
			}
			if err != nil && failed.Add(1) <= 5 {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of 1000 requests failed", n)
	}
	if len(used) != 2 {
		t.Errorf("requests went to %d connections, want 2: %v", len(used), used)
	}
	t.Logf("requests per connection: %v (version %d)", used, p.Version())
}
