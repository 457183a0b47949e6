package segment

import "fmt"

// DefaultMaxBodySize is the largest envelope body a Reassembler accepts
// unless told otherwise: 256 MiB, the protocol's limit (and
// frame.DefaultMaxFrameSize).
const DefaultMaxBodySize = 256 << 20

// retainLimit is the largest reassembly buffer kept for the next envelope;
// a larger one is released so that one huge result does not pin its memory.
const retainLimit = 1 << 20

// Reassembler turns the payloads of decoded segments, in the order they
// arrived, back into whole envelopes. The zero value is ready to use, with
// the default limit.
//
// It is meant for the one goroutine that reads a connection: it is not safe
// for concurrent use.
type Reassembler struct {
	// MaxBodySize is the largest envelope body accepted, checked against
	// each envelope header before any buffer grows. Zero means
	// DefaultMaxBodySize.
	MaxBodySize int

	// Retain makes an envelope reassembled from several segments stay valid
	// after Add returns: each one then gets a buffer of its own instead of a
	// reused one. Use it when decoded messages alias the envelope and outlive
	// the call.
	Retain bool

	buf  []byte // the envelope being reassembled
	want int    // its total size once its header is in buf, else 0
}

// Pending returns the number of bytes of a partly reassembled envelope.
func (r *Reassembler) Pending() int { return len(r.buf) }

// Reset drops any partly reassembled envelope, e.g. when the connection is
// closed.
func (r *Reassembler) Reset() {
	r.buf = r.buf[:0]
	r.want = 0
	if cap(r.buf) > retainLimit {
		r.buf = nil
	}
}

func (r *Reassembler) maxBody() uint64 {
	if r.MaxBodySize <= 0 {
		return DefaultMaxBodySize
	}
	return uint64(r.MaxBodySize)
}

// Add takes the payload of the next segment and calls emit with each
// envelope it completes, header included, in order. An error from emit stops
// Add and is returned as is.
//
// A self-contained payload may arrive while an envelope is being
// reassembled: its envelopes are emitted at once, before that one.
//
// Envelopes of a self-contained payload alias payload. An envelope
// reassembled from several payloads lives in a buffer that is reused by the
// next call to Add, unless Retain is set; emit must copy what it keeps.
//
// After an error the Reassembler's state is undefined: the connection should
// be closed (or Reset called).
func (r *Reassembler) Add(payload []byte, selfContained bool, emit func(envelope []byte) error) error {
	if selfContained {
		// It may come between the parts of a large envelope, which stays
		// pending: the spec asks only that the parts come in order, and
		// Cassandra and the Java driver read such frames the same way.
		return r.split(payload, emit)
	}
	if len(payload) == 0 {
		return nil
	}
	// Offsets in errors below count from the start of the envelope being
	// reassembled, which may span several payloads.
	p := payload
	if r.want == 0 {
		// The header may itself be split: gather its 9 bytes first.
		n := min(envelopeHeaderSize-len(r.buf), len(p))
		r.buf = append(r.buf, p[:n]...)
		p = p[n:]
		if len(r.buf) < envelopeHeaderSize {
			return nil
		}
		body := envelopeBodyLen(r.buf)
		if uint64(body) > r.maxBody() {
			return &Error{Field: "envelope body", Offset: 5, Err: ErrTooLarge,
				Detail: fmt.Sprintf("body of %d bytes, limit %d", body, r.maxBody())}
		}
		r.want = envelopeHeaderSize + int(body)
	}
	if len(p) > r.want-len(r.buf) {
		return &Error{Field: "payload", Offset: r.want, Err: ErrCorrupt,
			Detail: fmt.Sprintf("%d bytes beyond the end of the envelope in a segment that is not self-contained",
				len(p)-(r.want-len(r.buf)))}
	}
	if cap(r.buf)-len(r.buf) < len(p) {
		// Up to retainLimit, take the envelope's size at once. Beyond, grow
		// geometrically with the bytes received, so that a header claiming
		// a huge body costs little until those bytes arrive. Never beyond
		// the envelope's size, which the limit bounds.
		c := min(max(2*cap(r.buf), len(r.buf)+len(p), retainLimit), r.want)
		nb := make([]byte, len(r.buf), c)
		copy(nb, r.buf)
		r.buf = nb
	}
	r.buf = append(r.buf, p...)
	if len(r.buf) < r.want {
		return nil
	}
	env := r.buf
	r.want = 0
	if r.Retain || cap(r.buf) > retainLimit {
		r.buf = nil
	} else {
		r.buf = r.buf[:0]
	}
	return emit(env)
}

// split emits the envelopes of a self-contained payload, which must hold
// whole envelopes only.
func (r *Reassembler) split(p []byte, emit func([]byte) error) error {
	for off := 0; off < len(p); {
		rest := p[off:]
		if len(rest) < envelopeHeaderSize {
			return &Error{Field: "envelope header", Offset: off, Err: ErrCorrupt,
				Detail: fmt.Sprintf("%d bytes left in a self-contained segment, a header takes %d", len(rest), envelopeHeaderSize)}
		}
		body := envelopeBodyLen(rest)
		if uint64(body) > r.maxBody() {
			return &Error{Field: "envelope body", Offset: off + 5, Err: ErrTooLarge,
				Detail: fmt.Sprintf("body of %d bytes, limit %d", body, r.maxBody())}
		}
		if uint64(body) > uint64(len(rest)-envelopeHeaderSize) {
			return &Error{Field: "envelope length", Offset: off + 5, Err: ErrCorrupt,
				Detail: fmt.Sprintf("body of %d bytes, %d left in a self-contained segment", body, len(rest)-envelopeHeaderSize)}
		}
		n := envelopeHeaderSize + int(body)
		if err := emit(rest[:n:n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}
