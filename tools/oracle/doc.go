// Package oracle holds a differential test of cqlwire's wire codecs against
// an independent implementation of the native protocol,
// github.com/datastax/go-cassandra-native-protocol, used only as a test
// oracle: nothing outside this package's tests imports it, and it lives in
// the tools module so that the driver's own go.mod never mentions it.
//
// The tests generate random messages of every kind, for protocol v4 and v5
// and in both directions (requests and responses), with a fixed seed per
// subtest. Each message travels both ways: cqlwire encodes and the oracle
// decodes, and the oracle encodes and cqlwire decodes; the two views are
// compared field by field, and the bytes are compared where both encoders
// are canonical. v5 segments (uncompressed and LZ4) and v4 body compression
// (LZ4 and Snappy) are checked the same way.
//
// Where the two libraries disagree, the Cassandra server decides. Every known
// disagreement is documented in testdata/frames/README.md (section
// "Differential test against go-cassandra-native-protocol") and skipped
// precisely, with its reason, in the test code; anything else fails.
//
// Run it from the tools module:
//
//	go test ./oracle/                        # the default seed, 2000 messages per kind and version
//	go test ./oracle/ -v -seed=12345         # another seed, with a summary of what was compared
//	go test ./oracle/ -msgs=20000            # more messages
//	CQLWIRE_ORACLE_SEED=7 CQLWIRE_ORACLE_N=500 go test ./oracle/
//
// Tests named TestCqlwireBug* reproduce cqlwire bugs found by this
// comparison and fail until the bug is fixed; the random tests fail on the
// same inputs when they generate them (see the README section).
//
// The package has no non-test code: this file only documents it.
package oracle
