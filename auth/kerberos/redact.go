package kerberos

import (
	"fmt"
	"log/slog"

	"github.com/cqlwire/cqlwire/auth/internal/sasl"
	"github.com/cqlwire/cqlwire/internal/redact"
)

// DescribeLogin lets auth.Describe (and so a printed Session, connection or
// configuration) show this login as String does; a nil *GSSAPI is shown by
// its type. Its argument's type is internal to cqlwire: it is not meant to
// be called by others.
func (g *GSSAPI) DescribeLogin(sasl.Vouched) string {
	if g == nil {
		return "*kerberos.GSSAPI"
	}
	return g.String()
}

func (g GSSAPI) redacted() *redact.Desc {
	return redact.New("kerberos.GSSAPI").Add("Principal", g.principal).Add("Credentials", g.sourceDesc()).
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

func (c Config) redacted() *redact.Desc {
	return redact.New("kerberos.Config").Add("Principal", c.Principal).Add("Password", c.Password).
		Add("KeytabFile", c.KeytabFile).Add("CCacheFile", c.CCacheFile).Add("Krb5ConfigFile", c.Krb5ConfigFile).
		Add("ServiceName", c.ServiceName).Add("ServiceHost", c.ServiceHost).Add("CanonicalizeHost", c.CanonicalizeHost).
		IsSet("Resolver", c.Resolver != nil).Add("AuthorizationID", c.AuthorizationID).
		Add("DisableMutualAuth", c.DisableMutualAuth).Add("AllowedAuthenticators", c.AllowedAuthenticators)
}

// String shows the fields that are set, the password as [redacted].
func (c Config) String() string { return c.redacted().String() }

// GoString is String as a Go expression.
func (c Config) GoString() string { return c.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), and GoString
// with %#v: never the password.
func (c Config) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, c.String(), c.GoString())
}

// LogValue implements slog.LogValuer: the fields that are set, the
// password redacted.
func (c Config) LogValue() slog.Value { return c.redacted().LogValue() }
