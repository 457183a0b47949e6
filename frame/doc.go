// Package frame encodes and decodes the messages of the Cassandra native
// protocol, versions 4 and 5: the envelope header, every request and response
// body, custom payloads, warnings and tracing ids.
//
// Outer v5 framing (segments) lives in frame/segment and v4 body compression
// in frame/compress; this package only sees envelopes.
//
// Everything here is a pure function over byte slices: no I/O, no goroutines,
// no global state. Decoders treat their input as hostile: every length is
// checked against what remains and against [Limits] before anything is
// allocated, errors name the message, the field and the offset, and nothing
// panics. Decoded messages may alias the input buffer (rows, blobs), so the
// caller must not reuse the buffer while it still uses the message.
//
// Decoders refuse only what is malformed or unsafe, and accept whatever the
// spec allows, however odd: bytes after a response's message and header flag
// bits the spec says to ignore are ignored, a Global_tables_spec with no
// columns keeps its table spec in TableSpec, rows may have no columns.
// testdata/frames/spec holds a case for each such shape.
//
// It may import only the standard library and package types of this module;
// it must never import conn, pool, cluster, query or auth.
package frame
