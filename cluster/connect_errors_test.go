package cluster

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

// Every way Connect can fail is matchable with errors.Is. The failures
// come from fake nodes, or from no node at all: a real node cannot be made
// to let the control connection in and then refuse every pool, and these
// need no Cassandra.

func startPlainServer(t *testing.T, opts testserver.Options) *testserver.Server {
	t.Helper()
	opts.Logf = t.Logf
	srv, err := testserver.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// refusingSASL rejects every login.
type refusingSASL struct{}

func (refusingSASL) Step([]byte) ([]byte, bool, []byte, error) {
	return nil, false, nil, errors.New("Provided username and/or password are incorrect")
}

func TestConnectErrorsAreMatchable(t *testing.T) {
	closedAddr := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	connect := func(t *testing.T, ctx context.Context, cfg Config) error {
		t.Helper()
		s, err := Connect(ctx, cfg)
		if err == nil {
			s.Close()
			t.Fatal("Connect succeeded")
		}
		t.Logf("Connect: %v", err)
		return err
	}
	wantNoHost := func(t *testing.T, err error) {
		t.Helper()
		var nh *NoHostAvailableError
		if !errors.Is(err, ErrNoHostAvailable) || !errors.As(err, &nh) {
			t.Errorf("%v: want ErrNoHostAvailable and a *NoHostAvailableError", err)
		}
	}

	t.Run("no node listening", func(t *testing.T) {
		err := connect(t, context.Background(), Config{ContactPoints: []string{closedAddr(t), closedAddr(t)}, ConnectTimeout: time.Second})
		wantNoHost(t, err)
		var ce *conn.Error
		if !errors.As(err, &ce) {
			t.Errorf("%v: want a *conn.Error among the nodes' errors", err)
		}
	})

	t.Run("login required, none configured", func(t *testing.T) {
		srv := startPlainServer(t, testserver.Options{Echo: true, Authenticator: testserver.PasswordAuthenticator,
			NewSASL: func(*testserver.ConnInfo) testserver.SASLServer { return refusingSASL{} }})
		err := connect(t, context.Background(), Config{ContactPoints: []string{srv.Addr()}})
		wantNoHost(t, err)
		if !errors.Is(err, conn.ErrNoCredentials) || !strings.Contains(err.Error(), "Config.Username") {
			t.Errorf("%v: want conn.ErrNoCredentials and a message naming Config.Username", err)
		}
	})

	t.Run("bad credentials", func(t *testing.T) {
		srv := startPlainServer(t, testserver.Options{Echo: true, Authenticator: testserver.PasswordAuthenticator,
			NewSASL: func(*testserver.ConnInfo) testserver.SASLServer { return refusingSASL{} }})
		err := connect(t, context.Background(), Config{ContactPoints: []string{srv.Addr()}, Username: "u", Password: "not-the-password"})
		wantNoHost(t, err)
		if strings.Contains(err.Error(), "not-the-password") {
			t.Errorf("the error prints the password: %v", err)
		}
	})

	t.Run("invalid config", func(t *testing.T) {
		err := connect(t, context.Background(), Config{ContactPoints: []string{"127.0.0.1"}, Port: 70000})
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%v: want ErrInvalidConfig", err)
		}
	})

	t.Run("unknown local data centre", func(t *testing.T) {
		tp := startTopology(t, 1)
		cfg := tp.config()
		cfg.LocalDatacenter = "nowhere"
		err := connect(t, context.Background(), cfg)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "nowhere") {
			t.Errorf("%v: want ErrInvalidConfig naming the data centre", err)
		}
	})

	t.Run("control connection in, every pool refused", func(t *testing.T) {
		tp := startTopology(t, 2)
		cfg := tp.config()
		var dials atomic.Int32
		cfg.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) > 1 {
				return nil, errors.New("refused by the test")
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
		wantNoHost(t, connect(t, context.Background(), cfg))
	})

	t.Run("context ends first", func(t *testing.T) {
		tp := startTopology(t, 1)
		tp.node(0).frozen.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		err := connect(t, ctx, tp.config())
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrNoHostAvailable) {
			t.Errorf("%v: want context.DeadlineExceeded and ErrNoHostAvailable", err)
		}
	})
}
