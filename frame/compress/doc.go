// Package compress implements the envelope body compression of native
// protocol v4 (spec section 5), as [frame.Compressor] values: [LZ4] and
// [Snappy], named by the STARTUP option COMPRESSION "lz4" and "snappy".
//
// v5 does not use this package: it compresses whole segments with LZ4 (see
// package frame/segment), and its envelopes are never compressed.
//
// Formats, as the Cassandra server reads and writes them:
//   - lz4: the uncompressed length as a 4-byte big-endian integer, then one
//     LZ4 block (the raw block format, no LZ4 frame).
//   - snappy: one snappy block (its own varint length prefix, no framing).
//
// Decompression treats its input as hostile: the declared length is checked
// against the caller's limit, and against the most the format can expand the
// input by, before anything is allocated; corrupt input gives an error
// wrapping [ErrCorrupt] or [ErrTooLarge], never a panic.
//
// Like package frame it does no I/O, starts no goroutines and keeps no
// global mutable state beyond a pool of LZ4 hash tables. Both compressors
// are stateless values, safe for concurrent use. It must never import conn,
// pool, cluster, query or auth.
package compress
