// Package segment implements the outer framing of native protocol v5: the
// "segments" (the spec calls them frames) that carry envelopes once STARTUP
// has been answered, uncompressed or LZ4-compressed.
//
// A segment is a header (6 bytes, or 8 with LZ4) protected by a CRC24, a
// payload of at most [MaxPayloadSize] bytes, and a CRC32 of the payload as
// sent. A self-contained segment holds one or more whole envelopes; an
// envelope too large for one segment is split over several segments that are
// not self-contained.
//
// The package has three layers:
//
//   - [AppendSegment] and [DecodeSegment] encode and decode one segment.
//     DecodeSegment returns [ErrIncomplete] while its input does not yet hold a
//     whole segment, so that a streaming reader knows to read more, and [Len]
//     tells it how much.
//   - [Writer] packs whole envelopes into as few segments as possible.
//   - [Reassembler] turns the payloads of decoded segments back into whole
//     envelopes.
//
// A connection's read loop, once segments are in use, looks like:
//
//	buf := make([]byte, 0, segment.MaxPayloadSize) // reused for LZ4 payloads
//	for {
//		payload, selfContained, n, err := segment.DecodeSegment(in, lz4, buf)
//		if err == segment.ErrIncomplete {
//			// read more into in (segment.Len says how much), then retry
//		}
//		// any other error: close the connection
//		err = reassembler.Add(payload, selfContained, handleEnvelope)
//		in = in[n:]
//	}
//
// The envelopes handleEnvelope sees alias in, buf or the Reassembler's
// buffer: it must decode or copy them before the loop reuses those.
//
// The writer calls Writer.Append (or AppendBatch) with the envelopes it
// coalesced, then writes the result.
//
// The wire layout follows what the Cassandra 5.0 server does where the spec
// is silent or wrong: little-endian header words, CRC24 with initial value
// 0x875060 and polynomial 0x1974F0B, CRC32 (IEEE) seeded with the bytes
// FA 2D 55 CA, and an uncompressed length of 0 in an LZ4 header meaning the
// payload was sent as is.
//
// Like package frame, it is pure computation over byte slices: it does no
// I/O, starts no goroutines and keeps no global mutable state. Input is
// treated as hostile: every length is checked before use and against a limit
// before anything is allocated, and no input makes it panic. It knows the
// envelope header only as far as its length field (a big-endian uint32 at
// bytes 5 to 8 of the 9-byte header), so it does not import package frame.
//
// It must never import conn, pool, cluster, query or auth.
package segment
