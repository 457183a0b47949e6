package conn

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/internal/redact/redacttest"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

const redactPassword = "Conn-Pa55w0rd-91ab"

// A connection that logged in, its Config, TLS options with a client key:
// none prints a credential. The fake node, because the test node's login
// cannot be given a password of the test's choosing.
func TestConnNeverPrintsCredentials(t *testing.T) {
	srv, err := testserver.Start(testserver.Options{
		Authenticator: testserver.PasswordAuthenticator,
		NewSASL:       (&testserver.Plain{Users: map[string]string{"app": redactPassword}}).NewSASL,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	plain := auth.Plain{Username: "app", Password: redactPassword}
	cfg := &Config{Authenticator: plain, Keyspace: "", Timeout: time.Second}
	c := dialT(t, srv.Addr(), cfg)

	cert := redacttest.NewClientCert(t)
	secrets := append([]string{redactPassword}, cert.Secrets...)
	tlsOpts := TLSOptions{CAPEM: cert.CertPEM, CertPEM: cert.CertPEM, KeyPEM: cert.KeyPEM, KeyFile: "/etc/key.pem"}
	for _, v := range []any{
		c, cfg, *cfg, c.s,
		Config{Authenticator: &plain, TLS: cert.TLS},
		tlsOpts, &tlsOpts,
	} {
		redacttest.Check(t, v, secrets...)
	}
	if s := fmt.Sprint(tlsOpts); !strings.Contains(s, "KeyPEM:[redacted]") || !strings.Contains(s, "KeyFile:/etc/key.pem") {
		t.Errorf("TLSOptions prints %s", s)
	}

	// A wrong password: the error names the login, not the password.
	wrong := "Wr0ng-" + redactPassword
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = Dial(ctx, srv.Addr(), &Config{Authenticator: auth.Plain{Username: "app", Password: auth.Secret(wrong)}})
	if err == nil {
		t.Fatal("a wrong password logged in")
	}
	redacttest.Check(t, err, wrong)
}

func TestConnRedactedNilAndZero(t *testing.T) {
	for _, v := range []any{(*Conn)(nil), (*Config)(nil), (*TLSOptions)(nil), Config{}, TLSOptions{}} {
		redacttest.CheckPrints(t, v)
	}
}
