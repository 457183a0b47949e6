package pool

import (
	"testing"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/conn"
	"github.com/cqlwire/cqlwire/internal/redact/redacttest"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

const redactPassword = "Pool-Pa55w0rd-c4d2"

// A pool logged in with a password never prints it. The fake node, because
// the test node's login cannot be given a password of the test's choosing.
func TestHostPoolNeverPrintsCredentials(t *testing.T) {
	srv := hpServer(t, testserver.Options{
		Authenticator: testserver.PasswordAuthenticator,
		NewSASL:       (&testserver.Plain{Users: map[string]string{"app": redactPassword}}).NewSASL,
	})
	cfg := &conn.Config{Authenticator: auth.Plain{Username: "app", Password: redactPassword}}
	p := hpPool(t, srv.Addr(), cfg, HostPoolOptions{Size: 2, Host: &Host{Datacenter: "dc1"}})
	redacttest.Check(t, p, redactPassword)
	redacttest.Check(t, (*HostPool)(nil), redactPassword)
}
