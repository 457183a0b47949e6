package cluster

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
	"github.com/cqlwire/cqlwire/types"
)

// benchSession connects a Session to the in-process answering machine (a
// real node would hide the driver's cost behind its own): the fake topology
// answers the system tables, and every other QUERY or EXECUTE gets one row
// of three columns (int, text, bigint).
func benchSession(b *testing.B, v frame.Version) *Session {
	b.Helper()
	rows := &frame.Rows{Metadata: frame.RowsMetadata{Flags: frame.MetaGlobalTablesSpec, Columns: []frame.ColumnSpec{
		{Keyspace: "ks1", Table: "t", Name: "id", Type: types.Native(types.Int)},
		{Keyspace: "ks1", Table: "t", Name: "name", Type: types.Native(types.Varchar)},
		{Keyspace: "ks1", Table: "t", Name: "n", Type: types.Native(types.Bigint)},
	}}}
	if err := rows.AppendRow([]byte{0, 0, 0, 42}, []byte("forty-two"), []byte{0, 0, 0, 0, 0, 0, 0, 42}); err != nil {
		b.Fatal(err)
	}
	f := &fakeCluster{}
	var h testserver.Handler
	srv, err := testserver.Start(testserver.Options{Rows: rows, BindType: testserver.BindInt,
		Handler: func(r *testserver.Request) testserver.Reply { return h(r) }, Logf: b.Logf})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	h = f.handler(b, int(netip.MustParseAddrPort(srv.Addr()).Port()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, Config{ContactPoints: []string{srv.Addr()}, ProtocolVersion: v, RefreshInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSessionSelect is a prepared single-row SELECT by key through the
// whole Session path (cache lookup, binding, routing, plan, connection,
// decoding, scanning three columns into variables).
func BenchmarkSessionSelect(b *testing.B) {
	for _, v := range []frame.Version{frame.V4, frame.V5} {
		b.Run("v"+string(rune('0'+v)), func(b *testing.B) {
			s := benchSession(b, v)
			ctx := context.Background()
			const cql = "SELECT id, name, n FROM ks1.t WHERE id = ?"
			var id int32
			var name string
			var n int64
			if err := s.Query(cql, 7).One(ctx, &id, &name, &n); err != nil || id != 42 || name != "forty-two" || n != 42 {
				b.Fatalf("(%d, %q, %d), %v", id, name, n, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := s.Query(cql, i).One(ctx, &id, &name, &n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSessionInsert is a prepared INSERT of three values.
func BenchmarkSessionInsert(b *testing.B) {
	s := benchSession(b, frame.V5)
	ctx := context.Background()
	const cql = "INSERT INTO ks1.t (id, a, b) VALUES (?, ?, ?)"
	if err := s.Query(cql, 1, 2, 3).Exec(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.Query(cql, i, 2, 3).Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionSelectParallel is the SELECT from many goroutines, for
// throughput (ops/s = 1e9 / ns/op).
func BenchmarkSessionSelectParallel(b *testing.B) {
	s := benchSession(b, frame.V5)
	ctx := context.Background()
	const cql = "SELECT id, name, n FROM ks1.t WHERE id = ?"
	if err := s.Query(cql, 1).Exec(ctx); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(64)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var id int32
		var name string
		var n int64
		i := 0
		for pb.Next() {
			i++
			if err := s.Query(cql, i).One(ctx, &id, &name, &n); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
