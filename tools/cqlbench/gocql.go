package cqlbench

import (
	"context"
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/apache/cassandra-gocql-driver/v2/lz4"

	"github.com/cqlwire/cqlwire/tools/cqlbench/workload"
)

// gocqlDriver runs the workloads through gocql
// (github.com/apache/cassandra-gocql-driver/v2) as an application would:
// a Session, a new Query per operation with its values as Go values,
// Scan into typed variables, an Iter's Scanner for many rows (gocql pages
// by itself, prefetching the next page when a quarter of the current one is
// left).
//
// Configuration: token-aware host selection over round-robin, consistency
// ONE, the same protocol version, compression and connections per host as
// the other drivers; no client-side timestamps (so that the EXECUTE on the
// wire is the same as the other drivers'); no event registration and no
// schema metadata (gocql's control connection then only reads system.local
// and system.peers when it starts: neither is per-operation work). gocql
// prepares every statement that has values on first use; the first
// operations of a run's warm-up pay for that.
//
// "gocql" keeps gocql's default write coalescing (a write waits up to
// 200µs for others to join it); "gocql-nocoalesce" turns it off, which is
// better at low concurrency.
type gocqlDriver struct {
	name     string
	coalesce bool
}

func (d gocqlDriver) Name() string { return d.name }

type gocqlClient struct {
	s *gocql.Session
	t Target
}

func (d gocqlDriver) Open(ctx context.Context, t Target) (Client, error) {
	cl := gocql.NewCluster(t.Hosts...)
	cl.Port = t.Port
	cl.ProtoVersion = int(t.Version)
	cl.NumConns = max(t.Conns, 1)
	cl.Consistency = gocql.One
	cl.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	cl.PageSize = 0 // only the paged workload pages, with its own page size
	cl.DefaultTimestamp = false
	cl.Events.DisableNodeStatusEvents = true
	cl.Events.DisableTopologyEvents = true
	cl.Events.DisableSchemaEvents = true
	cl.Metadata.CacheMode = gocql.Disabled
	cl.ConnectTimeout = 10 * time.Second
	cl.Timeout = t.Timeout
	if !d.coalesce {
		cl.WriteCoalesceWaitTime = 0
	}
	if t.Compression == "lz4" {
		cl.Compressor = lz4.LZ4Compressor{}
	} else if t.Compression != "" {
		return nil, fmt.Errorf("gocql: compression %q not supported here", t.Compression)
	}
	if t.Username != "" {
		cl.Authenticator = gocql.PasswordAuthenticator{Username: t.Username, Password: t.Password}
	}
	s, err := cl.CreateSession()
	if err != nil {
		return nil, err
	}
	return &gocqlClient{s: s, t: t}, nil
}

func (c *gocqlClient) Close() error {
	c.s.Close()
	return nil
}

func (c *gocqlClient) Worker(kind workload.Kind, id int) (Op, error) {
	var i uint64
	switch kind {
	case workload.Select:
		var k int32
		var name string
		var n int64
		return func(ctx context.Context) error {
			key := workload.SelectKey(id, i)
			i++
			if err := c.s.Query(workload.SelectStmt.CQL, key).ScanContext(ctx, &k, &name, &n); err != nil {
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
			return c.s.Query(workload.Insert10Stmt.CQL,
				r.K, r.Int, r.BigInt, r.Text, r.Double, r.Bool, r.TS, r.UUID, r.Blob, r.Float).ExecContext(ctx)
		}, nil
	case workload.VectorInsert:
		return func(ctx context.Context) error {
			vid := workload.VectorID(id, i)
			i++
			return c.s.Query(workload.VectorInsertStmt.CQL, vid, workload.Vec(vid)).ExecContext(ctx)
		}, nil
	case workload.VectorANN:
		var vid int32
		var embedding []float32
		return func(ctx context.Context) error {
			q := c.s.Query(workload.VectorANNStmt.CQL, workload.Vec(workload.VectorID(id, i)))
			i++
			iter := q.IterContext(ctx)
			sc := iter.Scanner()
			n := 0
			for sc.Next() {
				if err := sc.Scan(&vid, &embedding); err != nil {
					iter.Close()
					return err
				}
				if !workload.IsVector(embedding, vid) {
					iter.Close()
					return wrongAnswer(kind, "id %d holds another vector", vid)
				}
				n++
			}
			if err := sc.Err(); err != nil {
				return err
			}
			if n != workload.ANNLimit {
				return wrongAnswer(kind, "%d rows, want %d", n, workload.ANNLimit)
			}
			return nil
		}, nil
	case workload.Paged:
		var ck int32
		var v int64
		return func(ctx context.Context) error {
			iter := c.s.Query(workload.PagedStmt.CQL, int32(workload.PagedPK)).PageSize(c.t.PageSize).IterContext(ctx)
			sc := iter.Scanner()
			want := int32(0)
			for sc.Next() {
				if err := sc.Scan(&ck, &v); err != nil {
					iter.Close()
					return err
				}
				if ck != want || v != workload.PagedV(ck) {
					iter.Close()
					return wrongAnswer(kind, "row %d: (%d, %d)", want, ck, v)
				}
				want++
			}
			if err := sc.Err(); err != nil {
				return err
			}
			if want != workload.PagedRows {
				return wrongAnswer(kind, "%d rows, want %d", want, workload.PagedRows)
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("gocql: no worker for %q", kind)
}

// gocqlVersion is the version of gocql built into this binary.
func gocqlVersion() string {
	return moduleVersion("github.com/apache/cassandra-gocql-driver/v2")
}
