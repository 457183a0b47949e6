// Package types describes CQL data types and converts values between Go and
// the bytes the native protocol carries.
//
// A [Type] is a plain descriptor (native kind, collection, tuple, UDT, custom,
// vector). Value codecs encode Go values into CQL bytes and decode CQL bytes
// into Go values; the vector<float,n> codec has a zero-allocation fast path.
//
// The package does no I/O and starts no goroutines: every function works on
// byte slices, so it can be fuzzed and used to check captured traffic.
// It must never import any other package of this module.
package types
