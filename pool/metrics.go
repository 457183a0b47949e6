package pool

import (
	"errors"
	"sync/atomic"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
)

// PoolMetrics is a snapshot of a pool's connections: gauges read from
// each live connection (conn.Conn.Health) when it is taken, and counters
// kept by the pool since it opened.
type PoolMetrics struct {
	// OpenConnections is the number of live connections.
	OpenConnections int
	// InFlight is the number of stream ids in use on them, Orphaned the
	// number of those held by requests given up on (timed out or
	// cancelled) whose answer has not arrived, AvailableStreams the
	// number still free.
	InFlight, Orphaned, AvailableStreams int
	// BytesSent and BytesReceived count the traffic of every connection
	// the pool has had, the closed ones included.
	BytesSent, BytesReceived uint64
	// Timeouts counts the requests answered by their timeout on the live
	// connections.
	Timeouts uint64
	// Reconnections counts the broken connections replaced by a new one.
	Reconnections uint64
	// ConnectErrors counts failed attempts to open a connection (the
	// first dials and the reconnections), AuthErrors those among them the
	// server refused the login of.
	ConnectErrors, AuthErrors uint64
}

// poolCounters are what a HostPool counts itself: atomics, updated off
// the request path (connections opening and closing).
type poolCounters struct {
	// retiredSent and retiredReceived hold the traffic of the
	// connections that have closed.
	retiredSent, retiredReceived atomic.Uint64
	reconnections                atomic.Uint64
	connectErrors, authErrors    atomic.Uint64
}

// retire keeps the traffic of a connection that has closed. p.mu held,
// as it leaves the live list.
func (pc *poolCounters) retire(c *conn.Conn) {
	h := c.Health()
	pc.retiredSent.Add(h.BytesWritten)
	pc.retiredReceived.Add(h.BytesRead)
}

// dialFailed counts a failed attempt to open a connection.
func (pc *poolCounters) dialFailed(err error) {
	if err == nil {
		return
	}
	pc.connectErrors.Add(1)
	if IsAuthError(err) {
		pc.authErrors.Add(1)
	}
}

// IsAuthError reports whether a Dial error is the server refusing the
// login: bad credentials, an authentication exchange that failed, or no
// credentials configured for a node that requires them.
func IsAuthError(err error) bool {
	var fe *frame.Error
	if errors.As(err, &fe) && fe.Code == frame.CodeAuthenticationError {
		return true
	}
	var ce *conn.Error
	return errors.Is(err, conn.ErrNoCredentials) || (errors.As(err, &ce) && ce.Op == "authentication")
}

// Metrics returns a snapshot of the pool's connections and counters: a
// few atomic loads per live connection, under the pool's lock (which the
// request path does not take) so that a connection closing is counted
// once, live or retired, and the byte counters never go back.
func (p *HostPool) Metrics() PoolMetrics {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := PoolMetrics{
		BytesSent:     p.counters.retiredSent.Load(),
		BytesReceived: p.counters.retiredReceived.Load(),
		Reconnections: p.counters.reconnections.Load(),
		ConnectErrors: p.counters.connectErrors.Load(),
		AuthErrors:    p.counters.authErrors.Load(),
	}
	streams := p.cfg.MaxStreams
	if streams == 0 {
		streams = conn.MaxStreams
	}
	if l := p.live.Load(); l != nil {
		for _, c := range *l {
			h := c.Health()
			m.OpenConnections++
			m.InFlight += h.InFlight
			m.Orphaned += h.Orphaned
			m.AvailableStreams += max(streams-h.InFlight, 0)
			m.BytesSent += h.BytesWritten
			m.BytesReceived += h.BytesRead
			m.Timeouts += h.Timeouts
		}
	}
	return m
}
