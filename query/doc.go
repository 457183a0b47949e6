// Package query is the pure layer under the Session: it turns Go values into
// bound values (Bind, BindSimple, InferType), turns result cells into Go
// values (Row: Scan, ScanStruct, Map), and defines the plain-data policies a
// statement runs under (Profile, RetryPolicy, SpeculativePolicy, Observer,
// TimestampGenerator).
//
// Like types and frame it does no I/O, starts no goroutines and holds no
// state beyond caches of per-Go-type reflection results, so every function
// here can be tested without a server. The Session (package cluster) does the
// sending, the waiting and the paging, and asks this package what to encode,
// how to decode and what to do after a failure.
//
// # Hot paths
//
// Bind and Row.Scan run once per request and once per row. Given buffers with
// capacity, binding already-boxed simple values (integers, floats, strings,
// []byte, []float32...) and scanning fixed-size columns (int, bigint,
// double, boolean, vector<float, n> into a *[]float32 with capacity)
// allocate nothing; a string or []byte destination allocates its copy.
//
// # Imports
//
// query may import only the standard library and the packages types and
// frame of this module, and conn for its Error type alone (the retry policy
// needs to know whether a failed request was sent). It must never import
// pool or cluster: they sit above it, and cluster implements what this
// package only describes.
package query
