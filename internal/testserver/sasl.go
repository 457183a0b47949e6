package testserver

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Plain is the SASL PLAIN mechanism (RFC 4616) over a fixed table of users:
// what PasswordAuthenticator checks, and the "PLAIN" mechanism (internal
// scheme) of DseAuthenticator.
//
// The client's token is authzid NUL authcid NUL password. An empty authzid
// (the usual "\x00user\x00password") logs in as authcid. A non-empty authzid
// different from authcid is a proxy login: authcid's password is checked,
// then authcid must be allowed to act as the role authzid (DSE's PROXY.LOGIN
// permission, here the Proxy table); ConnInfo.User is then authcid and
// ConnInfo.Role authzid.
//
// Wrong credentials fail with Cassandra's message "Provided username U
// and/or password are incorrect"; a proxy login that is not allowed fails
// with "U is not authorized to log in as R"; a token that is not three
// NUL-separated fields fails with "invalid PLAIN token".
type Plain struct {
	// Users maps each login to its password.
	Users map[string]string
	// Proxy maps a login to the roles it may act as through an
	// authorization id.
	Proxy map[string][]string
}

// NewSASL returns the exchange of one connection; use it as
// Options.NewSASL, or as the "PLAIN" entry of DSE's mechanisms. The Plain
// value must not be changed while a server uses it.
func (p *Plain) NewSASL(*ConnInfo) SASLServer { return &plainServer{p: p} }

type plainServer struct {
	p          *Plain
	done       bool
	user, role string
}

func (s *plainServer) Step(token []byte) ([]byte, bool, []byte, error) {
	if s.done {
		return nil, false, nil, errors.New("PLAIN exchange already complete")
	}
	s.done = true
	parts := bytes.Split(token, []byte{0})
	if token == nil || len(parts) != 3 {
		return nil, false, nil, errors.New("invalid PLAIN token: want authzid NUL authcid NUL password")
	}
	authz, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
	if user == "" {
		return nil, false, nil, errors.New("Authentication ID must not be null")
	}
	want, ok := s.p.Users[user]
	if !ok || want != pass {
		return nil, false, nil, fmt.Errorf("Provided username %s and/or password are incorrect", user)
	}
	role := user
	if authz != "" && authz != user {
		if !slices.Contains(s.p.Proxy[user], authz) {
			return nil, false, nil, fmt.Errorf("%s is not authorized to log in as %s", user, authz)
		}
		role = authz
	}
	s.user, s.role = user, role
	return nil, true, nil, nil
}

func (s *plainServer) Identity() (user, role string) { return s.user, s.role }

// DSE returns an Options.NewSASL for DseAuthenticator (use it with
// Options.Authenticator = DSEAuthenticator): the mechanism negotiation of
// DataStax Enterprise, in front of the given mechanisms (keyed by SASL name:
// "PLAIN", "GSSAPI", ...).
//
// The exchange, as the DataStax drivers (Java, Python, C++) perform it:
//
//	server: AUTHENTICATE "com.datastax.bdp.cassandra.auth.DseAuthenticator"
//	client: AUTH_RESPONSE "PLAIN"            (the mechanism name, ASCII)
//	server: AUTH_CHALLENGE "PLAIN-START"     (the name followed by "-START")
//	client: AUTH_RESPONSE authzid NUL authcid NUL password
//	server: AUTH_SUCCESS (null token)
//
// and for Kerberos: "GSSAPI", then "GSSAPI-START", then the GSSAPI tokens
// of RFC 4752 (the mechanism's own challenges), then AUTH_SUCCESS. After the
// "-START" challenge every token goes to the chosen mechanism's Step.
//
// A first token that is not one of the mechanism names is what a client
// written for PasswordAuthenticator sends (gocql does, and DSE accepts it):
// it is passed, as the initial response, to the legacy mechanism (e.g.
// "PLAIN"); with legacy empty, such a token fails with "unknown
// authentication mechanism". The SASL server returned implements Identity
// when the chosen mechanism does.
func DSE(mechanisms map[string]func(*ConnInfo) SASLServer, legacy string) func(*ConnInfo) SASLServer {
	mechs := make(map[string]func(*ConnInfo) SASLServer, len(mechanisms))
	for k, v := range mechanisms {
		mechs[k] = v
	}
	return func(ci *ConnInfo) SASLServer { return &dseServer{mechs: mechs, legacy: legacy, conn: ci} }
}

type dseServer struct {
	mechs  map[string]func(*ConnInfo) SASLServer
	legacy string
	conn   *ConnInfo
	inner  SASLServer
}

func (s *dseServer) Step(token []byte) ([]byte, bool, []byte, error) {
	if s.inner != nil {
		return s.inner.Step(token)
	}
	if newMech, ok := s.mechs[string(token)]; ok && token != nil {
		s.inner = newMech(s.conn)
		return []byte(string(token) + "-START"), false, nil, nil
	}
	newMech, ok := s.mechs[s.legacy]
	if s.legacy == "" || !ok {
		names := make([]string, 0, len(s.mechs))
		for k := range s.mechs {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, false, nil, fmt.Errorf("unknown authentication mechanism (the first token must be one of %s)", strings.Join(names, ", "))
	}
	s.inner = newMech(s.conn)
	return s.inner.Step(token)
}

func (s *dseServer) Identity() (user, role string) {
	if id, ok := s.inner.(Identity); ok {
		return id.Identity()
	}
	return "", ""
}
