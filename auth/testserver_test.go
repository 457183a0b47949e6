package auth_test

// The client mechanisms against the server-side SASL of internal/testserver
// (its PLAIN table and its DseAuthenticator negotiation), token by token.
// (GSSAPI through DseAuthenticator: auth/kerberos's testserver_test.go.)
// Wire-level tests, through a real connection, belong to package conn.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cqlwire/cqlwire/auth"
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

}

// loginWith runs a whole exchange between the client and a server-side
// SASL session, and returns the tokens sent each way.
func loginWith(t *testing.T, a auth.Authenticator, sess testserver.SASLServer, server auth.ServerInfo) ([][]byte, error) {
	t.Helper()
	ctx := context.Background()
	x, tok, err := a.Start(ctx, server)
	if err != nil {
		return nil, err
	}
	tokens := [][]byte{tok}
	for range 10 {
		challenge, done, success, err := sess.Step(tok)
		if err != nil {
			return tokens, fmt.Errorf("server: %w", err)
		}
		tokens = append(tokens, challenge)
		if done {
			return tokens, x.Success(success)
		}
		if tok, err = x.Challenge(ctx, challenge); err != nil {
			return tokens, err
		}
		tokens = append(tokens, tok)
	}
	return tokens, errors.New("exchange did not end after 10 rounds")
}
