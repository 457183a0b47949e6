package cluster

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/pool"
	"github.com/cqlwire/cqlwire/query"
)

// Metrics is a snapshot of a session's counters and gauges (see
// Session.Metrics). Counters count from Connect (a node's connection
// counters from its pool's opening) and never decrease; gauges are read
// when the snapshot is taken. The names in brackets are the Java driver
// 4's for the same measure.
type Metrics struct {
	// Requests counts the statements routed to the nodes [cql-requests]:
	// each page of a query, each batch, each PREPARE, however many
	// attempts each took. Failed counts those that ended with an error,
	// ClientTimeouts those among them that ended because a deadline
	// passed, the statement's timeout or the caller's context's
	// [cql-client-timeouts].
	Requests, Failed, ClientTimeouts uint64
	// Throttled counts the statements Config.Throttle refused, at once or
	// after waiting [throttling.errors]; ThrottleQueued is the number
	// waiting for a slot now [throttling.queue-size] and ThrottleRunning
	// the number holding one.
	Throttled                       uint64
	ThrottleQueued, ThrottleRunning int
	// PreparedStatements is the size of the prepared statement cache
	// [cql-prepared-cache-size], PreparedEvictions the statements it
	// dropped to make room (Config.MaxPreparedStatements).
	PreparedStatements int
	PreparedEvictions  uint64

	// Sums over Nodes: ConnectedNodes is the number of nodes with a live
	// connection [connected-nodes]; the others are the totals of the
	// NodeMetrics fields of the same names.
	ConnectedNodes, OpenConnections, InFlight int
	BytesSent, BytesReceived                  uint64
	Retries, Ignores, SpeculativeExecutions   uint64
	Reconnections, ConnectErrors, AuthErrors  uint64

	// Nodes has one entry for each node the session keeps a pool for (or
	// is dialling), by address.
	Nodes []NodeMetrics
}

// NodeMetrics are one node's measures. An attempt is one request sent
// (or about to be sent) to the node: a statement's first try, a retry, a
// speculative execution.
type NodeMetrics struct {
	Addr       string // host:port
	HostID     pool.HostID
	Datacenter string
	Rack       string
	// Up: the node's pool has a live connection.
	Up bool

	// OpenConnections is the number of live connections
	// [pool.open-connections]; InFlight the requests waiting for their
	// answer on them [pool.in-flight]; OrphanedStreams the stream ids
	// held by requests given up on (timed out, cancelled) whose answer has
	// not arrived [pool.orphaned-streams]; AvailableStreams the stream ids
	// free [pool.available-streams].
	OpenConnections, InFlight, OrphanedStreams, AvailableStreams int
	// BytesSent and BytesReceived count the traffic of the node's pool
	// after each connection's handshake, its closed connections included
	// [bytes-sent, bytes-received].
	BytesSent, BytesReceived uint64

	// Requests counts the attempts that ended [cql-messages]: each has
	// succeeded or is counted in exactly one of Errors' fields.
	Requests uint64
	Errors   NodeErrors
	// Retries counts the attempts the retry policy followed with another
	// one (on this node or the next), by the failed attempt's error
	// [retries.*]; Ignores those whose error it ignored [ignores.*]. A
	// request sent again after preparing it again is neither.
	Retries, Ignores RetryMetrics
	// SpeculativeExecutions counts the speculative executions started on
	// this node [speculative-executions].
	SpeculativeExecutions uint64

	// Reconnections counts the broken connections replaced by the
	// node's pool; ConnectErrors the failed attempts to open a
	// connection, the first dials included [errors.connection.init], and
	// AuthErrors those among them whose login the node refused
	// [errors.connection.auth].
	Reconnections, ConnectErrors, AuthErrors uint64
}

// NodeErrors counts the failed attempts of a node by what ended them.
type NodeErrors struct {
	// ClientTimeouts: no answer before a deadline: the statement's, the
	// caller's context's, or the connection's per-request timeout
	// [errors.request.timeouts].
	ClientTimeouts uint64
	// The server's answers: Unavailable [errors.request.unavailables],
	// Overloaded, Read_timeout [errors.request.read-timeouts],
	// Write_timeout [errors.request.write-timeouts], and every other
	// server error (syntax, invalid, read and write failures, Unprepared,
	// ...) [errors.request.others].
	Unavailable, Overloaded, ReadTimeouts, WriteTimeouts, ServerErrors uint64
	// ConnectionErrors: the connection failed after the request was
	// handed to it, so the node may have executed it
	// [errors.request.aborted]; Unsent: the request could not be sent
	// (connection closing, no free stream id), so it was not executed
	// [errors.request.unsent].
	ConnectionErrors, Unsent uint64
	// Cancelled: the caller's context was cancelled, or another
	// speculative execution answered first.
	Cancelled uint64
}

// Total is the number of failed attempts.
func (e NodeErrors) Total() uint64 {
	return e.ClientTimeouts + e.Unavailable + e.Overloaded + e.ReadTimeouts + e.WriteTimeouts +
		e.ServerErrors + e.ConnectionErrors + e.Unsent + e.Cancelled
}

// RetryMetrics counts the retries (or ignores) of a node by the error of
// the attempt they followed.
type RetryMetrics struct {
	Total        uint64
	ReadTimeout  uint64 // Read_timeout
	WriteTimeout uint64 // Write_timeout
	Unavailable  uint64 // Unavailable
	Aborted      uint64 // a connection error, the request sent or not
	Other        uint64 // any other error
}

// Metrics returns a snapshot of the session's metrics. It is cheap: the
// request path only adds to atomic counters (a few per attempt, on a
// per-node struct), and the snapshot reads them and the connections'
// gauges (conn.Conn.Health), without stopping any request. Safe for
// concurrent use; after Close, Nodes is empty.
func (s *Session) Metrics() Metrics {
	m := Metrics{
		Requests:       s.metrics.requests.Load(),
		Failed:         s.metrics.failed.Load(),
		ClientTimeouts: s.metrics.clientTimeouts.Load(),
	}
	if t := s.throttle; t != nil {
		m.Throttled = t.refused.Load()
		m.ThrottleQueued = int(max(t.queued.Load(), 0))
		m.ThrottleRunning = len(t.slots)
	}
	m.PreparedStatements, m.PreparedEvictions = s.prepared.stats()

	var rt *routing
	if s.isClosed() {
		rt = s.routing.Load()
	} else {
		rt = s.currentRouting()
	}
	for _, h := range rt.known {
		n := NodeMetrics{Addr: h.Addr.String(), HostID: h.Host.ID, Datacenter: h.Host.Datacenter, Rack: h.Host.Rack}
		if p := rt.pools[h.Host.ID]; p != nil {
			pm := p.Metrics()
			n.Up = p.Up()
			n.OpenConnections, n.InFlight, n.OrphanedStreams, n.AvailableStreams =
				pm.OpenConnections, pm.InFlight, pm.Orphaned, pm.AvailableStreams
			n.BytesSent, n.BytesReceived = pm.BytesSent, pm.BytesReceived
			n.Reconnections, n.ConnectErrors, n.AuthErrors = pm.Reconnections, pm.ConnectErrors, pm.AuthErrors
		}
		if c := s.metrics.lookup(h.Host.ID); c != nil {
			c.fill(&n)
		}
		m.Nodes = append(m.Nodes, n)

		if n.OpenConnections > 0 {
			m.ConnectedNodes++
		}
		m.OpenConnections += n.OpenConnections
		m.InFlight += n.InFlight
		m.BytesSent += n.BytesSent
		m.BytesReceived += n.BytesReceived
		m.Retries += n.Retries.Total
		m.Ignores += n.Ignores.Total
		m.SpeculativeExecutions += n.SpeculativeExecutions
		m.Reconnections += n.Reconnections
		m.ConnectErrors += n.ConnectErrors
		m.AuthErrors += n.AuthErrors
	}
	slices.SortFunc(m.Nodes, func(a, b NodeMetrics) int {
		if a.Addr < b.Addr {
			return -1
		}
		if a.Addr > b.Addr {
			return 1
		}
		return 0
	})
	return m
}

// sessionMetrics are the counters of a Session; the zero value is ready.
type sessionMetrics struct {
	requests, failed, clientTimeouts atomic.Uint64

	// nodes maps host ids to their counters: copied on write (a node's
	// first attempt, or first failed dial), read without a lock.
	nodes atomic.Pointer[map[pool.HostID]*nodeCounters]
	mu    sync.Mutex // serializes the writers of nodes
}

// statementEnded counts a statement that went through the attempt loop.
func (m *sessionMetrics) statementEnded(err error) {
	m.requests.Add(1)
	if err != nil {
		m.failed.Add(1)
		if errors.Is(err, context.DeadlineExceeded) {
			m.clientTimeouts.Add(1)
		}
	}
}

// node returns the counters of host id, creating them on first use.
func (m *sessionMetrics) node(id pool.HostID) *nodeCounters {
	if c := m.lookup(id); c != nil {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.nodes.Load()
	if old != nil {
		if c := (*old)[id]; c != nil {
			return c
		}
	}
	next := make(map[pool.HostID]*nodeCounters, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	c := &nodeCounters{}
	next[id] = c
	m.nodes.Store(&next)
	return c
}

func lenOf(m *map[pool.HostID]*nodeCounters) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// lookup returns the counters of host id, nil if it has none yet.
func (m *sessionMetrics) lookup(id pool.HostID) *nodeCounters {
	if mp := m.nodes.Load(); mp != nil {
		return (*mp)[id]
	}
	return nil
}

// errorKind classifies the error of an attempt.
type errorKind uint8

const (
	errNone errorKind = iota
	errClientTimeout
	errUnavailable
	errOverloaded
	errReadTimeout
	errWriteTimeout
	errServer
	errConnection
	errUnsent
	errCancelled
	numErrorKinds
)

func classify(err error) errorKind {
	if err == nil {
		return errNone
	}
	var fe *frame.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case frame.CodeUnavailable:
			return errUnavailable
		case frame.CodeOverloaded:
			return errOverloaded
		case frame.CodeReadTimeout:
			return errReadTimeout
		case frame.CodeWriteTimeout:
			return errWriteTimeout
		}
		return errServer
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errClientTimeout
	case errors.Is(err, context.Canceled):
		return errCancelled
	}
	if ce := (*conn.Error)(nil); errors.As(err, &ce) && !ce.Sent {
		return errUnsent
	}
	return errConnection
}

// retryReason is the RetryMetrics field of an error kind.
type retryReason uint8

const (
	reasonOther retryReason = iota
	reasonReadTimeout
	reasonWriteTimeout
	reasonUnavailable
	reasonAborted
	numReasons
)

var reasonOf = [numErrorKinds]retryReason{
	errReadTimeout:  reasonReadTimeout,
	errWriteTimeout: reasonWriteTimeout,
	errUnavailable:  reasonUnavailable,
	errConnection:   reasonAborted,
	errUnsent:       reasonAborted,
}

// nodeCounters are a node's attempt counters: a few atomic adds per
// attempt.
type nodeCounters struct {
	requests    atomic.Uint64
	errors      [numErrorKinds]atomic.Uint64
	retries     [numReasons]atomic.Uint64
	ignores     [numReasons]atomic.Uint64
	speculative atomic.Uint64
	// Failed first dials (before the node has a pool, which counts the
	// later ones itself).
	connectErrors, authErrors atomic.Uint64
}

// attemptEnded counts an attempt that ended with err, followed by v.
func (c *nodeCounters) attemptEnded(err error, v verdict) {
	c.requests.Add(1)
	if err == nil {
		return
	}
	kind := classify(err)
	c.errors[kind].Add(1)
	switch v.action {
	case query.RetrySameHost, query.RetryNextHost:
		if !v.reprepared {
			c.retries[reasonOf[kind]].Add(1)
		}
	case query.Ignore:
		c.ignores[reasonOf[kind]].Add(1)
	}
}

// dialFailed counts a failed first dial of the node's pool.
func (c *nodeCounters) dialFailed(err error) {
	c.connectErrors.Add(1)
	if pool.IsAuthError(err) {
		c.authErrors.Add(1)
	}
}

// fill adds the counters to n.
func (c *nodeCounters) fill(n *NodeMetrics) {
	n.Requests = c.requests.Load()
	e := &n.Errors
	e.ClientTimeouts = c.errors[errClientTimeout].Load()
	e.Unavailable = c.errors[errUnavailable].Load()
	e.Overloaded = c.errors[errOverloaded].Load()
	e.ReadTimeouts = c.errors[errReadTimeout].Load()
	e.WriteTimeouts = c.errors[errWriteTimeout].Load()
	e.ServerErrors = c.errors[errServer].Load()
	e.ConnectionErrors = c.errors[errConnection].Load()
	e.Unsent = c.errors[errUnsent].Load()
	e.Cancelled = c.errors[errCancelled].Load()
	n.Retries = retryMetrics(&c.retries)
	n.Ignores = retryMetrics(&c.ignores)
	n.SpeculativeExecutions = c.speculative.Load()
	n.ConnectErrors += c.connectErrors.Load()
	n.AuthErrors += c.authErrors.Load()
}

func retryMetrics(a *[numReasons]atomic.Uint64) RetryMetrics {
	r := RetryMetrics{
		ReadTimeout:  a[reasonReadTimeout].Load(),
		WriteTimeout: a[reasonWriteTimeout].Load(),
		Unavailable:  a[reasonUnavailable].Load(),
		Aborted:      a[reasonAborted].Load(),
		Other:        a[reasonOther].Load(),
	}
	r.Total = r.ReadTimeout + r.WriteTimeout + r.Unavailable + r.Aborted + r.Other
	return r
}

// stats returns the cache's size and the entries evicted so far.
func (c *preparedCache) stats() (size int, evictions uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey), c.evictions
}
