package cluster

// Session.Metrics against fake nodes: a real node cannot be made to answer
// Read_timeout, Write_timeout, Unavailable or Overloaded on demand, to hold
// one answer past a deadline, or to drop a connection under one request.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/query"
)

// attemptCounts are the per-attempt counters of a node, as the tests
// compare them.
type attemptCounts struct {
	Requests    uint64
	Errors      NodeErrors
	Retries     RetryMetrics
	Ignores     RetryMetrics
	Speculative uint64
}

func countsOf(n NodeMetrics) attemptCounts {
	return attemptCounts{n.Requests, n.Errors, n.Retries, n.Ignores, n.SpeculativeExecutions}
}

// minus subtracts every uint64 field of b from a's (a and b of one struct
// type, nested structs included).
func minus[T any](a, b T) T {
	var out T
	subtract(reflect.ValueOf(&out).Elem(), reflect.ValueOf(a), reflect.ValueOf(b))
	return out
}

func subtract(out, a, b reflect.Value) {
	switch out.Kind() {
	case reflect.Struct:
		for i := range out.NumField() {
			subtract(out.Field(i), a.Field(i), b.Field(i))
		}
	case reflect.Uint64:
		out.SetUint(a.Uint() - b.Uint())
	}
}

// nodeMetrics returns the metrics of node n in m.
func nodeMetrics(t *testing.T, m Metrics, n *fakeNode) NodeMetrics {
	t.Helper()
	for _, nm := range m.Nodes {
		if nm.Addr == n.addr.String() {
			return nm
		}
	}
	t.Fatalf("no metrics for node %s (%s) in %+v", n.name, n.addr, m.Nodes)
	return NodeMetrics{}
}

// ignoreReadTimeouts is a retry policy that ignores Read_timeout and
// otherwise does what the default one does.
type ignoreReadTimeouts struct{}

func (ignoreReadTimeouts) Decide(info query.RetryInfo) query.RetryDecision {
	if errors.Is(info.Err, frame.CodeReadTimeout) {
		return query.RetryDecision{Action: query.Ignore}
	}
	return query.DefaultRetryPolicy{}.Decide(info)
}

// TestFakeMetricsByErrorKind answers statements on three fake nodes (tried
// A, B, C) with each kind of error, and checks that each node's counters
// moved by exactly what its attempts were, and the session's by the
// statements.
func TestFakeMetricsByErrorKind(t *testing.T) {
	tp := startTopology(t, 3)
	A, B, C := tp.node(0), tp.node(1), tp.node(2)
	cfg := tp.config()
	cfg.Policy = fixedOrder{A.hostID(), B.hostID(), C.hostID()}
	cfg.Profiles = map[string]query.Profile{
		"ignore": {Retry: ignoreReadTimeouts{}},
		"spec":   {Speculative: query.ConstantSpeculative{Delay: 30 * time.Millisecond}},
	}
	s := tp.connect(t, cfg)
	ctx := testCtx(t)

	slow := func(d time.Duration) stmtHook {
		return func(req *testserver.Request, _ int) (testserver.Reply, bool) {
			r := req.Default()
			r.Delay = d
			return r, true
		}
	}
	closeConn := func(*testserver.Request, int) (testserver.Reply, bool) {
		return testserver.Reply{Fault: testserver.FaultClose}, true
	}
	overloaded := &frame.Error{Code: frame.CodeOverloaded, Message: "too busy"}
	syntax := &frame.Error{Code: frame.CodeSyntaxError, Message: "line 1:0 no viable alternative"}
	read := func() Query { return s.Query("SELECT v FROM ks1.t") }
	write := func() Query { return s.Query("INSERT INTO ks1.t (id, v) VALUES (1, 1)") }

	type session struct{ Requests, Failed, ClientTimeouts uint64 }
	cases := []struct {
		name    string
		hooks   [3]stmtHook
		run     func() error
		want    map[*fakeNode]attemptCounts
		session session
		settle  bool // wait for the attempts still running (a speculative loser) to end
		lost    bool // A loses a connection, which its pool replaces
	}{{
		name:    "success",
		run:     func() error { return read().Exec(ctx) },
		want:    map[*fakeNode]attemptCounts{A: {Requests: 1}},
		session: session{Requests: 1},
	}, {
		name:    "read timeout retried on the same node",
		hooks:   [3]stmtHook{firstN(1, readTimeout(2, 2, false))},
		run:     func() error { return read().Exec(ctx) },
		want:    map[*fakeNode]attemptCounts{A: {Requests: 2, Errors: NodeErrors{ReadTimeouts: 1}, Retries: RetryMetrics{Total: 1, ReadTimeout: 1}}},
		session: session{Requests: 1},
	}, {
		name:    "read timeout ignored",
		hooks:   [3]stmtHook{firstN(1, readTimeout(1, 2, false))},
		run:     func() error { return read().Profile("ignore").Exec(ctx) },
		want:    map[*fakeNode]attemptCounts{A: {Requests: 1, Errors: NodeErrors{ReadTimeouts: 1}, Ignores: RetryMetrics{Total: 1, ReadTimeout: 1}}},
		session: session{Requests: 1},
	}, {
		name:    "write timeout, not retried",
		hooks:   [3]stmtHook{firstN(1, writeTimeout(frame.WriteTypeSimple))},
		run:     func() error { return write().Exec(ctx) },
		want:    map[*fakeNode]attemptCounts{A: {Requests: 1, Errors: NodeErrors{WriteTimeouts: 1}}},
		session: session{Requests: 1, Failed: 1},
	}, {
		name:    "write timeout, idempotent: retried",
		hooks:   [3]stmtHook{firstN(1, writeTimeout(frame.WriteTypeSimple))},
		run:     func() error { return write().Idempotent(true).Exec(ctx) },
		want:    map[*fakeNode]attemptCounts{A: {Requests: 2, Errors: NodeErrors{WriteTimeouts: 1}, Retries: RetryMetrics{Total: 1, WriteTimeout: 1}}},
		session: session{Requests: 1},
	}, {
		name:  "unavailable: the next node",
		hooks: [3]stmtHook{always(unavailable())},
		run:   func() error { return write().Exec(ctx) },
		want: map[*fakeNode]attemptCounts{
			A: {Requests: 1, Errors: NodeErrors{Unavailable: 1}, Retries: RetryMetrics{Total: 1, Unavailable: 1}},
			B: {Requests: 1},
		},
		session: session{Requests: 1},
	}, {
		name:  "overloaded, idempotent: the next node",
		hooks: [3]stmtHook{always(overloaded)},
		run:   func() error { return write().Idempotent(true).Exec(ctx) },
		want: map[*fakeNode]attemptCounts{
			A: {Requests: 1, Errors: NodeErrors{Overloaded: 1}, Retries: RetryMetrics{Total: 1, Other: 1}},
			B: {Requests: 1},
		},
		session: session{Requests: 1},
	}, {
		name:    "syntax error",
		hooks:   [3]stmtHook{always(syntax)},
		run:     func() error { return read().Exec(ctx) },
		want:    map[*fakeNode]attemptCounts{A: {Requests: 1, Errors: NodeErrors{ServerErrors: 1}}},
		session: session{Requests: 1, Failed: 1},
	}, {
		name:    "the statement's timeout",
		hooks:   [3]stmtHook{slow(300 * time.Millisecond)},
		run:     func() error { return read().Timeout(50 * time.Millisecond).Exec(ctx) },
		want:    map[*fakeNode]attemptCounts{A: {Requests: 1, Errors: NodeErrors{ClientTimeouts: 1}}},
		session: session{Requests: 1, Failed: 1, ClientTimeouts: 1},
	}, {
		name:    "connection lost under a write: not retried",
		hooks:   [3]stmtHook{closeConn},
		run:     func() error { return write().Exec(ctx) },
		want:    map[*fakeNode]attemptCounts{A: {Requests: 1, Errors: NodeErrors{ConnectionErrors: 1}}},
		session: session{Requests: 1, Failed: 1},
		lost:    true,
	}, {
		name:  "connection lost under an idempotent write: the next node",
		hooks: [3]stmtHook{closeConn},
		run:   func() error { return write().Idempotent(true).Exec(ctx) },
		want: map[*fakeNode]attemptCounts{
			A: {Requests: 1, Errors: NodeErrors{ConnectionErrors: 1}, Retries: RetryMetrics{Total: 1, Aborted: 1}},
			B: {Requests: 1},
		},
		session: session{Requests: 1},
		lost:    true,
	}, {
		name:  "speculative execution: B answers, A's attempt is cancelled",
		hooks: [3]stmtHook{slow(400 * time.Millisecond)},
		run:   func() error { return read().Idempotent(true).Profile("spec").Exec(ctx) },
		want: map[*fakeNode]attemptCounts{
			A: {Requests: 1, Errors: NodeErrors{Cancelled: 1}},
			B: {Requests: 1, Speculative: 1},
		},
		session: session{Requests: 1},
		settle:  true,
	}}
	nodes := []*fakeNode{A, B, C}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, n := range nodes {
				waitPoolFull(t, s, n) // a connection closed by a case before is back
			}
			for i, n := range nodes {
				n.setHook(c.hooks[i])
				n.stmts.Store(0)
			}
			defer func() {
				for _, n := range nodes {
					n.setHook(nil)
				}
			}()
			before := s.Metrics()
			err := c.run()
			if (err != nil) != (c.session.Failed > 0) {
				t.Fatalf("error %v, want failure: %v", err, c.session.Failed > 0)
			}
			after := s.Metrics()
			if c.settle {
				waitFor(t, "the losing attempt to end", func() bool {
					after = s.Metrics()
					return after.InFlight == 0 && nodeMetrics(t, after, A).Requests > nodeMetrics(t, before, A).Requests
				})
			}
			for _, n := range nodes {
				got := minus(countsOf(nodeMetrics(t, after, n)), countsOf(nodeMetrics(t, before, n)))
				if want := c.want[n]; got != want {
					t.Errorf("node %s: counters moved by\n got %+v\nwant %+v", n.name, got, want)
				}
			}
			gotSession := session{after.Requests - before.Requests, after.Failed - before.Failed, after.ClientTimeouts - before.ClientTimeouts}
			if gotSession != c.session {
				t.Errorf("session: %+v, want %+v", gotSession, c.session)
			}
			if c.lost {
				waitFor(t, "A's reconnection to be counted", func() bool {
					return nodeMetrics(t, s.Metrics(), A).Reconnections > nodeMetrics(t, before, A).Reconnections
				})
			}
		})
	}

	// Sums and gauges once the traffic is over.
	m := s.Metrics()
	if m.ConnectedNodes != 3 || m.OpenConnections != 3*2 {
		t.Errorf("%d connected nodes, %d open connections; want 3 and 6", m.ConnectedNodes, m.OpenConnections)
	}
	var retries, spec uint64
	for _, n := range nodes {
		nm := nodeMetrics(t, m, n)
		retries += nm.Retries.Total
		spec += nm.SpeculativeExecutions
		if nm.Requests > 0 && (nm.BytesSent == 0 || nm.BytesReceived == 0) {
			t.Errorf("node %s: %d bytes sent, %d received", n.name, nm.BytesSent, nm.BytesReceived)
		}
		if nm.InFlight != 0 || nm.AvailableStreams != 2*conn.MaxStreams || !nm.Up || nm.HostID != n.hostID() || nm.Datacenter != "dc1" {
			t.Errorf("node %s: %+v", n.name, nm)
		}
		if nm.Requests != nm.Errors.Total()+successes(t, nm) {
			t.Errorf("node %s: %d requests, %d errors", n.name, nm.Requests, nm.Errors.Total())
		}
	}
	if m.Retries != retries || m.SpeculativeExecutions != spec || m.Retries == 0 || m.Reconnections < 2 {
		t.Errorf("session sums: %d retries (nodes: %d), %d speculative (nodes: %d), %d reconnections",
			m.Retries, retries, m.SpeculativeExecutions, spec, m.Reconnections)
	}
}

// successes is how many of a node's attempts succeeded, as far as the
// counters tell (Requests less Errors): never negative.
func successes(t *testing.T, n NodeMetrics) uint64 {
	t.Helper()
	if n.Errors.Total() > n.Requests {
		t.Errorf("node %s: more errors (%d) than requests (%d)", n.Addr, n.Errors.Total(), n.Requests)
		return 0
	}
	return n.Requests - n.Errors.Total()
}

// TestFakeMetricsSession: throttled statements, the prepared statement
// cache's size and evictions.
func TestFakeMetricsSession(t *testing.T) {
	tp := startTopology(t, 1)
	A := tp.node(0)
	cfg := tp.config()
	cfg.Throttle = Throttle{MaxInFlight: 1, MaxQueued: 1}
	cfg.MaxPreparedStatements = 2
	s := tp.connect(t, cfg)
	ctx := testCtx(t)

	for i := range 3 {
		if _, err := s.Prepare(ctx, fmt.Sprintf("SELECT v FROM ks1.t WHERE id = ? AND n = %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	m := s.Metrics()
	if m.PreparedStatements != 2 || m.PreparedEvictions != 1 {
		t.Errorf("prepared cache: %d statements, %d evictions; want 2 and 1", m.PreparedStatements, m.PreparedEvictions)
	}

	// One statement runs (A holds it), one waits, the third is refused.
	A.setHook(func(req *testserver.Request, _ int) (testserver.Reply, bool) {
		r := req.Default()
		r.Delay = 300 * time.Millisecond
		return r, true
	})
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range 3 {
		wg.Go(func() { errs[i] = s.Query("SELECT v FROM ks1.t").Exec(ctx) })
		if i < 2 {
			waitFor(t, "the statement to be running or queued", func() bool {
				m := s.Metrics()
				return m.ThrottleRunning+m.ThrottleQueued == i+1
			})
		}
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		if errors.Is(err, ErrThrottled) {
			refused++
		} else if err != nil {
			t.Error(err)
		}
	}
	if m := s.Metrics(); refused != 1 || m.Throttled != 1 || m.ThrottleRunning != 0 || m.ThrottleQueued != 0 {
		t.Errorf("%d refused; metrics: %d throttled, %d running, %d queued; want 1, 1, 0, 0", refused, m.Throttled, m.ThrottleRunning, m.ThrottleQueued)
	}
}

// statementLog is a StatementObserver that records what it is told.
type statementLog struct {
	query.ObserverFuncs
	mu    sync.Mutex
	stmts []*loggedStatement
}

type loggedStatement struct {
	ctx      context.Context
	st       query.Statement
	mu       sync.Mutex
	attempts []query.AttemptResult
	end      *query.StatementResult
}

func (l *statementLog) StatementStart(ctx context.Context, st *query.Statement) query.ObservedStatement {
	ls := &loggedStatement{ctx: ctx, st: *st}
	l.mu.Lock()
	l.stmts = append(l.stmts, ls)
	l.mu.Unlock()
	return ls
}

func (ls *loggedStatement) AttemptStart(query.Attempt) {}
func (ls *loggedStatement) AttemptEnd(_ query.Attempt, r query.AttemptResult) {
	ls.mu.Lock()
	ls.attempts = append(ls.attempts, r)
	ls.mu.Unlock()
}
func (ls *loggedStatement) End(r query.StatementResult) {
	ls.mu.Lock()
	ls.end = &r
	ls.mu.Unlock()
}

func (l *statementLog) take() []*loggedStatement {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.stmts
	l.stmts = nil
	return out
}

type ctxKey struct{}

// TestFakeStatementObserver: a StatementObserver is told each statement's
// start (with the caller's context) and end, and its attempts in between.
func TestFakeStatementObserver(t *testing.T) {
	tp := startTopology(t, 2)
	A, B := tp.node(0), tp.node(1)
	log := &statementLog{}
	cfg := tp.config()
	cfg.Policy = fixedOrder{A.hostID(), B.hostID()}
	cfg.Observer = log
	cfg.Keyspace = "ks1"
	cfg.Profiles = map[string]query.Profile{"spec": {Speculative: query.ConstantSpeculative{Delay: 30 * time.Millisecond}}}
	s := tp.connect(t, cfg)
	ctx := context.WithValue(testCtx(t), ctxKey{}, "caller")

	// A prepared SELECT: A answers Unavailable, B the rows.
	A.setHook(firstN(1, unavailable()))
	A.stmts.Store(0) // each connection's USE counted
	var v int32
	if err := s.Query("SELECT v FROM ks1.t WHERE id = ?", 1).PageSize(100).Consistency(frame.LocalQuorum).One(ctx, &v); err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	stmts := log.take()
	// The PREPARE (a statement of its own, under the session's context),
	// then the EXECUTE.
	if len(stmts) != 2 || stmts[0].st.Kind != query.KindPrepare || stmts[1].st.Kind != query.KindExecute {
		t.Fatalf("statements %+v, want a PREPARE and an EXECUTE", stmts)
	}
	if stmts[0].ctx.Value(ctxKey{}) != nil {
		t.Errorf("the implicit PREPARE was observed under the caller's context")
	}
	ex := stmts[1]
	if ex.ctx.Value(ctxKey{}) != "caller" {
		t.Errorf("the EXECUTE was observed without the caller's context")
	}
	// The fake nodes prepare every statement with one int bind marker of
	// testserver.answers: keyspace and table come from that metadata.
	want := query.Statement{Kind: query.KindExecute, CQL: "SELECT v FROM ks1.t WHERE id = ?", Keyspace: "testserver", Table: "answers",
		Consistency: frame.LocalQuorum, PageSize: 100, Start: ex.st.Start}
	if ex.st != want {
		t.Errorf("statement\n got %+v\nwant %+v", ex.st, want)
	}
	// Two attempts, Unavailable on A and the rows from B; three when B
	// had not yet been given the statement by the background PREPAREs
	// (prepareElsewhere) and answered Unprepared first.
	ok := len(ex.attempts) == 2 || (len(ex.attempts) == 3 && errors.Is(ex.attempts[1].Err, frame.CodeUnprepared))
	if ex.end == nil || ex.end.Err != nil || !ok || ex.end.Attempts != len(ex.attempts) || !errors.Is(ex.attempts[0].Err, frame.CodeUnavailable) ||
		ex.end.Coordinator != B.addr.String() || ex.end.CoordinatorID != B.id || ex.end.CoordinatorDC != "dc1" || ex.end.Latency <= 0 {
		t.Errorf("end %+v after attempts %+v, want success on B after Unavailable on A", ex.end, ex.attempts)
	}
	A.setHook(nil)

	// A batch, failed: its coordinator is the node of the last attempt.
	A.stmts.Store(0)
	A.setHook(always(&frame.Error{Code: frame.CodeInvalid, Message: "no"}))
	err := s.Batch(query.UnloggedBatch).AddSimple("INSERT INTO ks1.t (id, v) VALUES (1, 1)").
		AddSimple("INSERT INTO ks1.t (id, v) VALUES (2, 2)").Exec(ctx)
	if !errors.Is(err, frame.CodeInvalid) {
		t.Fatalf("batch: %v, want Invalid", err)
	}
	stmts = log.take()
	if len(stmts) != 1 || stmts[0].st.Kind != query.KindBatch || stmts[0].st.BatchSize != 2 || stmts[0].st.Keyspace != "ks1" ||
		stmts[0].end == nil || !errors.Is(stmts[0].end.Err, frame.CodeInvalid) || stmts[0].end.Coordinator != A.addr.String() {
		t.Errorf("batch observed as %+v", stmts)
	}
	A.setHook(nil)

	// A speculative execution.
	A.setHook(func(req *testserver.Request, _ int) (testserver.Reply, bool) {
		r := req.Default()
		r.Delay = 300 * time.Millisecond
		return r, true
	})
	if err := s.Query("SELECT v FROM ks1.t").Idempotent(true).Profile("spec").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	stmts = log.take()
	if len(stmts) != 1 || !stmts[0].st.Idempotent || stmts[0].st.Kind != query.KindQuery || stmts[0].st.PageSize != query.DefaultPageSize {
		t.Fatalf("statements %+v", stmts)
	}
	if e := stmts[0].end; e == nil || e.SpeculativeExecutions != 1 || e.Attempts != 2 || e.Coordinator != B.addr.String() {
		t.Errorf("speculative statement ended %+v, want 1 speculative execution, answered by B", e)
	}
}
