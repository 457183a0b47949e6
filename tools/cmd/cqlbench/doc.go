// Command cqlbench runs the same workloads through cqlwire and through gocql
// (github.com/apache/cassandra-gocql-driver/v2), side by side, and prints
// one table: ops/s, p50/p90/p99/p99.9 latency, client CPU seconds per 1,000
// operations, allocations and bytes per operation, and each metric's ratio
// to gocql's.
//
// Run it from the tools module:
//
//	cd tools
//	go run ./cmd/cqlbench -short -drivers cqlwire,gocql,raw -out ../.cache/cqlbench   # make bench-gocql
//	go run ./cmd/cqlbench -server answering -workloads select -concurrency 256 -rounds 5
//
// Servers (-server answering, real or both): the answering server, a
// minimal native-protocol server that answers every request of every
// workload with a canned, correct answer, run in a child process so that
// the CPU time and allocations measured are the client's alone; and the
// Cassandra node of internal/testenv (CQLWIRE_HOSTS, or the one `make
// cassandra` started), where keyspace cqlbench is created and seeded first.
// With -server both, a missing node is skipped with a message; with
// -server real it is an error.
//
// Drivers (-drivers, default cqlwire,gocql,raw): cqlwire (the Session of
// package cluster, used as an application would: see
// tools/cqlbench/cqlwire.go), cqlwire-conn (package conn with a thin
// statement layer: what the layers above conn cost), gocql (its default
// write coalescing), gocql-nocoalesce, and raw (pre-encoded requests on
// bare sockets: the ceiling of the machine).
//
// Workloads (-workloads): select (one row by key), insert10 (a row of 10
// columns), vector-insert and vector-ann (vector<float, 768>), paged
// (10,000 rows, -page-size per page), mixed (80% select, 20% insert10).
//
// Each measurement runs -ops operations, or for -duration, after -warmup,
// at each -concurrency (requests in flight: one goroutine each). -rounds
// repeats everything, every driver once per round in turn, and the table
// shows medians. -out DIR writes results.csv (every round), results.md (a
// summary for the README) and one PNG chart per workload.
//
// -short is the preset of `make bench-gocql`; flags given with it override
// its values.
package main
