package connbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
)

// target is a server and the request both drivers send it: cql, prepared,
// executed at consistency ONE with one bound value, skip-metadata, no paging
// and no client timestamp, answered with one row of one column.
type target struct {
	name    string // in the benchmark name: "answering-v4", "real-v5"
	addr    string // host:port
	version frame.Version
	cql     string

	boundWire []byte // the bound value as cqlwire sends it
	boundGo   any    // the same value as given to gocql
	want      []byte // the cell of the answer
	// newDest returns a destination for gocql's Scan and a check of what
	// was scanned into it (which also clears it for the next Scan).
	newDest func() (dest any, ok func() bool)

	user, password string // for PasswordAuthenticator; empty: none
}

func answeringTarget(addr string, v frame.Version) *target {
	return &target{
		name: fmt.Sprintf("answering-v%d", v), addr: addr, version: v, cql: answeringCQL,
		boundWire: []byte{0, 0, 0, answeringKey}, boundGo: answeringKey, want: answeringValue,
		newDest: func() (any, func() bool) {
			var n int
			return &n, func() bool { ok := n == 1; n = 0; return ok }
		},
	}
}

func realTarget(addr string, v frame.Version, user, password string) *target {
	return &target{
		name: fmt.Sprintf("real-v%d", v), addr: addr, version: v,
		cql:       "SELECT key FROM system.local WHERE key = ?",
		boundWire: []byte("local"), boundGo: "local", want: []byte("local"),
		newDest: func() (any, func() bool) {
			var s string
			return &s, func() bool { ok := s == "local"; s = ""; return ok }
		},
		user: user, password: password,
	}
}

// client is one driver connected to a target. Each benchmark goroutine
// gets its own worker; a worker sends one request per call, waits for its
// answer and checks it.
type client interface {
	worker() func(ctx context.Context) error
	Close()
}

type driver struct {
	name string
	dial func(ctx context.Context, t *target) (client, error)
}

var drivers = []driver{
	{"cqlwire-conn", dialCqlwire},
	// gocql as configured by default, apart from the settings that pin it
	// to one connection and make it send the same request (gocqlCluster):
	// its writes wait up to 200µs to be coalesced.
	{"gocql", func(ctx context.Context, t *target) (client, error) { return dialGocql(ctx, t, true) }},
	// gocql without the coalescing wait (WriteCoalesceWaitTime 0): each
	// request is written by its own goroutine at once.
	{"gocql-nocoalesce", func(ctx context.Context, t *target) (client, error) { return dialGocql(ctx, t, false) }},
}

// cqlwireClient is one conn.Conn and the statement prepared on it.
type cqlwireClient struct {
	c        *conn.Conn
	t        *target
	prepared *frame.Prepared
}

func dialCqlwire(ctx context.Context, t *target) (client, error) {
	cfg := &conn.Config{MinVersion: t.version, MaxVersion: t.version}
	if t.user != "" {
		cfg.Authenticator = &auth.Plain{Username: t.user, Password: auth.Secret(t.password)}
	}
	c, err := conn.Dial(ctx, t.addr, cfg)
	if err != nil {
		return nil, err
	}
	env, err := c.Do(ctx, conn.Request{Message: &frame.Prepare{Query: t.cql}})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("PREPARE: %w", err)
	}
	p, ok := env.Message.(*frame.Prepared)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("PREPARE answered with %T", env.Message)
	}
	return &cqlwireClient{c: c, t: t, prepared: p}, nil
}

// execute returns the EXECUTE request of the benchmark, as a statement
// executed in a loop would reuse it.
func (c *cqlwireClient) execute() conn.Request {
	return conn.Request{Message: &frame.Execute{
		ID:               c.prepared.ID,
		ResultMetadataID: c.prepared.ResultMetadataID,
		Params: frame.QueryParams{
			Consistency:  frame.One,
			Values:       []frame.Value{{Bytes: c.t.boundWire}},
			SkipMetadata: true,
		},
	}}
}

func (c *cqlwireClient) worker() func(context.Context) error {
	req := c.execute()
	cells := make([][]byte, 0, 1)
	want := c.t.want
	return func(ctx context.Context) error {
		env, err := c.c.Do(ctx, req)
		if err != nil {
			return err
		}
		rows, ok := env.Message.(*frame.Rows)
		if !ok {
			return fmt.Errorf("EXECUTE answered with %T", env.Message)
		}
		it := rows.Iter()
		if cells, ok = it.Next(cells[:0]); !ok || len(cells) != 1 || !bytes.Equal(cells[0], want) {
			return fmt.Errorf("unexpected answer: %d rows, first %q", rows.RowCount, cells)
		}
		return nil
	}
}

func (c *cqlwireClient) Close() { c.c.Close() }

// gocqlClient is a gocql session restricted to one connection to one host.
type gocqlClient struct {
	s *gocql.Session
	t *target
}

// gocqlCluster is the ClusterConfig that makes a gocql session a single
// connection to t, sending the same request as cqlwireClient:
//
//   - one host (t's), and HostFilter accepting only its address, so that
//     peers of a real cluster are ignored; NumConns 1: one connection in
//     its pool, the only one queries use;
//   - ProtoVersion fixed, so that no connection is opened to discover the
//     version;
//   - no event registration and no schema metadata (Metadata.CacheMode
//     Disabled): the control connection, which gocql always opens (it
//     cannot be turned off from outside the package), sends its handful of
//     startup queries (system.local, system.peers_v2, system_schema) and then
//     stays idle but for its heartbeat;
//   - consistency ONE, PageSize 0 (no paging flag) and DefaultTimestamp
//     off: with gocql's skip-metadata on prepared statements, the EXECUTE
//     is byte for byte the one of cqlwireClient.execute (TestAnswers checks
//     this).
func gocqlCluster(t *target, coalesce bool) (*gocql.ClusterConfig, error) {
	host, portStr, err := net.SplitHostPort(t.addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, err
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return nil, fmt.Errorf("host %q: want an IP address (gocql's host filter matches addresses): %w", host, err)
	}
	cl := gocql.NewCluster(host)
	cl.Port = port
	cl.ProtoVersion = int(t.version)
	cl.NumConns = 1
	cl.HostFilter = gocql.WhiteListHostFilter(host)
	cl.Consistency = gocql.One
	cl.PageSize = 0
	cl.DefaultTimestamp = false
	cl.Events.DisableNodeStatusEvents = true
	cl.Events.DisableTopologyEvents = true
	cl.Events.DisableSchemaEvents = true
	cl.Metadata.CacheMode = gocql.Disabled
	cl.ConnectTimeout = 10 * time.Second
	if !coalesce {
		cl.WriteCoalesceWaitTime = 0
	}
	if t.user != "" {
		cl.Authenticator = gocql.PasswordAuthenticator{Username: t.user, Password: t.password}
	}
	return cl, nil
}

func dialGocql(ctx context.Context, t *target, coalesce bool) (client, error) {
	cl, err := gocqlCluster(t, coalesce)
	if err != nil {
		return nil, err
	}
	s, err := cl.CreateSession()
	if err != nil {
		return nil, err
	}
	c := &gocqlClient{s: s, t: t}
	// The first execution prepares the statement: keep it out of the
	// measurements.
	if err := c.worker()(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("first execution: %w", err)
	}
	return c, nil
}

func (c *gocqlClient) worker() func(context.Context) error {
	// One Query per goroutine, reused with its bound value: gocql's way of
	// executing a statement in a loop without building it again.
	q := c.s.Query(c.t.cql, c.t.boundGo)
	dest, ok := c.t.newDest()
	dests := []any{dest}
	return func(ctx context.Context) error {
		if err := q.ScanContext(ctx, dests...); err != nil {
			return err
		}
		if !ok() {
			return errors.New("unexpected value scanned")
		}
		return nil
	}
}

func (c *gocqlClient) Close() { c.s.Close() }
