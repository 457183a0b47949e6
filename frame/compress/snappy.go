package compress

import (
	"fmt"

	"github.com/golang/snappy"
)

// Snappy is the v4 "snappy" body compression: one snappy block, which starts
// with the uncompressed length as a varint. The zero value is ready to use.
type Snappy struct{}

// snappyMaxRatio bounds how much a snappy block can expand: the most
// productive element is a 3-byte copy of 64 bytes. A declared length beyond
// 22 times the input is therefore a lie, rejected before allocating.
const snappyMaxRatio = 22

// Name returns "snappy", the STARTUP COMPRESSION value.
func (Snappy) Name() string { return "snappy" }

// AppendCompressed appends the compressed form of src to dst.
func (Snappy) AppendCompressed(dst, src []byte) ([]byte, error) {
	bound := snappy.MaxEncodedLen(len(src))
	if bound < 0 {
		return dst, fmt.Errorf("snappy: %d bytes: %w", len(src), ErrTooLarge)
	}
	start := len(dst)
	dst = grow(dst, bound)
	// Encode writes into the slice it is given when it has bound bytes.
	enc := snappy.Encode(dst[start:], src)
	return dst[:start+len(enc)], nil
}

// AppendDecompressed appends the decompressed form of src to dst. It fails,
// before allocating, when the declared length is above max (zero or less
// means DefaultMaxSize) or more than the input could expand to.
func (Snappy) AppendDecompressed(dst, src []byte, max int) ([]byte, error) {
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return dst, fmt.Errorf("snappy: %w: uncompressed length: %v", ErrCorrupt, err)
	}
	switch {
	case n < 0: // only on 32-bit platforms, which DecodedLen already rejects
		return dst, fmt.Errorf("snappy: %w: negative uncompressed length %d", ErrCorrupt, n)
	case int64(n) > int64(limit(max)):
		return dst, fmt.Errorf("snappy: uncompressed length %d: %w %d", n, ErrTooLarge, limit(max))
	case int64(n) > snappyMaxRatio*int64(len(src)):
		return dst, fmt.Errorf("snappy: %w: uncompressed length %d from %d bytes", ErrCorrupt, n, len(src))
	}
	start := len(dst)
	dst = grow(dst, n)
	// Decode writes into the slice it is given, which has exactly n bytes.
	out, err := snappy.Decode(dst[start:], src)
	if err != nil {
		return dst[:start], fmt.Errorf("snappy: %w: %v", ErrCorrupt, err)
	}
	if len(out) != n || n > 0 && &out[0] != &dst[start] {
		return dst[:start], fmt.Errorf("snappy: %w: uncompressed length %d declared, %d decoded", ErrCorrupt, n, len(out))
	}
	return dst, nil
}
