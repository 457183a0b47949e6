package cluster

import (
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/internal/redact"
	"github.com/cqlwire/cqlwire/query"
)

// A Session, a Watcher and their configurations hold credentials (the
// password, the authenticator's keys, the TLS client key). fmt would print
// them raw through unexported fields and under wrong verbs (see
// internal/redact), so each prints only a list of safe fields.

func (cfg Config) redacted() *redact.Desc {
	d := redact.New("cluster.Config").Add("ContactPoints", cfg.ContactPoints).Add("Port", cfg.Port).
		Add("LocalDatacenter", cfg.LocalDatacenter).Add("LocalRack", cfg.LocalRack).
		Add("RemoteHostsPerDC", cfg.RemoteHostsPerDC).Add("Keyspace", cfg.Keyspace).
		Add("Username", cfg.Username).Add("Password", cfg.Password).
		Add("Authenticator", auth.Describe(cfg.Authenticator))
	if cfg.TLS != nil {
		d.Always("TLS", cfg.TLS)
	}
	if cfg.TLSConfig != nil {
		d.Always("TLSConfig", redact.TLS(cfg.TLSConfig))
	}
	d.Add("ProtocolVersion", int(cfg.ProtocolVersion)).Add("Compression", cfg.Compression).
		Add("ConnectTimeout", cfg.ConnectTimeout).Add("PoolSize", cfg.PoolSize).
		Add("ReconnectBase", cfg.ReconnectBase).Add("ReconnectMax", cfg.ReconnectMax).
		Add("HeartbeatInterval", cfg.HeartbeatInterval)
	if !reflect.ValueOf(cfg.DefaultProfile).IsZero() {
		d.Always("DefaultProfile", redactedProfile(cfg.DefaultProfile))
	}
	if len(cfg.Profiles) > 0 {
		d.Always("Profiles", slices.Sorted(maps.Keys(cfg.Profiles)))
	}
	return d.TypeOf("Policy", cfg.Policy).IsSet("HostFilter", cfg.HostFilter != nil).
		TypeOf("Observer", cfg.Observer).TypeOf("Timestamps", cfg.Timestamps).
		Add("SchemaAgreementTimeout", cfg.SchemaAgreementTimeout).Add("MaxPreparedStatements", cfg.MaxPreparedStatements).
		IsSet("AddressTranslator", cfg.AddressTranslator != nil).
		Add("RefreshInterval", cfg.RefreshInterval).Add("EventDebounce", cfg.EventDebounce).
		IsSet("Logger", cfg.Logger != nil).IsSet("DialContext", cfg.DialContext != nil)
}

// redactedProfile shows a profile's settings; its policies, which the
// caller may implement, only by type.
func redactedProfile(p query.Profile) *redact.Desc {
	d := redact.New("query.Profile")
	if p.Consistency != 0 {
		d.Always("Consistency", p.Consistency.String())
	}
	if p.SerialConsistency != 0 {
		d.Always("SerialConsistency", p.SerialConsistency.String())
	}
	return d.Add("RequestTimeout", p.RequestTimeout).TypeOf("Retry", p.Retry).
		TypeOf("Speculative", p.Speculative).Add("PageSize", p.PageSize)
}

// String shows the settings that are set: the password as [redacted], an
// authenticator by its login (auth.Describe), TLS without its key,
// functions and loggers as "set", policies by type.
func (cfg Config) String() string { return cfg.redacted().String() }

// GoString is String as a Go expression.
func (cfg Config) GoString() string { return cfg.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), GoString with %#v.
func (cfg Config) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, cfg.String(), cfg.GoString())
}

// LogValue implements slog.LogValuer: the fields of String.
func (cfg Config) LogValue() slog.Value { return cfg.redacted().LogValue() }

func (cfg WatcherConfig) redacted() *redact.Desc {
	d := redact.New("cluster.WatcherConfig").Add("ContactPoints", cfg.ContactPoints).Add("Port", cfg.Port)
	if cfg.Conn != nil {
		d.Always("Conn", cfg.Conn)
	}
	return d.IsSet("AddressTranslator", cfg.AddressTranslator != nil).
		Add("RefreshInterval", cfg.RefreshInterval).Add("EventDebounce", cfg.EventDebounce).
		Add("ReconnectMin", cfg.ReconnectMin).Add("ReconnectMax", cfg.ReconnectMax).
		Add("QueryTimeout", cfg.QueryTimeout).IsSet("OnHostEvent", cfg.OnHostEvent != nil).
		IsSet("Logger", cfg.Logger != nil)
}

// String shows the settings that are set, Conn without its credentials.
func (cfg WatcherConfig) String() string { return cfg.redacted().String() }

// GoString is String as a Go expression.
func (cfg WatcherConfig) GoString() string { return cfg.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), GoString with %#v.
func (cfg WatcherConfig) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, cfg.String(), cfg.GoString())
}

// LogValue implements slog.LogValuer: the fields of String.
func (cfg WatcherConfig) LogValue() slog.Value { return cfg.redacted().LogValue() }

func (s *Session) redacted() *redact.Desc {
	if s == nil {
		return redact.Nil("cluster.Session")
	}
	d := redact.NewRef("cluster.Session").Always("Config", s.cfg)
	if s.watcher != nil {
		d.Add("Control", s.watcher.ControlAddr())
	}
	return d
}

// String shows the session's Config (without its credentials, see
// Config.String) and the address of its control connection.
func (s *Session) String() string { return s.redacted().String() }

// GoString is String as a Go expression.
func (s *Session) GoString() string { return s.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), GoString with %#v.
func (s *Session) Format(f fmt.State, verb rune) { redact.Format(f, verb, s.String(), s.GoString()) }

// LogValue implements slog.LogValuer: the fields of String.
func (s *Session) LogValue() slog.Value { return s.redacted().LogValue() }

func (w *Watcher) redacted() *redact.Desc {
	if w == nil {
		return redact.Nil("cluster.Watcher")
	}
	return redact.NewRef("cluster.Watcher").Add("ContactPoints", w.cfg.ContactPoints).
		Always("Conn", w.connCfg).Add("Control", w.ControlAddr())
}

// String shows the contact points, the connection settings (without
// credentials, see conn.Config.String) and the control connection's
// address.
func (w *Watcher) String() string { return w.redacted().String() }

// GoString is String as a Go expression.
func (w *Watcher) GoString() string { return w.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), GoString with %#v.
func (w *Watcher) Format(f fmt.State, verb rune) { redact.Format(f, verb, w.String(), w.GoString()) }

// LogValue implements slog.LogValuer: the fields of String.
func (w *Watcher) LogValue() slog.Value { return w.redacted().LogValue() }
