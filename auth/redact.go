package auth

import (
	"fmt"
	"log/slog"

	"github.com/cqlwire/cqlwire/internal/redact"
)

// Describe returns how a printed Session, connection or configuration
// shows its authenticator: the login of this package's mechanisms (e.g.
// "PLAIN(app)"), only the type name of any other (the driver cannot vouch
// for what its String method shows), "" for nil.
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
	case *GSSAPI:
		if a != nil {
			return a.String()
		}
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

func (g GSSAPI) redacted() *redact.Desc {
	return redact.New("auth.GSSAPI").Add("Principal", g.principal).Add("Credentials", g.sourceDesc()).
		Add("ServiceName", g.cfg.ServiceName).Add("ServiceHost", g.cfg.ServiceHost).
		Add("AuthorizationID", g.cfg.AuthorizationID)
}

// Format prints String whatever the verb (quoted with %q), and GoString
// with %#v: never the password, keys or tickets.
func (g GSSAPI) Format(f fmt.State, verb rune) { redact.Format(f, verb, g.String(), g.GoString()) }

// GoString shows the principal, where its credentials come from and the
// service, never the credentials.
func (g GSSAPI) GoString() string { return g.redacted().GoString() }

// LogValue implements slog.LogValuer, with the fields of GoString.
func (g GSSAPI) LogValue() slog.Value { return g.redacted().LogValue() }

func (c GSSAPIConfig) redacted() *redact.Desc {
	return redact.New("auth.GSSAPIConfig").Add("Principal", c.Principal).Add("Password", c.Password).
		Add("KeytabFile", c.KeytabFile).Add("CCacheFile", c.CCacheFile).Add("Krb5ConfigFile", c.Krb5ConfigFile).
		Add("ServiceName", c.ServiceName).Add("ServiceHost", c.ServiceHost).Add("CanonicalizeHost", c.CanonicalizeHost).
		IsSet("Resolver", c.Resolver != nil).Add("AuthorizationID", c.AuthorizationID).
		Add("DisableMutualAuth", c.DisableMutualAuth).Add("AllowedAuthenticators", c.AllowedAuthenticators)
}

// String shows the fields that are set, the password as [redacted].
func (c GSSAPIConfig) String() string { return c.redacted().String() }

// GoString is String as a Go expression.
func (c GSSAPIConfig) GoString() string { return c.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), and GoString
// with %#v: never the password.
func (c GSSAPIConfig) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, c.String(), c.GoString())
}

// LogValue implements slog.LogValuer: the fields that are set, the
// password redacted.
func (c GSSAPIConfig) LogValue() slog.Value { return c.redacted().LogValue() }
