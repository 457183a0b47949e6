package cluster

import (
	"context"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
)

// startStatement tells the statement observer (s.statements, not nil)
// that r starts, and keeps what it returns in rep.
func (s *Session) startStatement(ctx context.Context, r *execRequest, rep *execReport) {
	st := query.Statement{CQL: r.cql, Keyspace: r.routing.Keyspace, Consistency: r.consistency,
		Idempotent: r.idempotent, Start: time.Now()}
	switch m := r.msg.(type) {
	case *frame.Query:
		st.Kind, st.PageSize = query.KindQuery, int(m.Params.PageSize)
	case *frame.Execute:
		st.Kind, st.PageSize = query.KindExecute, int(m.Params.PageSize)
		if r.entry != nil {
			st.Table = r.entry.table()
		}
	case *frame.Batch:
		st.Kind, st.BatchSize = query.KindBatch, len(m.Statements)
		if len(r.entries) > 0 {
			st.Table = r.entries[0].table()
		}
	case *frame.Prepare:
		st.Kind = query.KindPrepare
	}
	if st.PageSize < 0 {
		st.PageSize = 0
	}
	if st.Keyspace == "" {
		st.Keyspace = s.cfg.Keyspace
	}
	rep.start = st.Start
	rep.obs = s.statements.StatementStart(ctx, &st)
}

// endStatement tells the statement's observer (rep.obs) how it ended.
func (s *Session) endStatement(rep *execReport, out *outcome, err error) {
	res := query.StatementResult{Err: err, Latency: time.Since(rep.start),
		Attempts: rep.attempts, SpeculativeExecutions: rep.speculative}
	if h := rep.host; h != nil {
		res.CoordinatorID, res.CoordinatorDC = h.ID.String(), h.Datacenter
		res.Coordinator = out.coordinator
		if res.Coordinator == "" || err != nil {
			if p := s.routing.Load().pools[h.ID]; p != nil {
				res.Coordinator = p.Addr()
			}
		}
	}
	rep.obs.End(res)
}

// table is the table of a prepared statement, as its metadata names it:
// its bind markers' (an INSERT, UPDATE, DELETE or SELECT with values),
// else its result columns' (a SELECT without); empty when neither has one.
func (e *preparedEntry) table() string {
	for _, c := range e.params.Columns {
		if c.Table != "" {
			return c.Table
		}
	}
	if rm := e.result.Load(); rm != nil {
		for _, c := range rm.cols {
			if c.Table != "" {
				return c.Table
			}
		}
	}
	return ""
}

// asStatementObserver returns o as a StatementObserver, nil when it is not
// one.
func asStatementObserver(o query.Observer) query.StatementObserver {
	so, _ := o.(query.StatementObserver)
	return so
}
