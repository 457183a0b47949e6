package cluster

// The Session's life cycle: nothing left behind after Close (goroutines,
// connections, on the fake nodes and on the real node), Close idempotent,
// statements after Close, and Config validation.

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"slices"
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
	"github.com/cqlwire/cqlwire/query"
)

// driverGoroutines returns the goroutines running or started by driver code
// (not the test's own goroutines, not the in-process server's), by
// goroutine id, with their stacks.
func driverGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		f := strings.Fields(header)
		if len(f) < 2 || f[0] != "goroutine" {
			continue
		}
		if !strings.Contains(g, "github.com/cqlwire/cqlwire/") ||
			strings.Contains(g, "cqlwire/internal/testserver") ||
			strings.Contains(g, "testing.tRunner") ||
			strings.Contains(g, "created by github.com/cqlwire/cqlwire/cluster.Test") {
			continue
		}
		out[f[1]] = g
	}
	return out
}

// checkNoNewGoroutines waits (up to 5 s) until no driver goroutine exists
// that did not exist in before, and fails listing them otherwise.
func checkNoNewGoroutines(t *testing.T, before map[string]string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var leaked []string
		for id, g := range driverGoroutines() {
			if _, ok := before[id]; !ok {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d driver goroutine(s) still running 5s after Close:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkClosedSession checks that every kind of statement fails with
// ErrSessionClosed.
func checkClosedSession(t *testing.T, s *Session, p *Prepared, cachedCQL string) {
	t.Helper()
	ctx := testCtx(t)
	var v int32
	if err := s.Query("SELECT v FROM ks1.t").Exec(ctx); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Exec after Close: %v", err)
	}
	if err := s.Query("SELECT v FROM ks1.t").One(ctx, &v); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("One after Close: %v", err)
	}
	if _, err := s.Query("SELECT v FROM ks1.t").Run(ctx); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Run after Close: %v", err)
	}
	n := 0
	for _, err := range s.Query("SELECT v FROM ks1.t").Rows(ctx) {
		n++
		if !errors.Is(err, ErrSessionClosed) {
			t.Errorf("Rows after Close: %v", err)
		}
	}
	if n != 1 {
		t.Errorf("Rows after Close yielded %d times, want once (the error)", n)
	}
	if err := s.Query(cachedCQL, 1, 2).Exec(ctx); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("a prepared statement after Close: %v", err)
	}
	if err := p.Bind(1, 2).Exec(ctx); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Prepared.Bind().Exec after Close: %v", err)
	}
	if _, err := s.Prepare(ctx, "SELECT v FROM ks1.t WHERE id = ? -- never prepared"); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Prepare of a new statement after Close: %v", err)
	}
	if _, err := s.Prepare(ctx, cachedCQL); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Prepare of a cached statement after Close: %v", err)
	}
	if err := s.Batch(query.LoggedBatch).Add(cachedCQL, 1, 2).Exec(ctx); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Batch after Close: %v", err)
	}
	if _, err := s.Query("UPDATE ks1.t SET v = 1 WHERE id = 1 IF v = 2").ScanCAS(ctx); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("ScanCAS after Close: %v", err)
	}
}

// TestFakeSessionCloseLeaks: a session to two fake nodes, used (prepared
// statements, a batch, an abandoned prefetching iteration, a request held
// by the server when Close is called), then closed: the held request fails
// at once, Close is idempotent, statements fail with ErrSessionClosed,
// the nodes see every connection closed, and no goroutine is left.
func TestFakeSessionCloseLeaks(t *testing.T) {
	baseCount := runtime.NumGoroutine()
	before := driverGoroutines()
	func() {
		tp := startTopology(t, 2)
		A, B := tp.node(0), tp.node(1)
		s := tp.connect(t, tp.config())
		ctx := testCtx(t)
		const ins = "INSERT INTO ks1.t (id, v) VALUES (?, ?)"
		p, err := s.Prepare(ctx, ins)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if err := p.Bind(i, i).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Batch(query.UnloggedBatch).Add(ins, 1, 2).AddSimple("DELETE FROM ks1.t WHERE id = 3").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		// An iteration left after its first row while the next page is
		// being prefetched: the fake node always says there is more.
		rows := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec | frame.MetaHasMorePages,
			PagingState: []byte{1, 2, 3}, Columns: []frame.ColumnSpec{{Keyspace: "ks1", Table: "t", Name: "v", Type: intT}}}}
		if err := rows.AppendRow([]byte{0, 0, 0, 1}); err != nil {
			t.Fatal(err)
		}
		paging := func(req *testserver.Request, _ int) (testserver.Reply, bool) {
			if req.Header.Opcode == frame.OpQuery {
				return testserver.Reply{Message: rows, Delay: 20 * time.Millisecond}, true
			}
			return testserver.Reply{}, false
		}
		A.setHook(paging)
		B.setHook(paging)
		sent := A.stmts.Load() + B.stmts.Load()
		for _, err := range s.Query("SELECT v FROM ks1.t").PageSize(1).Prefetch(true).Rows(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		waitFor(t, "the prefetch of page 2", func() bool { return A.stmts.Load()+B.stmts.Load() == sent+2 })

		// Requests held by the server when Close is called.
		hold := func(*testserver.Request, int) (testserver.Reply, bool) {
			return testserver.Reply{Fault: testserver.FaultHold}, true
		}
		A.setHook(hold)
		B.setHook(hold)
		A.stmts.Store(0)
		B.stmts.Store(0)
		held := make(chan error, 4)
		for range cap(held) {
			go func() { held <- s.Query("SELECT v FROM ks1.t").Exec(ctx) }()
		}
		waitFor(t, "the requests to reach the nodes", func() bool { return A.stmts.Load()+B.stmts.Load() == int32(cap(held)) })
		if A.srv.Stats().Open == 0 || B.srv.Stats().Open == 0 {
			t.Fatal("no connection open before Close: the check below proves nothing")
		}

		t0 := time.Now()
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for range cap(held) {
			err := <-held
			var ce *conn.Error
			if !errors.Is(err, ErrSessionClosed) && !errors.As(err, &ce) {
				t.Errorf("a request in flight at Close: %v, want ErrSessionClosed or a connection error", err)
			}
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("Close and the failing of the held requests took %v", d)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		checkClosedSession(t, s, p, ins)
		if n := A.stmts.Load() + B.stmts.Load(); n != int32(cap(held)) {
			t.Errorf("statements after Close reached the nodes (%d)", n-int32(cap(held)))
		}
		waitFor(t, "the nodes to see every connection closed", func() bool {
			return A.srv.Stats().Open == 0 && B.srv.Stats().Open == 0
		})
		if A.srv.Stats().Accepted < 3 || B.srv.Stats().Accepted < 2 {
			t.Errorf("accepted %d and %d connections: the pools were not used", A.srv.Stats().Accepted, B.srv.Stats().Accepted)
		}
		checkNoNewGoroutines(t, before)
		A.srv.Close()
		B.srv.Close()
	}()
	waitFor(t, "the goroutine count to come back", func() bool { return runtime.NumGoroutine() <= baseCount })
}

// clientPorts lists the client ports of the real node's connections
// (system_views.clients), read through s.
func clientPorts(t *testing.T, ctx context.Context, s *Session) map[int]bool {
	t.Helper()
	out := map[int]bool{}
	for row, err := range s.Query("SELECT port FROM system_views.clients").Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		var p int
		if err := row.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out[p] = true
	}
	return out
}

// portRecorder is a Config.DialContext that records the local port of each
// connection it makes.
type portRecorder struct {
	mu    sync.Mutex
	ports []int
	dials atomic.Int32
}

func (r *portRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	r.dials.Add(1)
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err == nil {
		r.mu.Lock()
		r.ports = append(r.ports, c.LocalAddr().(*net.TCPAddr).Port)
		r.mu.Unlock()
	}
	return c, err
}

func (r *portRecorder) list() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ports)
}

// checkPortsGone waits (up to 10 s) until the real node lists none of
// ports among its clients.
func checkPortsGone(t *testing.T, ctx context.Context, watcher *Session, ports []int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		open := clientPorts(t, ctx, watcher)
		var still []int
		for _, p := range ports {
			if open[p] {
				still = append(still, p)
			}
		}
		if len(still) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node still lists connections from ports %v (of %v) 10s after Close", still, ports)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSessionCloseLeaksReal: the same against the real node, whose
// system_views.clients (read from a second session) must list the
// session's connections before Close and none of them after.
func TestSessionCloseLeaksReal(t *testing.T) {
	watcher := connectReal(t, nil)
	ctx := testCtx(t)
	baseCount := runtime.NumGoroutine()
	before := driverGoroutines()

	var rec portRecorder
	s := connectReal(t, func(c *Config) { c.DialContext = rec.dial; c.PoolSize = 3 })
	const ins = "INSERT INTO cqlwire_leak.t (id, v) VALUES (?, ?)"
	mustExecS(t, ctx, s, "CREATE KEYSPACE IF NOT EXISTS cqlwire_leak WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	mustExecS(t, ctx, s, "CREATE TABLE IF NOT EXISTS cqlwire_leak.t (id int PRIMARY KEY, v int)")
	p, err := s.Prepare(ctx, ins)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := p.Bind(i, i).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, err := range s.Query("SELECT id FROM cqlwire_leak.t").PageSize(5).Prefetch(true).Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		break // abandoned while the next page is prefetched
	}
	ports := rec.list()
	if len(ports) < 4 { // the control connection and a pool of 3
		t.Fatalf("the session made %d connections, want at least 4", len(ports))
	}
	open := clientPorts(t, ctx, watcher)
	for _, p := range ports {
		if !open[p] {
			t.Fatalf("the node does not list the session's connection from port %d (it lists %v): the check after Close would prove nothing", p, open)
		}
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checkClosedSession(t, s, p, ins)
	checkPortsGone(t, ctx, watcher, ports)
	checkNoNewGoroutines(t, before)
	waitFor(t, "the goroutine count to come back", func() bool { return runtime.NumGoroutine() <= baseCount })
	if n := len(rec.list()); n != len(ports) {
		t.Errorf("the session dialled %d more connections after Close began", n-len(ports))
	}
}

// TestConfigValidation: each Config that cannot work fails Connect at
// once, before any connection is attempted, with an error naming the
// field.
func TestConfigValidation(t *testing.T) {
	badCA := &conn.TLSOptions{CAFile: "/nonexistent/ca.pem"}
	cases := []struct {
		name   string
		cfg    Config
		fields []string // each must appear in the error
	}{
		{"no contact points", Config{}, []string{"ContactPoints"}},
		{"empty contact point", Config{ContactPoints: []string{"192.0.2.1", " "}}, []string{"ContactPoints[1]"}},
		{"bad port", Config{Port: 70000}, []string{"Port", "70000"}},
		{"protocol v3", Config{ProtocolVersion: 3}, []string{"ProtocolVersion", "3"}},
		{"protocol v6", Config{ProtocolVersion: 6}, []string{"ProtocolVersion", "6"}},
		{"snappy with v5", Config{ProtocolVersion: frame.V5, Compression: "snappy"}, []string{"Compression", "snappy", "v5"}},
		{"unknown compression", Config{Compression: "zstd"}, []string{"Compression", "zstd"}},
		{"TLS and TLSConfig", Config{TLS: &conn.TLSOptions{}, TLSConfig: &tls.Config{}}, []string{"TLS", "TLSConfig"}},
		{"TLS CA file missing", Config{TLS: badCA}, []string{"TLS", "/nonexistent/ca.pem"}},
		{"Password without Username", Config{Password: "secret"}, []string{"Password", "Username"}},
		{"Username and Authenticator", Config{Username: "u", Authenticator: auth.Plain{Username: "u"}}, []string{"Username", "Authenticator"}},
		{"negative PoolSize", Config{PoolSize: -1}, []string{"PoolSize"}},
		{"huge PoolSize", Config{PoolSize: 65}, []string{"PoolSize", "65"}},
		{"negative RemoteHostsPerDC", Config{RemoteHostsPerDC: -1}, []string{"RemoteHostsPerDC"}},
		{"negative MaxPreparedStatements", Config{MaxPreparedStatements: -1}, []string{"MaxPreparedStatements"}},
		{"bad keyspace", Config{Keyspace: "a b"}, []string{"Keyspace"}},
		{"bad default consistency", Config{DefaultProfile: query.Profile{Consistency: 0x99}}, []string{"DefaultProfile", "Consistency"}},
		{"bad profile serial consistency", Config{Profiles: map[string]query.Profile{"olap": {SerialConsistency: frame.Quorum}}},
			[]string{`Profiles["olap"]`, "SerialConsistency"}},
		{"bad profile page size", Config{Profiles: map[string]query.Profile{"big": {PageSize: 1 << 40}}}, []string{`Profiles["big"]`, "PageSize"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rec portRecorder
			cfg := c.cfg
			if cfg.ContactPoints == nil && c.name != "no contact points" {
				cfg.ContactPoints = []string{"192.0.2.1:9042"} // TEST-NET: a dial would hang
			}
			cfg.DialContext = rec.dial
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			t0 := time.Now()
			s, err := Connect(ctx, cfg)
			if err == nil {
				s.Close()
				t.Fatal("Connect succeeded")
			}
			if d := time.Since(t0); d > 200*time.Millisecond {
				t.Errorf("Connect took %v to fail", d)
			}
			if rec.dials.Load() != 0 {
				t.Errorf("Connect dialled %d times before failing", rec.dials.Load())
			}
			for _, f := range c.fields {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not name %q", err, f)
				}
			}
		})
	}
}

// TestConfigUnknownLocalDatacenter: against the real node, a
// LocalDatacenter no node is in fails Connect with an error naming the
// field and the data centres that exist, leaving no connection or
// goroutine behind.
func TestConfigUnknownLocalDatacenter(t *testing.T) {
	env := testenv.Require(t)
	watcher := connectReal(t, nil)
	ctx := testCtx(t)
	before := driverGoroutines()
	var rec portRecorder
	cfg := realSessionConfig(env)
	cfg.LocalDatacenter = "no-such-dc"
	cfg.DialContext = rec.dial
	s, err := Connect(ctx, cfg)
	if err == nil {
		s.Close()
		t.Fatal("Connect succeeded")
	}
	dc := env.DC
	if dc == "" {
		dc = "datacenter1"
	}
	for _, want := range []string{"LocalDatacenter", "no-such-dc", dc} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if len(rec.list()) == 0 {
		t.Fatal("no connection was made: the data centre cannot have been checked against the node")
	}
	checkPortsGone(t, ctx, watcher, rec.list())
	checkNoNewGoroutines(t, before)
}

// TestUnknownProfile: a statement naming a profile Config.Profiles does not
// have fails at once, naming it, and sends nothing; a known one runs with
// its settings.
func TestUnknownProfile(t *testing.T) {
	tp := startTopology(t, 1)
	A := tp.node(0)
	log := &attemptLog{}
	cfg := tp.config()
	cfg.Observer = log.observer()
	cfg.Profiles = map[string]query.Profile{"strong": {Consistency: frame.Quorum}}
	var seen atomic.Int32 // consistency of the last statement
	A.setHook(func(req *testserver.Request, _ int) (testserver.Reply, bool) {
		if env, err := req.Envelope(); err == nil {
			if q, ok := env.Message.(*frame.Query); ok {
				seen.Store(int32(q.Params.Consistency))
			}
		}
		return testserver.Reply{}, false
	})
	s := tp.connect(t, cfg)
	ctx := testCtx(t)

	for name, run := range map[string]func() error{
		"Query": func() error { return s.Query("SELECT v FROM ks1.t").Profile("nope").Exec(ctx) },
		"Batch": func() error {
			return s.Batch(query.LoggedBatch).AddSimple("DELETE FROM ks1.t WHERE id = 1").Profile("nope").Exec(ctx)
		},
	} {
		err := run()
		if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "Profiles") {
			t.Errorf("%s with an unknown profile: %v, want an error naming it and Config.Profiles", name, err)
		}
	}
	if n := len(log.take()); n != 0 || A.stmts.Load() != 0 {
		t.Errorf("%d attempts, %d statements sent for statements with an unknown profile", n, A.stmts.Load())
	}
	if err := s.Query("SELECT v FROM ks1.t").Profile("strong").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if frame.Consistency(seen.Load()) != frame.Quorum {
		t.Errorf("the profile's consistency was not used: %v", frame.Consistency(seen.Load()))
	}
	if err := s.Query("SELECT v FROM ks1.t").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if frame.Consistency(seen.Load()) != frame.LocalOne {
		t.Errorf("the default profile's consistency: %v, want LOCAL_ONE", frame.Consistency(seen.Load()))
	}
}
