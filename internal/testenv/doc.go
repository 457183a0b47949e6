// Package testenv tells integration tests where a real Cassandra node is, and skips
// or fails them when none is reachable.
//
// Settings come from environment variables, all optional except CQLWIRE_HOSTS:
//
//	CQLWIRE_HOSTS              comma-separated addresses (hosts or IPs) of the nodes
//	CQLWIRE_PORT               native protocol port (default 9042)
//	CQLWIRE_USERNAME           login (default cassandra)
//	CQLWIRE_PASSWORD           password (default cassandra)
//	CQLWIRE_TLS_CA             PEM file of the CA that signed the nodes' certificates
//	CQLWIRE_TLS_CERT           PEM client certificate, for mutual TLS
//	CQLWIRE_TLS_KEY            PEM private key of CQLWIRE_TLS_CERT
//	CQLWIRE_TLS_CLIENT_AUTH    "true" when the nodes refuse TLS connections without a client certificate
//	CQLWIRE_DC                 the nodes' data centre (default datacenter1)
//	CQLWIRE_REQUIRE_CASSANDRA  "1" or "true": an unreachable node fails the test instead of skipping it
//
// `make cassandra` (devcluster/cluster.sh) starts a node and writes these settings to
// <repo>/.cache/devcluster/env.mk (or $CQLWIRE_RUN_DIR/env.mk); the Makefile exports them
// to every recipe. When CQLWIRE_HOSTS is not set, Lookup also reads that file itself
// (searching the working directory and its parents), so a plain `go test ./...` finds a
// node that make started. A variable set in the environment always wins over the file.
//
// A typical test:
//
//	func TestSelectLocal(t *testing.T) {
//		env := testenv.Require(t) // skips (or fails under CQLWIRE_REQUIRE_CASSANDRA=1) without a node
//		addr := env.Addrs()[0]
//		...
//	}
//
// The package uses the standard library only.
package testenv
