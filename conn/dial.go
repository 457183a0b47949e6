package conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cqlwire/cqlwire/auth"
	"github.com/cqlwire/cqlwire/frame"
)

// maxAuthRounds bounds the SASL exchange, so that a server that keeps
// challenging cannot hold a Dial forever (its deadline aside).
const maxAuthRounds = 64

// errVersionRefused marks a handshake failure that a lower protocol version
// may not have: the server answered OPTIONS or STARTUP with a protocol
// error or with a lower version, or hung up instead of answering.
var errVersionRefused = errors.New("protocol version refused")

// Dial connects to the node at addr ("host:port"), performs the handshake
// and returns a connection ready for requests.
//
// It tries cfg.MaxVersion (v5 by default) first; when the server refuses
// it, it retries with the next lower version, down to cfg.MinVersion, each
// time on a fresh connection. Conn.Version tells which version was agreed.
// Authentication failures are never retried.
func Dial(ctx context.Context, addr string, cfg *Config) (*Conn, error) {
	s, err := cfg.validate(addr)
	if err != nil {
		return nil, &Error{Addr: addr, Op: "dial", Err: err}
	}
	if s.tls != nil && s.tls.InsecureSkipVerify {
		s.log.Warn("TLS certificate verification is disabled: the connection is not authenticated")
	}
	for v := s.maxVersion; ; v-- {
		c, err := dialVersion(ctx, s, v)
		if err == nil {
			return c, nil
		}
		if v <= s.minVersion || !errors.Is(err, errVersionRefused) || ctx.Err() != nil {
			return nil, err
		}
		s.log.Info("server refused the protocol version, retrying with a lower one",
			"version", int(v), "next", int(v-1), "err", err)
	}
}

// longAgo is a deadline in the past: setting it interrupts blocked I/O.
var longAgo = time.Unix(1, 0)

// dialVersion makes one connection attempt with protocol version v.
func dialVersion(ctx context.Context, s *settings, v frame.Version) (*Conn, error) {
	dctx, cancel := context.WithTimeoutCause(ctx, s.dialTimeout,
		fmt.Errorf("dial timeout of %v exceeded: %w", s.dialTimeout, context.DeadlineExceeded))
	defer cancel()

	nc, err := s.dial(dctx, "tcp", s.addr)
	if err != nil {
		if ctxErr := context.Cause(dctx); ctxErr != nil {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return nil, &Error{Addr: s.addr, Op: "dial", Err: err}
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		// Requests are coalesced by the writer: Nagle would only add delay.
		tc.SetNoDelay(true)
	}
	// Blocking reads and writes of the handshake end with the context (its
	// cause is set by then, so errors can name it).
	// The callback uses raw, not nc: nc becomes the *tls.Conn below while the
	// callback may already run. A deadline on the TCP conn interrupts TLS I/O too.
	raw := nc
	stop := context.AfterFunc(dctx, func() { raw.SetDeadline(longAgo) })
	fail := func(op string, err error) (*Conn, error) {
		stop()
		nc.Close()
		if ctxErr := context.Cause(dctx); ctxErr != nil && isTimeout(err) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return nil, &Error{Addr: s.addr, Op: op, Err: err}
	}

	if s.tls != nil {
		tc := tls.Client(nc, s.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			return fail("TLS handshake", tlsError(s.tls.ServerName, err))
		}
		nc = tc
	}

	c := &Conn{
		addr:      s.addr,
		version:   v,
		nc:        nc,
		raw:       raw,
		epoch:     time.Now(),
		decOpts:   frame.DecodeOptions{Limits: frame.Limits{MaxFrameSize: s.maxFrame}},
		timeout:   s.timeout,
		heartbeat: s.heartbeat,
		events:    s.events,
		s:         s,
		streams:   newStreams(s.maxStreams),
		wake:      make(chan struct{}, 1),
		dying:     make(chan struct{}),
		done:      make(chan struct{}),
		supported: map[string][]string{},
	}
	c.rd = newFrameReader(&progressReader{r: nc, c: c}, s.maxFrame)
	if op, err := c.handshake(dctx); err != nil {
		return fail(op, err)
	}
	if !stop() {
		// The context ended just as the handshake did: the deadline was
		// poisoned, so the connection is not usable.
		return fail("handshake", context.Cause(dctx))
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return fail("handshake", err)
	}
	s.log.Debug("connected", "version", int(v), "compression", c.compression, "tls", s.tls != nil)
	c.start()
	return c, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tlsError names what the certificate was verified against.
func tlsError(serverName string, err error) error {
	var cve *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	if errors.As(err, &cve) || errors.As(err, &hostErr) || errors.As(err, &authErr) {
		return fmt.Errorf("verifying the node's certificate for %q: %w", serverName, err)
	}
	return err
}

// handshake runs OPTIONS, STARTUP and the SASL exchange synchronously on
// stream 0. On failure it returns the step that failed.
func (c *Conn) handshake(ctx context.Context) (string, error) {
	s := c.s
	env, err := c.roundTrip(&frame.Options{})
	if err != nil {
		return "OPTIONS", c.refused(err)
	}
	switch m := env.Message.(type) {
	case *frame.Supported:
		c.supported = m.Options
	case *frame.Error:
		return "OPTIONS", c.refusedAnswer(env, m)
	default:
		return "OPTIONS", fmt.Errorf("%w: answered by %s", ErrProtocol, env.Message.Opcode())
	}
	if env.Version != c.version {
		return "OPTIONS", fmt.Errorf("%w: the server answered v%d to v%d", errVersionRefused, env.Version, c.version)
	}

	if s.compression != "" {
		offered := c.supported[frame.StartupCompression]
		if !slices.ContainsFunc(offered, func(o string) bool { return strings.EqualFold(o, s.compression) }) {
			return "STARTUP", fmt.Errorf("the server does not offer compression %q (it offers %q)", s.compression, offered)
		}
		c.compression = s.compression
	}
	var comp frame.Compressor
	if c.version < frame.V5 {
		comp = s.compressorV4
	}
	// From its answer to STARTUP on, the server compresses (v4); STARTUP
	// itself never is.
	c.decOpts.Compressor = comp
	env, err = c.roundTrip(frame.NewStartup(s.compression, s.driverName, s.driverVersion))
	if err != nil {
		return "STARTUP", c.refused(err)
	}
	var authenticate *frame.Authenticate
	switch m := env.Message.(type) {
	case *frame.Ready:
	case *frame.Authenticate:
		authenticate = m
	case *frame.Error:
		return "STARTUP", c.refusedAnswer(env, m)
	default:
		return "STARTUP", fmt.Errorf("%w: answered by %s", ErrProtocol, env.Message.Opcode())
	}
	c.comp = comp
	if c.version >= frame.V5 {
		// Both directions switch to segments after READY or AUTHENTICATE.
		c.segmented = true
		c.segw.Compress = s.compressionSegment
		c.rd.useSegments(s.compressionSegment)
	}
	if authenticate != nil {
		c.authClass = authenticate.Authenticator
		if err := c.authenticate(ctx, authenticate.Authenticator); err != nil {
			return "authentication", err
		}
	}
	if s.keyspace != "" {
		if err := c.use(s.keyspace); err != nil {
			return "USE", err
		}
	}
	return "", nil
}

// use makes keyspace the connection's keyspace.
func (c *Conn) use(keyspace string) error {
	env, err := c.roundTrip(&frame.Query{Query: "USE " + keyspace, Params: frame.QueryParams{Consistency: frame.One}})
	if err != nil {
		return err
	}
	switch m := env.Message.(type) {
	case *frame.SetKeyspace:
		return nil
	case *frame.Error:
		return fmt.Errorf("keyspace %s: %w", keyspace, m)
	default:
		return fmt.Errorf("%w: USE answered by %s", ErrProtocol, env.Message.Opcode())
	}
}

// refused marks a failure to get any answer as a possible version refusal:
// some servers hang up on a version they do not speak.
func (c *Conn) refused(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("%w: the server closed the connection: %w", errVersionRefused, err)
	}
	return err
}

// refusedAnswer turns an ERROR answer during the handshake into an error,
// marking protocol errors as a version refusal.
func (c *Conn) refusedAnswer(env *frame.Envelope, fe *frame.Error) error {
	if fe.Code == frame.CodeProtocolError || env.Version < c.version {
		return fmt.Errorf("%w (v%d): %w", errVersionRefused, c.version, fe)
	}
	return fe
}

func (c *Conn) authenticate(ctx context.Context, class string) error {
	if c.s.authenticator == nil {
		return fmt.Errorf("%w (Config.Authenticator is nil; the server's authenticator is %s)", ErrNoCredentials, class)
	}
	ex, token, err := c.s.authenticator.Start(ctx, auth.ServerInfo{Authenticator: class, Host: c.s.serverName})
	if err != nil {
		return fmt.Errorf("%s: starting the exchange: %w", class, err)
	}
	for range maxAuthRounds {
		env, err := c.roundTrip(&frame.AuthResponse{Token: token})
		if err != nil {
			return fmt.Errorf("%s: AUTH_RESPONSE: %w", class, err)
		}
		switch m := env.Message.(type) {
		case *frame.AuthChallenge:
			if token, err = ex.Challenge(ctx, m.Token); err != nil {
				return fmt.Errorf("%s: answering the server's challenge: %w", class, err)
			}
		case *frame.AuthSuccess:
			if err := ex.Success(m.Token); err != nil {
				return fmt.Errorf("%s: checking the server's final token: %w", class, err)
			}
			return nil
		case *frame.Error:
			// Name the login too (auth.Describe never prints a secret, nor
			// calls a user authenticator's own String): the server's
			// message may name only its own principal.
			return fmt.Errorf("%s, login %s: %w", class, auth.Describe(c.s.authenticator), m)
		default:
			return fmt.Errorf("%s: %w: AUTH_RESPONSE answered by %s", class, ErrProtocol, env.Message.Opcode())
		}
	}
	return fmt.Errorf("%s: no success after %d rounds of challenges", class, maxAuthRounds)
}

// roundTrip sends one handshake request on stream 0 and reads until its
// answer, skipping events. Only the Dial goroutine uses the connection yet.
func (c *Conn) roundTrip(msg frame.Message) (*frame.Envelope, error) {
	env := frame.Envelope{Version: c.version, Message: msg}
	buf, err := frame.AppendEnvelope(nil, &env, c.comp)
	if err != nil {
		return nil, err
	}
	if c.segmented {
		if buf, err = c.segw.Append(nil, buf); err != nil {
			return nil, err
		}
	}
	if _, err := c.nc.Write(buf); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	for {
		h, body, err := c.rd.next()
		if err != nil {
			return nil, err
		}
		if h.Stream == -1 {
			continue
		}
		if h.Stream != 0 || !h.Response {
			return nil, fmt.Errorf("%w: %s on stream %d while waiting for the answer on stream 0", ErrProtocol, h.Opcode, h.Stream)
		}
		return frame.DecodeBody(h, body, &c.decOpts)
	}
}
