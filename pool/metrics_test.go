package pool

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

// refusingSASL refuses every login.
type refusingSASL struct{}

func (refusingSASL) Step([]byte) ([]byte, bool, []byte, error) {
	return nil, false, nil, errors.New("bad credentials (on purpose)")
}

// TestHostPoolMetrics: the pool's gauges and counters through a lost
// connection (its traffic stays counted, its replacement is a
// reconnection) and refused logins (connect and auth errors). A fake
// server: a real node cannot be made to drop one connection under a
// request, or to start refusing a login it accepted.
func TestHostPoolMetrics(t *testing.T) {
	var closeNext, refuse atomic.Bool
	plain := &testserver.Plain{Users: map[string]string{"u": "p"}}
	srv := hpServer(t, testserver.Options{
		Authenticator: testserver.PasswordAuthenticator,
		NewSASL: func(ci *testserver.ConnInfo) testserver.SASLServer {
			if refuse.Load() {
				return refusingSASL{}
			}
			return plain.NewSASL(ci)
		},
		Handler: func(req *testserver.Request) testserver.Reply {
			if req.Header.Opcode == frame.OpQuery && closeNext.CompareAndSwap(true, false) {
				return testserver.Reply{Fault: testserver.FaultClose}
			}
			return req.Default()
		},
	})
	cfg := &conn.Config{Authenticator: auth.Plain{Username: "u", Password: "p"}}
	p := hpPool(t, srv.Addr(), cfg, HostPoolOptions{Size: 2, ReconnectBase: 20 * time.Millisecond, ReconnectMax: 40 * time.Millisecond})

	m := p.Metrics()
	if m.OpenConnections != 2 || m.InFlight != 0 || m.Orphaned != 0 || m.AvailableStreams != 2*conn.MaxStreams ||
		m.Reconnections != 0 || m.ConnectErrors != 0 || m.AuthErrors != 0 {
		t.Fatalf("a new pool's metrics: %+v", m)
	}
	ctx := context.Background()
	for range 4 {
		c, err := p.Pick()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Do(ctx, hpQuery); err != nil {
			t.Fatal(err)
		}
	}
	before := p.Metrics()
	if before.BytesSent == 0 || before.BytesReceived == 0 {
		t.Fatalf("after 4 requests: %+v", before)
	}

	closeNext.Store(true)
	c, _ := p.Pick()
	if _, err := c.Do(ctx, hpQuery); !errors.Is(err, conn.ErrConnectionLost) {
		t.Fatalf("Do: %v, want the connection lost", err)
	}
	hpEventually(t, "the lost connection replaced", func() bool { return p.Metrics().Reconnections == 1 && p.Live() == 2 })
	after := p.Metrics()
	// The lost connection's traffic is still counted: nothing goes back.
	if after.BytesSent <= before.BytesSent || after.BytesReceived < before.BytesReceived || after.OpenConnections != 2 {
		t.Errorf("before the loss %+v, after %+v", before, after)
	}

	// The node starts refusing the login: every reconnection fails, as an
	// authentication error.
	refuse.Store(true)
	srv.KillConnections()
	hpEventually(t, "refused reconnections counted", func() bool {
		m := p.Metrics()
		return m.OpenConnections == 0 && m.ConnectErrors >= 2 && m.AuthErrors == m.ConnectErrors
	})
	m = p.Metrics()
	if m.BytesSent < after.BytesSent || m.BytesReceived < after.BytesReceived || m.AvailableStreams != 0 {
		t.Errorf("with every connection closed: %+v (before: %+v)", m, after)
	}
	refuse.Store(false)
	hpEventually(t, "the pool back", func() bool { return p.Live() == 2 })
}

func TestIsAuthError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&frame.Error{Code: frame.CodeAuthenticationError}, true},
		{&conn.Error{Op: "authentication", Err: errors.New("x")}, true},
		{&conn.Error{Op: "STARTUP", Err: conn.ErrNoCredentials}, true},
		{&conn.Error{Op: "dial", Err: errors.New("connection refused")}, false},
		{&frame.Error{Code: frame.CodeServerError}, false},
	} {
		if got := IsAuthError(c.err); got != c.want {
			t.Errorf("IsAuthError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
