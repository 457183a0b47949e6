package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Cassandra's variable-length integers (VIntCoding): the count of leading
// 1-bits in the first byte is the number of bytes that follow; the rest of the
// first byte holds the value's most significant bits. Nine bytes (first byte
// 0xFF) carry a full 64-bit value.

// uvintSize returns the encoded length of v, 1 to 9.
func uvintSize(v uint64) int {
	// Each extra byte adds 7 usable bits (8 new, minus one taken from the
	// first byte's prefix); 8 extra bytes carry all 64.
	n := bits.Len64(v)
	if n <= 7 {
		return 1
	}
	size := (n-1)/7 + 1
	if size > 9 {
		size = 9
	}
	return size
}

// AppendUvint appends Cassandra's unsigned vint encoding of v.
func AppendUvint(dst []byte, v uint64) []byte {
	size := uvintSize(v)
	if size == 9 {
		dst = append(dst, 0xFF)
		return binary.BigEndian.AppendUint64(dst, v)
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	out := buf[8-size:]
	out[0] |= ^byte(0xFF >> (size - 1))
	return append(dst, out...)
}

// AppendVint appends the signed (zig-zag) vint encoding of v.
func AppendVint(dst []byte, v int64) []byte {
	return AppendUvint(dst, uint64(v<<1)^uint64(v>>63))
}

var errVintTruncated = fmt.Errorf("%w: vint", ErrTruncated)

// ReadUvint decodes one unsigned vint from the start of b and reports the
// bytes used. Longer-than-needed encodings are accepted, as Cassandra does.
func ReadUvint(b []byte) (v uint64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, errVintTruncated
	}
	extra := bits.LeadingZeros8(^b[0])
	if len(b) < 1+extra {
		return 0, 0, errVintTruncated
	}
	v = uint64(b[0] & (0xFF >> extra)) // for extra == 8 the mask is 0
	for _, c := range b[1 : 1+extra] {
		v = v<<8 | uint64(c)
	}
	return v, 1 + extra, nil
}

// ReadVint decodes one signed (zig-zag) vint from the start of b.
func ReadVint(b []byte) (v int64, n int, err error) {
	u, n, err := ReadUvint(b)
	return int64(u>>1) ^ -int64(u&1), n, err
}

var errVintRange = errors.New("vint out of range")
