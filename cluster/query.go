package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

// Query is one CQL statement with its values and options, ready to run.
// It is a value: each option method returns a modified copy and leaves the
// receiver as it was, so a Query can serve as a template shared by
// goroutines. Run it with Exec, One, Rows, Iter, Run, ScanCAS or MapCAS.
//
// A statement with values is prepared (once, through the session's cache)
// and executed, so that every value is encoded with its column's exact
// type and the request goes to a replica of its partition; Simple sends
// it as one QUERY instead, inferring each value's type from its Go type.
type Query struct {
	s      *Session
	cql    string
	values []any
	prep   *preparedEntry
	err    error

	simple         bool
	profile        string
	consistency    frame.Consistency
	hasConsistency bool
	serial         frame.Consistency
	pageSize       int
	hasPageSize    bool
	pagingState    []byte
	idempotent     bool
	timestamp      int64
	hasTimestamp   bool
	keyspace       string
	payload        map[string][]byte
	trace          bool
	routingKey     []byte
	timeout        time.Duration
	prefetch       bool
	nowInSeconds   int32
}

// Query returns a statement: cql with its values, positional for ?
// markers or all query.Named for :name markers (query.Unset leaves a
// column unchanged, nil writes null).
func (s *Session) Query(cql string, values ...any) Query {
	return Query{s: s, cql: cql, values: values}
}

// Simple makes the statement a plain QUERY, not prepared: each value's CQL
// type is inferred from its Go type (see query.InferType; query.Typed fixes
// it), and no routing key is known unless RoutingKey gives one. For
// statements run once, e.g. DDL with literal values.
func (q Query) Simple() Query { q.simple = true; return q }

// Profile selects a named execution profile of Config.Profiles.
func (q Query) Profile(name string) Query {
	q.profile = name
	if _, ok := q.s.profiles[name]; !ok && q.err == nil {
		q.err = fmt.Errorf("cluster: no execution profile %q in Config.Profiles", name)
	}
	return q
}

// Consistency sets the consistency level, overriding the profile's.
func (q Query) Consistency(c frame.Consistency) Query {
	q.consistency, q.hasConsistency = c, true
	return q
}

// SerialConsistency sets the consistency of the Paxos phase of a
// conditional statement: frame.Serial or frame.LocalSerial.
func (q Query) SerialConsistency(c frame.Consistency) Query { q.serial = c; return q }

// PageSize sets the number of rows per page; zero or negative disables
// paging (every row in one result: use with care).
func (q Query) PageSize(n int) Query { q.pageSize, q.hasPageSize = n, true; return q }

// PagingState continues a query where a previous page ended
// (Result.PagingState): manual paging, e.g. across HTTP requests.
func (q Query) PagingState(state []byte) Query { q.pagingState = state; return q }

// Idempotent declares that running the statement twice has the same effect
// as once, which allows retrying it after a timeout or a lost connection
// and speculative executions. Statements are not idempotent unless
// declared.
func (q Query) Idempotent(yes bool) Query { q.idempotent = yes; return q }

// Timestamp sets the write timestamp (microseconds since the epoch) instead
// of the session's generator.
func (q Query) Timestamp(micros int64) Query { q.timestamp, q.hasTimestamp = micros, true; return q }

// Keyspace runs the statement in keyspace instead of the session's
// (protocol v5 only).
func (q Query) Keyspace(keyspace string) Query { q.keyspace = keyspace; return q }

// CustomPayload sends a custom payload with the request (custom query
// handlers, DSE proxy execution: see auth.ProxyExecute).
func (q Query) CustomPayload(p map[string][]byte) Query { q.payload = p; return q }

// Trace asks the server to trace the statement; Result.TraceID names the
// trace, which Session.Trace reads.
func (q Query) Trace(yes bool) Query { q.trace = yes; return q }

// RoutingKey gives the partition's routing key (see pool.AppendRoutingKey)
// for a Simple statement, so that it goes to a replica. Prepared
// statements compute it themselves.
func (q Query) RoutingKey(key []byte) Query { q.routingKey = key; return q }

// Timeout bounds the statement, all attempts together, instead of the
// profile's RequestTimeout.
func (q Query) Timeout(d time.Duration) Query { q.timeout = d; return q }

// Prefetch makes Rows and Iter request the next page as soon as a page
// starts being read, so that the next one is usually there when needed.
func (q Query) Prefetch(yes bool) Query { q.prefetch = yes; return q }

// NowInSeconds (protocol v5) runs the statement as if the server's clock
// said now; for testing TTLs.
func (q Query) NowInSeconds(now int32) Query { q.nowInSeconds = now; return q }

// CQL returns the statement's text.
func (q Query) CQL() string { return q.cql }

// Exec runs the statement and discards any rows.
func (q Query) Exec(ctx context.Context) error {
	var out outcome
	return q.s.runQuery(ctx, &q, q.pagingState, &out)
}

// Run runs the statement and returns its result: one page of rows (see
// Result.PagingState), warnings, trace id, schema change. A page may have
// no rows and still a next one. A page answered with the paging state it
// was requested with fails with ErrPagingLoop: continuing from it would
// ask for the same page forever.
func (q Query) Run(ctx context.Context) (*Result, error) {
	var out outcome
	if err := q.s.runQuery(ctx, &q, q.pagingState, &out); err != nil {
		return nil, err
	}
	if rows, ok := out.env.Message.(*frame.Rows); ok {
		p := newPager(&q)
		if _, err := p.advance(rows); err != nil {
			return nil, err
		}
	}
	return out.result(), nil
}

// One runs the statement and scans its first row into dest (see
// query.Row.Scan). It returns ErrNotFound when there is no row. Pages
// without rows are skipped: a server may send some before the first row
// (e.g. a filtered scan, ALLOW FILTERING, finding nothing in a page's worth
// of data).
func (q Query) One(ctx context.Context, dest ...any) error {
	p := newPager(&q)
	for {
		var out outcome
		if err := q.s.runQuery(ctx, &q, p.state, &out); err != nil {
			return err
		}
		rows, ok := out.env.Message.(*frame.Rows)
		if !ok {
			return ErrNotFound
		}
		if rows.RowCount > 0 {
			return scanFirst(rows, out.cols, dest)
		}
		more, err := p.advance(rows)
		if err != nil {
			return err
		}
		if !more {
			return ErrNotFound
		}
	}
}

func scanFirst(rows *frame.Rows, cols []frame.ColumnSpec, dest []any) error {
	sc := scratchPool.Get().(*scratch)
	it := rows.Iter()
	sc.cells, _ = it.Next(sc.cells[:0])
	sc.row.Set(cols, sc.cells)
	err := sc.row.Scan(dest...)
	clear(sc.cells)
	sc.row.Set(nil, nil)
	scratchPool.Put(sc)
	return err
}

// scratch is the row One scans, pooled: a local one would escape.
type scratch struct {
	cells [][]byte
	row   query.Row
}

var scratchPool = sync.Pool{New: func() any { return &scratch{cells: make([][]byte, 0, 16)} }}

// ScanCAS runs a conditional statement (IF NOT EXISTS, IF col = ...) and
// reports whether it was applied. When it was not, the existing values are
// scanned into dest: the columns of the result after [applied], in order.
// dest may be empty to ignore them.
func (q Query) ScanCAS(ctx context.Context, dest ...any) (applied bool, err error) {
	var out outcome
	if err := q.s.runQuery(ctx, &q, q.pagingState, &out); err != nil {
		return false, err
	}
	return scanCAS(&out, dest, nil)
}

// MapCAS is ScanCAS with the existing values put into m by column name.
func (q Query) MapCAS(ctx context.Context, m map[string]any) (applied bool, err error) {
	var out outcome
	if err := q.s.runQuery(ctx, &q, q.pagingState, &out); err != nil {
		return false, err
	}
	return scanCAS(&out, nil, m)
}

func scanCAS(out *outcome, dest []any, m map[string]any) (bool, error) {
	rows, ok := out.env.Message.(*frame.Rows)
	if !ok || rows.RowCount == 0 || len(out.cols) == 0 || out.cols[0].Name != "[applied]" {
		return false, errors.New("cluster: the statement is not conditional: its result has no [applied] column")
	}
	it := rows.Iter()
	cells, _ := it.Next(make([][]byte, 0, len(out.cols)))
	var applied bool
	var row query.Row
	row.Set(out.cols[:1], cells[:1])
	if err := row.Scan(&applied); err != nil {
		return false, err
	}
	if len(cells) > 1 {
		row.Set(out.cols[1:], cells[1:])
		if m != nil {
			if err := row.MapInto(m); err != nil {
				return applied, err
			}
		} else if len(dest) > 0 && !applied {
			if err := row.Scan(dest...); err != nil {
				return applied, err
			}
		}
	}
	return applied, nil
}

// Rows runs the statement and yields its rows, fetching the following
// pages as the loop reaches them. The *query.Row is reused: it is valid
// until the loop moves on (values scanned from it stay valid). An error
// is yielded once, as the last element.
//
//	for row, err := range s.Query("SELECT id, name FROM users").Rows(ctx) {
//		if err != nil { return err }
//		var id int; var name string
//		if err := row.Scan(&id, &name); err != nil { return err }
//	}
func (q Query) Rows(ctx context.Context) iter.Seq2[*query.Row, error] {
	return q.Iter(ctx).All()
}

// Iter runs the statement page by page as Iter.All is ranged over, and
// keeps what the pages said besides their rows (warnings, columns).
func (q Query) Iter(ctx context.Context) *Iter {
	return &Iter{q: q, ctx: ctx}
}

// Iter is the automatic paging of one statement; see Query.Iter.
type Iter struct {
	q        Query
	ctx      context.Context
	warnings []string
	cols     []frame.ColumnSpec
	pages    int
	used     bool
}

// Warnings returns the server's warnings of every page read so far.
func (it *Iter) Warnings() []string { return it.warnings }

// Columns returns the result columns (known once the first page arrived).
func (it *Iter) Columns() []frame.ColumnSpec { return it.cols }

// Pages returns the number of pages fetched so far.
func (it *Iter) Pages() int { return it.pages }

type pageResult struct {
	out outcome
	err error
}

// All yields every row of every page; see Query.Rows. It can be ranged
// over once.
func (it *Iter) All() iter.Seq2[*query.Row, error] {
	return func(yield func(*query.Row, error) bool) {
		if it.used {
			yield(nil, errors.New("cluster: Iter.All ranged over twice: run the query again"))
			return
		}
		it.used = true
		q := &it.q
		p := newPager(q)
		var pending chan pageResult
		fetch := func(state []byte) chan pageResult {
			ch := make(chan pageResult, 1)
			go func() {
				var r pageResult
				r.err = q.s.runQuery(it.ctx, q, state, &r.out)
				ch <- r
			}()
			return ch
		}
		var row query.Row
		var cells [][]byte
		for {
			var out outcome
			if pending != nil {
				r := <-pending
				pending = nil
				if r.err != nil {
					yield(nil, r.err)
					return
				}
				out = r.out
			} else if err := q.s.runQuery(it.ctx, q, p.state, &out); err != nil {
				yield(nil, err)
				return
			}
			it.pages++
			it.warnings = append(it.warnings, out.env.Warnings...)
			it.cols = out.cols
			rows, ok := out.env.Message.(*frame.Rows)
			if !ok {
				return
			}
			// A paging loop is reported after this page's rows: they are
			// new, only the next page would repeat.
			more, loopErr := p.advance(rows)
			if more && q.prefetch {
				pending = fetch(p.state)
			}
			ri := rows.Iter()
			for {
				var ok bool
				cells, ok = ri.Next(cells[:0])
				if !ok {
					break
				}
				row.Set(out.cols, cells)
				if !yield(&row, nil) {
					if pending != nil {
						// Let the prefetch finish on its own; its result is dropped.
						go func(ch chan pageResult) { <-ch }(pending)
					}
					return
				}
			}
			if err := ri.Err(); err != nil {
				yield(nil, err)
				return
			}
			if loopErr != nil {
				yield(nil, loopErr)
				return
			}
			if !more {
				return
			}
		}
	}
}

// Result is the answer to one statement: for a SELECT, one page of rows.
type Result struct {
	// Columns describe the rows' columns.
	Columns []frame.ColumnSpec
	// PagingState continues the query on the next page (Query.PagingState);
	// nil on the last page. A page without rows may have a next page.
	PagingState []byte
	// Warnings are the server's warnings about the statement (e.g. a large
	// batch, tombstones).
	Warnings []string
	// TraceID names the trace of a traced statement (see Session.Trace);
	// Traced says whether there is one.
	Traced  bool
	TraceID [16]byte
	// CustomPayload is the payload the server sent back, if any.
	CustomPayload map[string][]byte
	// Coordinator is the address of the node that answered; Attempts is
	// how many attempts the statement took (retries and speculative
	// executions included).
	Coordinator string
	Attempts    int
	// SchemaChange is set for a statement that changed the schema.
	SchemaChange *frame.SchemaChangeResult
	// Keyspace is set by a USE statement's answer.
	Keyspace string

	rows *frame.Rows
}

// RowCount returns the number of rows of this page.
func (r *Result) RowCount() int {
	if r.rows == nil {
		return 0
	}
	return r.rows.RowCount
}

// Rows yields the rows of this page (the *query.Row is reused, as in
// Query.Rows).
func (r *Result) Rows() iter.Seq[*query.Row] {
	return func(yield func(*query.Row) bool) {
		if r.rows == nil {
			return
		}
		var row query.Row
		it := r.rows.Iter()
		cells := make([][]byte, 0, len(r.Columns))
		for {
			var ok bool
			if cells, ok = it.Next(cells[:0]); !ok {
				return
			}
			row.Set(r.Columns, cells)
			if !yield(&row) {
				return
			}
		}
	}
}

func (o *outcome) result() *Result {
	r := &Result{
		Columns:       o.cols,
		Warnings:      o.env.Warnings,
		Traced:        o.env.Tracing,
		TraceID:       o.env.TracingID,
		CustomPayload: o.env.CustomPayload,
		Coordinator:   o.coordinator,
		Attempts:      o.attempts,
	}
	switch m := o.env.Message.(type) {
	case *frame.Rows:
		r.rows = m
		r.PagingState = nextPagingState(m)
	case *frame.SchemaChangeResult:
		r.SchemaChange = m
	case *frame.SetKeyspace:
		r.Keyspace = m.Keyspace
	}
	return r
}

// ErrPagingLoop is wrapped by the error of a paged statement whose server
// answered a page with a paging state it had been sent already: asking for
// the next page would repeat the same pages forever.
var ErrPagingLoop = errors.New("the server's paging does not progress")

// nextPagingState is the paging state that continues after rows, nil when
// rows is the last page. A server that flags more pages but gives no state
// leaves nothing to continue from: that is the last page too.
func nextPagingState(rows *frame.Rows) []byte {
	if rows.Metadata.HasMorePages() && len(rows.Metadata.PagingState) > 0 {
		return rows.Metadata.PagingState
	}
	return nil
}

// pager follows the pages of one statement: the one rule for going on to
// the next page, shared by One, Run and Iter.
//
// Pages may be empty and still have a next one (the spec allows it, and a
// filtered scan sends them), so no number of empty pages is an error: the
// statement's context bounds a long scan. What is an error is a paging
// state coming back. A state names a position in the scan and what is left
// to read, which only move forward; the server answers the same state with
// the same page, so a state seen twice means pages repeating forever (with
// or without rows). The state a page was requested with is checked at once;
// longer cycles (A, B, A, ...) with Brent's method: one remembered state,
// replaced by the current one whenever the number of pages since it was
// kept reaches a span that doubles each time, finds any cycle within a few
// times its length, in constant memory.
type pager struct {
	cql   string
	state []byte // the paging state of the next request (nil: from the start)
	page  int    // pages answered so far

	mark      []byte // the remembered state, as returned by page markPage
	markPage  int
	markSpan  int
	markSteps int
}

func newPager(q *Query) *pager {
	return &pager{cql: q.cql, state: q.pagingState, mark: q.pagingState, markSpan: 1}
}

// advance takes the answer to the page requested with p.state and says
// whether a next page follows, p.state now requesting it. It fails with
// ErrPagingLoop when the next page would be one already asked for.
func (p *pager) advance(rows *frame.Rows) (more bool, err error) {
	p.page++
	next := nextPagingState(rows)
	if next == nil {
		return false, nil
	}
	switch {
	case bytes.Equal(next, p.state):
		return false, p.loop(fmt.Sprintf("page %d was answered with the paging state it was requested with", p.page))
	case bytes.Equal(next, p.mark):
		return false, p.loop(fmt.Sprintf("page %d was answered with the paging state of page %d", p.page, p.markPage))
	}
	if p.markSteps++; p.markSteps == p.markSpan {
		p.mark, p.markPage, p.markSpan, p.markSteps = next, p.page, 2*p.markSpan, 0
	}
	p.state = next
	return true, nil
}

func (p *pager) loop(what string) error {
	return fmt.Errorf("cluster: paging %q: %w: %s", abbreviate(p.cql), ErrPagingLoop, what)
}
