package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/pierrec/lz4/v4"
)

const (
	// MaxPayloadSize is the largest segment payload (128 KiB - 1): both
	// lengths in a header are 17-bit fields.
	MaxPayloadSize = 1<<17 - 1

	// HeaderSize is the size of an uncompressed segment's header.
	HeaderSize = 6
	// CompressedHeaderSize is the size of an LZ4 segment's header.
	CompressedHeaderSize = 8
	// TrailerSize is the size of the CRC32 that follows every payload.
	TrailerSize = 4
)

// Header word bits.
const (
	lengthMask       = 1<<17 - 1
	selfContainedBit = 17 // in the 3-byte word of an uncompressed header
	uncompressedBit  = 17 // start of the uncompressed length in the 5-byte word
	lz4SelfContained = 34 // in the 5-byte word of an LZ4 header
)

var (
	// ErrIncomplete is returned, unwrapped, by DecodeSegment and Len when the
	// input ends before the segment does: read more bytes and call again.
	// It is a plain sentinel so that a reader's hot loop does not allocate.
	ErrIncomplete = errors.New("segment: incomplete, more bytes needed")

	// ErrChecksum is wrapped by errors for a CRC24 or CRC32 that does not match.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrCorrupt is wrapped by errors for bytes that cannot be valid: an LZ4
	// block that does not decompress to its declared length, an envelope
	// that does not fit its segment.
	ErrCorrupt = errors.New("corrupt")
	// ErrTooLarge is wrapped by errors for lengths above a limit.
	ErrTooLarge = errors.New("length exceeds limit")
)

// Error reports a segment or envelope that cannot be encoded or decoded: the
// field, its offset in the input and why. It wraps one of ErrChecksum,
// ErrCorrupt or ErrTooLarge.
type Error struct {
	Field string // e.g. "header crc24"
	// Offset counts from the start of the segment; for the Reassembler, from
	// the start of the self-contained payload, or of the envelope being
	// reassembled from several payloads.
	Offset int
	Err    error
	Detail string // e.g. "got 0x123456, computed 0x654321"
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("segment: %s %v at offset %d", e.Field, e.Err, e.Offset)
	}
	return fmt.Sprintf("segment: %s %v at offset %d: %s", e.Field, e.Err, e.Offset, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// header is a decoded segment header.
type header struct {
	size          int // header bytes: HeaderSize or CompressedHeaderSize
	length        int // payload bytes as sent
	uncompressed  int // LZ4 only: decompressed length, 0 when sent as is
	selfContained bool
}

// parseHeader decodes and checks the header at the start of b. The CRC24 is
// checked before the lengths are trusted.
func parseHeader(b []byte, compressed bool) (header, error) {
	if !compressed {
		if len(b) < HeaderSize {
			return header{}, ErrIncomplete
		}
		if err := checkHeaderCRC(b[:3], b[3:6]); err != nil {
			return header{}, err
		}
		w := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		// The 6 padding bits are covered by the CRC and otherwise ignored,
		// as the server ignores them.
		return header{
			size:          HeaderSize,
			length:        int(w & lengthMask),
			selfContained: w&(1<<selfContainedBit) != 0,
		}, nil
	}
	if len(b) < CompressedHeaderSize {
		return header{}, ErrIncomplete
	}
	if err := checkHeaderCRC(b[:5], b[5:8]); err != nil {
		return header{}, err
	}
	w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32
	return header{
		size:          CompressedHeaderSize,
		length:        int(w & lengthMask),
		uncompressed:  int(w >> uncompressedBit & lengthMask),
		selfContained: w&(1<<lz4SelfContained) != 0,
	}, nil
}

func checkHeaderCRC(word, sum []byte) error {
	got := uint32(sum[0]) | uint32(sum[1])<<8 | uint32(sum[2])<<16
	if want := crc24(word); got != want {
		// The offset is the header's: the corrupt bit may be anywhere in it.
		return &Error{Field: "header crc24", Offset: 0, Err: ErrChecksum,
			Detail: fmt.Sprintf("got 0x%06x, computed 0x%06x", got, want)}
	}
	return nil
}

// Len returns the encoded size of the segment at the start of b (header,
// payload and trailer), once b holds its header; before that it returns
// ErrIncomplete. A streaming reader uses it to size its next read. The
// header CRC24 is checked, so a corrupt length is never returned.
func Len(b []byte, compressed bool) (int, error) {
	h, err := parseHeader(b, compressed)
	if err != nil {
		return 0, err
	}
	return h.size + h.length + TrailerSize, nil
}

// DecodeSegment decodes the segment at the start of b. It returns the
// payload, whether the segment is self-contained, and the number of bytes of
// b the segment took; or ErrIncomplete while b holds only part of the
// segment.
//
// With compressed set, b holds an LZ4 segment. Its payload is decompressed by
// appending it to dst, and the returned payload is the appended part; a dst
// with MaxPayloadSize bytes free (e.g. make([]byte, 0, MaxPayloadSize),
// passed again each time) means no call allocates. Otherwise, and for LZ4
// segments sent as is (uncompressed length 0), the payload aliases b: so
// never adopt a returned payload as the next dst.
func DecodeSegment(b []byte, compressed bool, dst []byte) (payload []byte, selfContained bool, n int, err error) {
	h, err := parseHeader(b, compressed)
	if err != nil {
		return nil, false, 0, err
	}
	end := h.size + h.length
	if len(b) < end+TrailerSize {
		return nil, false, 0, ErrIncomplete
	}
	body := b[h.size:end]
	got := binary.LittleEndian.Uint32(b[end:])
	if want := payloadCRC(body); got != want {
		return nil, false, 0, &Error{Field: "payload crc32", Offset: end, Err: ErrChecksum,
			Detail: fmt.Sprintf("got 0x%08x, computed 0x%08x", got, want)}
	}
	n = end + TrailerSize
	if !compressed || h.uncompressed == 0 {
		return body, h.selfContained, n, nil
	}
	// h.uncompressed is a 17-bit field, so it can never exceed
	// MaxPayloadSize: the allocation below is bounded.
	start := len(dst)
	dst = grow(dst, h.uncompressed)
	out := dst[start : start+h.uncompressed]
	m, lerr := lz4.UncompressBlock(body, out)
	if lerr != nil || m != h.uncompressed {
		detail := fmt.Sprintf("declared uncompressed length %d, decompressed %d", h.uncompressed, m)
		if lerr != nil {
			detail = fmt.Sprintf("declared uncompressed length %d: %v", h.uncompressed, lerr)
		}
		return nil, false, 0, &Error{Field: "lz4 payload", Offset: h.size, Err: ErrCorrupt, Detail: detail}
	}
	return out, h.selfContained, n, nil
}

// AppendSegment appends to dst one segment carrying payload, which must be
// at most MaxPayloadSize bytes. With compress set it writes an LZ4 segment;
// when compression would not make the payload smaller it sends the payload as
// is with an uncompressed length of 0, as the server does.
//
// It is safe for concurrent use. A Writer, which keeps its own LZ4 state,
// avoids the shared pool this function draws from.
func AppendSegment(dst []byte, payload []byte, selfContained bool, compress bool) ([]byte, error) {
	if !compress {
		return appendSegment(dst, payload, selfContained, nil)
	}
	c := compressorPool.Get().(*lz4.Compressor)
	dst, err := appendSegment(dst, payload, selfContained, c)
	compressorPool.Put(c)
	return dst, err
}

// compressorPool holds LZ4 hash tables (about 136 KiB each) for
// AppendSegment, so that a call does not allocate one.
var compressorPool = sync.Pool{New: func() any { return new(lz4.Compressor) }}

// appendSegment writes an uncompressed segment when c is nil, an LZ4 one
// otherwise.
func appendSegment(dst []byte, payload []byte, selfContained bool, c *lz4.Compressor) ([]byte, error) {
	if len(payload) > MaxPayloadSize {
		return dst, &Error{Field: "payload", Offset: 0, Err: ErrTooLarge,
			Detail: fmt.Sprintf("%d bytes, limit %d", len(payload), MaxPayloadSize)}
	}
	if c == nil {
		start := len(dst)
		dst = append(dst, 0, 0, 0, 0, 0, 0)
		dst = append(dst, payload...)
		return finishPlain(dst, start, selfContained), nil
	}

	start := len(dst)
	dst = grow(dst, CompressedHeaderSize+len(payload)+TrailerSize)
	body := dst[start+CompressedHeaderSize:]
	// Compressing into one byte less than the payload makes the compressor
	// give up as soon as the result would not be smaller, which is exactly
	// when the payload is sent as is.
	n := 0
	if len(payload) > 1 {
		n, _ = c.CompressBlock(payload, body[:len(payload)-1])
	}
	uncompressed := len(payload)
	if n <= 0 || n >= len(payload) {
		n = copy(body, payload)
		uncompressed = 0
	}
	w := uint64(n) | uint64(uncompressed)<<uncompressedBit
	if selfContained {
		w |= 1 << lz4SelfContained
	}
	h := dst[start : start+CompressedHeaderSize]
	h[0], h[1], h[2], h[3], h[4] = byte(w), byte(w>>8), byte(w>>16), byte(w>>24), byte(w>>32)
	putUint24(h[5:], crc24(h[:5]))
	dst = dst[:start+CompressedHeaderSize+n]
	return binary.LittleEndian.AppendUint32(dst, payloadCRC(dst[start+CompressedHeaderSize:])), nil
}

// finishPlain fills in the header reserved at dst[start:start+HeaderSize] for
// the payload that follows it, and appends the trailer.
func finishPlain(dst []byte, start int, selfContained bool) []byte {
	p := dst[start+HeaderSize:]
	w := uint32(len(p))
	if selfContained {
		w |= 1 << selfContainedBit
	}
	h := dst[start : start+HeaderSize]
	h[0], h[1], h[2] = byte(w), byte(w>>8), byte(w>>16)
	putUint24(h[3:], crc24(h[:3]))
	return binary.LittleEndian.AppendUint32(dst, payloadCRC(p))
}

func putUint24(b []byte, v uint32) {
	b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16)
}

// grow returns dst extended by n bytes (their content unspecified), reusing
// its capacity when there is enough.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst[:len(dst)+n]
	}
	b := make([]byte, len(dst)+n, 2*cap(dst)+n)
	copy(b, dst)
	return b
}
