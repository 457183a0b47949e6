package frame

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// Version is a native protocol version.
type Version byte

const (
	V3 Version = 3 // decoded only far enough to read a server's protocol error
	V4 Version = 4
	V5 Version = 5
)

// Opcode identifies a message.
type Opcode byte

const (
	OpError         Opcode = 0x00
	OpStartup       Opcode = 0x01
	OpReady         Opcode = 0x02
	OpAuthenticate  Opcode = 0x03
	OpOptions       Opcode = 0x05
	OpSupported     Opcode = 0x06
	OpQuery         Opcode = 0x07
	OpResult        Opcode = 0x08
	OpPrepare       Opcode = 0x09
	OpExecute       Opcode = 0x0A
	OpRegister      Opcode = 0x0B
	OpEvent         Opcode = 0x0C
	OpBatch         Opcode = 0x0D
	OpAuthChallenge Opcode = 0x0E
	OpAuthResponse  Opcode = 0x0F
	OpAuthSuccess   Opcode = 0x10
)

var opcodeNames = [...]string{
	OpError: "ERROR", OpStartup: "STARTUP", OpReady: "READY", OpAuthenticate: "AUTHENTICATE",
	OpOptions: "OPTIONS", OpSupported: "SUPPORTED", OpQuery: "QUERY", OpResult: "RESULT",
	OpPrepare: "PREPARE", OpExecute: "EXECUTE", OpRegister: "REGISTER", OpEvent: "EVENT",
	OpBatch: "BATCH", OpAuthChallenge: "AUTH_CHALLENGE", OpAuthResponse: "AUTH_RESPONSE",
	OpAuthSuccess: "AUTH_SUCCESS",
}

func (o Opcode) String() string {
	if int(o) < len(opcodeNames) && opcodeNames[o] != "" {
		return opcodeNames[o]
	}
	return "opcode(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}

// IsRequest reports whether clients send this opcode (servers send the others).
func (o Opcode) IsRequest() bool {
	switch o {
	case OpStartup, OpOptions, OpQuery, OpPrepare, OpExecute, OpRegister, OpBatch, OpAuthResponse:
		return true
	}
	return false
}

// Flags are the envelope header flags.
type Flags byte

const (
	FlagCompression   Flags = 0x01
	FlagTracing       Flags = 0x02
	FlagCustomPayload Flags = 0x04
	FlagWarning       Flags = 0x08
	FlagBeta          Flags = 0x10
)

// HeaderSize is the size of the envelope header in v3, v4 and v5.
const HeaderSize = 9

// DefaultMaxFrameSize is the largest envelope body accepted unless Limits says
// otherwise: 256 MiB, the limit the protocol specification gives.
const DefaultMaxFrameSize = 256 << 20

// Limits bounds what a decoder accepts from the network. The zero value means
// the defaults.
type Limits struct {
	// MaxFrameSize is the largest envelope body, and so the largest length
	// prefix of any field, that is accepted. Zero means DefaultMaxFrameSize.
	MaxFrameSize int
}

func (l *Limits) maxFrameSize() int {
	if l == nil || l.MaxFrameSize <= 0 {
		return DefaultMaxFrameSize
	}
	return l.MaxFrameSize
}

// Header is the 9-byte envelope header.
type Header struct {
	Version  Version
	Response bool // the direction bit (0x80) of the version byte
	Flags    Flags
	Stream   int16
	Opcode   Opcode
	Length   int // body length in bytes
}

// ParseHeader decodes an envelope header from the first HeaderSize bytes of b.
// It checks the version (3, 4 or 5) and the body length against lim; it does
// not check the opcode, so that a caller can skip a message it does not know.
func ParseHeader(b []byte, lim *Limits) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, &DecodeError{Message: "header", Field: "header", Offset: len(b),
			Err: fmt.Errorf("%w: need %d bytes, have %d", ErrTruncated, HeaderSize, len(b))}
	}
	h := Header{
		Version:  Version(b[0] & 0x7F),
		Response: b[0]&0x80 != 0,
		Flags:    Flags(b[1]),
		Stream:   int16(binary.BigEndian.Uint16(b[2:])),
		Opcode:   Opcode(b[4]),
	}
	if h.Version < V3 || h.Version > V5 {
		return h, &DecodeError{Message: "header", Field: "version", Offset: 0, Err: &UnsupportedVersionError{Version: h.Version}}
	}
	n := binary.BigEndian.Uint32(b[5:])
	if max := lim.maxFrameSize(); uint64(n) > uint64(max) {
		return h, &DecodeError{Message: "header", Field: "length", Offset: 5,
			Err: fmt.Errorf("%w: body of %d bytes, limit %d", ErrTooLarge, n, max)}
	}
	h.Length = int(n)
	return h, nil
}

// AppendHeader appends the 9-byte encoding of h.
func AppendHeader(dst []byte, h Header) []byte {
	v := byte(h.Version)
	if h.Response {
		v |= 0x80
	}
	dst = append(dst, v, byte(h.Flags))
	dst = binary.BigEndian.AppendUint16(dst, uint16(h.Stream))
	dst = append(dst, byte(h.Opcode))
	return binary.BigEndian.AppendUint32(dst, uint32(h.Length))
}

// UnsupportedVersionError is returned for an envelope whose version byte this
// package does not speak.
type UnsupportedVersionError struct{ Version Version }

func (e *UnsupportedVersionError) Error() string {
	return fmt.Sprintf("unsupported protocol version %d", e.Version)
}
