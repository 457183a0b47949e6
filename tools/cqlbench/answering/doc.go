// Package answering is the in-process server of the cqlbench harness: the
// answering machine of internal/testserver taught the harness's workloads,
// so that every request of every workload gets a canned, correct answer
// and what a benchmark measures is the driver, not Cassandra.
//
// What it answers:
//
//   - PREPARE of each statement of package workload: a Prepared result with
//     that statement's bind markers (their real CQL types, so the drivers'
//     value encoding runs), its result columns (so their row decoding runs),
//     its partition key indexes (so token-aware routing runs) and, in v5,
//     a result metadata id.
//   - EXECUTE of those statements: the bound values are checked (count,
//     nulls, the size of each fixed-size type, the range of the key) and a
//     wrong request gets an Invalid error, so a driver that binds wrongly
//     fails; then the answer the real node would give: the kv row of the
//     key read, Void for the inserts, the ANNLimit rows of the vector search
//     (ids 0, 1, ... with their vectors), and the paged partition one page
//     at a time, the paging state carrying the offset of the next page.
//     With the skip-metadata flag, rows come without column specs.
//   - the queries of gocql's control connection (system.local,
//     system.peers, system.peers_v2, system_schema.*): a system.local row
//     describing a one-node cluster owning token 0, and empty results.
//   - everything else (OPTIONS, STARTUP, REGISTER, USE, other statements):
//     as the answering machine does.
//
// Answers are built once; an EXECUTE costs the server a scan of its
// parameters and the copy of a pre-built result into its write buffer.
//
// The server can also run in a child process (Spawn, ServeIfChild), which
// is how the cqlbench command uses it: the CPU time and allocations the
// harness measures with getrusage and runtime.MemStats are then the
// driver's alone, not the driver's plus the server's.
package answering
