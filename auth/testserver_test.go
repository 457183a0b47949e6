package auth_test

// The client mechanisms against the server-side SASL of internal/testserver
// (its PLAIN table and its DseAuthenticator negotiation), token by token.
// Wire-level tests, through a real connection, belong to package conn.

import (
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/internal/krbtest"
	"github.com/cqlwire/cqlwire/internal/testserver"
)

func TestAgainstTestServerSASL(t *testing.T) {
	plain := &testserver.Plain{Users: map[string]string{"bob": "pw", "alice": "apw"}, Proxy: map[string][]string{"bob": {"alice"}}}
	dse := testserver.DSE(map[string]func(*testserver.ConnInfo) testserver.SASLServer{"PLAIN": plain.NewSASL}, "PLAIN")
	type identity interface{ Identity() (string, string) }

	for _, tc := range []struct {
		name     string
		class    string
		newSASL  func(*testserver.ConnInfo) testserver.SASLServer
		plain    auth.Plain
		user     string
		role     string
		errorHas string
	}{
		{"PasswordAuthenticator", auth.PasswordAuthenticator, plain.NewSASL, auth.Plain{Username: "bob", Password: "pw"}, "bob", "bob", ""},
		{"wrong password", auth.PasswordAuthenticator, plain.NewSASL, auth.Plain{Username: "bob", Password: "nope"}, "", "", "Provided username bob and/or password are incorrect"},
		{"DSE", auth.DSEAuthenticator, dse, auth.Plain{Username: "bob", Password: "pw"}, "bob", "bob", ""},
		{"DSE proxy login", auth.DSEAuthenticator, dse, auth.Plain{Username: "bob", Password: "pw", AuthorizationID: "alice"}, "bob", "alice", ""},
		{"DSE proxy login refused", auth.DSEAuthenticator, dse, auth.Plain{Username: "alice", Password: "apw", AuthorizationID: "bob"}, "", "", "alice is not authorized to log in as bob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := tc.newSASL(&testserver.ConnInfo{})
			tokens, err := loginWith(t, tc.plain, sess, auth.ServerInfo{Authenticator: tc.class, Host: "127.0.0.1"})
			if tc.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
					t.Fatalf("err = %v, want %q", err, tc.errorHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if user, role := sess.(identity).Identity(); user != tc.user || role != tc.role {
				t.Errorf("server saw %q acting as %q, want %q as %q (tokens %q)", user, role, tc.user, tc.role, tokens)
			}
		})
	}

	t.Run("DSE GSSAPI", func(t *testing.T) {
		kdc := krbtest.Start(t)
		acc := acceptor(t, kdc)
		newSASL := testserver.DSE(map[string]func(*testserver.ConnInfo) testserver.SASLServer{
			"PLAIN":  plain.NewSASL,
			"GSSAPI": func(*testserver.ConnInfo) testserver.SASLServer { return acc.NewSession() },
		}, "PLAIN")
		g := newGSSAPI(t, auth.GSSAPIConfig{KeytabFile: kdc.KeytabUserFile, Krb5ConfigFile: kdc.Krb5Conf, ServiceName: "cassandra", AuthorizationID: "reporting"})
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
	})
}
