package testserver

import (
	"crypto/tls"
	"net"
	"time"

	"github.com/cqlwire/cqlwire/frame"
)

// Options configures a Server. The zero value is a plain-TCP server on
// 127.0.0.1 with a random port, protocol v4 and v5, lz4 and snappy, no
// authentication, answering every request with the answering machine.
type Options struct {
	// Addr is the address to listen on; empty means "127.0.0.1:0".
	Addr string

	// Versions are the protocol versions accepted (4 and/or 5); nil means
	// both. A request in another version gets a Protocol_error as Cassandra
	// sends it: "Invalid or unsupported protocol version (N); supported
	// versions are (...)", on stream 0, in the client's own version when it
	// is older than the newest supported one and in the newest supported
	// version otherwise. As in Cassandra 4.0 and later, the rejected frame
	// is skipped and the connection stays open (the client may start over
	// in another version on it, or close it).
	Versions []frame.Version

	// Compressions are the STARTUP COMPRESSION values accepted ("lz4",
	// "snappy"); nil means both, an empty non-nil slice none. v5 accepts
	// only lz4 (as LZ4 segments) whatever this says.
	Compressions []string

	// TLS, when not nil, makes the server speak TLS with this config.
	TLS *tls.Config

	// Authenticator is the class name announced in AUTHENTICATE, e.g.
	// PasswordAuthenticator or DSEAuthenticator. Empty means no
	// authentication: STARTUP is answered READY.
	Authenticator string
	// NewSASL starts the server side of the SASL exchange of one connection;
	// required when Authenticator is set. It is called (on the connection's
	// goroutine) with the first AUTH_RESPONSE, and again after a failed
	// exchange. See Plain and DSE for the built-in mechanisms.
	NewSASL func(conn *ConnInfo) SASLServer

	// Handler answers every request envelope, handshake included (see
	// Request.Default). Nil means Request.Default for everything: the
	// answering machine.
	Handler Handler

	// Rows is the canned RESULT the answering machine gives every QUERY and
	// EXECUTE (nil: one row, one int column "v" holding 1). Its encoding is
	// computed once per protocol version and compression. A request asking
	// to skip metadata gets it with MetaNoMetadata. Ignored with Echo.
	Rows *frame.Rows
	// Echo makes the answering machine answer QUERY and EXECUTE with one row
	// that echoes the request, so that a client can match answers to
	// requests by content: one blob column per bound value ("v0", "v1", ...,
	// the value's bytes, null as null), or, for a request without values, a
	// single varchar column "query" holding the CQL text (for EXECUTE, the
	// text of the prepared statement). It costs a full decode and encode per
	// request.
	Echo bool
	// Strict makes the answering machine fully decode every request, and
	// answer a malformed one with a Protocol_error, even when the canned
	// answer does not need it. Without it, QUERY and EXECUTE are read only as
	// far as the skip-metadata flag and the statement id (the benchmark
	// setting). Custom handlers decode with Request.Envelope anyway.
	Strict bool
	// BindType is the type of every bind marker in the Prepared results of
	// the answering machine (nil: blob).
	BindType BindType

	// MaxFrameSize is the largest request body accepted; a larger one gets
	// a Protocol_error and the connection is closed. Zero means
	// frame.DefaultMaxFrameSize (256 MiB).
	MaxFrameSize int

	// Logf, when set, receives a line for each protocol error, encoding
	// failure and handler panic (t.Logf is a good choice: Close waits for
	// every goroutine, so nothing logs after it returns).
	Logf func(format string, args ...any)
}

// BindType chooses the CQL type of the bind markers of prepared statements.
type BindType uint8

const (
	BindBlob BindType = iota // every marker is a blob
	BindInt                  // every marker is an int
)

// Handler answers one request. It runs on the connection's reader
// goroutine, one request at a time and in arrival order: it must not block
// (use Reply.Delay or FaultHold instead) and must not keep req, its Body or
// anything decoded from it after returning. A Reply's Message is encoded
// before the handler's next call, so it may point into the request.
//
// Per-connection behaviour keys on req.Conn (ID, Version, User, ...);
// per-request behaviour on req.Header (Opcode, Stream) or on the decoded
// request (Request.Envelope). Handlers run concurrently for different
// connections.
type Handler func(req *Request) Reply

// ConnInfo describes one server-side connection. The server fills it in as
// the handshake proceeds, on the connection's goroutine; handlers and SASL
// servers may read it, and must not change it.
type ConnInfo struct {
	// ID numbers connections from 1 in the order they were accepted.
	ID         int64
	RemoteAddr net.Addr
	// TLS is the state of the TLS handshake; nil without TLS.
	TLS *tls.ConnectionState
	// Version is the protocol version fixed by STARTUP; 0 before it.
	Version frame.Version
	// Compression is the STARTUP COMPRESSION value in use ("" for none).
	Compression string
	// Startup holds the STARTUP options (nil before STARTUP).
	Startup map[string]string
	// Authenticated is true once the SASL exchange has succeeded.
	Authenticated bool
	// User is the authenticated login (authentication id) and Role the role
	// the connection acts as (the authorization id of a proxy login, else
	// User). Both come from the SASL server's Identity, when it has one.
	User, Role string
}

// Request is one request envelope as received.
type Request struct {
	// Header is the envelope header (Header.Length is the body length on
	// the wire, before decompression).
	Header frame.Header
	// Body is the envelope body, decompressed. It aliases the connection's
	// buffers: valid only until the handler returns.
	Body []byte
	// Conn is the connection the request came on.
	Conn *ConnInfo

	c   *conn
	env *frame.Envelope
	err error
}

// Reply is what a Handler answers a request with: a message (or a whole
// envelope), optionally late, optionally broken on purpose. The zero Reply
// sends nothing, as does FaultHold.
type Reply struct {
	// Message is the response body. The server encodes it in an envelope of
	// the connection's version, on the request's stream, compressed as
	// negotiated.
	Message frame.Message
	// Envelope, when not nil, is sent instead of Message, for warnings,
	// tracing ids or custom payloads. The server sets its Version, Response
	// and Stream (the request's, or the one FaultWrongStream picks).
	Envelope *frame.Envelope

	// Delay sends the reply (or applies its fault) this long after the
	// request, without holding up the replies to later requests.
	Delay time.Duration

	// Fault breaks the reply on purpose; see the Fault constants.
	Fault Fault
	// Stream is the stream id FaultWrongStream answers on; zero means the
	// request's stream id plus 16384 (modulo 32768).
	Stream int16
	// Cut is how many bytes of the reply FaultTruncate writes; see there.
	Cut int
	// Length is the body length FaultOversize announces; zero means
	// frame.DefaultMaxFrameSize + 1.
	Length uint32

	// startFraming is set by Request.Default on the READY or AUTHENTICATE
	// answer to a v5 STARTUP: the writer switches to segments after it.
	startFraming bool
	// raw is a pre-encoded envelope (the answering machine's canned
	// answers) whose stream id is patched in at send time.
	raw []byte
}

// Fault is a deliberate misbehaviour applied to one reply. Replies queued
// before a faulty one are written first, in full.
type Fault uint8

const (
	// FaultNone sends the reply normally.
	FaultNone Fault = iota

	// FaultHold never answers the request (the reply is discarded). The
	// connection keeps serving other requests.
	FaultHold

	// FaultWrongStream sends the reply on stream Reply.Stream instead of the
	// request's (zero: request stream + 16384, modulo 32768). Use -1 to make
	// it look like an event.
	FaultWrongStream

	// FaultTruncate writes only the first Reply.Cut bytes of the reply as
	// they would go on the wire (in v5: of the segment carrying it), then
	// closes the connection. Cut <= 0 means half the bytes, but never less
	// than the outermost header plus one byte, so the client sees a header
	// announcing bytes that never come; a small positive Cut (e.g. 4)
	// closes mid-header. This is both "a truncated frame, then close" and
	// "close mid-frame".
	FaultTruncate

	// FaultBadCRC24 (v5 only) sends the reply alone in a segment whose
	// header CRC24 is wrong (its low bit flipped). The connection stays
	// open. On v4, the request is answered with a Server_error saying so.
	FaultBadCRC24

	// FaultBadCRC32 (v5 only) sends the reply alone in a segment whose
	// payload CRC32 is wrong (its low bit flipped). The connection stays
	// open. On v4, the request is answered with a Server_error saying so.
	FaultBadCRC32

	// FaultOversize sends, instead of the reply, an envelope header (RESULT,
	// the request's stream) announcing a body of Reply.Length bytes (zero:
	// frame.DefaultMaxFrameSize + 1), and nothing else. In v5 the header is
	// the payload of a segment that is not self-contained, as the first
	// part of a large envelope would be. The connection stays open.
	FaultOversize

	// FaultClose writes the replies queued before this one, then closes the
	// connection without answering this request.
	FaultClose
)

// SASLServer is the server side of one connection's SASL exchange.
// Implementations need not be safe for concurrent use.
type SASLServer interface {
	// Step takes the token of one AUTH_RESPONSE (nil for a null token) and
	// returns one of:
	//   - done=false, err=nil: an AUTH_CHALLENGE carrying challenge (nil is
	//     a null token); the client answers with another AUTH_RESPONSE;
	//   - done=true, err=nil: AUTH_SUCCESS carrying success (nil is a null
	//     token, what PasswordAuthenticator sends); the connection is ready;
	//   - err != nil: an Authentication_error (0x0100) whose message is
	//     err.Error(); the exchange is over, and a later AUTH_RESPONSE starts
	//     a new one (Options.NewSASL is called again).
	Step(token []byte) (challenge []byte, done bool, success []byte, err error)
}

// Identity is implemented by SASL servers that know who logged in. After
// AUTH_SUCCESS the server records the result in ConnInfo.User and
// ConnInfo.Role.
type Identity interface {
	// Identity returns the authenticated login and the role the connection
	// acts as (the same as user unless an authorization id was given).
	Identity() (user, role string)
}

// Authenticator class names, for Options.Authenticator.
const (
	PasswordAuthenticator = "org.apache.cassandra.auth.PasswordAuthenticator"
	DSEAuthenticator      = "com.datastax.bdp.cassandra.auth.DseAuthenticator"
)

// Stats are the server's counters.
type Stats struct {
	Accepted int64 // connections accepted since Start
	Open     int64 // connections open now
	Requests int64 // request envelopes received, on all connections, since Start
}
