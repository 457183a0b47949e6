package conn

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/internal/redact"
)

// A Conn, a Config and TLSOptions hold credentials (the authenticator's
// password or keys, the TLS client key), so each prints only a list of
// safe fields, whatever the verb, in log/slog and in JSON: see
// internal/redact for why fmt's own printing would show them.

// redacted describes the Config without its credentials, for the methods
// below and the types that hold a Config.
func (cfg Config) redacted() *redact.Desc {
	d := redact.New("conn.Config").Add("MaxVersion", int(cfg.MaxVersion)).Add("MinVersion", int(cfg.MinVersion)).
		Add("Compression", cfg.Compression).Add("Authenticator", auth.Describe(cfg.Authenticator))
	if cfg.TLS != nil {
		d.Always("TLS", redact.TLS(cfg.TLS))
	}
	return d.Add("ServerName", cfg.ServerName).Add("Keyspace", cfg.Keyspace).
		Add("DialTimeout", cfg.DialTimeout).Add("Timeout", cfg.Timeout).Add("HeartbeatInterval", cfg.HeartbeatInterval).
		Add("MaxFrameSize", cfg.MaxFrameSize).Add("MaxStreams", cfg.MaxStreams).
		Add("DriverName", cfg.DriverName).Add("DriverVersion", cfg.DriverVersion).
		IsSet("Logger", cfg.Logger != nil).IsSet("Events", cfg.Events != nil).IsSet("DialContext", cfg.DialContext != nil)
}

// String shows the settings that are set; the authenticator by its login
// (auth.Describe), TLS by its server name and versions, never a password
// or a key.
func (cfg Config) String() string { return cfg.redacted().String() }

// GoString is String as a Go expression.
func (cfg Config) GoString() string { return cfg.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), GoString with %#v.
func (cfg Config) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, cfg.String(), cfg.GoString())
}

// LogValue implements slog.LogValuer: the fields of String.
func (cfg Config) LogValue() slog.Value { return cfg.redacted().LogValue() }

func (o TLSOptions) redacted() *redact.Desc {
	d := redact.New("conn.TLSOptions").Add("CAFile", o.CAFile)
	if len(o.CAPEM) > 0 {
		d.Always("CAPEM", fmt.Sprintf("%d bytes", len(o.CAPEM)))
	}
	d.Add("CertFile", o.CertFile).Add("KeyFile", o.KeyFile)
	if len(o.CertPEM) > 0 {
		d.Always("CertPEM", fmt.Sprintf("%d bytes", len(o.CertPEM)))
	}
	if len(o.KeyPEM) > 0 {
		d.Always("KeyPEM", auth.Secret("set"))
	}
	return d.Add("ServerName", o.ServerName).Add("MinVersion", o.MinVersion).
		Add("DangerouslySkipVerification", o.DangerouslySkipVerification)
}

// String shows the options that are set, the PEM data by its length, and
// KeyPEM as [redacted].
func (o TLSOptions) String() string { return o.redacted().String() }

// GoString is String as a Go expression.
func (o TLSOptions) GoString() string { return o.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), GoString with %#v.
func (o TLSOptions) Format(f fmt.State, verb rune) { redact.Format(f, verb, o.String(), o.GoString()) }

// LogValue implements slog.LogValuer: the fields of String.
func (o TLSOptions) LogValue() slog.Value { return o.redacted().LogValue() }

// MarshalJSON encodes the options as encoding/json would, but KeyPEM, the
// private key, as "[redacted]" (which does not decode back into a key).
func (o TLSOptions) MarshalJSON() ([]byte, error) {
	type fields TLSOptions // without the methods
	var key auth.Secret
	if len(o.KeyPEM) > 0 {
		key = "set"
	}
	return json.Marshal(struct {
		fields
		KeyPEM auth.Secret `json:",omitempty"`
	}{fields(o), key})
}

func (c *Conn) redacted() *redact.Desc {
	if c == nil {
		return redact.Nil("conn.Conn")
	}
	d := redact.NewRef("conn.Conn").Always("Addr", c.addr).Add("Version", int(c.version)).
		Add("Compression", c.compression).Add("Authenticator", c.authClass)
	if c.s != nil {
		d.Add("Login", auth.Describe(c.s.authenticator)).Add("TLS", c.s.tls != nil)
	}
	return d.Add("Closed", c.dead.Load())
}

// String shows the address, protocol version, compression, the server's
// authenticator class and the login (auth.Describe), never a credential.
func (c *Conn) String() string { return c.redacted().String() }

// GoString is String as a Go expression.
func (c *Conn) GoString() string { return c.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), GoString with %#v.
func (c *Conn) Format(f fmt.State, verb rune) { redact.Format(f, verb, c.String(), c.GoString()) }

// LogValue implements slog.LogValuer: the fields of String.
func (c *Conn) LogValue() slog.Value { return c.redacted().LogValue() }

// settings holds the authenticator and TLS configuration too.
func (s *settings) Format(f fmt.State, verb rune) {
	d := redact.Nil("conn.settings")
	if s != nil {
		d = redact.NewRef("conn.settings").Always("Addr", s.addr).Add("Authenticator", auth.Describe(s.authenticator)).
			Add("TLS", s.tls != nil)
	}
	redact.Format(f, verb, d.String(), d.GoString())
}
