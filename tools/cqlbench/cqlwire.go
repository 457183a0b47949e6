package cqlbench

import (
	"context"
	"errors"
	"fmt"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/cluster"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/query"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
	"github.com/cqlwire/cqlwire/types"
)

// cqlwireDriver runs the workloads through the cqlwire Session (package
// cluster) as an application would: one Session, a Query per operation
// with its values as Go values (the Session prepares each statement once,
// through its cache, and routes it to the partition's replica), One to
// scan a single row into typed variables, Rows to range over many rows
// (paging by itself). Every answer is checked as the other drivers check
// theirs.
//
// Configuration, as for gocql: the target's protocol version (no
// negotiation), compression, connections per host and credentials;
// consistency ONE; the request timeout; the default routing (token-aware
// over round robin); no paging except in the paged workload (gocql's
// PageSize 0); no client-side timestamps (a generator returning 0, so that
// the EXECUTE on the wire is the same as the other drivers'). Every
// statement is prepared once when the client opens, as cqlwire-conn and raw
// do; gocql prepares on first use, in the warm-up.
type cqlwireDriver struct{}

func (cqlwireDriver) Name() string { return "cqlwire" }

type cqlwireClient struct {
	s *cluster.Session
	t Target
}

// serverTimestamps lets the server choose the write timestamps.
type serverTimestamps struct{}

func (serverTimestamps) Next() int64 { return 0 }

func (cqlwireDriver) Open(ctx context.Context, t Target) (Client, error) {
	cfg := cluster.Config{
		ContactPoints:   t.Hosts,
		Port:            t.Port,
		ProtocolVersion: t.Version,
		Compression:     t.Compression,
		PoolSize:        max(t.Conns, 1),
		DefaultProfile: query.Profile{
			Consistency:    frame.One,
			RequestTimeout: t.Timeout,
			PageSize:       -1, // only the paged workload pages, with its own page size
		},
		Timestamps: serverTimestamps{},
	}
	if t.Username != "" {
		cfg.Username, cfg.Password = t.Username, auth.Secret(t.Password)
	}
	s, err := cluster.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, st := range workload.Statements {
		p, err := s.Prepare(ctx, st.CQL)
		if err != nil {
			s.Close()
			return nil, err
		}
		if len(p.Params()) != len(st.Params) || len(p.Columns()) != len(st.Result) {
			s.Close()
			return nil, fmt.Errorf("PREPARE %s: %d bind markers and %d result columns, want %d and %d",
				st.CQL, len(p.Params()), len(p.Columns()), len(st.Params), len(st.Result))
		}
	}
	return &cqlwireClient{s: s, t: t}, nil
}

func (c *cqlwireClient) Close() error { return c.s.Close() }

func (c *cqlwireClient) Worker(kind workload.Kind, id int) (Op, error) {
	var i uint64
	s := c.s
	switch kind {
	case workload.Select:
		var k int32
		var name string
		var n int64
		return func(ctx context.Context) error {
			key := workload.SelectKey(id, i)
			i++
			if err := s.Query(workload.SelectStmt.CQL, key).One(ctx, &k, &name, &n); err != nil {
				if errors.Is(err, cluster.ErrNotFound) {
					return wrongAnswer(kind, "key %d: no row", key)
				}
				return err
			}
			if k != key || name != workload.KVName(key) || n != workload.KVN(key) {
				return wrongAnswer(kind, "key %d: row (%d, %q, %d)", key, k, name, n)
			}
			return nil
		}, nil
	case workload.Insert10:
		return func(ctx context.Context) error {
			r := workload.WideRow(id, i)
			i++
			return s.Query(workload.Insert10Stmt.CQL,
				r.K, r.Int, r.BigInt, r.Text, r.Double, r.Bool, r.TS, r.UUID, r.Blob, r.Float).Exec(ctx)
		}, nil
	case workload.VectorInsert:
		return func(ctx context.Context) error {
			vid := workload.VectorID(id, i)
			i++
			return s.Query(workload.VectorInsertStmt.CQL, vid, workload.Vec(vid)).Exec(ctx)
		}, nil
	case workload.VectorANN:
		var vid int32
		embedding := make([]float32, 0, workload.Dim)
		return func(ctx context.Context) error {
			q := s.Query(workload.VectorANNStmt.CQL, workload.Vec(workload.VectorID(id, i)))
			i++
			n := 0
			for row, err := range q.Rows(ctx) {
				if err != nil {
					return err
				}
				if err := row.Scan(&vid, &embedding); err != nil {
					return err
				}
				if !workload.IsVector(embedding, vid) {
					return wrongAnswer(kind, "id %d holds another vector", vid)
				}
				n++
			}
			if n != workload.ANNLimit {
				return wrongAnswer(kind, "%d rows, want %d", n, workload.ANNLimit)
			}
			return nil
		}, nil
	case workload.Paged:
		var ck int32
		var v int64
		q := s.Query(workload.PagedStmt.CQL, int32(workload.PagedPK)).PageSize(c.t.PageSize)
		return func(ctx context.Context) error {
			want := int32(0)
			for row, err := range q.Rows(ctx) {
				if err != nil {
					return err
				}
				if err := row.Scan(&ck, &v); err != nil {
					return err
				}
				if ck != want || v != workload.PagedV(ck) {
					return wrongAnswer(kind, "row %d: (%d, %d)", want, ck, v)
				}
				want++
			}
			if want != workload.PagedRows {
				return wrongAnswer(kind, "%d rows, want %d", want, workload.PagedRows)
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("cqlwire: no worker for %q", kind)
}

// cqlwireConnDriver runs the workloads on package conn directly: the
// connection layer with a thin statement layer written here (values
// encoded with types.Append, cells decoded with types.Decode into typed
// variables, paging driven by hand). It is not what an application would
// write; it shows what the layers above conn (the Session's cache,
// routing, retries and scanning) cost.
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
