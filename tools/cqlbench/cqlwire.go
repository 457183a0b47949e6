package cqlbench

import (
	"context"
	"errors"
	"fmt"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
	"github.com/cqlwire/cqlwire/types"
)

// ---------------------------------------------------------------------------
// THE CQLWIRE SESSION ADAPTER GOES HERE (driver name "cqlwire").
//
// It will replace cqlwire-conn as the driver compared with gocql once
// package cluster has its Session. Expected shape (the API being written):
//
//	type cqlwireDriver struct{}
//
//	func (cqlwireDriver) Name() string { return "cqlwire" }
//
//	func (cqlwireDriver) Open(ctx context.Context, t Target) (Client, error) {
//		cfg := cluster.Config{
//			ContactPoints:   t.Hosts,
//			Port:            t.Port,
//			ProtocolVersion: t.Version,     // fixed, as for every driver
//			Compression:     t.Compression, // "" or "lz4"
//			PoolSize:        t.Conns,       // connections per host
//			// Username/Password (or Authenticator: &auth.Plain{...}) when
//			// t.Username != ""; consistency ONE; request timeout t.Timeout.
//		}
//		s, err := cluster.Connect(ctx, cfg)
//		...
//		// Prepare every statement once, up front, as the other drivers do:
//		for _, st := range workload.Statements { s.Prepare(ctx, st.CQL) }
//		return &cqlwireSessionClient{s: s, t: t}, nil
//	}
//
//	func (c *cqlwireSessionClient) Worker(kind workload.Kind, id int) (Op, error)
//
// with one Op per base workload, each written as an application would,
// checking every answer exactly as the cqlwire-conn workers below do:
//
//	select:        s.Query(SelectStmt.CQL, key).One(ctx, &k, &name, &n)
//	insert10:      s.Query(Insert10Stmt.CQL, r.K, r.Int, ..., r.Float).Exec(ctx)
//	vector-insert: s.Query(VectorInsertStmt.CQL, id, workload.Vec(id)).Exec(ctx)
//	vector-ann:    for row, err := range s.Query(VectorANNStmt.CQL, workload.Vec(id)).Rows(ctx) {
//	                   row.Scan(&id, &embedding) ... }  // ANNLimit rows
//	paged:         for row, err := range s.Query(PagedStmt.CQL, workload.PagedPK).
//	                   PageSize(t.PageSize).Rows(ctx) { row.Scan(&ck, &v) ... }  // PagedRows rows
//
// then add cqlwireDriver{} to Drivers (driver.go), make "cqlwire" the
// default driver of cmd/cqlbench and of the make target, and let the ratio
// column compare it (report.Options.Candidate).
// ---------------------------------------------------------------------------

// cqlwireConnDriver runs the workloads on package conn directly: the
// connection layer with a thin statement layer written here (values
// encoded with types.Append, cells decoded with types.Decode into typed
// variables, paging driven by hand). It stands in for the Session until
// that exists, and stays as a measure of what the layers above conn cost.
type cqlwireConnDriver struct{}

func (cqlwireConnDriver) Name() string { return "cqlwire-conn" }

type cqlwireConnClient struct {
	t        Target
	conns    []*conn.Conn
	prepared map[*workload.Statement]*frame.Prepared
}

func (cqlwireConnDriver) Open(ctx context.Context, t Target) (Client, error) {
	cfg := &conn.Config{
		MinVersion: t.Version, MaxVersion: t.Version,
		Compression: t.Compression,
		Timeout:     t.Timeout,
		DriverName:  "cqlbench cqlwire-conn",
	}
	if t.Username != "" {
		cfg.Authenticator = &auth.Plain{Username: t.Username, Password: auth.Secret(t.Password)}
	}
	c := &cqlwireConnClient{t: t, prepared: map[*workload.Statement]*frame.Prepared{}}
	for range max(t.Conns, 1) {
		cn, err := conn.Dial(ctx, t.Addr(), cfg)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.conns = append(c.conns, cn)
	}
	// A node keeps one prepared cache for all connections: preparing on
	// one is enough.
	for _, st := range workload.Statements {
		env, err := c.conns[0].Do(ctx, conn.Request{Message: &frame.Prepare{Query: st.CQL}})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("PREPARE %s: %w", st.CQL, err)
		}
		p, ok := env.Message.(*frame.Prepared)
		if !ok {
			c.Close()
			return nil, fmt.Errorf("PREPARE %s answered with %T", st.CQL, env.Message)
		}
		if len(p.Params.Columns) != len(st.Params) || len(p.Result.Columns) != len(st.Result) {
			c.Close()
			return nil, fmt.Errorf("PREPARE %s: %d bind markers and %d result columns, want %d and %d",
				st.CQL, len(p.Params.Columns), len(p.Result.Columns), len(st.Params), len(st.Result))
		}
		c.prepared[st] = p
	}
	return c, nil
}

func (c *cqlwireConnClient) Close() error {
	var errs []error
	for _, cn := range c.conns {
		errs = append(errs, cn.Close())
	}
	return errors.Join(errs...)
}

// stmtWorker is the state one worker keeps for one statement: the EXECUTE
// it sends again and again, and the buffers its values are encoded into.
type stmtWorker struct {
	cn       *conn.Conn
	prepared *frame.Prepared
	exec     frame.Execute
	req      conn.Request
	bufs     [][]byte
	cells    [][]byte
	w        int
	i        uint64
}

func (c *cqlwireConnClient) newStmtWorker(st *workload.Statement, id int) *stmtWorker {
	p := c.prepared[st]
	sw := &stmtWorker{
		cn:       c.conns[id%len(c.conns)],
		prepared: p,
		bufs:     make([][]byte, len(p.Params.Columns)),
		cells:    make([][]byte, 0, len(p.Result.Columns)),
		w:        id,
	}
	sw.exec = frame.Execute{
		ID:               p.ID,
		ResultMetadataID: p.ResultMetadataID,
		Params: frame.QueryParams{
			Consistency:  frame.One,
			Values:       make([]frame.Value, len(p.Params.Columns)),
			SkipMetadata: len(p.Result.Columns) > 0,
		},
	}
	sw.req = conn.Request{Message: &sw.exec}
	return sw
}

// bind encodes value i as the statement's marker i says.
func (sw *stmtWorker) bind(i int, v any) error {
	b, null, err := types.Append(sw.bufs[i][:0], sw.prepared.Params.Columns[i].Type, v)
	if err != nil {
		return err
	}
	sw.bufs[i] = b
	if null {
		sw.exec.Params.Values[i] = frame.Value{}
	} else {
		sw.exec.Params.Values[i] = frame.Value{Bytes: b}
	}
	return nil
}

// rows executes and returns the Rows answer.
func (sw *stmtWorker) rows(ctx context.Context, kind workload.Kind) (*frame.Rows, error) {
	env, err := sw.cn.Do(ctx, sw.req)
	if err != nil {
		return nil, err
	}
	rows, ok := env.Message.(*frame.Rows)
	if !ok {
		return nil, wrongAnswer(kind, "RESULT %T, want Rows", env.Message)
	}
	if n := rows.Metadata.ColumnCount; n != 0 && n != len(sw.prepared.Result.Columns) {
		return nil, wrongAnswer(kind, "%d columns, want %d", n, len(sw.prepared.Result.Columns))
	}
	return rows, nil
}

// void executes and expects a Void answer.
func (sw *stmtWorker) void(ctx context.Context, kind workload.Kind) error {
	env, err := sw.cn.Do(ctx, sw.req)
	if err != nil {
		return err
	}
	if _, ok := env.Message.(*frame.Void); !ok {
		return wrongAnswer(kind, "RESULT %T, want Void", env.Message)
	}
	return nil
}

func (sw *stmtWorker) colType(i int) *types.Type { return sw.prepared.Result.Columns[i].Type }

func (c *cqlwireConnClient) Worker(kind workload.Kind, id int) (Op, error) {
	st, err := statementOf(kind)
	if err != nil {
		return nil, err
	}
	sw := c.newStmtWorker(st, id)
	switch kind {
	case workload.Select:
		var k int32
		var name string
		var n int64
		return func(ctx context.Context) error {
			key := workload.SelectKey(sw.w, sw.i)
			sw.i++
			if err := sw.bind(0, key); err != nil {
				return err
			}
			rows, err := sw.rows(ctx, kind)
			if err != nil {
				return err
			}
			if rows.RowCount != 1 {
				return wrongAnswer(kind, "key %d: %d rows", key, rows.RowCount)
			}
			it := rows.Iter()
			sw.cells, _ = it.Next(sw.cells[:0])
			if err := errors.Join(
				types.Decode(sw.colType(0), sw.cells[0], &k),
				types.Decode(sw.colType(1), sw.cells[1], &name),
				types.Decode(sw.colType(2), sw.cells[2], &n)); err != nil {
				return err
			}
			if k != key || name != workload.KVName(key) || n != workload.KVN(key) {
				return wrongAnswer(kind, "key %d: row (%d, %q, %d)", key, k, name, n)
			}
			return nil
		}, nil
	case workload.Insert10:
		return func(ctx context.Context) error {
			r := workload.WideRow(sw.w, sw.i)
			sw.i++
			if err := errors.Join(
				sw.bind(0, r.K), sw.bind(1, r.Int), sw.bind(2, r.BigInt), sw.bind(3, r.Text), sw.bind(4, r.Double),
				sw.bind(5, r.Bool), sw.bind(6, r.TS), sw.bind(7, r.UUID), sw.bind(8, r.Blob), sw.bind(9, r.Float)); err != nil {
				return err
			}
			return sw.void(ctx, kind)
		}, nil
	case workload.VectorInsert:
		return func(ctx context.Context) error {
			vid := workload.VectorID(sw.w, sw.i)
			sw.i++
			if err := errors.Join(sw.bind(0, vid), sw.bind(1, workload.Vec(vid))); err != nil {
				return err
			}
			return sw.void(ctx, kind)
		}, nil
	case workload.VectorANN:
		var vid int32
		embedding := make([]float32, 0, workload.Dim)
		return func(ctx context.Context) error {
			if err := sw.bind(0, workload.Vec(workload.VectorID(sw.w, sw.i))); err != nil {
				return err
			}
			sw.i++
			rows, err := sw.rows(ctx, kind)
			if err != nil {
				return err
			}
			if rows.RowCount != workload.ANNLimit {
				return wrongAnswer(kind, "%d rows, want %d", rows.RowCount, workload.ANNLimit)
			}
			for it := rows.Iter(); ; {
				var ok bool
				if sw.cells, ok = it.Next(sw.cells[:0]); !ok {
					break
				}
				if err := errors.Join(
					types.Decode(sw.colType(0), sw.cells[0], &vid),
					types.Decode(sw.colType(1), sw.cells[1], &embedding)); err != nil {
					return err
				}
				if !workload.IsVector(embedding, vid) {
					return wrongAnswer(kind, "id %d holds another vector", vid)
				}
			}
			return nil
		}, nil
	case workload.Paged:
		var ck int32
		var v int64
		var state []byte
		sw.exec.Params.PageSize = int32(c.t.PageSize)
		if err := sw.bind(0, int32(workload.PagedPK)); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			want := int32(0)
			sw.exec.Params.PagingState = nil
			for {
				rows, err := sw.rows(ctx, kind)
				if err != nil {
					return err
				}
				for it := rows.Iter(); ; {
					var ok bool
					if sw.cells, ok = it.Next(sw.cells[:0]); !ok {
						break
					}
					if err := errors.Join(
						types.Decode(sw.colType(0), sw.cells[0], &ck),
						types.Decode(sw.colType(1), sw.cells[1], &v)); err != nil {
						return err
					}
					if ck != want || v != workload.PagedV(ck) {
						return wrongAnswer(kind, "row %d: (%d, %d)", want, ck, v)
					}
					want++
				}
				if !rows.Metadata.HasMorePages() {
					break
				}
				// The answer's buffer is the connection's to reuse once we
				// send again: keep a copy of the paging state.
				state = append(state[:0], rows.Metadata.PagingState...)
				sw.exec.Params.PagingState = state
			}
			if want != workload.PagedRows {
				return wrongAnswer(kind, "%d rows, want %d", want, workload.PagedRows)
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("cqlwire-conn: no worker for %q", kind)
}
