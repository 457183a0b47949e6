package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/query"
)

// HostError is why one node could not run a statement.
type HostError struct {
	Addr string
	Err  error
}

// NoHostAvailableError is returned when every node of a statement's query
// plan was tried (or was down) without an answer the retry policy
// accepted. Errors holds each node's reason, in the order tried.
type NoHostAvailableError struct {
	Errors []HostError
}

func (e *NoHostAvailableError) Error() string {
	if len(e.Errors) == 0 {
		return "cluster: no host available: no node is up (every node's connections are down, or the policy's plan is empty)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cluster: no host available: tried %d node(s)", len(e.Errors))
	for _, he := range e.Errors {
		fmt.Fprintf(&b, "; %s: %v", he.Addr, he.Err)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNoHostAvailable) true.
func (e *NoHostAvailableError) Is(target error) bool { return target == ErrNoHostAvailable }

// Unwrap returns each node's error, so that errors.As finds a server error
// or a connection error among them.
func (e *NoHostAvailableError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, he := range e.Errors {
		errs[i] = he.Err
	}
	return errs
}

// outcome is a statement's answer before it becomes a Result (One and Exec
// never build one).
type outcome struct {
	env         *frame.Envelope
	cols        []frame.ColumnSpec
	coordinator string
	conn        *conn.Conn // the connection that answered
	attempts    int
}

// execRequest is a statement encoded and ready for the attempt loop.
type execRequest struct {
	msg         frame.Message
	routing     pool.RoutingInfo
	idempotent  bool
	batch       bool
	profile     *query.Profile
	consistency frame.Consistency
	cql         string
	payload     map[string][]byte
	trace       bool
	timeout     time.Duration
	entry       *preparedEntry // the prepared statement of an EXECUTE
}

// stmtBuffers are the per-statement buffers, pooled so that a statement
// encodes its values without allocating.
type stmtBuffers struct {
	buf  []byte
	vals []frame.Value
	rk   []byte
	exec frame.Execute
	qry  frame.Query
	req  execRequest
}

var stmtPool = sync.Pool{New: func() any { return new(stmtBuffers) }}

const stmtBufRetain = 64 << 10

func putStmt(b *stmtBuffers) {
	if cap(b.buf) > stmtBufRetain {
		b.buf = nil
	}
	clear(b.vals[:cap(b.vals)])
	b.vals = b.vals[:0]
	b.exec, b.qry, b.req = frame.Execute{}, frame.Query{}, execRequest{}
	stmtPool.Put(b)
}

// runQuery runs one page of q.
func (s *Session) runQuery(ctx context.Context, q *Query, pagingState []byte, out *outcome) error {
	if q.s == nil {
		return errors.New("cluster: Query used without a Session (use Session.Query)")
	}
	if q.err != nil {
		return q.err
	}
	if s.isClosed() {
		return ErrSessionClosed
	}
	prof := s.profile
	if q.profile != "" {
		prof = s.profiles[q.profile]
	}
	cons := prof.Consistency
	if q.hasConsistency {
		cons = q.consistency
	}
	serial := prof.SerialConsistency
	if q.serial != 0 {
		serial = q.serial
	}
	pageSize := prof.PageSize
	if q.hasPageSize {
		pageSize = q.pageSize
	}
	if pageSize < 0 {
		pageSize = 0
	}
	ts := q.timestamp
	if !q.hasTimestamp {
		ts = s.stamps.Next()
	}
	params := frame.QueryParams{
		Consistency:       cons,
		PageSize:          int32(min(pageSize, 1<<31-1)),
		PagingState:       pagingState,
		SerialConsistency: serial,
		DefaultTimestamp:  ts,
		NowInSeconds:      q.nowInSeconds,
	}

	b := stmtPool.Get().(*stmtBuffers)
	pooled := true
	defer func() {
		if pooled {
			putStmt(b)
		}
	}()
	r := &b.req
	*r = execRequest{idempotent: q.idempotent, profile: prof, consistency: cons, cql: q.cql,
		payload: q.payload, trace: q.trace, timeout: q.timeout}

	var err error
	var e *preparedEntry
	if q.prep != nil || (len(q.values) > 0 && !q.simple) {
		if e = q.prep; e == nil {
			if e, err = s.prepare(ctx, s.cfg.Keyspace, q.keyspace, q.cql); err != nil {
				return err
			}
		}
		if b.buf, b.vals, err = query.Bind(b.buf[:0], b.vals[:0], e.params.Columns, q.values); err != nil {
			return fmt.Errorf("cluster: binding the values of %q: %w", abbreviate(q.cql), err)
		}
		rm := e.result.Load()
		params.Values = b.vals
		// Rows without metadata are safe when the server tells of changes
		// to the result columns: v5, whose prepared results carry an id.
		params.SkipMetadata = rm.id != nil && len(rm.cols) > 0
		b.exec = frame.Execute{ID: e.id, ResultMetadataID: rm.id, Params: params}
		r.msg = &b.exec
		r.entry = e
		r.routing.Keyspace = e.routingKeyspace
		if len(e.params.PKIndexes) > 0 {
			if rk, err := pool.AppendPreparedRoutingKey(b.rk[:0], e.params.PKIndexes, b.vals); err == nil {
				b.rk = rk
				r.routing.RoutingKey = rk
			}
		}
	} else {
		if isUse(q.cql) {
			return errors.New("cluster: USE statements would change one connection's keyspace only: set Config.Keyspace, qualify table names, or use Query.Keyspace (v5)")
		}
		var names []string
		if b.buf, b.vals, names, err = query.BindSimple(b.buf[:0], b.vals[:0], q.values); err != nil {
			return fmt.Errorf("cluster: binding the values of %q: %w", abbreviate(q.cql), err)
		}
		if len(q.values) > 0 {
			params.Values, params.Names = b.vals, names
		}
		params.Keyspace = q.keyspace
		b.qry = frame.Query{Query: q.cql, Params: params}
		r.msg = &b.qry
		r.routing.Keyspace = q.keyspace
		if r.routing.Keyspace == "" {
			r.routing.Keyspace = s.cfg.Keyspace
		}
		r.routing.RoutingKey = q.routingKey
	}

	speculative, err := s.execute(ctx, r, out)
	if speculative {
		// Executions that lost the race may still be encoding the request
		// from these buffers: leave them to the garbage collector.
		pooled = false
	}
	if err != nil {
		return err
	}
	return s.finishResult(ctx, out, e)
}

// finishResult resolves the columns of a result (with skip-metadata they
// come from the prepared statement), keeps the prepared statement's result
// metadata current, and waits for schema agreement after a schema change.
func (s *Session) finishResult(ctx context.Context, out *outcome, e *preparedEntry) error {
	switch m := out.env.Message.(type) {
	case *frame.Rows:
		md := &m.Metadata
		switch {
		case e != nil && md.NewMetadataID != nil:
			// v5: the result columns changed since the statement was
			// prepared (ALTER TABLE under SELECT *): keep the new ones.
			e.result.Store(&resultMeta{id: md.NewMetadataID, cols: md.Columns})
			out.cols = md.Columns
		case md.Flags&frame.MetaNoMetadata != 0 && e != nil:
			out.cols = e.result.Load().cols
		default:
			out.cols = md.Columns
		}
		if len(out.cols) != md.ColumnCount && m.RowCount > 0 {
			return fmt.Errorf("cluster: the result has %d columns but the statement's metadata describes %d", md.ColumnCount, len(out.cols))
		}
	case *frame.SchemaChangeResult:
		s.afterSchemaChange(ctx, out)
	}
	return nil
}

// afterSchemaChange waits until every node has the new schema, so that the
// next statement (often on another node) sees it, and refreshes the
// metadata. A node that does not agree in time is reported as a warning of
// the statement, not an error: the change itself succeeded.
func (s *Session) afterSchemaChange(ctx context.Context, out *outcome) {
	if s.agreement < 0 {
		return
	}
	actx, cancel := context.WithTimeout(ctx, s.agreement)
	defer cancel()
	var version [16]byte
	if out.conn != nil {
		// The coordinator's new schema version: the one to agree on.
		env, err := out.conn.Do(actx, conn.Request{Message: &frame.Query{Query: "SELECT schema_version FROM system.local",
			Params: frame.QueryParams{Consistency: frame.One}}})
		if err == nil {
			if rows, ok := env.Message.(*frame.Rows); ok && rows.RowCount == 1 {
				for _, cells := range rows.All() {
					if len(cells) == 1 && len(cells[0]) == 16 {
						copy(version[:], cells[0])
					}
				}
			}
		}
	}
	if err := s.watcher.WaitSchemaVersion(actx, version); err != nil {
		msg := fmt.Sprintf("schema agreement not reached within %v: %v", s.agreement, err)
		s.log.Warn(msg)
		out.env.Warnings = append(out.env.Warnings, msg)
		return
	}
	if err := s.watcher.Refresh(actx); err != nil {
		s.log.Warn("refreshing the schema metadata after a schema change", "err", err)
	}
}

func isUse(cql string) bool {
	t := strings.TrimLeft(cql, " \t\r\n")
	return len(t) > 4 && strings.EqualFold(t[:3], "use") && (t[3] == ' ' || t[3] == '\t' || t[3] == '\n' || t[3] == '"')
}

// abbreviate shortens a statement for an error message.
func abbreviate(cql string) string {
	if len(cql) <= 80 {
		return cql
	}
	return cql[:77] + "..."
}

// prepare returns the prepared statement of cql from the cache, preparing
// it on some node if needed. connKeyspace is the connections' keyspace,
// queryKeyspace a per-query keyspace (v5).
func (s *Session) prepare(ctx context.Context, connKeyspace, queryKeyspace, cql string) (*preparedEntry, error) {
	if s.isClosed() {
		return nil, ErrSessionClosed // even for a statement in the cache
	}
	key := preparedKey{keyspace: connKeyspace, cql: cql}
	if queryKeyspace != "" {
		key.keyspace = queryKeyspace
	}
	return s.prepared.get(ctx, key, func(e *preparedEntry) error {
		msg := &frame.Prepare{Query: cql, Keyspace: queryKeyspace}
		r := execRequest{msg: msg, idempotent: true, profile: s.profile, cql: cql,
			routing: pool.RoutingInfo{Keyspace: key.keyspace}}
		var out outcome
		if _, err := s.execute(ctx, &r, &out); err != nil {
			return fmt.Errorf("cluster: preparing %q: %w", abbreviate(cql), err)
		}
		p, ok := out.env.Message.(*frame.Prepared)
		if !ok {
			return fmt.Errorf("cluster: preparing %q: the server answered %s", abbreviate(cql), out.env.Message.Opcode())
		}
		e.prepKeyspace = queryKeyspace
		e.fill(p)
		s.prepareElsewhere(msg, out.coordinator)
		return nil
	})
}

// prepareElsewhere prepares a statement, in the background, on every node
// but the one that already did: otherwise each node's first execution of
// it costs an Unprepared answer and a second round trip. Failures are
// harmless (the Unprepared path remains) and only logged.
func (s *Session) prepareElsewhere(msg *frame.Prepare, done string) {
	rt := s.routing.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for _, p := range rt.pools {
		c, err := p.Pick()
		if err != nil || c.Addr() == done {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(s.closeCtx, DefaultConnectTimeout)
			defer cancel()
			if _, err := c.Do(ctx, conn.Request{Message: msg}); err != nil {
				s.log.Debug("preparing on another node", "addr", c.Addr(), "err", err)
			}
		}()
	}
}

// reprepare prepares e again on the connection that reported it unknown.
func (s *Session) reprepare(ctx context.Context, c *conn.Conn, e *preparedEntry, timeout time.Duration) error {
	env, err := c.Do(ctx, conn.Request{Message: &frame.Prepare{Query: e.key.cql, Keyspace: e.prepKeyspace}, Timeout: timeout})
	if err != nil {
		return err
	}
	p, ok := env.Message.(*frame.Prepared)
	if !ok {
		return fmt.Errorf("re-preparing: the server answered %s", env.Message.Opcode())
	}
	if string(p.ID) != string(e.id) {
		return fmt.Errorf("re-preparing %q gave another statement id", abbreviate(e.key.cql))
	}
	if p.ResultMetadataID != nil {
		e.result.Store(&resultMeta{id: p.ResultMetadataID, cols: p.Result.Columns})
	}
	return nil
}

// execute runs r on the nodes of its query plan until one answers as the
// retry policy accepts. speculative reports that speculative executions
// were started (and may still read r).
func (s *Session) execute(ctx context.Context, r *execRequest, out *outcome) (speculative bool, err error) {
	timeout := r.timeout
	if timeout == 0 {
		timeout = r.profile.RequestTimeout
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	rt := s.currentRouting()
	if rt.view == nil {
		// Close replaced the routing with an empty one (no view, no
		// pools): a policy must not be asked to plan over a nil view.
		return false, ErrSessionClosed
	}
	plan := s.policy.Plan(r.routing, rt.view)
	if r.idempotent && r.profile.Speculative != nil {
		return true, s.executeSpeculative(ctx, r, rt, plan, deadline, out)
	}
	var attempts atomic.Int32
	err = s.attemptLoop(ctx, r, rt, plan.Next, deadline, &attempts, false, out)
	if pr, ok := plan.(pool.PlanReleaser); ok {
		pr.Release()
	}
	return false, err
}

// attemptLoop is one execution of a statement: it tries the hosts next
// gives, as the retry policy decides.
func (s *Session) attemptLoop(ctx context.Context, r *execRequest, rt *routing, next func() *pool.Host,
	deadline time.Time, attempts *atomic.Int32, speculative bool, out *outcome) error {
	var errs []HostError
	msg := r.msg
	cons := r.consistency
	retries := 0
	host := next()
	var c *conn.Conn
	reprepared := false
	for {
		if c == nil {
			if host == nil {
				if len(errs) == 0 && s.isClosed() {
					return ErrSessionClosed
				}
				return &NoHostAvailableError{Errors: errs}
			}
			p := rt.pools[host.ID]
			if p == nil {
				errs = append(errs, HostError{Addr: rt.addrOf(host), Err: errors.New("no connection pool yet (its first connection is being dialled)")})
				host = next()
				continue
			}
			var err error
			if c, err = p.Pick(); err != nil {
				errs = append(errs, HostError{Addr: p.Addr(), Err: err})
				host = next()
				continue
			}
		}
		var remaining time.Duration
		if !deadline.IsZero() {
			if remaining = time.Until(deadline); remaining <= 0 {
				return s.timeoutErr(r, errs)
			}
		}
		n := int(attempts.Add(1))
		var a query.Attempt
		if s.observer != nil {
			a = query.Attempt{Statement: r.cql, Keyspace: r.routing.Keyspace, Host: c.Addr(), Attempt: n,
				Speculative: speculative, Start: time.Now()}
			s.observer.AttemptStart(a)
		}
		env, err := c.Do(ctx, conn.Request{Message: msg, CustomPayload: r.payload, Tracing: r.trace, Timeout: remaining})
		if err == nil {
			if s.observer != nil {
				s.observer.AttemptEnd(a, query.AttemptResult{Latency: time.Since(a.Start), Retry: query.Rethrow})
			}
			out.env, out.coordinator, out.conn, out.attempts = env, c.Addr(), c, n
			return nil
		}
		var unprepared *frame.Unprepared
		if !reprepared && errors.As(err, &unprepared) {
			// The node does not know the statement (it restarted, or never
			// saw it): prepare it there and run it again, once.
			e := r.entry
			if e == nil || string(e.id) != string(unprepared.ID) {
				e = s.prepared.byStatementID(unprepared.ID)
			}
			if e != nil {
				perr := s.reprepare(ctx, c, e, remaining)
				if s.observer != nil {
					s.observer.AttemptEnd(a, query.AttemptResult{Latency: time.Since(a.Start), Err: err, Retry: query.RetrySameHost})
				}
				if perr == nil {
					reprepared = true
					if ex, ok := msg.(*frame.Execute); ok && ex.ResultMetadataID != nil {
						// The answer will carry the current columns.
						cp := *ex
						cp.ResultMetadataID = e.result.Load().id
						msg = &cp
					}
					continue
				}
				err = fmt.Errorf("%w (re-preparing failed: %v)", err, perr)
			}
		}
		if ctx.Err() != nil {
			if s.observer != nil {
				s.observer.AttemptEnd(a, query.AttemptResult{Latency: time.Since(a.Start), Err: err, Retry: query.Rethrow})
			}
			return err
		}
		d := r.profile.Retry.Decide(query.RetryInfo{Err: err, Retries: retries, Idempotent: r.idempotent,
			Consistency: cons, Batch: r.batch})
		if d.Action != query.Rethrow && d.Action != query.Ignore && !deadline.IsZero() && !time.Now().Before(deadline) {
			d.Action = query.Rethrow
		}
		if s.observer != nil {
			s.observer.AttemptEnd(a, query.AttemptResult{Latency: time.Since(a.Start), Err: err, Retry: d.Action})
		}
		switch d.Action {
		case query.RetrySameHost:
			retries++
		case query.RetryNextHost:
			retries++
			errs = append(errs, HostError{Addr: c.Addr(), Err: err})
			c = nil
			host = next()
		case query.Ignore:
			out.env, out.coordinator, out.attempts = &frame.Envelope{Message: &frame.Void{}}, c.Addr(), n
			return nil
		default:
			if len(errs) > 0 && isConnErr(err) {
				errs = append(errs, HostError{Addr: c.Addr(), Err: err})
				return &NoHostAvailableError{Errors: errs}
			}
			return err
		}
		if d.Consistency != 0 && d.Consistency != cons {
			cons = d.Consistency
			msg = withConsistency(msg, cons)
		}
	}
}

func isConnErr(err error) bool {
	var ce *conn.Error
	return errors.As(err, &ce)
}

func (s *Session) timeoutErr(r *execRequest, errs []HostError) error {
	timeout := r.timeout
	if timeout == 0 {
		timeout = r.profile.RequestTimeout
	}
	err := fmt.Errorf("cluster: no answer within the statement's timeout of %v: %w", timeout, context.DeadlineExceeded)
	if len(errs) > 0 {
		return fmt.Errorf("%w (after: %w)", err, &NoHostAvailableError{Errors: errs})
	}
	return err
}

// withConsistency returns a copy of msg at consistency c.
func withConsistency(msg frame.Message, c frame.Consistency) frame.Message {
	switch m := msg.(type) {
	case *frame.Execute:
		cp := *m
		cp.Params.Consistency = c
		return &cp
	case *frame.Query:
		cp := *m
		cp.Params.Consistency = c
		return &cp
	case *frame.Batch:
		cp := *m
		cp.Consistency = c
		return &cp
	}
	return msg
}

type specResult struct {
	out outcome
	err error
}

// executeSpeculative runs an idempotent statement with speculative
// executions: when the running ones have not answered after the policy's
// delay, another starts on the next node of the same plan. The first
// answer wins and the others are cancelled.
func (s *Session) executeSpeculative(ctx context.Context, r *execRequest, rt *routing, plan pool.QueryPlan,
	deadline time.Time, out *outcome) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	next := func() *pool.Host {
		mu.Lock()
		defer mu.Unlock()
		return plan.Next()
	}
	var attempts atomic.Int32
	results := make(chan specResult, 8)
	launch := func(speculative bool) {
		go func() {
			var res specResult
			res.err = s.attemptLoop(ctx, r, rt, next, deadline, &attempts, speculative, &res.out)
			results <- res
		}()
	}
	launch(false)
	started, running := 1, 1
	spec := r.profile.Speculative
	delay, more := spec.NextDelay(started)
	var lastErr error
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var fire <-chan time.Time
		if more && started < cap(results) {
			if timer == nil {
				timer = time.NewTimer(delay)
			} else {
				timer.Reset(delay)
			}
			fire = timer.C
		}
		select {
		case res := <-results:
			running--
			if res.err == nil {
				*out = res.out
				out.attempts = int(attempts.Load())
				return nil
			}
			lastErr = res.err
			if running == 0 {
				return lastErr
			}
		case <-fire:
			launch(true)
			started++
			running++
			delay, more = spec.NextDelay(started)
		}
	}
}
