// Package capture splits the TCP streams of a captured Cassandra connection
// into native-protocol envelopes, following the connection's state the way
// client and server do: v4-style framing until the answer to STARTUP, then
// v5 segments (LZ4 when STARTUP asked for it) on v5 connections, and v4
// body compression on v4 ones. Each envelope is decoded with package frame.
package capture
