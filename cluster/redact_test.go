package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/internal/redact/redacttest"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

const redactPassword = "Cluster-Pa55w0rd-7f3e"

// startAuthTopology is startTopology with nodes that require a PLAIN
// login (PasswordAuthenticator) of user "app" with redactPassword. Fake
// nodes, because the test node's login cannot be given a password of the
// test's choosing.
func startAuthTopology(t *testing.T, n int) *fakeTopology {
	t.Helper()
	tp := &fakeTopology{t: t, gone: map[*fakeNode]bool{}}
	users := &testserver.Plain{Users: map[string]string{"app": redactPassword}}
	for i := range n {
		node := &fakeNode{name: string(rune('A' + i)), id: fmt.Sprintf("c0ffee00-0000-4000-8000-0000000002%02x", i)}
		srv, err := testserver.Start(testserver.Options{Handler: tp.handler(node), BindType: testserver.BindInt, Logf: t.Logf,
			Authenticator: testserver.PasswordAuthenticator, NewSASL: users.NewSASL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		tp.mu.Lock()
		node.srv, node.addr = srv, netip.MustParseAddrPort(srv.Addr())
		tp.nodes = append(tp.nodes, node)
		tp.mu.Unlock()
	}
	return tp
}

// A Session (and everything it holds: its watcher, pools, connections)
// never prints the password it logs in with, nor a TLS key.
func TestSessionNeverPrintsCredentials(t *testing.T) {
	tp := startAuthTopology(t, 2)
	cfg := tp.config()
	cfg.Username, cfg.Password = "app", redactPassword
	cfg.Keyspace = "shop"
	s := tp.connect(t, cfg)

	rt := s.routing.Load()
	if len(rt.pools) != 2 {
		t.Fatalf("%d pools, want 2", len(rt.pools))
	}
	values := []any{s, s.watcher, s.cfg, &s.cfg, s.connCfg, &s.connCfg, s.watcher.cfg}
	for _, p := range rt.pools {
		c, err := p.Pick()
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, p, c)
	}
	for _, v := range values {
		redacttest.Check(t, v, redactPassword)
	}

	// What they do print: the type and the safe settings.
	for _, tc := range []struct {
		got  string
		want []string
	}{
		{fmt.Sprint(s), []string{"cluster.Session{", tp.node(0).srv.Addr(), "shop", "app", "[redacted]"}},
		{fmt.Sprintf("%+v", s.watcher), []string{"cluster.Watcher{", "PLAIN(app)"}},
		{fmt.Sprintf("%#v", s), []string{"&cluster.Session{", `auth.Secret("[redacted]")`}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.got, w) {
				t.Errorf("%s: no %q", tc.got, w)
			}
		}
	}
}

// A wrong password: Connect's error names the login, not the password.
func TestConnectErrorNeverShowsPassword(t *testing.T) {
	tp := startAuthTopology(t, 1)
	cfg := tp.config()
	wrong := "Wr0ng-" + redactPassword
	cfg.Username, cfg.Password = "app", auth.Secret(wrong)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, cfg)
	if err == nil {
		s.Close()
		t.Fatal("a wrong password connected")
	}
	if !strings.Contains(err.Error(), "PLAIN(app)") {
		t.Errorf("the error does not name the login: %v", err)
	}
	redacttest.Check(t, err, wrong)
}

// Configs holding every kind of credential the driver knows of: a
// password, an authenticator, TLS options with a client key, a tls.Config
// with a certificate and key.
func TestConfigsNeverPrintCredentials(t *testing.T) {
	cert := redacttest.NewClientCert(t)
	secrets := append([]string{redactPassword}, cert.Secrets...)
	tlsOpts := &conn.TLSOptions{CertPEM: cert.CertPEM, KeyPEM: cert.KeyPEM, ServerName: "node1"}
	connCfg := &conn.Config{Authenticator: auth.Plain{Username: "app", Password: redactPassword}, TLS: cert.TLS, Timeout: time.Second}
	for _, v := range []any{
		Config{ContactPoints: []string{"10.0.0.1"}, Username: "app", Password: redactPassword, TLS: tlsOpts},
		Config{ContactPoints: []string{"10.0.0.1"}, Authenticator: auth.Plain{Username: "app", Password: redactPassword}, TLSConfig: cert.TLS},
		&Config{ContactPoints: []string{"10.0.0.1"}, Authenticator: &auth.Plain{Username: "app", Password: redactPassword}},
		WatcherConfig{ContactPoints: []string{"10.0.0.1:9042"}, Conn: connCfg},
		&WatcherConfig{Conn: connCfg},
	} {
		redacttest.Check(t, v, secrets...)
	}
}

// A Watcher started on its own, with a conn.Config.
func TestWatcherNeverPrintsCredentials(t *testing.T) {
	tp := startAuthTopology(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := StartWatcher(ctx, WatcherConfig{
		ContactPoints: []string{tp.node(0).srv.Addr()},
		Conn:          &conn.Config{Authenticator: auth.Plain{Username: "app", Password: redactPassword}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	redacttest.Check(t, w, redactPassword)
}

// The zero and nil values print without panicking.
func TestRedactedNilAndZero(t *testing.T) {
	for _, v := range []any{(*Session)(nil), (*Watcher)(nil), (*Config)(nil), (*WatcherConfig)(nil), Config{}, WatcherConfig{}, &Session{}, &Watcher{}} {
		redacttest.CheckPrints(t, v)
	}
}
