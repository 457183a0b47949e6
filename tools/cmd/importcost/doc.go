// Command importcost measures what an importer of the driver pays: it
// builds minimal applications that do the same thing, one with cqlwire
// (./cqlwire) and one with gocql (./gocql, github.com/apache/cassandra-gocql-driver/v2),
// and prints, for each, the modules linked into the binary (go version -m),
// the size of the stripped binary (-ldflags="-s -w") and the time of a
// cold build (an empty GOCACHE; modules come from the module cache, so no
// download is timed).
//
// Each application connects with a username and password and prints
// SELECT release_version FROM system.local; run against a node with
//
//	go run ./cmd/importcost/cqlwire   # or ./cmd/importcost/gocql
//
// (CQLWIRE_HOSTS, CQLWIRE_PORT, CQLWIRE_USERNAME, CQLWIRE_PASSWORD; defaults
// 127.0.0.1, 9042, cassandra, cassandra). ./kerberos is the cqlwire program
// logging in with auth/kerberos instead. From the repository root,
// `make import-cost` builds them and prints the table: -runs N builds each
// program N times, in turns, and shows the fastest cold build and the
// median CPU time (which a busy machine changes much less than the wall
// time); -md prints Markdown.
package main
