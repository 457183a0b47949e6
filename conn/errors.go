package conn

import (
	"errors"
	"strings"
)

var (
	// ErrClosed is the cause of every failure after Close was called.
	ErrClosed = errors.New("connection closed")

	// ErrConnectionLost is wrapped by the cause of every other end of a
	// connection: a read or write error, a probe that received nothing, a
	// write that made no progress, too many orphaned stream ids, or a
	// server that broke the protocol. It never wraps a context error: the
	// requests it fails were not given up on by their callers.
	ErrConnectionLost = errors.New("connection lost")

	// ErrProtocol is wrapped when the server sent something the protocol
	// does not allow: an answer on a stream with no request in flight, a
	// segment with a bad checksum, a frame over the size limit. The
	// connection is closed because nothing after it can be trusted.
	ErrProtocol = errors.New("protocol violation")

	// ErrStreamsExhausted is wrapped when a request found every stream id
	// of the connection in use for as long as its timeout allowed: it was
	// not sent, and another connection (or node) may take it.
	ErrStreamsExhausted = errors.New("no free stream id")

	// ErrNoCredentials is wrapped when the server asks for
	// authentication and Config.Authenticator is nil.
	ErrNoCredentials = errors.New("the server requires authentication but no credentials are configured")

	// ErrConfig is wrapped by the errors Dial returns for a Config that
	// cannot work.
	ErrConfig = errors.New("invalid configuration")
)

// Error is a failure of a connection or of one request on it. An ERROR
// answer from the server is not an Error: Do returns it as a *frame.Error.
//
// Match the cause with errors.Is: ErrClosed, ErrConnectionLost,
// ErrProtocol, ErrStreamsExhausted, context.DeadlineExceeded (the
// request's context, or its timeout) or context.Canceled.
type Error struct {
	// Addr is the node's address as given to Dial.
	Addr string
	// Op is what failed: "dial", "TLS handshake", "OPTIONS", "STARTUP",
	// "authentication", or the opcode of a request ("QUERY", "EXECUTE").
	Op string
	// Request is true when Op is a request given to Do (so Sent is
	// meaningful), false for dial and handshake failures.
	Request bool
	// Sent reports that the request was handed to the socket before it
	// failed: the server may have executed it. When false the request was
	// certainly not executed, and retrying it elsewhere is always safe.
	Sent bool
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("conn ")
	b.WriteString(e.Addr)
	b.WriteString(": ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("failed")
	}
	if e.Request {
		if e.Sent {
			b.WriteString(" (the request was sent and may have been executed)")
		} else {
			b.WriteString(" (the request was not sent, so it was not executed)")
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
