package pool

import (
	"fmt"
	"log/slog"

	"github.com/cqlwire/cqlwire/internal/redact"
)

// A HostPool holds the conn.Config of its connections, and with it the
// authenticator's credentials and the TLS client key. fmt would print
// them raw through its unexported fields (see internal/redact), so it
// prints only its address and state.

func (p *HostPool) redacted() *redact.Desc {
	if p == nil {
		return redact.Nil("pool.HostPool")
	}
	d := redact.NewRef("pool.HostPool").Always("Addr", p.addr)
	if p.host != nil {
		d.Add("Datacenter", p.host.Datacenter).Add("Rack", p.host.Rack)
	}
	return d.Add("Version", int(p.version)).Add("Size", p.opts.Size).Always("Up", p.upFlag.Load())
}

// String shows the host's address, data centre and rack, the protocol
// version, the pool's size and whether the host is up: never the
// connections' credentials.
func (p *HostPool) String() string { return p.redacted().String() }

// GoString is String as a Go expression.
func (p *HostPool) GoString() string { return p.redacted().GoString() }

// Format prints String whatever the verb (quoted with %q), GoString with %#v.
func (p *HostPool) Format(f fmt.State, verb rune) { redact.Format(f, verb, p.String(), p.GoString()) }

// LogValue implements slog.LogValuer: the fields of String.
func (p *HostPool) LogValue() slog.Value { return p.redacted().LogValue() }
