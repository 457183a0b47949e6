package cqlbench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
	"github.com/cqlwire/cqlwire/types"
)

// SetUpRealNode creates keyspace cqlbench and its tables on the node of t
// (workload.Schema, all idempotent) and seeds them: kv rows 0 to 999,
// vectors 0 to 999, the 10,000 rows of the paged partition. A node that
// already holds this version of the data (table seeded) is not seeded
// again.
func SetUpRealNode(ctx context.Context, t Target, log func(format string, args ...any)) error {
	if log == nil {
		log = func(string, ...any) {}
	}
	cfg := &conn.Config{MinVersion: t.Version, MaxVersion: t.Version, Timeout: time.Minute, DriverName: "cqlbench setup"}
	if t.Username != "" {
		cfg.Authenticator = &auth.Plain{Username: t.Username, Password: auth.Secret(t.Password)}
	}
	c, err := conn.Dial(ctx, t.Addr(), cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	query := func(cql string) (*frame.Envelope, error) {
		env, err := c.Do(ctx, conn.Request{Message: &frame.Query{Query: cql, Params: frame.QueryParams{Consistency: frame.One}}})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cql, err)
		}
		return env, nil
	}
	for _, ddl := range workload.Schema {
		if _, err := query(ddl); err != nil {
			return err
		}
	}
	env, err := query("SELECT version FROM cqlbench.seeded WHERE name = 'data'")
	if err != nil {
		return err
	}
	if rows, ok := env.Message.(*frame.Rows); ok && rows.RowCount == 1 {
		it := rows.Iter()
		if cells, _ := it.Next(nil); len(cells) == 1 && len(cells[0]) == 4 &&
			int32(binary.BigEndian.Uint32(cells[0])) == workload.DataVersion {
			return nil
		}
	}

	log("seeding keyspace cqlbench on %s (%d kv rows, %d vectors, %d paged rows)",
		t.Addr(), workload.KVRows, workload.SeedVectors, workload.PagedRows)
	start := time.Now()
	type insert struct {
		cql  string
		n    int
		row  func(i int) []any
		prep *frame.Prepared
		// parallel is the number of inserts in flight.
		parallel int
	}
	inserts := []*insert{
		{cql: "INSERT INTO cqlbench.kv (k, name, n) VALUES (?, ?, ?)", n: workload.KVRows, parallel: 32, row: func(i int) []any {
			k := int32(i)
			return []any{k, workload.KVName(k), workload.KVN(k)}
		}},
		// See VectorInsertLimit.
		{cql: workload.VectorInsertStmt.CQL, n: workload.SeedVectors, parallel: VectorInsertLimit, row: func(i int) []any {
			return []any{int32(i), workload.Vec(int32(i))}
		}},
		{cql: "INSERT INTO cqlbench.paged (pk, ck, v) VALUES (?, ?, ?)", n: workload.PagedRows, parallel: 32, row: func(i int) []any {
			return []any{int32(workload.PagedPK), int32(i), workload.PagedV(int32(i))}
		}},
	}
	for _, ins := range inserts {
		env, err := c.Do(ctx, conn.Request{Message: &frame.Prepare{Query: ins.cql}})
		if err != nil {
			return fmt.Errorf("PREPARE %s: %w", ins.cql, err)
		}
		p, ok := env.Message.(*frame.Prepared)
		if !ok {
			return fmt.Errorf("PREPARE %s answered with %T", ins.cql, env.Message)
		}
		ins.prep = p
	}
	for _, ins := range inserts {
		var next atomic.Int64
		var firstErr error
		var once sync.Once
		var wg sync.WaitGroup
		for range ins.parallel {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= ins.n {
						return
					}
					exec, err := rawExecute(ins.prep, ins.row(i)...)
					if err == nil {
						_, err = c.Do(ctx, conn.Request{Message: exec})
					}
					if err != nil {
						once.Do(func() { firstErr = fmt.Errorf("%s (row %d): %w", ins.cql, i, err) })
						next.Store(int64(ins.n))
						return
					}
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
	}
	version, _, _ := types.Append(nil, workload.Int, int32(workload.DataVersion))
	if _, err := c.Do(ctx, conn.Request{Message: &frame.Query{
		Query:  "INSERT INTO cqlbench.seeded (name, version) VALUES ('data', ?)",
		Params: frame.QueryParams{Consistency: frame.One, Values: []frame.Value{{Bytes: version}}},
	}}); err != nil {
		return fmt.Errorf("recording the seeding: %w", err)
	}
	log("seeded in %s", time.Since(start).Round(time.Millisecond))
	return nil
}
