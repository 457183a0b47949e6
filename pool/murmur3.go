package pool

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Murmur3Token returns the Murmur3Partitioner token of a partition key (a
// routing key, see [AppendRoutingKey]) as Cassandra computes it.
//
// It is the first 64-bit half of MurmurHash3 x64_128 with seed 0, except
// that in the tail (the 1 to 15 bytes after the last whole 16-byte block)
// every byte is sign-extended, as Cassandra's Java implementation does: a
// byte of 0x80 or more contributes 0xffffffffffffff80 | b rather than b.
// The minimum int64 is never a key's token: a hash equal to it becomes the
// maximum int64. The empty key has the minimum token.
func Murmur3Token(key []byte) int64 {
	if len(key) == 0 {
		return math.MinInt64
	}
	h := int64(murmur3H1(key))
	if h == math.MinInt64 {
		return math.MaxInt64
	}
	return h
}

const (
	murmurC1 = 0x87c37b91114253d5
	murmurC2 = 0x4cf5ad432745937f
)

// murmur3H1 is h1 of MurmurHash3 x64_128 (seed 0) with Cassandra's
// sign-extended tail.
func murmur3H1(key []byte) uint64 {
	var h1, h2 uint64
	n := len(key)
	b := key
	for len(b) >= 16 {
		k1 := binary.LittleEndian.Uint64(b)
		k2 := binary.LittleEndian.Uint64(b[8:])
		b = b[16:]

		k1 *= murmurC1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= murmurC2
		h1 ^= k1
		h1 = bits.RotateLeft64(h1, 27)
		h1 += h2
		h1 = h1*5 + 0x52dce729

		k2 *= murmurC2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= murmurC1
		h2 ^= k2
		h2 = bits.RotateLeft64(h2, 31)
		h2 += h1
		h2 = h2*5 + 0x38495ab5
	}

	if len(b) > 0 {
		var k1, k2 uint64
		// sx sign-extends one tail byte, the quirk this function exists for.
		sx := func(c byte) uint64 { return uint64(int64(int8(c))) }
		for i := len(b) - 1; i >= 8; i-- {
			k2 ^= sx(b[i]) << (8 * uint(i-8))
		}
		if len(b) > 8 {
			k2 *= murmurC2
			k2 = bits.RotateLeft64(k2, 33)
			k2 *= murmurC1
			h2 ^= k2
		}
		for i := min(len(b), 8) - 1; i >= 0; i-- {
			k1 ^= sx(b[i]) << (8 * uint(i))
		}
		k1 *= murmurC1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= murmurC2
		h1 ^= k1
	}

	h1 ^= uint64(n)
	h2 ^= uint64(n)
	h1 += h2
	h2 += h1
	h1 = fmix64(h1)
	h2 = fmix64(h2)
	h1 += h2
	return h1
}

func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}
