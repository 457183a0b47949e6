package auth

import "github.com/cqlwire/cqlwire/auth/internal/sasl"

// Server authenticator classes, as announced in AUTHENTICATE.
const (
	// PasswordAuthenticator is Apache Cassandra's login/password
	// authenticator: the client answers with one PLAIN token.
	PasswordAuthenticator = "org.apache.cassandra.auth.PasswordAuthenticator"
	// DSEAuthenticator is DataStax Enterprise's unified authenticator: the
	// client first names its mechanism, then answers the server's
	// "<MECHANISM>-START" challenge with the mechanism's first token (see
	// the package documentation).
	DSEAuthenticator = "com.datastax.bdp.cassandra.auth.DseAuthenticator"
)

// Mechanism names sent as the first token to DSEAuthenticator, and the
// challenges DSE answers them with.
const (
	MechanismPlain  = "PLAIN"
	MechanismGSSAPI = "GSSAPI" // package auth/kerberos

	plainStart = "PLAIN-START"
)

// ErrAuthenticatorNotAllowed is wrapped by the error Start returns when the
// server's authenticator class is not in a mechanism's
// AllowedAuthenticators (of this package's and of auth/kerberos's).
var ErrAuthenticatorNotAllowed = sasl.ErrNotAllowed

// checkAllowed enforces an allow-list of authenticator classes (empty: any).
func checkAllowed(mech string, allowed []string, class string) error {
	return sasl.CheckAllowed(mech, allowed, class)
}

// isDSE reports whether the server expects DSE's mechanism negotiation.
func isDSE(class string) bool { return class == DSEAuthenticator }

// describeToken renders a server token for an error message.
func describeToken(b []byte) string { return sasl.DescribeToken(b) }
