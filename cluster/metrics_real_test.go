package cluster

import (
	"errors"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/frame"
)

// TestSessionMetricsReal runs statements against the real node(s) and
// checks the snapshot: requests and errors counted on the nodes that took
// them, traffic, one pool of Config.PoolSize connections per node, the
// prepared statement cache.
func TestSessionMetricsReal(t *testing.T) {
	const poolSize = 3
	s := connectReal(t, func(c *Config) { c.PoolSize = poolSize })
	ctx := testCtx(t)
	// Every pool full, unless a node is down (the three-node cluster may
	// be in someone else's chaos test): those are left out below.
	deadline := time.Now().Add(20 * time.Second)
	for !poolsFull(s.Metrics(), poolSize) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}

	before := s.Metrics()
	const n = 20
	for i := range n {
		var key string
		var err error
		if i%2 == 0 {
			err = s.Query("SELECT key FROM system.local").One(ctx, &key)
		} else {
			err = s.Query("SELECT key FROM system.local WHERE key = ?", "local").One(ctx, &key)
		}
		if err != nil || key != "local" {
			t.Fatalf("statement %d: %q, %v", i, key, err)
		}
	}
	err := s.Query("SELECT nothing FROM system.local").Exec(ctx)
	if !errors.Is(err, frame.CodeInvalid) {
		t.Fatalf("selecting an unknown column: %v, want Invalid", err)
	}
	m := s.Metrics()

	// n statements, the invalid one, and the implicit PREPARE.
	if got := m.Requests - before.Requests; got != n+2 {
		t.Errorf("%d requests counted, want %d", got, n+2)
	}
	if got := m.Failed - before.Failed; got != 1 {
		t.Errorf("%d failed statements, want 1", got)
	}
	if m.ClientTimeouts != 0 || m.Throttled != 0 {
		t.Errorf("%d client timeouts, %d throttled; want none", m.ClientTimeouts, m.Throttled)
	}
	if m.PreparedStatements < 1 {
		t.Errorf("prepared cache holds %d statements, want at least 1", m.PreparedStatements)
	}
	if len(m.Nodes) == 0 || m.ConnectedNodes == 0 {
		t.Fatalf("%d connected nodes of %d: %+v", m.ConnectedNodes, len(m.Nodes), m.Nodes)
	}
	var attempts, serverErrors uint64
	open, connected := 0, 0
	for _, nm := range m.Nodes {
		open += nm.OpenConnections
		if nm.OpenConnections > 0 {
			connected++
		}
		if !nm.Up {
			t.Logf("node %s is down: not checked", nm.Addr)
		} else if nm.OpenConnections != poolSize || nm.InFlight != 0 || nm.AvailableStreams <= 0 {
			t.Errorf("node %s: up %v, %d connections (want %d), %d in flight, %d streams available",
				nm.Addr, nm.Up, nm.OpenConnections, poolSize, nm.InFlight, nm.AvailableStreams)
		}
		if nm.Requests > 0 && (nm.BytesSent == 0 || nm.BytesReceived == 0) {
			t.Errorf("node %s: %d requests but %d bytes sent, %d received", nm.Addr, nm.Requests, nm.BytesSent, nm.BytesReceived)
		}
		if nm.Datacenter == "" || nm.HostID == ([16]byte{}) {
			t.Errorf("node %s: data centre %q, host id %s", nm.Addr, nm.Datacenter, nm.HostID)
		}
		attempts += nm.Requests
		serverErrors += nm.Errors.ServerErrors
	}
	for _, nm := range before.Nodes {
		attempts -= nm.Requests
		serverErrors -= nm.Errors.ServerErrors
	}
	if attempts < n+2 || serverErrors != 1 {
		t.Errorf("the nodes counted %d attempts and %d server errors, want at least %d and 1", attempts, serverErrors, n+2)
	}
	if m.BytesSent <= before.BytesSent || m.BytesReceived <= before.BytesReceived {
		t.Errorf("traffic: %d/%d bytes sent/received before, %d/%d after", before.BytesSent, before.BytesReceived, m.BytesSent, m.BytesReceived)
	}
	if m.OpenConnections != open || m.ConnectedNodes != connected {
		t.Errorf("%d open connections, %d connected nodes; the nodes sum to %d and %d", m.OpenConnections, m.ConnectedNodes, open, connected)
	}
}

// poolsFull reports whether every node has size live connections.
func poolsFull(m Metrics, size int) bool {
	for _, n := range m.Nodes {
		if n.OpenConnections != size {
			return false
		}
	}
	return len(m.Nodes) > 0
}
