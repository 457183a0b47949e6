// Package cqlbench is the harness that compares cqlwire with gocql
// (github.com/apache/cassandra-gocql-driver/v2): the same workloads, the
// same servers, the same protocol version, compression, connections and
// concurrency, measured side by side in one run on one machine. The command
// is tools/cmd/cqlbench; `make bench-gocql` runs its short preset.
//
// # Drivers
//
// A Driver opens a Client on a Target; a Client gives each worker goroutine
// an Op per workload, which performs one operation and checks its answer
// against package workload (an Op that gets a wrong answer fails, so a
// driver cannot look fast by reading less). The drivers:
//
//   - cqlwire: the cqlwire Session (package cluster) used as an application
//     would (a Query per operation, One, Rows and Row.Scan; see
//     cqlwire.go). It is the driver the ratios compare with gocql.
//   - cqlwire-conn: package conn with a thin statement layer written here
//     (types.Append to bind, types.Decode to scan into typed variables,
//     paging by hand): what the layers above conn cost.
//   - gocql, gocql-nocoalesce: a gocql Session used as an application
//     would (a Query per operation, Scan, an Iter's Scanner), token-aware,
//     with and without gocql's write coalescing (see gocql.go).
//   - raw: pre-encoded requests written on bare sockets, answers framed and
//     their row counts checked, no driver logic: the ceiling of the machine
//     (see raw.go).
//
// # Servers
//
// AnsweringServer is package answering's server, in a child process by
// default so that the CPU time and allocations measured are the client's
// alone. RealNode is the Cassandra node of internal/testenv; SetUpRealNode
// creates keyspace cqlbench and seeds it.
//
// # Measuring
//
// Run makes every measurement of a Config: for each target, workload and
// concurrency, Rounds rounds in which every driver runs once, in turn (A B
// C A B C: a change in the machine's load spreads over all drivers). A
// measurement is a warm-up, a garbage collection, then the measured phase
// (Ops operations, or Duration) between two readings of getrusage and
// runtime.MemStats. Latencies go to one log-linear histogram per worker
// (package stats; no allocation per operation), merged afterwards. Package
// report turns the rows into the table, the CSV, the Markdown summary and
// the charts (WriteOutputs).
//
// # Go benchmarks
//
// BenchmarkDrivers (bench_test.go) measures the same workloads with the
// testing package, for the per-operation allocation comparison with
// -benchmem, -count and benchstat:
//
//	cd tools
//	go test -run '^$' -bench Drivers -benchmem -count 6 ./cqlbench/ | tee /tmp/drivers.txt
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /driver /tmp/drivers.txt
package cqlbench
