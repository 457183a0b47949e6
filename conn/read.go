package conn

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/cqlwire/cqlwire/frame"
	"github.com/cqlwire/cqlwire/frame/segment"
)

// readBufferSize is the socket read buffer. v5 segments that fit it are
// decoded in place; larger ones are read into a buffer of their own.
const readBufferSize = 64 << 10

// bigRetain is the largest scratch buffer kept between reads, so that one
// huge segment or write does not pin its memory for the connection's life.
const bigRetain = 1 << 20

// rawEnvelope is an envelope read but not decoded. body is owned by whoever
// receives it: nothing else refers to it.
type rawEnvelope struct {
	hdr  frame.Header
	body []byte
}

// frameReader turns the byte stream into envelopes: v4 framing first, then,
// once the handshake has switched it, v5 segments. It is used by the Dial
// goroutine during the handshake and by the reader goroutine after, never
// by both at once.
type frameReader struct {
	br        *bufio.Reader
	lim       frame.Limits
	segmented bool
	lz4       bool

	reasm   segment.Reassembler
	big     []byte        // a segment larger than br's buffer
	lzbuf   []byte        // decompressed LZ4 payloads
	pending []rawEnvelope // envelopes of the last segment not yet returned
	head    int
	emitFn  func([]byte) error
	self    bool // the segment being split is self-contained
	hdr     [frame.HeaderSize]byte
}

func newFrameReader(r io.Reader, maxFrame int) *frameReader {
	fr := &frameReader{br: bufio.NewReaderSize(r, readBufferSize), lim: frame.Limits{MaxFrameSize: maxFrame}}
	fr.emitFn = fr.emit
	return fr
}

// useSegments switches to v5 segments, as the server does after its answer
// to STARTUP.
func (r *frameReader) useSegments(lz4 bool) {
	r.segmented, r.lz4 = true, lz4
	r.reasm.MaxBodySize = r.lim.MaxFrameSize
	// A multi-segment envelope then gets a buffer of its own, which can be
	// handed to the caller without a copy.
	r.reasm.Retain = true
	if lz4 {
		r.lzbuf = make([]byte, 0, segment.MaxPayloadSize)
	}
}

// errMidFrame is wrapped when the stream ends inside an envelope or segment.
var errMidFrame = errors.New("connection dropped in the middle of a frame")

func midFrame(err error, what string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w (%s): %w", errMidFrame, what, err)
	}
	return err
}

// next returns the next envelope. Read errors come back as they are;
// framing errors wrap ErrProtocol.
func (r *frameReader) next() (frame.Header, []byte, error) {
	if !r.segmented {
		if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
			return frame.Header{}, nil, midFrame(err, "envelope header")
		}
		h, err := frame.ParseHeader(r.hdr[:], &r.lim)
		if err != nil {
			return h, nil, fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		body, err := r.readBody(h.Length)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return h, nil, midFrame(err, fmt.Sprintf("%s body of %d bytes", h.Opcode, h.Length))
		}
		return h, body, nil
	}
	for r.head == len(r.pending) {
		r.pending, r.head = r.pending[:0], 0
		if err := r.readSegment(); err != nil {
			return frame.Header{}, nil, err
		}
	}
	e := r.pending[r.head]
	r.pending[r.head] = rawEnvelope{}
	r.head++
	return e.hdr, e.body, nil
}

// readBody reads a v4 body of n bytes into a buffer of its own. Up to
// bigRetain bytes it allocates n at once; beyond, the buffer grows
// geometrically with the bytes actually received, so that a header that
// lies about a huge body costs little until those bytes arrive.
func (r *frameReader) readBody(n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if n <= bigRetain {
		body := make([]byte, n)
		_, err := io.ReadFull(r.br, body)
		return body, err
	}
	body := make([]byte, 0, bigRetain)
	for len(body) < n {
		if len(body) == cap(body) {
			body = append(body, make([]byte, min(cap(body), n-len(body)))...)[:len(body)]
		}
		m, err := io.ReadFull(r.br, body[len(body):min(cap(body), n)])
		body = body[:len(body)+m]
		if err != nil {
			return nil, err
		}
	}
	return body, nil
}

// readSegment reads one segment and queues the envelopes it completes.
func (r *frameReader) readSegment() error {
	hsize := segment.HeaderSize
	if r.lz4 {
		hsize = segment.CompressedHeaderSize
	}
	hb, err := r.br.Peek(hsize)
	if err != nil {
		if len(hb) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return midFrame(err, "segment header")
	}
	n, err := segment.Len(hb, r.lz4)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	var seg []byte
	inPlace := n <= r.br.Size()
	if inPlace {
		seg, err = r.br.Peek(n)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return midFrame(err, fmt.Sprintf("segment of %d bytes", n))
		}
	} else {
		if cap(r.big) < n {
			r.big = make([]byte, n)
		}
		seg = r.big[:n]
		if _, err := io.ReadFull(r.br, seg); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return midFrame(err, fmt.Sprintf("segment of %d bytes", n))
		}
	}
	payload, self, _, err := segment.DecodeSegment(seg, r.lz4, r.lzbuf[:0])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	r.self = self
	err = r.reasm.Add(payload, self, r.emitFn)
	if inPlace {
		r.br.Discard(n)
	} else if cap(r.big) > bigRetain {
		r.big = nil
	}
	if err != nil {
		var pe *protoError
		if errors.As(err, &pe) {
			return pe.err
		}
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return nil
}

// protoError carries an error of emit through Reassembler.Add unchanged.
type protoError struct{ err error }

func (e *protoError) Error() string { return e.err.Error() }

// emit queues one envelope of the segment being read. The envelope of a
// self-contained segment aliases the read buffer, so its body is copied; a
// reassembled one is already in a buffer of its own (Retain).
func (r *frameReader) emit(env []byte) error {
	h, err := frame.ParseHeader(env, &r.lim)
	if err != nil {
		return &protoError{fmt.Errorf("%w: %w", ErrProtocol, err)}
	}
	var body []byte
	switch {
	case h.Length == 0:
	case r.self:
		body = make([]byte, h.Length)
		copy(body, env[frame.HeaderSize:])
	default:
		body = env[frame.HeaderSize:]
	}
	r.pending = append(r.pending, rawEnvelope{hdr: h, body: body})
	return nil
}
