// Package wiretest is a minimal, synchronous native-protocol client for
// tests: it dials a node, performs the handshake (OPTIONS, STARTUP, SASL
// PLAIN), switches to v5 segments when it should, and sends one request at a
// time. It exists to check the frame and segment codecs against a real
// Cassandra before the connection layer (package conn) is built on them, and
// to produce traffic for captures. It is not part of the driver's API.
//
// It may import frame, frame/segment, frame/compress and the standard
// library; nothing in the driver may import it outside tests.
package wiretest
