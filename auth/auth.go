package auth

import "context"

// ServerInfo is what a mechanism learns about the server it logs in to.
type ServerInfo struct {
	// Authenticator is the server's authenticator class from AUTHENTICATE,
	// e.g. "org.apache.cassandra.auth.PasswordAuthenticator".
	Authenticator string
	// Host is the node's host name, or its IP address when no name is
	// known (GSSAPI builds the service principal from it).
	Host string
}

// Authenticator starts a SASL exchange for each new connection. It is
// configured once and shared by every connection, so it must be safe for
// concurrent use.
type Authenticator interface {
	// Start returns the exchange for one connection and the initial
	// response to send in the first AUTH_RESPONSE.
	Start(ctx context.Context, server ServerInfo) (Exchange, []byte, error)
}

// Exchange is the state of one connection's SASL exchange.
type Exchange interface {
	// Challenge answers an AUTH_CHALLENGE token.
	Challenge(ctx context.Context, token []byte) ([]byte, error)
	// Success checks the AUTH_SUCCESS token (which may be nil). An error
	// fails the login even though the server accepted it.
	Success(token []byte) error
}
