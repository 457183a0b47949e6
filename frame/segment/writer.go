package segment

import (
	"encoding/binary"
	"fmt"

	"github.com/pierrec/lz4/v4"
)

// envelopeHeaderSize is the size of the v4/v5 envelope header, whose body
// length is a big-endian uint32 at bytes 5 to 8 (frame.HeaderSize; not
// imported so that this package stays independent of frame).
const envelopeHeaderSize = 9

// envelopeBodyLen returns the body length declared by the envelope header at
// the start of b, which must hold at least envelopeHeaderSize bytes.
func envelopeBodyLen(b []byte) uint32 { return binary.BigEndian.Uint32(b[5:9]) }

// Writer packs whole envelopes into segments: consecutive envelopes share a
// self-contained segment up to MaxPayloadSize bytes, and an envelope larger
// than that is split over segments that are not self-contained.
//
// The zero value writes uncompressed segments. A Writer is meant for the one
// goroutine that writes to a connection: it is not safe for concurrent use.
// After the first calls it appends without allocating, provided dst has room.
type Writer struct {
	// Compress selects LZ4 segments, once the connection negotiated lz4.
	Compress bool

	lz      *lz4.Compressor // allocated on first use: 136 KiB of hash table
	pending []byte          // LZ4 only: payload of the next self-contained segment
}

// Append appends to dst the segments that carry envelopes, in order. Each
// envelope must be whole: its 9-byte header's length must match the bytes
// that follow. On error dst is returned unchanged in length.
func (w *Writer) Append(dst []byte, envelopes ...[]byte) ([]byte, error) {
	p := w.packer(dst)
	for i, e := range envelopes {
		if len(e) < envelopeHeaderSize || uint64(envelopeBodyLen(e)) != uint64(len(e)-envelopeHeaderSize) {
			w.pending = w.pending[:0]
			return dst, &Error{Field: fmt.Sprintf("envelope %d length", i), Offset: 5, Err: ErrCorrupt,
				Detail: envelopeLenDetail(e)}
		}
		p.add(e)
	}
	return p.finish(), nil
}

// AppendBatch is like Append for envelopes that lie back to back in batch,
// as a coalescing writer that encodes them into one buffer has them.
func (w *Writer) AppendBatch(dst []byte, batch []byte) ([]byte, error) {
	p := w.packer(dst)
	for off := 0; off < len(batch); {
		rest := batch[off:]
		if len(rest) < envelopeHeaderSize || uint64(envelopeBodyLen(rest)) > uint64(len(rest)-envelopeHeaderSize) {
			w.pending = w.pending[:0]
			return dst, &Error{Field: "batch envelope length", Offset: off + 5, Err: ErrCorrupt,
				Detail: envelopeLenDetail(rest)}
		}
		n := envelopeHeaderSize + int(envelopeBodyLen(rest))
		p.add(rest[:n])
		off += n
	}
	return p.finish(), nil
}

func envelopeLenDetail(e []byte) string {
	if len(e) < envelopeHeaderSize {
		return fmt.Sprintf("%d bytes, shorter than an envelope header", len(e))
	}
	return fmt.Sprintf("header says a body of %d bytes, %d follow", envelopeBodyLen(e), len(e)-envelopeHeaderSize)
}

func (w *Writer) packer(dst []byte) packer {
	var c *lz4.Compressor
	if w.Compress {
		if w.lz == nil {
			w.lz = new(lz4.Compressor)
		}
		c = w.lz
	}
	w.pending = w.pending[:0]
	return packer{w: w, c: c, dst: dst, open: -1}
}

// packer is the state of one Append call.
type packer struct {
	w   *Writer
	c   *lz4.Compressor // nil for uncompressed segments
	dst []byte
	// Uncompressed only: offset in dst of the open segment's reserved
	// header, or -1. Envelopes are appended right after it and the header is
	// filled in when the segment closes, so nothing is copied twice.
	open int
	size int // payload bytes in the open segment
}

func (p *packer) add(e []byte) {
	if len(e) > MaxPayloadSize {
		p.flush()
		for len(e) > 0 {
			n := min(len(e), MaxPayloadSize)
			// Cannot fail: the chunk is within MaxPayloadSize.
			p.dst, _ = appendSegment(p.dst, e[:n], false, p.c)
			e = e[n:]
		}
		return
	}
	if p.size+len(e) > MaxPayloadSize {
		p.flush()
	}
	if p.c != nil {
		p.w.pending = append(p.w.pending, e...)
	} else {
		if p.open < 0 {
			p.open = len(p.dst)
			p.dst = append(p.dst, 0, 0, 0, 0, 0, 0)
		}
		p.dst = append(p.dst, e...)
	}
	p.size += len(e)
}

// flush closes the open self-contained segment, if any.
func (p *packer) flush() {
	if p.size == 0 {
		return
	}
	if p.c != nil {
		p.dst, _ = appendSegment(p.dst, p.w.pending, true, p.c)
		p.w.pending = p.w.pending[:0]
	} else {
		p.dst = finishPlain(p.dst, p.open, true)
		p.open = -1
	}
	p.size = 0
}

func (p *packer) finish() []byte {
	p.flush()
	return p.dst
}
