package kerberos_test

// The GSSAPI mechanism behind internal/testserver's DseAuthenticator
// negotiation, token by token. Wire-level tests, through a real
// connection, belong to package conn.

import (
	"testing"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/auth/kerberos"
	"github.com/cqlwire/cqlwire/internal/krbtest"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

func TestAgainstTestServerDSE(t *testing.T) {
	plain := &testserver.Plain{Users: map[string]string{"bob": "pw"}}
	type identity interface{ Identity() (string, string) }

	kdc := krbtest.Start(t)
	acc := acceptor(t, kdc)
	newSASL := testserver.DSE(map[string]func(*testserver.ConnInfo) testserver.SASLServer{
		"PLAIN":  plain.NewSASL,
		"GSSAPI": func(*testserver.ConnInfo) testserver.SASLServer { return acc.NewSession() },
	}, "PLAIN")
	g := newGSSAPI(t, kerberos.Config{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra", AuthorizationID: "reporting"})
	sess := newSASL(&testserver.ConnInfo{})
	tokens, err := loginWith(t, g, sess, auth.ServerInfo{Authenticator: auth.DSEAuthenticator, Host: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if string(tokens[0]) != "GSSAPI" || string(tokens[1]) != "GSSAPI-START" {
		t.Errorf("tokens %q, %q", tokens[0], tokens[1])
	}
	if user, role := sess.(identity).Identity(); user != kdc.KeytabUser || role != "reporting" {
		t.Errorf("server saw %q acting as %q", user, role)
	}
}
