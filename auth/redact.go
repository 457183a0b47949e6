package auth

import (
	"fmt"
	"log/slog"

	"github.com/cqlwire/cqlwire/auth/internal/sasl"
	"github.com/cqlwire/cqlwire/internal/redact"
)

// Describe returns how a printed Session, connection or configuration
// shows its authenticator: the login of this module's mechanisms (e.g.
// "PLAIN(app)", or auth/kerberos's "GSSAPI(app@EXAMPLE.COM, keytab
// /etc/app.keytab, service dse)"), only the type name of any other (the
// driver cannot vouch for what its String method shows), "" for nil.
func Describe(a Authenticator) string {
	switch a := a.(type) {
	case nil:
		return ""
	case Plain:
		return a.String()
	case *Plain:
		if a != nil {
			return a.String()
		}
	case sasl.Described:
		return a.DescribeLogin(sasl.Vouched{})
	}
	return fmt.Sprintf("%T", a)
}

func (p Plain) redacted() *redact.Desc {
	return redact.New("auth.Plain").Add("Username", p.Username).Add("Password", p.Password).
		Add("AuthorizationID", p.AuthorizationID).Add("AllowedAuthenticators", p.AllowedAuthenticators)
}

// Format prints String whatever the verb (quoted with %q), and GoString
// with %#v: never the password.
func (p Plain) Format(f fmt.State, verb rune) { redact.Format(f, verb, p.String(), p.GoString()) }

// GoString shows the fields that are set, the password as
// auth.Secret("[redacted]").
func (p Plain) GoString() string { return p.redacted().GoString() }

// LogValue implements slog.LogValuer: the fields that are set, the
// password redacted.
func (p Plain) LogValue() slog.Value { return p.redacted().LogValue() }
