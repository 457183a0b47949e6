package segment

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// unhex decodes space-separated hex, for byte-exact expectations.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Expected bytes below were computed by a Python script independent of this
// package (polynomial division for the CRC24, zlib.crc32 for the CRC32).
var knownSegments = []struct {
	name          string
	compressed    bool
	payload       string // decoded payload
	selfContained bool
	wire          string
	encodes       bool // AppendSegment produces wire exactly
}{
	{
		// word = 5 | 1<<17 = 0x020005; CRC24 0x9A9919; CRC32("hello") 0xB60E8074.
		name: "uncompressed self-contained", payload: "hello", selfContained: true,
		wire: "05 00 02 19 99 9a 68 65 6c 6c 6f 74 80 0e b6", encodes: true,
	},
	{
		name: "uncompressed not self-contained", payload: "hello",
		wire: "05 00 00 04 48 23 68 65 6c 6c 6f 74 80 0e b6", encodes: true,
	},
	{
		name: "uncompressed empty", payload: "", selfContained: true,
		wire: "00 00 02 6a 36 c4 d3 7e 77 44", encodes: true,
	},
	{
		// Too short to compress: uncompressed length 0, payload as is.
		name: "lz4 sent as is", compressed: true, payload: "hello", selfContained: true,
		wire: "05 00 00 00 04 e4 ab 8e 68 65 6c 6c 6f 74 80 0e b6", encodes: true,
	},
	{
		name: "lz4 sent as is, not self-contained", compressed: true, payload: "hello",
		wire: "05 00 00 00 00 d5 46 6a 68 65 6c 6c 6f 74 80 0e b6", encodes: true,
	},
	{
		// 20 x 'a' as a hand-built LZ4 block: token 0x1A (1 literal, match
		// length 4+10), 'a', offset 1, token 0x50 (5 literals), 'aaaaa'.
		// Word = 10 | 20<<17 | 1<<34.
		name: "lz4 compressed", compressed: true, payload: strings.Repeat("a", 20), selfContained: true,
		wire: "0a 00 28 00 04 0b 71 14 1a 61 01 00 50 61 61 61 61 61 93 65 22 ea",
	},
}

func TestKnownSegments(t *testing.T) {
	for _, tt := range knownSegments {
		t.Run(tt.name, func(t *testing.T) {
			wire := unhex(t, tt.wire)
			payload, sc, n, err := DecodeSegment(wire, tt.compressed, nil)
			if err != nil {
				t.Fatalf("DecodeSegment: %v", err)
			}
			if string(payload) != tt.payload || sc != tt.selfContained || n != len(wire) {
				t.Errorf("DecodeSegment = %q, %v, %d; want %q, %v, %d", payload, sc, n, tt.payload, tt.selfContained, len(wire))
			}
			if got, err := Len(wire, tt.compressed); err != nil || got != len(wire) {
				t.Errorf("Len = %d, %v; want %d", got, err, len(wire))
			}
			enc, err := AppendSegment([]byte("prefix"), []byte(tt.payload), tt.selfContained, tt.compressed)
			if err != nil {
				t.Fatalf("AppendSegment: %v", err)
			}
			if !bytes.HasPrefix(enc, []byte("prefix")) {
				t.Fatalf("AppendSegment lost dst's contents")
			}
			enc = enc[len("prefix"):]
			if tt.encodes && !bytes.Equal(enc, wire) {
				t.Errorf("AppendSegment = % x\nwant            % x", enc, wire)
			}
			// Whatever the compressor chose, it must decode back.
			back, sc, n, err := DecodeSegment(enc, tt.compressed, nil)
			if err != nil || string(back) != tt.payload || sc != tt.selfContained || n != len(enc) {
				t.Errorf("decode of encoded = %q, %v, %d, %v", back, sc, n, err)
			}
		})
	}
}

func TestLZ4SegmentCompresses(t *testing.T) {
	payload := rowsLike(64 << 10)
	enc, err := AppendSegment(nil, payload, true, true)
	if err != nil {
		t.Fatal(err)
	}
	w := uint64(enc[0]) | uint64(enc[1])<<8 | uint64(enc[2])<<16 | uint64(enc[3])<<24 | uint64(enc[4])<<32
	clen, ulen := int(w&lengthMask), int(w>>17&lengthMask)
	if ulen != len(payload) || clen >= len(payload) || len(enc) != CompressedHeaderSize+clen+TrailerSize {
		t.Fatalf("header says %d compressed of %d uncompressed, segment of %d bytes", clen, ulen, len(enc))
	}
	t.Logf("rows-like 64 KiB compresses to %d bytes", clen)
	dst := make([]byte, 3, 10)
	got, _, _, err := DecodeSegment(enc, true, dst)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("round trip failed: %v", err)
	}
}

func TestLZ4SegmentIncompressible(t *testing.T) {
	payload := randomBytes(MaxPayloadSize, 7)
	enc, err := AppendSegment(nil, payload, false, true)
	if err != nil {
		t.Fatal(err)
	}
	// Random bytes do not shrink: sent as is, uncompressed length 0.
	if len(enc) != CompressedHeaderSize+len(payload)+TrailerSize || enc[2]&0xFE != 0 || enc[3] != 0 || enc[4]&3 != 0 {
		t.Fatalf("random payload was not sent as is: header % x, %d bytes", enc[:8], len(enc))
	}
	got, sc, _, err := DecodeSegment(enc, true, nil)
	if err != nil || sc || !bytes.Equal(got, payload) {
		t.Fatalf("round trip failed: %v", err)
	}
	if &got[0] != &enc[CompressedHeaderSize] {
		t.Errorf("a payload sent as is should alias the input")
	}
}

func TestAppendSegmentTooLarge(t *testing.T) {
	for _, compress := range []bool{false, true} {
		dst := []byte("keep")
		got, err := AppendSegment(dst, make([]byte, MaxPayloadSize+1), true, compress)
		if !errors.Is(err, ErrTooLarge) || string(got) != "keep" {
			t.Errorf("compress=%v: got %q, %v; want ErrTooLarge and dst unchanged", compress, got, err)
		}
	}
	for _, compress := range []bool{false, true} {
		enc, err := AppendSegment(nil, rowsLike(MaxPayloadSize), true, compress)
		if err != nil {
			t.Fatalf("compress=%v: maximum payload rejected: %v", compress, err)
		}
		if _, _, _, err := DecodeSegment(enc, compress, nil); err != nil {
			t.Fatalf("compress=%v: %v", compress, err)
		}
	}
}

func TestDecodeSegmentErrors(t *testing.T) {
	flip := func(s string, i int) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			b := unhex(t, s)
			b[i] ^= 0x01
			return b
		}
	}
	const plain = "05 00 02 19 99 9a 68 65 6c 6c 6f 74 80 0e b6"
	const lz = "0a 00 28 00 04 0b 71 14 1a 61 01 00 50 61 61 61 61 61 93 65 22 ea"
	// An LZ4 header that declares 21 bytes for the 20-byte block above.
	const lzWrongLen = "0a 00 2a 00 04 3b b1 c4 1a 61 01 00 50 61 61 61 61 61 93 65 22 ea"
	// An LZ4 block whose match offset (2) points before the output start.
	const lzBadOffset = "0a 00 28 00 04 0b 71 14 1a 61 02 00 50 61 61 61 61 61 70 62 ad 64"
	tests := []struct {
		name       string
		compressed bool
		input      func(t *testing.T) []byte
		want       error
		msg        string
	}{
		{"header crc24, length bit", false, flip(plain, 0), ErrChecksum,
			"segment: header crc24 checksum mismatch at offset 0: got 0x9a9919, computed 0xf2f901"},
		{"header crc24, flag bit", false, flip(plain, 2), ErrChecksum, "segment: header crc24"},
		{"header crc24, crc byte", false, flip(plain, 4), ErrChecksum, "segment: header crc24"},
		{"payload crc32, payload byte", false, flip(plain, 7), ErrChecksum,
			"segment: payload crc32 checksum mismatch at offset 11: got 0xb60e8074, computed 0x"},
		{"payload crc32, trailer byte", false, flip(plain, 14), ErrChecksum, "segment: payload crc32"},
		{"lz4 header crc24", true, flip(lz, 4), ErrChecksum, "segment: header crc24"},
		{"lz4 payload crc32", true, flip(lz, 9), ErrChecksum, "at offset 18"},
		{"lz4 declared length differs", true, func(t *testing.T) []byte { return unhex(t, lzWrongLen) }, ErrCorrupt,
			"segment: lz4 payload corrupt at offset 8: declared uncompressed length 21"},
		{"lz4 bad offset", true, func(t *testing.T) []byte { return unhex(t, lzBadOffset) }, ErrCorrupt,
			"segment: lz4 payload corrupt at offset 8"},
		// An uncompressed segment read as LZ4 fails its header check.
		{"wrong mode", true, func(t *testing.T) []byte { return unhex(t, plain) }, ErrChecksum, "segment: header crc24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, n, err := DecodeSegment(tt.input(t), tt.compressed, nil)
			if !errors.Is(err, tt.want) || n != 0 {
				t.Fatalf("got n=%d, %v; want %v", n, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			var se *Error
			if !errors.As(err, &se) || se.Field == "" {
				t.Errorf("error %#v is not a *Error naming a field", err)
			}
		})
	}
}

func TestDecodeSegmentIncomplete(t *testing.T) {
	for _, tt := range knownSegments {
		t.Run(tt.name, func(t *testing.T) {
			wire := unhex(t, tt.wire)
			for i := range len(wire) {
				// A copy of exactly i bytes, so that reading past it would
				// be caught by the race detector or a bounds check.
				b := bytes.Clone(wire[:i])
				p, _, n, err := DecodeSegment(b, tt.compressed, nil)
				if err != ErrIncomplete || n != 0 || p != nil {
					t.Fatalf("%d of %d bytes: got %q, n=%d, %v; want ErrIncomplete", i, len(wire), p, n, err)
				}
				hs := HeaderSize
				if tt.compressed {
					hs = CompressedHeaderSize
				}
				l, err := Len(b, tt.compressed)
				if i < hs && err != ErrIncomplete || i >= hs && (err != nil || l != len(wire)) {
					t.Fatalf("Len of %d bytes = %d, %v", i, l, err)
				}
			}
		})
	}
}

// A stream of segments decodes one after the other, each consuming its own
// bytes only.
func TestDecodeSegmentStream(t *testing.T) {
	for _, compress := range []bool{false, true} {
		var stream []byte
		var payloads [][]byte
		for i := range 20 {
			p := rowsLike(i * 997)
			if i%3 == 0 {
				p = randomBytes(i*331, uint64(i))
			}
			payloads = append(payloads, p)
			var err error
			stream, err = AppendSegment(stream, p, i%2 == 0, compress)
			if err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]byte, 0, MaxPayloadSize)
		for i, want := range payloads {
			got, sc, n, err := DecodeSegment(stream, compress, buf)
			if err != nil || !bytes.Equal(got, want) || sc != (i%2 == 0) {
				t.Fatalf("compress=%v segment %d: %v", compress, i, err)
			}
			stream = stream[n:]
		}
		if len(stream) != 0 {
			t.Fatalf("%d bytes left", len(stream))
		}
	}
}

func TestDecodeSegmentAppendsToDst(t *testing.T) {
	wire := unhex(t, knownSegments[5].wire)
	dst := []byte("xy")
	got, _, _, err := DecodeSegment(wire, true, dst)
	if err != nil || string(got) != strings.Repeat("a", 20) {
		t.Fatalf("got %q, %v", got, err)
	}
	if string(dst) != "xy" {
		t.Fatal("dst clobbered")
	}
	// With room in dst, nothing is allocated.
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		_, _, _, _ = DecodeSegment(wire, true, buf)
	})
	if allocs != 0 {
		t.Errorf("DecodeSegment with room in dst: %v allocs", allocs)
	}
}

// rowsLike returns n bytes shaped like a RESULT Rows body: repeated rows of
// [int length][value] cells with similar text, uuids and counters.
func rowsLike(n int) []byte {
	b := make([]byte, 0, n+64)
	r := rand.New(rand.NewPCG(uint64(n), 99))
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	for i := 0; len(b) < n; i++ {
		b = append(b, 0, 0, 0, 16)
		for range 2 {
			v := r.Uint64() & 0x0000_00FF_FFFF_FFFF
			b = append(b, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		}
		name := names[r.IntN(len(names))]
		b = append(b, 0, 0, 0, byte(len(name)+12))
		b = append(b, name...)
		b = append(b, "@example.com"...)
		b = append(b, 0, 0, 0, 4, 0, 0, byte(i>>8), byte(i))
	}
	return b[:n]
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
