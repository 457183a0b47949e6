package compress

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"

	"github.com/pierrec/lz4/v4"
)

// LZ4 is the v4 "lz4" body compression: a 4-byte big-endian uncompressed
// length followed by one LZ4 block. The zero value is ready to use.
type LZ4 struct{}

// lz4MaxRatio bounds how much an LZ4 block can expand: a sequence's match
// yields at most 19 bytes for its 3 fixed bytes (token and offset) and 255
// per length byte, and literals yield one byte per byte. A declared length
// beyond 255 times the block is therefore a lie, rejected before allocating.
const lz4MaxRatio = 255

// lz4Pool holds LZ4 hash tables (about 136 KiB each) so that compressing
// allocates nothing in steady state while LZ4 values stay stateless.
var lz4Pool = sync.Pool{New: func() any { return new(lz4.Compressor) }}

// Name returns "lz4", the STARTUP COMPRESSION value.
func (LZ4) Name() string { return "lz4" }

// AppendCompressed appends the compressed form of src to dst.
func (LZ4) AppendCompressed(dst, src []byte) ([]byte, error) {
	if len(src) > math.MaxInt32 {
		return dst, fmt.Errorf("lz4: %d bytes: %w (the length prefix is an int32)", len(src), ErrTooLarge)
	}
	start := len(dst)
	bound := lz4.CompressBlockBound(len(src))
	dst = grow(dst, 4+bound)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(src)))
	c := lz4Pool.Get().(*lz4.Compressor)
	// With a destination of CompressBlockBound bytes compression cannot
	// fail; it emits a literal-only block for incompressible input, and the
	// single token 0x00 for empty input, as other implementations do.
	n, err := c.CompressBlock(src, dst[start+4:])
	lz4Pool.Put(c)
	if err != nil || n <= 0 {
		return dst[:start], fmt.Errorf("lz4: compressing %d bytes: %v", len(src), err)
	}
	return dst[:start+4+n], nil
}

// AppendDecompressed appends the decompressed form of src to dst. It fails,
// before allocating, when the declared length is negative, above max (zero or
// less means DefaultMaxSize), or more than the block could expand to.
func (LZ4) AppendDecompressed(dst, src []byte, max int) ([]byte, error) {
	if len(src) < 4 {
		return dst, fmt.Errorf("lz4: %w: %d bytes, the length prefix takes 4", ErrCorrupt, len(src))
	}
	declared := int32(binary.BigEndian.Uint32(src))
	block := src[4:]
	switch {
	case declared < 0:
		return dst, fmt.Errorf("lz4: %w: negative uncompressed length %d", ErrCorrupt, declared)
	case int64(declared) > int64(limit(max)):
		return dst, fmt.Errorf("lz4: uncompressed length %d: %w %d", declared, ErrTooLarge, limit(max))
	case int64(declared) > lz4MaxRatio*int64(len(block)):
		return dst, fmt.Errorf("lz4: %w: uncompressed length %d from a %d-byte block", ErrCorrupt, declared, len(block))
	}
	n := int(declared)
	if n == 0 {
		// An empty body compresses to an empty block or a lone zero token.
		// Anything else is corrupt; and the block decoder must never see an
		// empty destination (it faults on one instead of failing).
		if len(block) == 0 || (len(block) == 1 && block[0] == 0) {
			return dst, nil
		}
		return dst, fmt.Errorf("lz4: %w: uncompressed length 0 with a %d-byte block", ErrCorrupt, len(block))
	}
	start := len(dst)
	dst = grow(dst, n)
	m, err := lz4.UncompressBlock(block, dst[start:])
	if err != nil {
		return dst[:start], fmt.Errorf("lz4: %w: %v", ErrCorrupt, err)
	}
	if m != n {
		return dst[:start], fmt.Errorf("lz4: %w: uncompressed length %d declared, %d decoded", ErrCorrupt, n, m)
	}
	return dst, nil
}
