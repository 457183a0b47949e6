package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// fixChecksums rewrites the header CRC24 and the payload CRC32 of the segment
// at the start of b to be valid, where b is long enough, so that the fuzzer
// reaches the code behind the checks.
func fixChecksums(b []byte, compressed bool) {
	hs, ws := HeaderSize, 3
	if compressed {
		hs, ws = CompressedHeaderSize, 5
	}
	if len(b) < hs {
		return
	}
	putUint24(b[ws:], crc24(b[:ws]))
	n, err := Len(b, compressed)
	if err != nil || len(b) < n {
		return
	}
	binary.LittleEndian.PutUint32(b[n-TrailerSize:], payloadCRC(b[hs:n-TrailerSize]))
}

func FuzzDecodeSegment(f *testing.F) {
	for _, s := range knownSegments {
		f.Add(unhex(f, s.wire), s.compressed, false)
		f.Add(unhex(f, s.wire)[:len(unhex(f, s.wire))-3], s.compressed, true)
	}
	for _, compress := range []bool{false, true} {
		for _, p := range [][]byte{rowsLike(300), randomBytes(100, 1), bytes.Repeat([]byte("ab"), 200)} {
			enc, _ := AppendSegment(nil, p, true, compress)
			f.Add(enc, compress, false)
			f.Add(enc, compress, true)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, compressed, fix bool) {
		if fix {
			data = bytes.Clone(data)
			fixChecksums(data, compressed)
		}
		dst := make([]byte, 0, 16)
		p, sc, n, err := DecodeSegment(data, compressed, dst)
		if err != nil {
			if err != ErrIncomplete && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if p != nil || n != 0 {
				t.Fatalf("error with results: %d bytes, n=%d", len(p), n)
			}
			return
		}
		if n > len(data) || len(p) > MaxPayloadSize {
			t.Fatalf("n=%d of %d bytes, payload of %d", n, len(data), len(p))
		}
		if l, err := Len(data, compressed); err != nil || l != n {
			t.Fatalf("Len = %d, %v; DecodeSegment took %d", l, err, n)
		}
		// Shorter inputs need more bytes, never a different answer.
		for _, cut := range []int{n - 1, n / 2, 1} {
			if cut >= 0 && cut < n {
				if _, _, _, err := DecodeSegment(data[:cut], compressed, nil); err != ErrIncomplete {
					t.Fatalf("%d of %d bytes: %v, want ErrIncomplete", cut, n, err)
				}
			}
		}
		enc, err := AppendSegment(nil, p, sc, compressed)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		p2, sc2, n2, err := DecodeSegment(enc, compressed, nil)
		if err != nil || !bytes.Equal(p, p2) || sc != sc2 || n2 != len(enc) {
			t.Fatalf("re-encoded segment decodes differently: %v", err)
		}
		// Uncompressed segments have one encoding, up to the padding bits.
		if !compressed && data[2]&0xFC == 0 && !bytes.Equal(enc, data[:n]) {
			t.Fatalf("re-encoding differs:\n% x\n% x", enc, data[:n])
		}
	})
}

// FuzzReassemble reads data as a sequence of payloads, each introduced by a
// byte (bit 7: self-contained; bits 0-6: length), and checks that the
// Reassembler never panics, stays within its limit, and emits exactly the
// bytes it was given, in order, as envelopes with consistent headers (the
// envelopes of self-contained payloads in their order, and those
// reassembled from parts in theirs: the former may overtake the latter).
func FuzzReassemble(f *testing.F) {
	f.Add([]byte{0x80 | 10, 5, 0, 0, 1, 7, 0, 0, 0, 1, 0xAA})
	f.Add([]byte{4, 5, 0, 0, 1, 5, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8})
	big := envelope(1, 200)
	var seed []byte
	for len(big) > 0 {
		n := min(len(big), 0x7F)
		seed = append(seed, byte(n))
		seed = append(seed, big[:n]...)
		big = big[n:]
	}
	f.Add(seed)
	const limit = 1 << 12
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Reassembler{MaxBodySize: limit}
		var in, out, inSelf, outSelf []byte
		for len(data) > 0 {
			sc, n := data[0]&0x80 != 0, int(data[0]&0x7F)
			data = data[1:]
			n = min(n, len(data))
			p := data[:n]
			data = data[n:]
			err := r.Add(p, sc, func(e []byte) error {
				if len(e) < envelopeHeaderSize || int(envelopeBodyLen(e)) != len(e)-envelopeHeaderSize {
					t.Fatalf("emitted a %d-byte envelope whose header says %d", len(e), envelopeBodyLen(e))
				}
				if len(e)-envelopeHeaderSize > limit {
					t.Fatalf("emitted a body of %d bytes, limit %d", len(e)-envelopeHeaderSize, limit)
				}
				if sc {
					outSelf = append(outSelf, e...)
				} else {
					out = append(out, e...)
				}
				return nil
			})
			if cap(r.buf) > limit+envelopeHeaderSize {
				t.Fatalf("buffer of %d bytes, limit %d", cap(r.buf), limit)
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			if sc {
				inSelf = append(inSelf, p...)
			} else {
				in = append(in, p...)
			}
		}
		// Nothing lost, duplicated or reordered.
		if !bytes.Equal(append(out, r.buf...), in) || r.Pending() != len(r.buf) {
			t.Fatalf("emitted %d bytes + %d pending, fed %d", len(out), r.Pending(), len(in))
		}
		if !bytes.Equal(outSelf, inSelf) {
			t.Fatalf("emitted %d bytes of self-contained envelopes, fed %d", len(outSelf), len(inSelf))
		}
	})
}
