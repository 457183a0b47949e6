package cluster

// Session tests against in-process fake nodes (internal/testserver).
//
// Why not the real node: a real single Cassandra node cannot be made to
// answer Read_timeout, Write_timeout or Unavailable on demand, to stall one
// request for exactly 500 ms, to drop a connection while one given request
// is in flight, or to leave the ring while requests are running on it. The
// fake nodes below do each of those at a precise moment, and they are a
// whole cluster: each answers system.local as itself and system.peers_v2
// with the others (all on 127.0.0.1, each on its own port), so the Session
// discovers them and keeps a pool for each, as it would for real nodes.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/query"
	"github.com/cqlwire/cqlwire/types"
)

// stmtHook answers a user statement (QUERY outside the system keyspaces,
// EXECUTE or BATCH) of a fake node; n counts that node's user statements
// from 1. ok false gives the default answer.
type stmtHook func(req *testserver.Request, n int) (r testserver.Reply, ok bool)

// fakeNode is one node of a fakeTopology.
type fakeNode struct {
	name  string // "A", "B", ...
	id    string // host_id
	srv   *testserver.Server
	addr  netip.AddrPort
	stmts atomic.Int32 // user statements received
	hook  atomic.Pointer[stmtHook]
	// frozen makes the node answer nothing at all, handshakes included,
	// while its sockets stay open: a process under SIGSTOP.
	frozen atomic.Bool
}

func (n *fakeNode) setHook(h stmtHook) {
	if h == nil {
		n.hook.Store(nil)
		return
	}
	n.hook.Store(&h)
}

// hostID is the node's host_id as the pool knows it.
func (n *fakeNode) hostID() pool.HostID { return id(n.id) }

// fakeTopology is a cluster of fake nodes that know each other.
type fakeTopology struct {
	t     testing.TB
	mu    sync.Mutex
	nodes []*fakeNode
	gone  map[*fakeNode]bool // removed from system.peers
}

// startTopology starts n fake nodes, A, B, C...
func startTopology(t *testing.T, n int) *fakeTopology {
	t.Helper()
	tp := &fakeTopology{t: t, gone: map[*fakeNode]bool{}}
	for i := range n {
		node := &fakeNode{name: string(rune('A' + i)), id: fmt.Sprintf("c0ffee00-0000-4000-8000-0000000001%02x", i)}
		srv, err := testserver.Start(testserver.Options{Handler: tp.handler(node), BindType: testserver.BindInt, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		tp.mu.Lock()
		node.srv, node.addr = srv, netip.MustParseAddrPort(srv.Addr())
		tp.nodes = append(tp.nodes, node)
		tp.mu.Unlock()
	}
	return tp
}

func (tp *fakeTopology) node(i int) *fakeNode {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.nodes[i]
}

// byAddr returns the node listening on addr ("127.0.0.1:port").
func (tp *fakeTopology) byAddr(addr string) *fakeNode {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for _, n := range tp.nodes {
		if n.addr.String() == addr {
			return n
		}
	}
	return nil
}

// remove takes n out of every node's system.peers.
func (tp *fakeTopology) remove(n *fakeNode) {
	tp.mu.Lock()
	tp.gone[n] = true
	tp.mu.Unlock()
}

// config is a Session config for the topology, contact point node A.
func (tp *fakeTopology) config() Config {
	return Config{
		ContactPoints:          []string{tp.node(0).srv.Addr()},
		RefreshInterval:        -1,
		EventDebounce:          20 * time.Millisecond,
		SchemaAgreementTimeout: -1,
		ReconnectBase:          10 * time.Millisecond,
		ReconnectMax:           50 * time.Millisecond,
		DefaultProfile:         query.Profile{RequestTimeout: 10 * time.Second},
	}
}

func (tp *fakeTopology) connect(t *testing.T, cfg Config) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	waitFor(t, "a pool to every fake node", func() bool {
		hosts := s.Hosts()
		if len(hosts) != len(tp.nodes)-len(tp.gone) {
			return false
		}
		for _, h := range hosts {
			if !h.Up {
				return false
			}
		}
		return true
	})
	return s
}

func (tp *fakeTopology) handler(self *fakeNode) testserver.Handler {
	return func(req *testserver.Request) testserver.Reply {
		if self.frozen.Load() {
			return testserver.Reply{Fault: testserver.FaultHold}
		}
		switch req.Header.Opcode {
		case frame.OpQuery:
			env, err := req.Envelope()
			if err != nil {
				return req.Default()
			}
			if q := env.Message.(*frame.Query).Query; strings.Contains(q, "system") {
				if r, ok := tp.system(self, q); ok {
					return r
				}
				return req.Default()
			}
		case frame.OpExecute, frame.OpBatch:
		default:
			return req.Default()
		}
		n := int(self.stmts.Add(1))
		if h := self.hook.Load(); h != nil {
			if r, ok := (*h)(req, n); ok {
				return r
			}
		}
		return req.Default()
	}
}

// system answers system.local, system.peers(_v2) and
// system_schema.keyspaces.
func (tp *fakeTopology) system(self *fakeNode, q string) (testserver.Reply, bool) {
	t := tp.t
	sv := "c0ffee00-0000-4000-8000-0000000000aa"
	tp.mu.Lock()
	nodes := slices.Clone(tp.nodes)
	gone := make(map[*fakeNode]bool, len(tp.gone))
	for k, v := range tp.gone {
		gone[k] = v
	}
	tp.mu.Unlock()
	token := func(n *fakeNode) []string {
		return []string{fmt.Sprint(int(n.name[0]-'A') * 1000)}
	}
	switch {
	case strings.Contains(q, "system.local"):
		return testserver.Reply{Message: rowsOf(t, "local", []cell{
			{"key", varchar, "local"}, {"data_center", varchar, "dc1"}, {"rack", varchar, "rack1"},
			{"host_id", uuidT, self.id}, {"partitioner", varchar, "org.apache.cassandra.dht.Murmur3Partitioner"},
			{"release_version", varchar, "5.0.6"}, {"rpc_address", inetT, self.addr.Addr()},
			{"rpc_port", intT, int(self.addr.Port())}, {"schema_version", uuidT, sv}, {"tokens", textSet, token(self)},
		})}, true
	case strings.Contains(q, "system.peers_v2"):
		var rows [][]cell
		for _, n := range nodes {
			if n == self || gone[n] {
				continue
			}
			rows = append(rows, []cell{{"peer", inetT, n.addr.Addr()}, {"peer_port", intT, 7000},
				{"data_center", varchar, "dc1"}, {"rack", varchar, "rack1"}, {"host_id", uuidT, n.id},
				{"release_version", varchar, "5.0.6"}, {"schema_version", uuidT, sv}, {"tokens", textSet, token(n)},
				{"native_address", inetT, n.addr.Addr()}, {"native_port", intT, int(n.addr.Port())}})
		}
		if len(rows) == 0 {
			return testserver.Reply{Message: &frame.Rows{Metadata: frame.RowsMetadata{Columns: []frame.ColumnSpec{
				{Keyspace: "system", Table: "peers_v2", Name: "peer", Type: inetT}}}}}, true
		}
		return testserver.Reply{Message: rowsOf(t, "peers_v2", rows...)}, true
	case strings.Contains(q, "system_schema.keyspaces"):
		return testserver.Reply{Message: rowsOf(t, "keyspaces", []cell{
			{"keyspace_name", varchar, "ks1"},
			{"replication", types.MapOf(varchar, varchar), map[string]string{"class": "SimpleStrategy", "replication_factor": "2"}},
		})}, true
	}
	return testserver.Reply{}, false
}

// fixedOrder is a load-balancing policy trying the hosts in this order
// (those up), so that a test knows which node each attempt goes to.
type fixedOrder []pool.HostID

type slicePlan struct {
	hosts []*pool.Host
	i     int
}

func (p *slicePlan) Next() *pool.Host {
	if p.i >= len(p.hosts) {
		return nil
	}
	p.i++
	return p.hosts[p.i-1]
}

func (f fixedOrder) Plan(_ pool.RoutingInfo, v *pool.ClusterView) pool.QueryPlan {
	p := &slicePlan{}
	for _, id := range f {
		for _, h := range v.Hosts() {
			if h.ID == id && v.IsUp(h) {
				p.hosts = append(p.hosts, h)
			}
		}
	}
	return p
}

func errReply(e *frame.Error) testserver.Reply { return testserver.Reply{Message: e} }

func readTimeout(received, blockFor int, data bool) *frame.Error {
	d := &frame.ReadTimeout{Consistency: frame.LocalQuorum, Received: received, BlockFor: blockFor}
	if data {
		d.DataPresent = 1
	}
	return &frame.Error{Code: frame.CodeReadTimeout, Message: "Operation timed out", Detail: d}
}

func writeTimeout(wt frame.WriteType) *frame.Error {
	return &frame.Error{Code: frame.CodeWriteTimeout, Message: "Operation timed out",
		Detail: &frame.WriteTimeout{Consistency: frame.LocalQuorum, Received: 1, BlockFor: 2, WriteType: wt}}
}

func unavailable() *frame.Error {
	return &frame.Error{Code: frame.CodeUnavailable, Message: "Cannot achieve consistency level",
		Detail: &frame.Unavailable{Consistency: frame.LocalQuorum, Required: 2, Alive: 1}}
}

// firstN answers the node's first n user statements with e.
func firstN(n int, e *frame.Error) stmtHook {
	return func(_ *testserver.Request, i int) (testserver.Reply, bool) {
		if i <= n {
			return errReply(e), true
		}
		return testserver.Reply{}, false
	}
}

// always answers every user statement of the node with e.
func always(e *frame.Error) stmtHook { return firstN(1<<30, e) }

// attemptSummary is an attempt as the tests compare them: node, error
// code (or "ok", or "conn" for a connection error), what followed.
type attemptSummary struct {
	Node        string
	Result      string
	Retry       query.RetryAction
	Speculative bool
}

func summarize(tp *fakeTopology, ends []attemptEnd) []attemptSummary {
	out := make([]attemptSummary, len(ends))
	for i, e := range ends {
		res := "ok"
		var fe *frame.Error
		var ce *conn.Error
		switch {
		case e.r.Err == nil:
		case errors.As(e.r.Err, &fe):
			res = fe.Code.String()
		case errors.As(e.r.Err, &ce):
			res = "conn"
		default:
			res = e.r.Err.Error()
		}
		name := "?"
		if n := tp.byAddr(e.a.Host); n != nil {
			name = n.name
		}
		out[i] = attemptSummary{Node: name, Result: res, Retry: e.r.Retry, Speculative: e.a.Speculative}
	}
	return out
}

// TestFakeRetryPolicy runs statements against three fake nodes tried in
// the order A, B, C, with the default retry policy, and checks through the
// Observer every attempt: its node, its outcome and what the session did
// next; and the statement's final error.
func TestFakeRetryPolicy(t *testing.T) {
	tp := startTopology(t, 3)
	A, B, C := tp.node(0), tp.node(1), tp.node(2)
	log := &attemptLog{}
	cfg := tp.config()
	cfg.Policy = fixedOrder{A.hostID(), B.hostID(), C.hostID()}
	cfg.Observer = log.observer()
	s := tp.connect(t, cfg)
	ctx := testCtx(t)

	rt := frame.CodeReadTimeout.String()
	wt := frame.CodeWriteTimeout.String()
	un := frame.CodeUnavailable.String()
	const (
		ok   = query.Rethrow
		same = query.RetrySameHost
		next = query.RetryNextHost
	)
	read := func() Query { return s.Query("SELECT v FROM ks1.t") }
	// Prepared now (on A), so that its PREPARE is not among the attempts
	// of the case that executes it.
	sel, err := s.Prepare(ctx, "SELECT v FROM ks1.t WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	readPrepared := func() Query { return sel.Bind(1) }
	write := func() Query { return s.Query("INSERT INTO ks1.t (id, v) VALUES (1, 1)") }
	cases := []struct {
		name   string
		hooks  [3]stmtHook
		run    func() error
		want   []attemptSummary
		errIs  error // the final error wraps this; nil: success
		errAs  any   // and this type
		stmtsA int   // statements node A must have received
	}{{
		name:  "read timeout, enough replicas, no data: retried on the same node",
		hooks: [3]stmtHook{firstN(1, readTimeout(2, 2, false))},
		run:   func() error { return read().Exec(ctx) },
		want:  []attemptSummary{{"A", rt, same, false}, {"A", "ok", ok, false}},
	}, {
		name:  "read timeout on a prepared statement: retried on the same node",
		hooks: [3]stmtHook{firstN(1, readTimeout(3, 2, false))},
		run: func() error {
			var v int32
			return readPrepared().One(ctx, &v)
		},
		want: []attemptSummary{{"A", rt, same, false}, {"A", "ok", ok, false}},
	}, {
		name:  "read timeout, fewer replicas than needed: not retried",
		hooks: [3]stmtHook{firstN(1, readTimeout(1, 2, false))},
		run:   func() error { return read().Exec(ctx) },
		want:  []attemptSummary{{"A", rt, ok, false}},
		errIs: frame.CodeReadTimeout, errAs: new(*frame.ReadTimeout),
	}, {
		name:  "read timeout with the data received: not retried",
		hooks: [3]stmtHook{firstN(1, readTimeout(2, 2, true))},
		run:   func() error { return read().Exec(ctx) },
		want:  []attemptSummary{{"A", rt, ok, false}},
		errIs: frame.CodeReadTimeout, errAs: new(*frame.ReadTimeout),
	}, {
		name:  "read timeout twice: retried once only",
		hooks: [3]stmtHook{firstN(2, readTimeout(2, 2, false))},
		run:   func() error { return read().Exec(ctx) },
		want:  []attemptSummary{{"A", rt, same, false}, {"A", rt, ok, false}},
		errIs: frame.CodeReadTimeout,
	}, {
		name:  "write timeout, not idempotent: not retried",
		hooks: [3]stmtHook{firstN(1, writeTimeout(frame.WriteTypeSimple))},
		run:   func() error { return write().Exec(ctx) },
		want:  []attemptSummary{{"A", wt, ok, false}},
		errIs: frame.CodeWriteTimeout, errAs: new(*frame.WriteTimeout),
	}, {
		name:  "write timeout, idempotent: retried on the same node",
		hooks: [3]stmtHook{firstN(1, writeTimeout(frame.WriteTypeSimple))},
		run:   func() error { return write().Idempotent(true).Exec(ctx) },
		want:  []attemptSummary{{"A", wt, same, false}, {"A", "ok", ok, false}},
	}, {
		name:  "write timeout of the batch log, batch not idempotent: retried",
		hooks: [3]stmtHook{firstN(1, writeTimeout(frame.WriteTypeBatchLog))},
		run: func() error {
			return s.Batch(query.LoggedBatch).AddSimple("INSERT INTO ks1.t (id, v) VALUES (1, 1)").Exec(ctx)
		},
		want: []attemptSummary{{"A", wt, same, false}, {"A", "ok", ok, false}},
	}, {
		name:  "unavailable: the next node, once",
		hooks: [3]stmtHook{always(unavailable()), always(unavailable()), always(unavailable())},
		run:   func() error { return write().Exec(ctx) },
		want:  []attemptSummary{{"A", un, next, false}, {"B", un, ok, false}},
		errIs: frame.CodeUnavailable, errAs: new(*frame.Unavailable),
	}, {
		name:  "unavailable, the next node answers",
		hooks: [3]stmtHook{always(unavailable())},
		run:   func() error { return write().Exec(ctx) },
		want:  []attemptSummary{{"A", un, next, false}, {"B", "ok", ok, false}},
	}, {
		name:  "syntax error: never retried",
		hooks: [3]stmtHook{always(&frame.Error{Code: frame.CodeSyntaxError, Message: "line 1:0 no viable alternative"})},
		run:   func() error { return read().Idempotent(true).Exec(ctx) },
		want:  []attemptSummary{{"A", frame.CodeSyntaxError.String(), ok, false}},
		errIs: frame.CodeSyntaxError,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i, n := range []*fakeNode{A, B, C} {
				n.setHook(c.hooks[i])
				n.stmts.Store(0)
			}
			defer func() {
				for _, n := range []*fakeNode{A, B, C} {
					n.setHook(nil)
				}
			}()
			log.reset()
			err := c.run()
			switch {
			case c.errIs == nil && err != nil:
				t.Fatalf("error %v, want success", err)
			case c.errIs != nil && !errors.Is(err, c.errIs):
				t.Fatalf("error %v, want %v", err, c.errIs)
			case c.errAs != nil && !errors.As(err, c.errAs):
				t.Fatalf("error %v (%T) does not match %T", err, err, c.errAs)
			}
			got := summarize(tp, log.take())
			if !slices.Equal(got, c.want) {
				t.Errorf("attempts\n got %+v\nwant %+v", got, c.want)
			}
			// Every attempt reached a node, and no other request did.
			sent := int(A.stmts.Load() + B.stmts.Load() + C.stmts.Load())
			if sent != len(c.want) {
				t.Errorf("the nodes received %d statements for %d attempts", sent, len(c.want))
			}
		})
	}
}

// TestFakeSpeculativeExecution: node A answers statements after 500 ms,
// node B at once, and plans try A first. An idempotent statement whose
// profile speculates after 50 ms is answered well before 500 ms, by B,
// through a speculative execution the observer sees; a statement that is
// not idempotent never is, and waits for A.
func TestFakeSpeculativeExecution(t *testing.T) {
	tp := startTopology(t, 2)
	A, B := tp.node(0), tp.node(1)
	log := &attemptLog{cql: "SELECT v FROM ks1.t"}
	cfg := tp.config()
	cfg.Policy = fixedOrder{A.hostID(), B.hostID()}
	cfg.Observer = log.observer()
	cfg.Profiles = map[string]query.Profile{"spec": {Speculative: query.ConstantSpeculative{Delay: 50 * time.Millisecond}}}
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	const slow = 500 * time.Millisecond
	A.setHook(func(req *testserver.Request, _ int) (testserver.Reply, bool) {
		r := req.Default()
		r.Delay = slow
		return r, true
	})

	for i := range 3 {
		log.reset()
		t0 := time.Now()
		res, err := s.Query("SELECT v FROM ks1.t").Idempotent(true).Profile("spec").Run(ctx)
		took := time.Since(t0)
		if err != nil {
			t.Fatal(err)
		}
		if took >= slow/2 {
			t.Errorf("run %d: the speculative statement took %v, want well under %v", i, took, slow)
		}
		if n := tp.byAddr(res.Coordinator); n != B {
			t.Errorf("run %d: answered by %s, want B", i, res.Coordinator)
		}
		if res.Attempts != 2 {
			t.Errorf("run %d: %d attempts, want 2", i, res.Attempts)
		}
		log.mu.Lock()
		starts := slices.Clone(log.starts)
		log.mu.Unlock()
		if len(starts) != 2 || tp.byAddr(starts[0].Host) != A || starts[0].Speculative ||
			tp.byAddr(starts[1].Host) != B || !starts[1].Speculative || starts[1].Attempt != 2 {
			t.Errorf("run %d: attempts started %+v, want A then a speculative one on B", i, starts)
		}
		if d := starts[1].Start.Sub(starts[0].Start); d < 45*time.Millisecond || d > slow/2 {
			t.Errorf("run %d: the speculative execution started %v after the first, want about 50ms", i, d)
		}
		// The slow attempt, cancelled when B won, ends with an error and
		// no retry.
		waitFor(t, "the slow attempt to end", func() bool { return len(log.take2()) == 2 })
		ends := log.take()
		for _, e := range ends {
			if tp.byAddr(e.a.Host) == A && (e.r.Err == nil || e.r.Retry != query.Rethrow) {
				t.Errorf("run %d: the losing attempt ended %+v", i, e.r)
			}
		}
	}

	// Not idempotent: never speculated.
	log.reset()
	t0 := time.Now()
	res, err := s.Query("SELECT v FROM ks1.t").Profile("spec").Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took < slow {
		t.Errorf("the non-idempotent statement took %v, less than the node's %v", took, slow)
	}
	if tp.byAddr(res.Coordinator) != A || res.Attempts != 1 {
		t.Errorf("answered by %s in %d attempts, want A in 1", res.Coordinator, res.Attempts)
	}
	if got := summarize(tp, log.take()); !slices.Equal(got, []attemptSummary{{"A", "ok", query.Rethrow, false}}) {
		t.Errorf("attempts %+v, want one on A", got)
	}
	// Idempotent but the default profile has no speculative policy.
	t0 = time.Now()
	if err := s.Query("SELECT v FROM ks1.t").Idempotent(true).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took < slow {
		t.Errorf("a statement without a speculative policy took %v, less than the node's %v", took, slow)
	}
}

// take2 returns the ended attempts without forgetting them.
func (l *attemptLog) take2() []attemptEnd {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ends)
}

// TestFakeHostRemovedInFlight: node B leaves the ring (its system.peers row
// disappears and a TOPOLOGY_CHANGE REMOVED_NODE arrives) while it is
// executing requests. Those requests complete successfully (the session
// drains B's pool before closing it), requests made after the removal go
// to A only, nothing fails, and B's connections are closed afterwards.
func TestFakeHostRemovedInFlight(t *testing.T) {
	tp := startTopology(t, 2)
	A, B := tp.node(0), tp.node(1)
	log := &attemptLog{cql: "SELECT v FROM ks1.t"}
	cfg := tp.config()
	cfg.Observer = log.observer() // the default policy: round robin over A and B
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	const hold = 1500 * time.Millisecond
	B.setHook(func(req *testserver.Request, _ int) (testserver.Reply, bool) {
		r := req.Default()
		r.Delay = hold
		return r, true
	})

	const inflight = 20
	errs := make(chan error, inflight)
	var wg sync.WaitGroup
	for range inflight {
		wg.Go(func() {
			var v int32
			errs <- s.Query("SELECT v FROM ks1.t").One(ctx, &v)
		})
	}
	waitFor(t, "requests in flight on B", func() bool { return B.stmts.Load() >= 5 })
	onB := B.stmts.Load()
	t0 := time.Now()

	tp.remove(B)
	if A.srv.Broadcast(&frame.TopologyChange{Change: frame.TopologyRemovedNode, Address: B.addr}) != 1 {
		t.Fatal("the event reached no control connection")
	}
	waitFor(t, "the session to drop B", func() bool {
		hosts := s.Hosts()
		return len(hosts) == 1 && hosts[0].Host.ID == A.hostID()
	})
	if time.Since(t0) >= hold {
		t.Fatalf("removing B took %v, longer than its requests are held: the test proves nothing", time.Since(t0))
	}
	if B.srv.Stats().Open == 0 {
		t.Fatal("B's connections closed while its requests were in flight")
	}

	// New requests: all on A, while B still holds the old ones.
	log.reset()
	for range 10 {
		var v int32
		if err := s.Query("SELECT v FROM ks1.t").One(ctx, &v); err != nil {
			t.Fatalf("a request after the removal: %v", err)
		}
	}
	for _, e := range log.take() {
		if n := tp.byAddr(e.a.Host); n != A || e.r.Err != nil {
			t.Errorf("after the removal, an attempt on %s: %v", e.a.Host, e.r.Err)
		}
	}
	if B.stmts.Load() != onB {
		t.Errorf("B received %d statements after it was removed", B.stmts.Load()-onB)
	}
	if time.Since(t0) >= hold {
		t.Errorf("the checks after the removal took %v: B's held requests may have ended already", time.Since(t0))
	}

	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a request in flight during the removal failed: %v", err)
		}
	}
	waitFor(t, "B's pool to be closed once drained", func() bool { return B.srv.Stats().Open == 0 })
	if A.srv.Stats().Open == 0 {
		t.Error("A's connections are gone too")
	}
}

// TestFakeConnectionLostMidRequest: node A closes the connection a write is
// on without answering. The write may have been applied, so a
// non-idempotent one fails (saying so) and is not sent again; an
// idempotent one is retried on the next node.
func TestFakeConnectionLostMidRequest(t *testing.T) {
	tp := startTopology(t, 2)
	A, B := tp.node(0), tp.node(1)
	log := &attemptLog{}
	cfg := tp.config()
	cfg.Policy = fixedOrder{A.hostID(), B.hostID()}
	cfg.Observer = log.observer()
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	A.setHook(func(*testserver.Request, int) (testserver.Reply, bool) {
		return testserver.Reply{Fault: testserver.FaultClose}, true
	})
	const ins = "INSERT INTO ks1.t (id, v) VALUES (1, 1)"

	for _, prepared := range []bool{false, true} {
		t.Run(fmt.Sprintf("prepared=%v", prepared), func(t *testing.T) {
			q := s.Query(ins)
			if prepared {
				q = s.Query("INSERT INTO ks1.t (id, v) VALUES (?, ?)", 1, 1)
				if err := q.Idempotent(true).Exec(ctx); err != nil { // prepare it first (and run it once on B)
					t.Fatal(err)
				}
			}
			waitPoolFull(t, s, A)
			log.cql = q.CQL()
			log.reset()
			A.stmts.Store(0)
			B.stmts.Store(0)
			err := q.Exec(ctx)
			var ce *conn.Error
			if !errors.As(err, &ce) || !ce.Sent || !strings.Contains(err.Error(), "may have been executed") {
				t.Fatalf("non-idempotent write on a lost connection: %v, want a conn error saying it may have been executed", err)
			}
			if got := summarize(tp, log.take()); !slices.Equal(got, []attemptSummary{{"A", "conn", query.Rethrow, false}}) {
				t.Errorf("attempts %+v, want one on A, not retried", got)
			}
			if A.stmts.Load() != 1 || B.stmts.Load() != 0 {
				t.Errorf("A got %d statements, B %d; want 1 and 0", A.stmts.Load(), B.stmts.Load())
			}

			// Both of A's connections are alive again, so that A is in
			// the plan: one was lost, and is being replaced.
			waitPoolFull(t, s, A)
			res, err := q.Idempotent(true).Run(ctx)
			if err != nil {
				t.Fatalf("idempotent write on a lost connection: %v", err)
			}
			if tp.byAddr(res.Coordinator) != B {
				t.Errorf("answered by %s, want B", res.Coordinator)
			}
			if got := summarize(tp, log.take()); !slices.Equal(got, []attemptSummary{{"A", "conn", query.RetryNextHost, false}, {"B", "ok", query.Rethrow, false}}) {
				t.Errorf("attempts %+v, want A lost then B", got)
			}
		})
	}
}

// waitPoolFull waits until every connection of n's pool is alive.
func waitPoolFull(t *testing.T, s *Session, n *fakeNode) {
	t.Helper()
	waitFor(t, "node "+n.name+"'s pool to be full", func() bool {
		p := s.routing.Load().pools[n.hostID()]
		return p != nil && p.Live() == p.Size()
	})
}

// TestFakeReprepareAfterRestart: a node that forgets its prepared
// statements (as after a restart: ResetPrepared) answers Unprepared; the
// session prepares again on that node and runs the EXECUTE, and the
// prepared statements of a BATCH, transparently.
func TestFakeReprepareAfterRestart(t *testing.T) {
	tp := startTopology(t, 1)
	A := tp.node(0)
	log := &attemptLog{}
	cfg := tp.config()
	cfg.Observer = log.observer()
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	p, err := s.Prepare(ctx, "INSERT INTO ks1.t (id, v) VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Bind(1, 2).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for _, what := range []string{"execute", "batch"} {
		t.Run(what, func(t *testing.T) {
			A.srv.ResetPrepared()
			log.reset()
			var err error
			if what == "execute" {
				err = p.Bind(1, 2).Exec(ctx)
			} else {
				err = s.Batch(query.UnloggedBatch).AddPrepared(p, 1, 2).AddPrepared(p, 3, 4).Exec(ctx)
			}
			if err != nil {
				t.Fatalf("after the node forgot the statement: %v", err)
			}
			got := summarize(tp, log.take())
			if want := []attemptSummary{{"A", frame.CodeUnprepared.String(), query.RetrySameHost, false}, {"A", "ok", query.Rethrow, false}}; !slices.Equal(got, want) {
				t.Errorf("attempts %+v, want %+v", got, want)
			}
		})
	}
}
