package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	entry       *preparedEntry   // the prepared statement of an EXECUTE
	entries     []*preparedEntry // the distinct prepared statements of a BATCH

	// timeout is the statement's own (Query.Timeout), then, once the clock
	// is started, the one in force: its own or its profile's RequestTimeout
	// (negative: none). deadline is when it ends (zero: never). One
	// deadline bounds everything the statement does: waiting for its
	// implicit PREPARE, every attempt, retry and speculative execution.
	timeout  time.Duration
	deadline time.Time
	clocked  bool
}

// startClock fixes the statement's timeout and deadline, once.
func (r *execRequest) startClock() {
	if r.clocked {
		return
	}
	r.clocked = true
	if r.timeout == 0 {
		r.timeout = r.profile.RequestTimeout
	}
	if r.timeout > 0 {
		r.deadline = time.Now().Add(r.timeout)
	}
}

// remaining is the time left before the statement's deadline: zero when it
// has none, ok false when it has passed.
func (r *execRequest) remaining() (d time.Duration, ok bool) {
	if r.deadline.IsZero() {
		return 0, true
	}
	d = time.Until(r.deadline)
	return d, d > 0
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
	r.startClock()
	if err := s.admit(ctx, r); err != nil {
		return err
	}
	defer s.dismiss()

	var err error
	var e *preparedEntry
	if q.prep != nil || (len(q.values) > 0 && !q.simple) {
		if e = q.prep; e == nil {
			if e, err = s.prepare(ctx, s.cfg.Keyspace, q.keyspace, q.cql, r); err != nil {
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
		r.routing.PrimaryFirst = primaryFirst(e.conditional, cons)
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
		r.routing.PrimaryFirst = q.routingKey != nil && primaryFirst(isConditional(q.cql), cons)
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
