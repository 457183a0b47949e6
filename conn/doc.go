// Package conn is one connection to one Cassandra node: dial (TCP or TLS),
// the OPTIONS/STARTUP handshake with protocol version negotiation (v5, then
// v4), SASL authentication through package auth, and a multiplexer that
// carries up to 32768 concurrent requests over the socket.
//
// The pool above it dials connections with [Dial], sends requests with
// [Conn.Do], and replaces a connection when [Conn.Done] is closed. A Conn
// never retries a request, never chooses a host and never interprets a
// result: those policies belong to the layers above.
//
// # Handshake
//
// OPTIONS, then STARTUP (CQL_VERSION, COMPRESSION when configured and
// offered, DRIVER_NAME, DRIVER_VERSION), then READY or AUTHENTICATE and the
// SASL exchange of Config.Authenticator, all on stream 0 before any other
// request. In v4, compression applies from the server's answer to STARTUP
// on; in v5 both directions switch to segments (LZ4 ones with "lz4") after
// READY or AUTHENTICATE. A server that answers OPTIONS or STARTUP with a
// protocol error, with a lower version, or by hanging up is tried again
// one version lower on a fresh connection; [Conn.Version] tells the result.
//
// # Requests
//
// Each request takes a stream id for as long as the server may answer on
// it: until its answer arrives, even if the caller gave up long before, or
// until the connection ends. When every id is taken, Do waits for one,
// bounded by its context (backpressure, never an unbounded queue). Callers
// encode their request and decode their answer on their own goroutine, so
// that work spreads over cores; the connection's own goroutines only move
// bytes:
//
//   - the writer wakes when the first request is queued, takes everything
//     queued, and writes it with one system call (v5: small envelopes share
//     segments). Requests queued during a write go out with the next one.
//     There is no timer and no sleep: an idle connection sends at once.
//   - the reader frames answers (envelopes, or segments with their CRCs),
//     hands each body to the request waiting on its stream id, and passes
//     EVENT messages (stream -1) to Config.Events.
//   - the timeout sweep runs every 10 ms while any stream id is in use
//     (and sleeps otherwise): it fails the requests whose timeout
//     (Config.Timeout, Request.Timeout) has passed, so that no request
//     arms a timer of its own. One already sent keeps its stream id until
//     its late answer arrives.
//   - the heartbeat sends OPTIONS when nothing was read for
//     Config.HeartbeatInterval, and ends the connection if that goes
//     unanswered.
//
// # Failures
//
// An answer the protocol does not allow (on a stream with no request in
// flight, on a request not yet sent, with the wrong version), a segment
// with a bad CRC, a frame over Config.MaxFrameSize, a frame cut short, a
// read or write error, or a missed heartbeat ends the connection: after an
// answer on an unknown stream, no answer on the connection can be trusted
// to be its request's, so it is closed rather than logged and ignored.
// Ending fails every request in flight at once with an [*Error] wrapping
// [ErrConnectionLost] (or [ErrClosed] after Close) whose Sent field says
// whether the request may have been executed, then closes Done. An answer
// that frames correctly but does not decode fails only its own request.
//
// It may import only the standard library and the packages frame,
// frame/segment, frame/compress and auth of this module; it must never
// import pool, cluster or query.
package conn
