// Package connbench compares one connection of cqlwire (package conn) with
// one connection of gocql (github.com/apache/cassandra-gocql-driver/v2) on
// the same workload, the same server and the same number of requests in
// flight, in the same run on the same machine. It has no code of its own
// outside its tests: BenchmarkRoundTrip and TestAnswers.
//
// # The workload
//
// Both drivers execute the same prepared statement, with one bound value,
// at consistency ONE, with skip-metadata, without paging and without a
// client timestamp, and read the one cell of the one row of the answer.
// gocql prepares every SELECT (a QUERY with bound values is not something
// it sends), so the measured request is an EXECUTE for both; TestAnswers
// checks that the two drivers' EXECUTE bodies are identical, byte for byte,
// in v4 and in v5. Each of c goroutines (c = 1, 16, 256) sends its next
// request as soon as the last is answered, reusing its request (cqlwire:
// a conn.Request; gocql: a *gocql.Query with its bound value), as a
// statement executed in a loop would.
//
// # The servers
//
//   - server=answering-v4, server=answering-v5: the in-process answering
//     machine of internal/testserver, accepting only that protocol version.
//     It answers the EXECUTE with its canned one-int-column row. gocql's
//     control connection also reads system.local, system.peers_v2 (and
//     would read system.peers and system_schema tables): a Handler answers
//     those QUERYs with a minimal system.local row (host id, data centre,
//     rack, release version, partitioner, tokens, addresses) and empty
//     results, and hands everything else to the answering machine.
//   - server=real-v4, server=real-v5: the Cassandra node of internal/testenv
//     (CQLWIRE_HOSTS, or the devcluster's env.mk), with
//     PasswordAuthenticator, executing SELECT key FROM system.local WHERE
//     key = ?. Skipped with testenv's message when no node is reachable.
//
// # gocql on one connection
//
// gocql has no public single-connection API: the smallest unit is a
// Session, and a Session always opens a control connection besides its
// pool (the switch that turns it off is unexported). The configuration
// (gocqlCluster) makes the session as close to one connection as it gets:
// one host, with a HostFilter accepting only its address; NumConns 1;
// ProtoVersion fixed (no version discovery connections); no event
// registration; Metadata.CacheMode Disabled (no schema queries). The
// control connection then carries its three startup QUERYs and stays idle;
// every PREPARE and EXECUTE goes over the pool's single connection.
// TestAnswers proves it with the server's counters: two connections
// accepted, all EXECUTEs on one of them, and during a run the server
// receives exactly as many requests as were sent, none elsewhere.
//
// Two gocql variants run: driver=gocql as configured by default (its writes
// wait up to WriteCoalesceWaitTime, 200µs, for others to join them; with
// one request in flight that timer fires after about 1.1ms on the test
// machine) and driver=gocql-nocoalesce (WriteCoalesceWaitTime 0,
// each request written at once by its own goroutine). Compare cqlwire with
// the better of the two at each concurrency.
//
// What each side includes differs by design: cqlwire-conn is the
// connection layer (the caller encodes the bound value and reads the cell
// bytes), while gocql's session adds its query executor, host selection
// policy and value marshalling. That is the most direct comparison gocql
// allows.
//
// # Metrics
//
// req/s (answered requests per second), p50-µs and p99-µs (latency of one
// request), allocs/op and B/op (-benchmem: every allocation of the process
// per request; the answering machine's share is zero, see
// internal/testserver's BenchmarkServer), and for cqlwire-conn
// conn-allocs/op: allocs/op minus the allocations of frame.DecodeBody on
// the same answer (the decoded Envelope and Rows), that is conn's own.
//
// # Running
//
// A run takes about five minutes:
//
//	cd tools
//	for i in 1 2 3 4 5 6; do
//		go test -run '^$' -bench RoundTrip -benchmem -benchtime 700ms ./connbench/
//	done | tee /tmp/connbench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /driver /tmp/connbench.txt
//
// Six runs of -count 1 rather than one of -count 6: -count repeats each
// benchmark back to back, so a change in the machine's load (another
// process, the Cassandra node compacting) would fall on one driver; taking
// turns spreads it over all of them. -col /driver puts the drivers side by
// side with cqlwire-conn as the base.
package connbench
