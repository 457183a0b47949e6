// Package testserver is an in-process Cassandra native protocol server (v4
// and v5) for tests and benchmarks only.
//
// It exists for what a real Cassandra node cannot do on demand:
//
//   - misbehave on purpose, at a precise moment: answer on a stream id
//     nobody asked for, truncate a frame and hang up, corrupt a v5 segment
//     checksum, announce a frame larger than the client's limit, never
//     answer, answer late, push events, drop every connection at once
//     (see Fault, Reply, Server.Broadcast and Server.KillConnections);
//   - speak authenticators Apache Cassandra does not have: DSE's
//     DseAuthenticator (mechanism negotiation, proxy login through an
//     authorization id) and any SASL mechanism plugged in through
//     Options.NewSASL (the Kerberos/GSSAPI acceptor of the auth tests);
//   - act as an "answering machine" for driver benchmarks: every request
//     gets a canned, correct response from pre-encoded bytes, with one
//     reader and one writer goroutine per connection and batched writes,
//     so that what a benchmark measures is the driver.
//
// The server speaks the real framing: OPTIONS/SUPPORTED and STARTUP/READY
// (or AUTHENTICATE) unframed, then v5 segments (CRC24/CRC32, optional LZ4)
// in both directions from the answer to STARTUP on; v4 body compression (lz4,
// snappy) from the answer to STARTUP on. Hostile client bytes never panic
// it: a malformed request gets a protocol ERROR, a malformed frame an ERROR
// and a closed connection.
//
// The driver's non-test code must never import this package (it lives under
// internal/ and is meant for _test.go files, test helpers and benchmark
// tools).
//
// A typical test:
//
//	srv, err := testserver.Start(testserver.Options{
//		Handler: func(req *testserver.Request) testserver.Reply {
//			if req.Header.Opcode == frame.OpQuery {
//				return testserver.Reply{Fault: testserver.FaultHold}
//			}
//			return req.Default()
//		},
//	})
//	if err != nil { t.Fatal(err) }
//	t.Cleanup(func() { srv.Close() })
//	... dial srv.Addr() ...
package testserver
