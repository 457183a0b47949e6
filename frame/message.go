package frame

import (
	"errors"
	"fmt"
)

// Message is one request or response body. Every message type of the protocol
// implements it in both directions: clients encode requests and decode
// responses, while test servers and capture checkers do the opposite.
type Message interface {
	Opcode() Opcode
	// AppendBody appends the body as protocol version v encodes it.
	AppendBody(dst []byte, v Version) ([]byte, error)
}

// Compressor compresses v4 envelope bodies (v5 compresses segments instead).
// Implementations live in package frame/compress.
type Compressor interface {
	// Name is the STARTUP COMPRESSION option value: "lz4" or "snappy".
	Name() string
	AppendCompressed(dst, src []byte) ([]byte, error)
	// AppendDecompressed fails, before allocating, when the result would be
	// larger than max bytes.
	AppendDecompressed(dst, src []byte, max int) ([]byte, error)
}

// Envelope is one protocol frame: the header fields, the optional prefixes of
// the body (tracing id, warnings, custom payload), and the message.
type Envelope struct {
	Version  Version
	Response bool
	Stream   int16
	Beta     bool // the USE_BETA flag, for beta protocol versions

	// Tracing on a request asks the server to trace it; on a response it
	// means TracingID holds the session id of the trace.
	Tracing   bool
	TracingID [16]byte
	// Warnings are the server's warnings (responses only). Nil means the
	// warning flag is off; a non-nil empty list sets it with no warnings.
	Warnings []string
	// CustomPayload is the key-value payload of custom query handlers (and of
	// DSE proxy execution). Nil means absent.
	CustomPayload map[string][]byte

	Message Message
}

// Header returns the header e encodes to, for a body of n bytes.
func (e *Envelope) header(n int, compressed bool) Header {
	h := Header{Version: e.Version, Response: e.Response, Stream: e.Stream, Opcode: e.Message.Opcode(), Length: n}
	if compressed {
		h.Flags |= FlagCompression
	}
	if e.Tracing {
		h.Flags |= FlagTracing
	}
	if e.CustomPayload != nil {
		h.Flags |= FlagCustomPayload
	}
	if e.Response && e.Warnings != nil {
		h.Flags |= FlagWarning
	}
	if e.Beta {
		h.Flags |= FlagBeta
	}
	return h
}

// AppendEnvelope appends the encoding of e (header and body) to dst. With a
// non-nil Compressor the body is compressed and the compression flag set; it
// must be nil for v5, which compresses whole segments instead.
func AppendEnvelope(dst []byte, e *Envelope, c Compressor) ([]byte, error) {
	if e.Message == nil {
		return dst, &EncodeError{Message: "envelope", Field: "message", Err: errors.New("no message")}
	}
	if c != nil && e.Version >= V5 {
		return dst, &EncodeError{Message: e.Message.Opcode().String(), Field: "flags",
			Err: errors.New("v5 envelopes are never compressed; compress segments instead")}
	}
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	bodyStart := len(dst)
	w := writer{buf: dst, msg: e.Message.Opcode().String()}
	if e.Response && e.Tracing {
		w.uuid(e.TracingID)
	}
	if e.Response && e.Warnings != nil {
		w.stringList("warnings", e.Warnings)
	}
	if e.CustomPayload != nil {
		w.bytesMap("custom_payload", e.CustomPayload)
	}
	if w.err != nil {
		return dst[:start], w.err
	}
	dst, err := e.Message.AppendBody(w.buf, e.Version)
	if err != nil {
		return dst[:start], err
	}
	body := dst[bodyStart:]
	if c != nil {
		// Compress into the space after the plain body, then move the result
		// over it: no scratch buffer, so a reused dst means no allocation.
		bodyEnd := len(dst)
		dst, err = c.AppendCompressed(dst, body)
		if err != nil {
			return dst[:start], &EncodeError{Message: e.Message.Opcode().String(), Field: "body", Err: err}
		}
		n := copy(dst[bodyStart:], dst[bodyEnd:])
		dst = dst[:bodyStart+n]
		body = dst[bodyStart:]
	}
	if len(body) > DefaultMaxFrameSize {
		return dst[:start], &EncodeError{Message: e.Message.Opcode().String(), Field: "length",
			Err: fmt.Errorf("%w: body of %d bytes", ErrTooLarge, len(body))}
	}
	AppendHeader(dst[start:start], e.header(len(body), c != nil))
	return dst, nil
}

// DecodeOptions configures envelope decoding. The zero value decodes
// uncompressed envelopes with the default limits.
type DecodeOptions struct {
	Limits     Limits
	Compressor Compressor // needed to decode bodies with the compression flag
}

// DecodeEnvelope decodes one complete envelope from the start of b and returns
// it with the number of bytes it took. The decoded message may alias b.
func DecodeEnvelope(b []byte, opts *DecodeOptions) (*Envelope, int, error) {
	if opts == nil {
		opts = &DecodeOptions{}
	}
	h, err := ParseHeader(b, &opts.Limits)
	if err != nil {
		return nil, 0, err
	}
	if len(b)-HeaderSize < h.Length {
		return nil, 0, &DecodeError{Message: h.Opcode.String(), Field: "body", Offset: len(b),
			Err: fmt.Errorf("%w: body of %d bytes, %d present", ErrTruncated, h.Length, len(b)-HeaderSize)}
	}
	e, err := DecodeBody(h, b[HeaderSize:HeaderSize+h.Length], opts)
	if err != nil {
		return nil, 0, err
	}
	return e, HeaderSize + h.Length, nil
}

// DecodeBody decodes the body of an envelope whose header has been parsed.
// Offsets in its errors count from the start of the body (after
// decompression, when the body was compressed).
//
// As the spec says, header flag bits it does not define are ignored, and so
// is the compression flag of a v5 envelope; bytes after the message of a
// response are ignored too. Such envelopes re-encode without them. A
// request must fill its body exactly.
func DecodeBody(h Header, body []byte, opts *DecodeOptions) (*Envelope, error) {
	if opts == nil {
		opts = &DecodeOptions{}
	}
	name := h.Opcode.String()
	// v5 compresses segments, not envelopes: "In protocol v5 this flag is
	// deprecated and ignored" (v5 spec section 2.4.1.2).
	if h.Flags&FlagCompression != 0 && h.Version < V5 {
		if opts.Compressor == nil {
			return nil, &DecodeError{Message: name, Field: "flags", Offset: 1,
				Err: errors.New("compressed body but no compression was negotiated")}
		}
		plain, err := opts.Compressor.AppendDecompressed(nil, body, opts.Limits.maxFrameSize())
		if err != nil {
			return nil, &DecodeError{Message: name, Field: "body (" + opts.Compressor.Name() + ")", Offset: 0, Err: err}
		}
		body = plain
	}
	var e *Envelope
	var rows *Rows
	if h.Opcode == OpResult && h.Response {
		// Most answers are rows: one allocation for the envelope and the
		// rows together (a few bytes wasted on other results).
		both := &struct {
			env  Envelope
			rows Rows
		}{}
		e, rows = &both.env, &both.rows
	} else {
		e = &Envelope{}
	}
	e.Version, e.Response, e.Stream = h.Version, h.Response, h.Stream
	e.Beta, e.Tracing = h.Flags&FlagBeta != 0, h.Flags&FlagTracing != 0
	r := &reader{buf: body, msg: name, max: opts.Limits.maxFrameSize(), rows: rows}
	if e.Response && e.Tracing {
		e.TracingID = r.uuid("tracing_id")
	}
	// Only responses carry warnings; the server ignores the flag on requests.
	if e.Response && h.Flags&FlagWarning != 0 {
		e.Warnings = r.stringList("warnings")
	}
	if h.Flags&FlagCustomPayload != 0 {
		e.CustomPayload = r.bytesMap("custom_payload")
		if e.CustomPayload == nil && r.err == nil {
			e.CustomPayload = map[string][]byte{}
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	msg, err := decodeMessage(h.Opcode, h.Version, r)
	if err != nil {
		return nil, err
	}
	e.Message = msg
	return e, nil
}

// DecodeMessage decodes a message body without envelope prefixes; as in
// DecodeBody, bytes after a response's message are ignored.
func DecodeMessage(op Opcode, v Version, body []byte, lim *Limits) (Message, error) {
	return decodeMessage(op, v, newReader(body, op.String(), lim))
}

func decodeMessage(op Opcode, v Version, r *reader) (Message, error) {
	r.version = v
	msg, known := decodeRequest(op, v, r)
	if known {
		// A request must fill its body: the spec's allowance for extra
		// bytes is made to clients, and a server that is strict here
		// catches a client's encoding bugs.
		r.end()
	} else {
		// Whatever follows a response's message is ignored: "clients
		// should support extra informations (that they should simply
		// discard) ... at the end of the frame body" (v4 section 4.2,
		// v5 section 4.2, and the notes of v4 section 1 and v5 2.4),
		// which leaves room for servers to add fields.
		msg, known = decodeResponse(op, v, r)
	}
	if !known {
		return nil, &DecodeError{Message: op.String(), Field: "opcode", Offset: 4, Err: errors.New("unknown opcode")}
	}
	if r.err != nil {
		return nil, r.err
	}
	return msg, nil
}
