package segment

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// crc24Bitwise is a reference CRC24 written from the definition, one bit at a
// time, independently of the table-driven crc24.
func crc24Bitwise(b []byte) uint32 {
	c := uint32(0x875060)
	for _, x := range b {
		c ^= uint32(x) << 16
		for range 8 {
			c <<= 1
			if c&0x1000000 != 0 {
				c ^= 0x1974F0B
			}
		}
	}
	return c
}

// crc24PolyMod computes the same CRC as a polynomial remainder over GF(2):
// (M(x)*x^24 + I(x)*x^(8n)) mod P(x), where the first byte of the message
// holds the highest-degree coefficients. It only works for n <= 5 (the
// dividend must fit in 64 bits), which covers both header sizes.
func crc24PolyMod(b []byte) uint32 {
	var m uint64
	for _, x := range b {
		m = m<<8 | uint64(x)
	}
	a := m<<24 ^ uint64(0x875060)<<(8*len(b))
	for i := 63; i >= 24; i-- {
		if a&(1<<i) != 0 {
			a ^= uint64(0x1974F0B) << (i - 24)
		}
	}
	return uint32(a)
}

func TestCRC24KnownAnswers(t *testing.T) {
	// Vectors checked three ways: with a Python polynomial-division script,
	// against the header bytes other drivers put on the wire, and with the
	// two references above.
	tests := []struct {
		name string
		word []byte
		want uint32
	}{
		{"uncompressed, length 5, self-contained", []byte{0x05, 0x00, 0x02}, 0x9A9919},
		{"uncompressed, length 5, not self-contained", []byte{0x05, 0x00, 0x00}, 0x234804},
		{"uncompressed, empty, self-contained", []byte{0x00, 0x00, 0x02}, 0xC4366A},
		{"uncompressed, length 131071, self-contained", []byte{0xFF, 0xFF, 0x03}, 0x474025},
		{"lz4, 5 of 12, self-contained", []byte{0x05, 0x00, 0x18, 0x00, 0x04}, 0x38089E},
		{"lz4, 5 of 131071, self-contained", []byte{0x05, 0x00, 0xFE, 0xFF, 0x07}, 0xDC6CAE},
		{"lz4, all bits set", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x07}, 0x576593},
		{"lz4, 10 of 20, self-contained", []byte{0x0A, 0x00, 0x28, 0x00, 0x04}, 0x14710B},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := crc24(tt.word); got != tt.want {
				t.Errorf("crc24(% x) = 0x%06x, want 0x%06x", tt.word, got, tt.want)
			}
			if got := crc24Bitwise(tt.word); got != tt.want {
				t.Errorf("bitwise reference = 0x%06x, want 0x%06x", got, tt.want)
			}
			if got := crc24PolyMod(tt.word); got != tt.want {
				t.Errorf("polynomial reference = 0x%06x, want 0x%06x", got, tt.want)
			}
		})
	}
}

func TestCRC24MatchesReferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		b := make([]byte, 3+2*(i%2))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		got, bit, poly := crc24(b), crc24Bitwise(b), crc24PolyMod(b)
		if got != bit || got != poly {
			t.Fatalf("crc24(% x) = 0x%06x, bitwise 0x%06x, polynomial 0x%06x", b, got, bit, poly)
		}
		if got > 0xFFFFFF {
			t.Fatalf("crc24(% x) = 0x%x has more than 24 bits", b, got)
		}
	}
}

func TestCRC32KnownAnswers(t *testing.T) {
	// Expected values from Python: zlib.crc32(b'\xfa\x2d\x55\xca' + payload).
	// The one-byte case is also the trailer another driver's tests expect.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name    string
		payload []byte
		want    uint32
	}{
		{"empty", nil, 0x44777ED3},
		{"01", []byte{0x01}, 0xBA9B2B0B},
		{"hello", []byte("hello"), 0xB60E8074},
		{"16 zeros", make([]byte, 16), 0x486EFA56},
		{"bytes 0..255", all, 0x214DE79B},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := payloadCRC(tt.payload); got != tt.want {
				t.Errorf("payloadCRC = 0x%08x, want 0x%08x", got, tt.want)
			}
		})
	}
	if got := crc32.ChecksumIEEE([]byte{0xFA, 0x2D, 0x55, 0xCA}); got != crc32Seed {
		t.Errorf("crc32Seed = 0x%08x, the seed bytes give 0x%08x", uint32(crc32Seed), got)
	}
}
