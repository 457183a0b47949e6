package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Plain logs in with a login and password (SASL PLAIN, RFC 4616), as
// Apache Cassandra's PasswordAuthenticator and DSE's DseAuthenticator
// expect. It is plain data: the zero value of every field but Username and
// Password is a sensible default, and a Plain is safe for concurrent use.
//
// The PLAIN token is, byte for byte:
//
//	authzid 0x00 username 0x00 password      (UTF-8, no length prefixes)
//
// where authzid is AuthorizationID, empty unless set. So a login as
// "cassandra" with password "secret" sends
//
//	00 63 61 73 73 61 6e 64 72 61 00 73 65 63 72 65 74   "\x00cassandra\x00secret"
//
// With PasswordAuthenticator (and any class other than DSEAuthenticator)
// that token is the initial response and the server answers AUTH_SUCCESS
// (whose token, null from Cassandra, is ignored). With DSEAuthenticator the
// initial response is the mechanism name "PLAIN" (50 4c 41 49 4e), the
// server challenges with "PLAIN-START" (50 4c 41 49 4e 2d 53 54 41 52 54),
// and the PLAIN token is the answer to that challenge.
type Plain struct {
	// Username is the login (SASL authentication id). Required.
	Username string
	// Password is the login's password. It never appears in errors or in
	// printed output.
	Password Secret
	// AuthorizationID, when set, is the role to act as after logging in as
	// Username (DSE proxy authentication: Username needs the PROXY.LOGIN
	// permission on that role). Only DSEAuthenticator honours it: Apache
	// Cassandra's PasswordAuthenticator would silently ignore it, so Start
	// fails instead when the server announces another class.
	AuthorizationID string
	// AllowedAuthenticators, when not empty, is the list of server
	// authenticator classes this login may be sent to; Start fails with
	// ErrAuthenticatorNotAllowed (naming the class) for any other. Empty
	// means any class, as other drivers do.
	AllowedAuthenticators []string
}

// PlainToken returns the SASL PLAIN token authzid NUL authcid NUL password.
func PlainToken(authzid, username string, password Secret) []byte {
	b := make([]byte, 0, len(authzid)+len(username)+len(password)+2)
	b = append(b, authzid...)
	b = append(b, 0)
	b = append(b, username...)
	b = append(b, 0)
	return append(b, password...)
}

// Validate checks the configuration: a username, and no NUL byte in any
// field (NUL separates the fields of the token).
func (p Plain) Validate() error {
	if p.Username == "" {
		return errors.New("auth: PLAIN: Username is empty")
	}
	if strings.IndexByte(p.Username, 0) >= 0 {
		return errors.New("auth: PLAIN: Username contains a NUL byte")
	}
	if strings.IndexByte(string(p.Password), 0) >= 0 {
		return fmt.Errorf("auth: PLAIN: the password of %q contains a NUL byte", p.Username)
	}
	if strings.IndexByte(p.AuthorizationID, 0) >= 0 {
		return errors.New("auth: PLAIN: AuthorizationID contains a NUL byte")
	}
	return nil
}

// Start implements Authenticator.
func (p Plain) Start(ctx context.Context, server ServerInfo) (Exchange, []byte, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	if err := checkAllowed("PLAIN", p.AllowedAuthenticators, server.Authenticator); err != nil {
		return nil, nil, err
	}
	dse := isDSE(server.Authenticator)
	if p.AuthorizationID != "" && !dse {
		return nil, nil, fmt.Errorf("auth: PLAIN: an authorization id (proxy login as %q) needs %s, but the server announced %q, which would ignore it",
			p.AuthorizationID, DSEAuthenticator, server.Authenticator)
	}
	x := &plainExchange{token: PlainToken(p.AuthorizationID, p.Username, p.Password), user: p.Username}
	if dse {
		return x, []byte(MechanismPlain), nil
	}
	x.sent = true
	return x, x.token, nil
}

// String describes the login without its password.
func (p Plain) String() string {
	s := "PLAIN(" + p.Username
	if p.AuthorizationID != "" {
		s += " as " + p.AuthorizationID
	}
	return s + ")"
}

type plainExchange struct {
	token []byte // never printed
	user  string
	sent  bool // the PLAIN token has been sent
}

// Challenge answers DSE's "PLAIN-START"; any other challenge is an error.
func (x *plainExchange) Challenge(ctx context.Context, token []byte) ([]byte, error) {
	if x.sent {
		return nil, fmt.Errorf("auth: PLAIN login of %q: unexpected challenge (%s) after the credentials were sent", x.user, describeToken(token))
	}
	if string(token) != plainStart {
		return nil, fmt.Errorf("auth: PLAIN login of %q: DSE challenged the mechanism choice with %s, want %q", x.user, describeToken(token), plainStart)
	}
	x.sent = true
	return x.token, nil
}

// Success accepts the login; PLAIN's success token carries nothing.
func (x *plainExchange) Success(token []byte) error { return nil }

// String never shows the credentials.
func (x *plainExchange) String() string { return "PLAIN exchange for " + x.user }

// Format prints String whatever the verb: the exchange holds the password.
func (x *plainExchange) Format(f fmt.State, verb rune) { fmt.Fprint(f, x.String()) }
