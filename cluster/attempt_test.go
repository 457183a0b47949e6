package cluster

// Tests of the attempt loop (attempt.go) and of the implicit PREPARE
// (prepared.go) against in-process fake nodes (internal/testserver).
//
// Why not the real node: a real Cassandra node cannot be made, on demand,
// to forget its prepared statements at a chosen moment (a restart takes
// the session's connections with it), to keep answering Unprepared for a
// statement it was just given again, to answer Overloaded, to delay a
// PREPARE by exactly 1.5 s, or to hold a request unanswered; and a
// connection cannot be made to fail with a request still queued unsent
// in it. The fake nodes (and, for the last, a dialer whose connections
// can be stalled) do each of those.

import (
	"context"
	"errors"
	"fmt"
	"net"
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
	"github.com/cqlwire/cqlwire/query"
)

// prepHooks answers the PREPARE requests of the nodes of a topology
// started by startPrepTopology, and counts them.
type prepHooks struct {
	mu       sync.Mutex
	hooks    map[*fakeNode]stmtHook
	prepares map[*fakeNode]int
}

func (p *prepHooks) set(n *fakeNode, h stmtHook) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h == nil {
		delete(p.hooks, n)
		return
	}
	p.hooks[n] = h
}

// count is the number of PREPARE requests n received.
func (p *prepHooks) count(n *fakeNode) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.prepares[n]
}

// startPrepTopology is startTopology whose nodes also pass their PREPARE
// requests to hooks (numbered from 1 per node).
func startPrepTopology(t *testing.T, n int) (*fakeTopology, *prepHooks) {
	t.Helper()
	tp := &fakeTopology{t: t, gone: map[*fakeNode]bool{}}
	ph := &prepHooks{hooks: map[*fakeNode]stmtHook{}, prepares: map[*fakeNode]int{}}
	for i := range n {
		node := &fakeNode{name: string(rune('A' + i)), id: fmt.Sprintf("c0ffee00-0000-4000-8000-0000000001%02x", i)}
		base := tp.handler(node)
		h := func(req *testserver.Request) testserver.Reply {
			if req.Header.Opcode != frame.OpPrepare {
				return base(req)
			}
			ph.mu.Lock()
			ph.prepares[node]++
			k, hook := ph.prepares[node], ph.hooks[node]
			ph.mu.Unlock()
			if hook != nil {
				if r, ok := hook(req, k); ok {
					return r
				}
			}
			return req.Default()
		}
		srv, err := testserver.Start(testserver.Options{Handler: h, BindType: testserver.BindInt, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		tp.mu.Lock()
		node.srv, node.addr = srv, netip.MustParseAddrPort(srv.Addr())
		tp.nodes = append(tp.nodes, node)
		tp.mu.Unlock()
	}
	return tp, ph
}

// isPrepared reports that cql is in s's cache, prepared.
func isPrepared(s *Session, cql string) bool {
	s.prepared.mu.Lock()
	e := s.prepared.byKey[preparedKey{keyspace: s.cfg.Keyspace, cql: cql}]
	s.prepared.mu.Unlock()
	if e == nil {
		return false
	}
	select {
	case <-e.done:
		return e.err == nil
	default:
		return false
	}
}

// delayed gives the default answer d late.
func delayed(d time.Duration) stmtHook {
	return func(req *testserver.Request, _ int) (testserver.Reply, bool) {
		r := req.Default()
		r.Delay = d
		return r, true
	}
}

// held never answers.
func held(*testserver.Request, int) (testserver.Reply, bool) {
	return testserver.Reply{Fault: testserver.FaultHold}, true
}

func overloaded() *frame.Error {
	return &frame.Error{Code: frame.CodeOverloaded, Message: "Too many in flight requests"}
}

func unpreparedErr(id []byte) *frame.Error {
	return &frame.Error{Code: frame.CodeUnprepared, Message: "Prepared query not found",
		Detail: &frame.Unprepared{ID: slices.Clone(id)}}
}

// checkBalanced fails unless every attempt the log saw started once and
// ended once.
func checkBalanced(t *testing.T, l *attemptLog) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	started := map[int]int{}
	for _, a := range l.starts {
		started[a.Attempt]++
	}
	ended := map[int]int{}
	for _, e := range l.ends {
		ended[e.a.Attempt]++
	}
	for n, k := range started {
		if k != 1 || ended[n] != 1 {
			t.Errorf("attempt %d: %d AttemptStart, %d AttemptEnd; want 1 and 1", n, k, ended[n])
		}
	}
	for n, k := range ended {
		if started[n] == 0 {
			t.Errorf("attempt %d: %d AttemptEnd without an AttemptStart", n, k)
		}
	}
}

// Issue 11 item 7: a BATCH of two different prepared statements, both
// forgotten by the node (a restart), succeeds after preparing each again
// on that node: the loop re-prepares once per distinct statement id, not
// once in all. A node that keeps answering Unprepared for a statement it
// was just given again ends the loop after one re-preparation.
func TestFakeBatchReprepareEachStatement(t *testing.T) {
	tp := startTopology(t, 1)
	A := tp.node(0)
	log := &attemptLog{}
	cfg := tp.config()
	cfg.Observer = log.observer()
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	ins, err := s.Prepare(ctx, "INSERT INTO ks1.t (id, v) VALUES (?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	upd, err := s.Prepare(ctx, "UPDATE ks1.t SET v = ? WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	batch := func() *Batch {
		return s.Batch(query.UnloggedBatch).AddPrepared(ins, 1, 2).AddPrepared(upd, 3, 1).AddPrepared(ins, 4, 5)
	}
	if err := batch().Exec(ctx); err != nil {
		t.Fatal(err)
	}

	A.srv.ResetPrepared()
	log.reset()
	if err := batch().Exec(ctx); err != nil {
		t.Fatalf("a batch of two statements the node forgot: %v", err)
	}
	un := frame.CodeUnprepared.String()
	want := []attemptSummary{{"A", un, query.RetrySameHost, false}, {"A", un, query.RetrySameHost, false}, {"A", "ok", query.Rethrow, false}}
	if got := summarize(tp, log.take2()); !slices.Equal(got, want) {
		t.Errorf("attempts %+v, want %+v", got, want)
	}
	checkBalanced(t, log)

	// A node that answers Unprepared for ins however often it is given it.
	A.setHook(func(req *testserver.Request, _ int) (testserver.Reply, bool) {
		if req.Header.Opcode == frame.OpBatch {
			return errReply(unpreparedErr(ins.ID())), true
		}
		return testserver.Reply{}, false
	})
	defer A.setHook(nil)
	log.reset()
	err = batch().Exec(ctx)
	if !errors.Is(err, frame.CodeUnprepared) {
		t.Fatalf("error %v, want Unprepared", err)
	}
	want = []attemptSummary{{"A", un, query.RetrySameHost, false}, {"A", un, query.Rethrow, false}}
	if got := summarize(tp, log.take2()); !slices.Equal(got, want) {
		t.Errorf("attempts %+v, want %+v", got, want)
	}
	checkBalanced(t, log)
}

// Issue 11 item 8: the implicit PREPARE is shared by every statement that
// needs it meanwhile, so the first caller giving up (its context
// cancelled) must not fail the others: the PREPARE goes on for them. And a
// PREPARE that failed is not remembered as failed.
func TestFakePrepareFirstWaiterCancelled(t *testing.T) {
	tp, ph := startPrepTopology(t, 1)
	A := tp.node(0)
	s := tp.connect(t, tp.config())
	ctx := testCtx(t)
	const slow = 400 * time.Millisecond
	ph.set(A, delayed(slow))
	const cql = "SELECT v FROM ks1.t WHERE id = ?"

	ctx1, cancel1 := context.WithCancel(ctx)
	defer cancel1()
	first := make(chan error, 1)
	t0 := time.Now()
	go func() {
		_, err := s.Prepare(ctx1, cql)
		first <- err
	}()
	waitFor(t, "the PREPARE to reach the node", func() bool { return ph.count(A) == 1 })
	second := make(chan error, 1)
	go func() {
		var v int32
		second <- s.Query(cql, 1).One(ctx, &v)
	}()
	time.Sleep(50 * time.Millisecond) // the second caller waits for the same PREPARE
	cancel1()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled caller: %v, want context.Canceled", err)
	}
	if took := time.Since(t0); took >= slow {
		t.Errorf("the cancelled caller returned after %v, not when cancelled", took)
	}
	if err := <-second; err != nil {
		t.Fatalf("the second caller of the same PREPARE: %v", err)
	}
	if n := ph.count(A); n != 1 {
		t.Errorf("%d PREPAREs sent, want 1 (shared)", n)
	}

	// A failed PREPARE: the next caller prepares again.
	ph.set(A, func(_ *testserver.Request, n int) (testserver.Reply, bool) {
		if n == 2 {
			return errReply(&frame.Error{Code: frame.CodeServerError, Message: "boom"}), true
		}
		return testserver.Reply{}, false
	})
	const cql2 = "SELECT v FROM ks1.t WHERE id = ? AND c = ?"
	if _, err := s.Prepare(ctx, cql2); !errors.Is(err, frame.CodeServerError) {
		t.Fatalf("first PREPARE: %v, want the server error", err)
	}
	if _, err := s.Prepare(ctx, cql2); err != nil {
		t.Fatalf("PREPARE after a failed one: %v", err)
	}
}

// recordingPolicy is DefaultRetryPolicy recording what it was asked.
type recordingPolicy struct {
	mu    sync.Mutex
	infos []query.RetryInfo
}

func (p *recordingPolicy) Decide(info query.RetryInfo) query.RetryDecision {
	p.mu.Lock()
	p.infos = append(p.infos, info)
	p.mu.Unlock()
	return query.DefaultRetryPolicy{}.Decide(info)
}

func (p *recordingPolicy) asked() []query.RetryInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.infos)
}

// Issue 11 item 10: a statement's implicit PREPARE runs within the
// statement's deadline (one deadline for PREPARE and EXECUTE) and with the
// statement's execution profile.
func TestFakePrepareWithinStatementDeadline(t *testing.T) {
	tp, ph := startPrepTopology(t, 2)
	A, B := tp.node(0), tp.node(1)
	policy := &recordingPolicy{}
	cfg := tp.config()
	cfg.Policy = fixedOrder{A.hostID(), B.hostID()}
	cfg.Profiles = map[string]query.Profile{"fast": {RequestTimeout: 200 * time.Millisecond, Retry: policy}}
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	const slow = 1500 * time.Millisecond

	t.Run("Query.Timeout", func(t *testing.T) {
		ph.set(A, delayed(slow))
		defer ph.set(A, nil)
		const cql = "INSERT INTO ks1.t (id, v) VALUES (?, ?)"
		t0 := time.Now()
		err := s.Query(cql, 1, 2).Timeout(200 * time.Millisecond).Exec(ctx)
		took := time.Since(t0)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want a deadline error", err)
		}
		if took < 190*time.Millisecond || took > 400*time.Millisecond {
			t.Errorf("returned after %v, want about 200ms (the PREPARE takes %v)", took, slow)
		}
		// The PREPARE went on (it is not the caller's alone), and is
		// remembered once answered.
		waitFor(t, "the PREPARE to be answered", func() bool { return isPrepared(s, cql) })
		n := ph.count(A) + ph.count(B)
		if err := s.Query(cql, 1, 2).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ph.count(A) + ph.count(B); got != n {
			t.Errorf("%d more PREPAREs after the first was answered", got-n)
		}
	})

	t.Run("profile", func(t *testing.T) {
		// A says Overloaded, B is slow: the profile's retry policy moves
		// the PREPARE to B, and the profile's 200ms bound the wait.
		ph.set(A, func(*testserver.Request, int) (testserver.Reply, bool) { return errReply(overloaded()), true })
		ph.set(B, delayed(slow))
		defer ph.set(A, nil)
		defer ph.set(B, nil)
		t0 := time.Now()
		err := s.Query("UPDATE ks1.t SET v = ? WHERE id = ?", 1, 2).Profile("fast").Exec(ctx)
		took := time.Since(t0)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want a deadline error", err)
		}
		if took < 190*time.Millisecond || took > 400*time.Millisecond {
			t.Errorf("returned after %v, want about 200ms (the profile's RequestTimeout)", took)
		}
		asked := policy.asked()
		if len(asked) != 1 || !errors.Is(asked[0].Err, frame.CodeOverloaded) || !asked[0].Idempotent {
			t.Errorf("the profile's retry policy was asked %+v, want once, about the idempotent PREPARE's Overloaded", asked)
		}
	})
}

// Issue 11 item 12: Overloaded is retried on the next node only for an
// idempotent statement: an overloaded coordinator may have sent some of a
// batch's mutations already.
func TestFakeOverloadedRetry(t *testing.T) {
	tp := startTopology(t, 2)
	A, B := tp.node(0), tp.node(1)
	log := &attemptLog{}
	cfg := tp.config()
	cfg.Policy = fixedOrder{A.hostID(), B.hostID()}
	cfg.Observer = log.observer()
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	A.setHook(always(overloaded()))
	ov := frame.CodeOverloaded.String()
	const ins = "INSERT INTO ks1.t (id, v) VALUES (1, 1)"

	if err := s.Query(ins).Exec(ctx); !errors.Is(err, frame.CodeOverloaded) {
		t.Errorf("not idempotent: %v, want Overloaded", err)
	}
	if got, want := summarize(tp, log.take()), []attemptSummary{{"A", ov, query.Rethrow, false}}; !slices.Equal(got, want) {
		t.Errorf("not idempotent: attempts %+v, want %+v", got, want)
	}
	if B.stmts.Load() != 0 {
		t.Error("B received the non-idempotent statement")
	}
	if err := s.Query(ins).Idempotent(true).Exec(ctx); err != nil {
		t.Errorf("idempotent: %v", err)
	}
	if got, want := summarize(tp, log.take()), []attemptSummary{{"A", ov, query.RetryNextHost, false}, {"B", "ok", query.Rethrow, false}}; !slices.Equal(got, want) {
		t.Errorf("idempotent: attempts %+v, want %+v", got, want)
	}
	// A batch likewise.
	if err := s.Batch(query.LoggedBatch).AddSimple(ins).Exec(ctx); !errors.Is(err, frame.CodeOverloaded) {
		t.Errorf("batch: %v, want Overloaded", err)
	}
}

// Issue 11 item 13: when preparing again fails, the attempt still ends
// once (one AttemptEnd per AttemptStart), with the reason.
func TestFakeObserverBalancedWhenReprepareFails(t *testing.T) {
	tp, ph := startPrepTopology(t, 1)
	A := tp.node(0)
	const cql = "INSERT INTO ks1.t (id, v) VALUES (?, ?)"
	log := &attemptLog{cql: cql}
	cfg := tp.config()
	cfg.Observer = log.observer()
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	p, err := s.Prepare(ctx, cql)
	if err != nil {
		t.Fatal(err)
	}
	A.srv.ResetPrepared()
	ph.set(A, func(*testserver.Request, int) (testserver.Reply, bool) {
		return errReply(&frame.Error{Code: frame.CodeServerError, Message: "cannot prepare now"}), true
	})
	log.reset()
	err = p.Bind(1, 2).Exec(ctx)
	if !errors.Is(err, frame.CodeUnprepared) {
		t.Fatalf("error %v, want Unprepared", err)
	}
	checkBalanced(t, log)
	ends := log.take2()
	if len(ends) != 1 || ends[0].r.Retry != query.Rethrow || ends[0].r.Err == nil {
		t.Fatalf("attempts %+v, want one ending in the error", ends)
	}
	if msg := ends[0].r.Err.Error(); !containsAll(msg, "re-preparing failed", "cannot prepare now") {
		t.Errorf("the attempt's error %q does not say why re-preparing failed", msg)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// stallDialer dials normally, and can make the connections to one address
// stall: their next write blocks until the connection is closed, as a
// socket whose peer stopped reading does.
type stallDialer struct {
	target string
	armed  atomic.Bool
	stuck  chan *stallConn // a connection whose writer is now blocked
}

type stallConn struct {
	net.Conn
	d      *stallDialer
	once   sync.Once
	closed chan struct{}
}

func (d *stallDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil || addr != d.target {
		return c, err
	}
	return &stallConn{Conn: c, d: d, closed: make(chan struct{})}, nil
}

func (c *stallConn) Write(b []byte) (int, error) {
	if c.d.armed.Load() {
		select {
		case c.d.stuck <- c:
		default:
		}
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// Issue 11 item 13: a request that was never sent, moved to the next node,
// does not count against the retry policy's MaxRetries (the policy's doc
// says so; the query plan bounds those moves). Node A's connection fails
// while the statement's request is still queued behind a stalled write
// (so it was never sent); B answers Unavailable, which the default policy
// retries once: that retry must still be available, and C answers.
func TestFakeUnsentRetriesNotCounted(t *testing.T) {
	tp := startTopology(t, 3)
	A, B, C := tp.node(0), tp.node(1), tp.node(2)
	log := &attemptLog{cql: "SELECT v FROM ks1.t"}
	d := &stallDialer{target: A.srv.Addr(), stuck: make(chan *stallConn, 1)}
	cfg := tp.config()
	cfg.ContactPoints = []string{C.srv.Addr()} // the control connection is not A's
	cfg.PoolSize = 1
	cfg.DialContext = d.dial
	cfg.Policy = fixedOrder{A.hostID(), B.hostID(), C.hostID()}
	cfg.Observer = log.observer()
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	waitPoolFull(t, s, A)
	c, err := s.routing.Load().pools[A.hostID()].Pick()
	if err != nil {
		t.Fatal(err)
	}

	d.armed.Store(true)
	other := make(chan error, 1)
	go func() { other <- s.Query("SELECT w FROM ks1.t").Exec(ctx) }() // stalls A's writer
	stuck := <-d.stuck
	B.setHook(firstN(1, unavailable()))
	res := make(chan error, 1)
	go func() { res <- s.Query("SELECT v FROM ks1.t").Exec(ctx) }()
	waitFor(t, "the statement queued on A's connection", func() bool { return c.InFlight() == 2 })
	d.armed.Store(false)
	stuck.Close()

	if err := <-res; err != nil {
		t.Fatalf("statement: %v", err)
	}
	<-other
	ends := log.take2()
	un := frame.CodeUnavailable.String()
	want := []attemptSummary{{"A", "conn", query.RetryNextHost, false}, {"B", un, query.RetryNextHost, false}, {"C", "ok", query.Rethrow, false}}
	if got := summarize(tp, ends); !slices.Equal(got, want) {
		t.Fatalf("attempts %+v, want %+v", got, want)
	}
	var ce *conn.Error
	if !errors.As(ends[0].r.Err, &ce) || ce.Sent {
		t.Errorf("A's error %v, want a conn.Error with Sent false", ends[0].r.Err)
	}
	checkBalanced(t, log)
}

// A per-attempt timeout (a connection's Timeout, shorter than a statement
// that has no deadline) fails the request with a conn.Error wrapping
// context.DeadlineExceeded; that is not the caller's deadline, so an
// idempotent statement moves on to the next node. The statement's own
// deadline passing ends it with a deadline error and no retry.
func TestFakeAttemptTimeoutVersusStatementDeadline(t *testing.T) {
	tp := startTopology(t, 2)
	A, B := tp.node(0), tp.node(1)
	log := &attemptLog{cql: "SELECT v FROM ks1.t"}
	cfg := tp.config()
	cfg.DefaultProfile.RequestTimeout = 300 * time.Millisecond // the connections' Timeout
	cfg.Profiles = map[string]query.Profile{"unbounded": {RequestTimeout: -1}}
	cfg.Policy = fixedOrder{A.hostID(), B.hostID()}
	cfg.Observer = log.observer()
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	A.setHook(held)

	if err := s.Query("SELECT v FROM ks1.t").Profile("unbounded").Idempotent(true).Exec(ctx); err != nil {
		t.Fatalf("after a per-attempt timeout on A: %v", err)
	}
	if got, want := summarize(tp, log.take()), []attemptSummary{{"A", "conn", query.RetryNextHost, false}, {"B", "ok", query.Rethrow, false}}; !slices.Equal(got, want) {
		t.Errorf("attempts %+v, want %+v", got, want)
	}

	B.stmts.Store(0)
	t0 := time.Now()
	err := s.Query("SELECT v FROM ks1.t").Idempotent(true).Timeout(200 * time.Millisecond).Exec(ctx)
	took := time.Since(t0)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "statement's timeout of 200ms") {
		t.Errorf("error %v, want the statement's timeout", err)
	}
	if took < 190*time.Millisecond || took > 400*time.Millisecond {
		t.Errorf("returned after %v, want about 200ms", took)
	}
	if got, want := summarize(tp, log.take()), []attemptSummary{{"A", "conn", query.Rethrow, false}}; !slices.Equal(got, want) {
		t.Errorf("attempts %+v, want %+v", got, want)
	}
	if B.stmts.Load() != 0 {
		t.Error("the statement was retried on B after its deadline")
	}
}

// Issue 11 item 13: MaxExecutions above 8 starts that many executions (it
// was silently capped at 8). Twelve nodes; the first eleven answer late,
// the twelfth at once, so only the twelfth execution answers in time.
func TestFakeSpeculativeTwelveExecutions(t *testing.T) {
	const n = 12
	tp := startTopology(t, n)
	log := &attemptLog{cql: "SELECT v FROM ks1.t"}
	cfg := tp.config()
	cfg.PoolSize = 1
	var order fixedOrder
	for i := range n {
		order = append(order, tp.node(i).hostID())
	}
	cfg.Policy = order
	cfg.Observer = log.observer()
	cfg.Profiles = map[string]query.Profile{"spec": {Speculative: query.ConstantSpeculative{Delay: 10 * time.Millisecond, MaxExecutions: n}}}
	s := tp.connect(t, cfg)
	ctx := testCtx(t)
	const slow = 1500 * time.Millisecond
	for i := range n - 1 {
		tp.node(i).setHook(delayed(slow))
	}
	t0 := time.Now()
	res, err := s.Query("SELECT v FROM ks1.t").Idempotent(true).Profile("spec").Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took >= slow {
		t.Errorf("took %v: the twelfth execution did not answer first", took)
	}
	if got := tp.byAddr(res.Coordinator); got != tp.node(n-1) {
		t.Errorf("answered by %v, want the twelfth node", res.Coordinator)
	}
	if res.Attempts != n {
		t.Errorf("%d attempts, want %d", res.Attempts, n)
	}
	if got := log.startCount(); got != n {
		t.Errorf("%d executions started, want %d", got, n)
	}
	waitFor(t, "every execution to end", func() bool { return len(log.take2()) == n })
	checkBalanced(t, log)
}
