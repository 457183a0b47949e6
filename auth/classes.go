package auth

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

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
	MechanismGSSAPI = "GSSAPI"

	plainStart  = "PLAIN-START"
	gssapiStart = "GSSAPI-START"
)

// ErrAuthenticatorNotAllowed is wrapped by the error Start returns when the
// server's authenticator class is not in a mechanism's
// AllowedAuthenticators.
var ErrAuthenticatorNotAllowed = errors.New("auth: server authenticator class not allowed")

// checkAllowed enforces an allow-list of authenticator classes (empty: any).
func checkAllowed(mech string, allowed []string, class string) error {
	if len(allowed) == 0 || slices.Contains(allowed, class) {
		return nil
	}
	return fmt.Errorf("%w: %s: the server announced %q, which is not one of %q", ErrAuthenticatorNotAllowed, mech, class, allowed)
}

// isDSE reports whether the server expects DSE's mechanism negotiation.
func isDSE(class string) bool { return class == DSEAuthenticator }

// describeToken renders a server token for an error message: quoted text
// when it is short printable UTF-8, else its length and first bytes in hex.
// Server tokens are not secret, but may be large or binary.
func describeToken(b []byte) string {
	const maxText, maxHex = 64, 16
	if b == nil {
		return "a null token"
	}
	if len(b) == 0 {
		return "an empty token"
	}
	if len(b) <= maxText && utf8.Valid(b) && !strings.ContainsFunc(string(b), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return strconv.Quote(string(b))
	}
	n := min(len(b), maxHex)
	s := fmt.Sprintf("%d bytes (%x", len(b), b[:n])
	if n < len(b) {
		s += "..."
	}
	return s + ")"
}
