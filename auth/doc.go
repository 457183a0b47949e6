// Package auth implements the SASL mechanisms a Cassandra connection uses to
// log in: PLAIN (PasswordAuthenticator), DSE's DseAuthenticator (mechanism
// selection, authorization id for proxy login, and the proxy-execute
// payload), and GSSAPI / Kerberos through gokrb5.
//
// A mechanism is a challenge/response state machine over byte tokens: it
// knows nothing of connections, frames or sockets. Package conn drives it
// with the server's AUTHENTICATE, AUTH_CHALLENGE and AUTH_SUCCESS messages.
//
// Credentials never appear in errors, logs or String output.
//
// It must never import conn, pool, cluster or query.
package auth
