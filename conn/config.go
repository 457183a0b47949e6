package conn

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/compress"
)

// Defaults of the Config fields whose zero value means "default".
const (
	DefaultDialTimeout       = 10 * time.Second
	DefaultTimeout           = 12 * time.Second
	DefaultHeartbeatInterval = 30 * time.Second
	// DefaultStallTimeout: requests wait and nothing arrived for this long,
	// so the connection is reported stalled and probed. Healthy nodes
	// answer most requests in milliseconds; a frozen one answers nothing.
	DefaultStallTimeout = 500 * time.Millisecond
	// DefaultProbeTimeout: a probe's OPTIONS and nothing at all received for
	// this long, so the connection is closed.
	DefaultProbeTimeout = time.Second
	// DefaultWriteTimeout: a write to the socket that makes no progress for
	// this long (the peer stopped reading) closes the connection.
	DefaultWriteTimeout = 5 * time.Second
	// DefaultMaxOrphanedStreams: more stream ids than this held by requests
	// that timed out or were abandoned, still unanswered, close the
	// connection (the Java driver 4 uses the same threshold).
	DefaultMaxOrphanedStreams = 256
	// MaxStreams is the number of stream ids of protocol v3 and later: the
	// most requests one connection carries at once.
	MaxStreams = 32768
	// DefaultDriverName is sent as DRIVER_NAME when Config.DriverName is empty.
	DefaultDriverName = "cqlwire"
)

// Config configures a connection. It is plain data: the zero value (or a
// nil *Config) dials without TLS, authentication or compression, negotiating
// the protocol version. Dial validates it and never modifies it; a Config
// may be shared by many Dial calls.
type Config struct {
	// MaxVersion is the highest protocol version to try: frame.V5 or
	// frame.V4. Zero means V5, or V4 when Compression is "snappy" (snappy
	// exists only in v4).
	MaxVersion frame.Version
	// MinVersion is the lowest version Dial falls back to when the server
	// refuses a higher one: frame.V4 or frame.V5. Zero means V4. Set
	// MinVersion = MaxVersion to use one version only, e.g. the version a
	// previous connection to the node negotiated (Conn.Version).
	MinVersion frame.Version

	// Compression is "" (none), "lz4" or "snappy". In v4 it compresses
	// envelope bodies; in v5 "lz4" compresses segments and "snappy" is not
	// allowed. Dial fails if the server does not offer it.
	Compression string

	// Authenticator logs in when the server asks for authentication. Nil
	// with a server that requires authentication fails Dial.
	Authenticator auth.Authenticator

	// TLS, when not nil, makes the connection use TLS with this
	// configuration (build one with TLSOptions.Config). Dial works on a
	// clone: it sets ServerName to Config.ServerName, or to the host of the
	// address dialled, when empty, so that the server's certificate is
	// verified against the name or IP address dialled; and MinVersion zero
	// becomes TLS 1.2 (a lower one is an error).
	TLS *tls.Config

	// ServerName is the node's name: verified against its certificate
	// when TLS.ServerName is empty, and given to the Authenticator (a
	// Kerberos service principal is built from it). Empty means the host
	// part of the address dialled.
	ServerName string
	// Keyspace, when not empty, is made the connection's keyspace after
	// the handshake (a USE statement), so that unqualified table names
	// resolve in it. The name is used as given: quote it ("MyKs") when it
	// is case-sensitive. A keyspace that does not exist fails Dial.
	Keyspace string

	// DialTimeout bounds each connection attempt as a whole: TCP connect,
	// TLS handshake, OPTIONS/STARTUP and authentication. Zero means
	// DefaultDialTimeout; the context given to Dial can shorten it.
	DialTimeout time.Duration

	// Timeout is the default deadline of a request: Do gives up after it
	// even if the request's context has no (or a later) deadline. Zero
	// means DefaultTimeout; a negative value means no default (only the
	// context bounds a request). It (and Request.Timeout) is enforced by a
	// sweep every 10 ms, not a timer per request: a request gives up
	// between its timeout and 10 ms later. A context's deadline is exact.
	Timeout time.Duration

	// HeartbeatInterval is how long the connection may stay without
	// receiving a byte before it probes the server (see ProbeTimeout).
	// Zero means DefaultHeartbeatInterval; negative disables the heartbeat.
	HeartbeatInterval time.Duration

	// StallTimeout is how long requests may wait without a single byte
	// arriving from the server before the connection is reported stalled
	// (Health) and probed: a node that is frozen (SIGSTOP, a long GC
	// pause, a dead link behind an open socket) is found this way in
	// StallTimeout + ProbeTimeout, not after a heartbeat interval. A
	// server that is merely slow answers the probe and nothing else
	// happens. Zero means DefaultStallTimeout; negative disables it.
	StallTimeout time.Duration

	// ProbeTimeout bounds a probe (heartbeat, stall, or Probe): an OPTIONS
	// request is sent, and if nothing at all is received within
	// ProbeTimeout the connection is closed with an error wrapping
	// ErrConnectionLost, failing its requests as connection errors (not as
	// their own timeouts, so that a session retries idempotent ones
	// elsewhere). Any byte counts as life: a large answer arriving slowly
	// keeps the connection open even if the OPTIONS answer is behind it.
	// Zero means DefaultProbeTimeout.
	ProbeTimeout time.Duration

	// WriteTimeout closes the connection when a write to the socket makes
	// no progress for this long (a peer that stopped reading), so that
	// requests do not pile up behind a writer that never returns. Zero
	// means DefaultWriteTimeout; negative disables it.
	WriteTimeout time.Duration

	// MaxOrphanedStreams closes the connection when more stream ids than
	// this are held by requests that timed out or whose caller gave up,
	// and whose answer has not arrived: such a node is not answering, and
	// the ids are lost to other requests until it does. Zero means
	// DefaultMaxOrphanedStreams; negative means no limit.
	MaxOrphanedStreams int

	// MaxFrameSize is the largest envelope body accepted from the server.
	// A larger one closes the connection. Zero means
	// frame.DefaultMaxFrameSize (256 MiB).
	MaxFrameSize int

	// MaxStreams limits the requests in flight on the connection; more
	// wait for a stream id to be free, bounded by their context and their
	// timeout (Timeout or Request.Timeout): a request that gets no id in
	// time fails as not sent, with an error wrapping ErrStreamsExhausted. Zero
	// means MaxStreams (32768), the most the protocol allows.
	MaxStreams int

	// DriverName and DriverVersion are sent in STARTUP (the server shows
	// them in nodetool clientstats and system_views.clients). Empty means
	// DefaultDriverName and the version of this module from the build
	// information.
	DriverName    string
	DriverVersion string

	// Logger receives connection events (dial, version fallback, close
	// reason, dropped server events). Nil means silent. Requests are never
	// logged, nor are credentials.
	Logger *slog.Logger

	// Events receives the server's EVENT messages (stream -1) after a
	// REGISTER request. The reader never blocks on it: an event that does
	// not fit the channel's buffer is dropped and logged, so give it a
	// buffer. Conn never closes it, and it must stay open while the
	// connection lives. Nil drops events.
	Events chan<- frame.Event

	// DialContext, when not nil, opens the TCP connection instead of a
	// net.Dialer (for a proxy or a test harness). The default dialer
	// enables TCP keep-alive and no-delay.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// settings is a validated Config with its defaults applied.
type settings struct {
	addr, host         string
	maxVersion         frame.Version
	minVersion         frame.Version
	compression        string
	authenticator      auth.Authenticator
	tls                *tls.Config // a clone, ServerName and MinVersion set
	serverName         string
	dialTimeout        time.Duration
	timeout            time.Duration
	heartbeat          time.Duration
	stallTimeout       time.Duration
	probeTimeout       time.Duration
	writeTimeout       time.Duration
	maxOrphans         int
	maxFrame           int
	maxStreams         int
	driverName         string
	driverVersion      string
	log                *slog.Logger
	events             chan<- frame.Event
	keyspace           string
	dial               func(ctx context.Context, network, addr string) (net.Conn, error)
	compressorV4       frame.Compressor
	compressionSegment bool
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// validate checks cfg for addr and fills in the defaults.
func (cfg *Config) validate(addr string) (*settings, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, configErr("address %q is not host:port: %v", addr, err)
	}
	s := &settings{
		addr:          addr,
		host:          host,
		compression:   strings.ToLower(cfg.Compression),
		authenticator: cfg.Authenticator,
		serverName:    cfg.ServerName,
		dialTimeout:   cfg.DialTimeout,
		timeout:       cfg.Timeout,
		heartbeat:     cfg.HeartbeatInterval,
		stallTimeout:  cfg.StallTimeout,
		probeTimeout:  cfg.ProbeTimeout,
		writeTimeout:  cfg.WriteTimeout,
		maxOrphans:    cfg.MaxOrphanedStreams,
		maxFrame:      cfg.MaxFrameSize,
		maxStreams:    cfg.MaxStreams,
		driverName:    cfg.DriverName,
		driverVersion: cfg.DriverVersion,
		log:           cfg.Logger,
		events:        cfg.Events,
		keyspace:      cfg.Keyspace,
		dial:          cfg.DialContext,
	}
	if s.serverName == "" {
		s.serverName = host
	}

	switch s.compression {
	case "":
	case "lz4":
		s.compressorV4 = compress.LZ4{}
	case "snappy":
		s.compressorV4 = compress.Snappy{}
	default:
		return nil, configErr("Compression %q: want \"\", \"lz4\" or \"snappy\"", cfg.Compression)
	}

	s.maxVersion, s.minVersion = cfg.MaxVersion, cfg.MinVersion
	if s.maxVersion == 0 {
		s.maxVersion = frame.V5
		if s.compression == "snappy" {
			s.maxVersion = frame.V4
		}
	}
	if s.minVersion == 0 {
		s.minVersion = min(frame.V4, s.maxVersion)
	}
	for _, v := range []struct {
		name string
		v    frame.Version
	}{{"MaxVersion", s.maxVersion}, {"MinVersion", s.minVersion}} {
		if v.v != frame.V4 && v.v != frame.V5 {
			return nil, configErr("%s %d: this driver speaks protocol versions 4 and 5", v.name, v.v)
		}
	}
	if s.minVersion > s.maxVersion {
		return nil, configErr("MinVersion %d is above MaxVersion %d", s.minVersion, s.maxVersion)
	}
	if s.compression == "snappy" && s.maxVersion >= frame.V5 {
		return nil, configErr("Compression \"snappy\" exists only in protocol v4, but MaxVersion is %d (use \"lz4\", or MaxVersion 4)", s.maxVersion)
	}
	s.compressionSegment = s.compression == "lz4"

	if cfg.TLS != nil {
		t := cfg.TLS.Clone()
		if t.ServerName == "" {
			t.ServerName = s.serverName
		}
		switch {
		case t.MinVersion == 0:
			t.MinVersion = tls.VersionTLS12
		case t.MinVersion < tls.VersionTLS12:
			return nil, configErr("TLS.MinVersion %s: TLS 1.2 is the minimum", tls.VersionName(t.MinVersion))
		}
		if t.MaxVersion != 0 && t.MaxVersion < t.MinVersion {
			return nil, configErr("TLS.MaxVersion %s is below TLS 1.2", tls.VersionName(t.MaxVersion))
		}
		s.tls = t
	}

	switch {
	case s.dialTimeout == 0:
		s.dialTimeout = DefaultDialTimeout
	case s.dialTimeout < 0:
		return nil, configErr("DialTimeout %v is negative", s.dialTimeout)
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.heartbeat == 0 {
		s.heartbeat = DefaultHeartbeatInterval
	}
	if s.stallTimeout == 0 {
		s.stallTimeout = DefaultStallTimeout
	}
	switch {
	case s.probeTimeout == 0:
		s.probeTimeout = DefaultProbeTimeout
	case s.probeTimeout < 0:
		return nil, configErr("ProbeTimeout %v is negative", s.probeTimeout)
	}
	if s.writeTimeout == 0 {
		s.writeTimeout = DefaultWriteTimeout
	}
	if s.maxOrphans == 0 {
		s.maxOrphans = DefaultMaxOrphanedStreams
	}
	switch {
	case s.maxFrame == 0:
		s.maxFrame = frame.DefaultMaxFrameSize
	case s.maxFrame < 0 || s.maxFrame > frame.DefaultMaxFrameSize:
		return nil, configErr("MaxFrameSize %d: want 1 to %d bytes", s.maxFrame, frame.DefaultMaxFrameSize)
	}
	switch {
	case s.maxStreams == 0:
		s.maxStreams = MaxStreams
	case s.maxStreams < 0 || s.maxStreams > MaxStreams:
		return nil, configErr("MaxStreams %d: want 1 to %d", s.maxStreams, MaxStreams)
	}
	if s.driverName == "" {
		s.driverName = DefaultDriverName
	}
	if s.driverVersion == "" {
		s.driverVersion = moduleVersion()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("addr", addr)
	if s.dial == nil {
		d := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true}}
		s.dial = d.DialContext
	}
	return s, nil
}

// moduleVersion is this module's version as the build recorded it
// ("(devel)" in its own tests).
var moduleVersion = sync.OnceValue(func() string {
	const path = "github.com/cqlwire/cqlwire"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == path && bi.Main.Version != "" {
			return bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "(devel)"
})
