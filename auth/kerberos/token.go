package kerberos

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
)

// GSS-API framing of Kerberos V5 context tokens (RFC 2743 3.1, RFC 4121 4.1):
//
//	60 <DER length> 06 09 2a 86 48 86 f7 12 01 02 02 <TOK_ID, 2 bytes> <Kerberos message>
var krb5MechOID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}

// Context token ids (RFC 4121 4.1).
var (
	tokAPReq    = [2]byte{0x01, 0x00}
	tokAPRep    = [2]byte{0x02, 0x00}
	tokKRBError = [2]byte{0x03, 0x00}
)

// maxServerToken bounds the server tokens this package parses.
const maxServerToken = 64 << 10

// frameContextToken wraps a Kerberos message in the GSS-API framing.
func frameContextToken(id [2]byte, msg []byte) []byte {
	n := len(krb5MechOID) + 2 + len(msg)
	out := make([]byte, 0, n+6)
	out = append(out, 0x60)
	out = appendDERLength(out, n)
	out = append(out, krb5MechOID...)
	out = append(out, id[:]...)
	return append(out, msg...)
}

func appendDERLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xff:
		return append(b, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// parseContextToken checks the GSS-API framing and the mechanism OID, and
// returns the token id and the Kerberos message.
func parseContextToken(tok []byte) (id [2]byte, msg []byte, err error) {
	if len(tok) > maxServerToken {
		return id, nil, fmt.Errorf("context token of %d bytes is larger than %d", len(tok), maxServerToken)
	}
	if len(tok) < 2 || tok[0] != 0x60 {
		return id, nil, errors.New("not a GSS-API context token (does not start with 0x60)")
	}
	n, hdr, err := readDERLength(tok[1:])
	if err != nil {
		return id, nil, err
	}
	body := tok[1+hdr:]
	if n != len(body) {
		return id, nil, fmt.Errorf("context token announces %d bytes, has %d", n, len(body))
	}
	if !bytes.HasPrefix(body, krb5MechOID) {
		return id, nil, errors.New("context token is not for the Kerberos V5 mechanism (OID 1.2.840.113554.1.2.2)")
	}
	body = body[len(krb5MechOID):]
	if len(body) < 2 {
		return id, nil, errors.New("context token has no token id")
	}
	copy(id[:], body)
	return id, body[2:], nil
}

// readDERLength reads a definite DER length: its value and how many bytes it took.
func readDERLength(b []byte) (n, size int, err error) {
	if len(b) == 0 {
		return 0, 0, errors.New("context token: missing length")
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 3 || len(b) < 1+k {
		return 0, 0, errors.New("context token: bad length encoding")
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	if n < 0x80 || (k > 1 && b[1] == 0) {
		return 0, 0, errors.New("context token: length not in minimal DER form")
	}
	return n, 1 + k, nil
}

// RFC 4121 4.2.6.2 wrap token flags.
const (
	wrapSentByAcceptor = 0x01
	wrapSealed         = 0x02
	wrapAcceptorSubkey = 0x04
)

// Key usages of RFC 4121 2 for wrap tokens.
const (
	usageAcceptorSeal  = 22
	usageInitiatorSeal = 24
)

const wrapHeaderLen = 16

// checksumSize is the length of the checksums of key's enctype.
func checksumSize(key types.EncryptionKey) (int, error) {
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return 0, err
	}
	return et.GetHMACBitLength() / 8, nil
}

// wrapChecksum is the checksum of an unsealed wrap token: over the
// plaintext, then the header with EC and RRC set to zero (RFC 4121 4.2.4).
func wrapChecksum(key types.EncryptionKey, usage uint32, flags byte, seq uint64, payload []byte) ([]byte, error) {
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, err
	}
	data := make([]byte, 0, len(payload)+wrapHeaderLen)
	data = append(data, payload...)
	data = append(data, 0x05, 0x04, flags, 0xff, 0, 0, 0, 0)
	data = binary.BigEndian.AppendUint64(data, seq)
	return et.GetChecksumHash(key.KeyValue, data, usage)
}

// wrapToken builds an unsealed (integrity only) wrap token.
func wrapToken(key types.EncryptionKey, usage uint32, flags byte, seq uint64, payload []byte) ([]byte, error) {
	sum, err := wrapChecksum(key, usage, flags, seq, payload)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, wrapHeaderLen+len(payload)+len(sum))
	out = append(out, 0x05, 0x04, flags, 0xff)
	out = binary.BigEndian.AppendUint16(out, uint16(len(sum))) // EC: the checksum's length
	out = binary.BigEndian.AppendUint16(out, 0)                // RRC
	out = binary.BigEndian.AppendUint64(out, seq)
	out = append(out, payload...)
	return append(out, sum...), nil
}

// wrapHeader is the parsed header of a wrap token.
type wrapHeader struct {
	flags byte
	ec    uint16
	rrc   uint16
	seq   uint64
}

// parseWrapToken checks a wrap token's header and returns it with the
// token's data (header removed, RRC rotation undone).
func parseWrapToken(tok []byte) (wrapHeader, []byte, error) {
	var h wrapHeader
	if len(tok) > maxServerToken {
		return h, nil, fmt.Errorf("wrap token of %d bytes is larger than %d", len(tok), maxServerToken)
	}
	if len(tok) >= 2 && tok[0] == 0x60 {
		return h, nil, errors.New("got an RFC 1964 style token: only RFC 4121 wrap tokens (AES enctypes) are supported")
	}
	if len(tok) < wrapHeaderLen {
		return h, nil, fmt.Errorf("wrap token of %d bytes is shorter than its %d-byte header", len(tok), wrapHeaderLen)
	}
	if tok[0] != 0x05 || tok[1] != 0x04 {
		return h, nil, fmt.Errorf("not a wrap token (token id %02x %02x, want 05 04)", tok[0], tok[1])
	}
	if tok[3] != 0xff {
		return h, nil, fmt.Errorf("wrap token filler is %02x, want ff", tok[3])
	}
	h.flags = tok[2]
	h.ec = binary.BigEndian.Uint16(tok[4:])
	h.rrc = binary.BigEndian.Uint16(tok[6:])
	h.seq = binary.BigEndian.Uint64(tok[8:])
	data := tok[wrapHeaderLen:]
	if h.rrc != 0 && len(data) > 0 {
		// The sender rotated the data right by RRC bytes; rotate it back.
		r := int(h.rrc) % len(data)
		d := make([]byte, 0, len(data))
		d = append(d, data[r:]...)
		data = append(d, data[:r]...)
	}
	return h, data, nil
}

// unwrapFromAcceptor verifies an unsealed wrap token sent by the acceptor
// and returns its payload. keys picks the key from the AcceptorSubkey flag.
func unwrapFromAcceptor(tok []byte, keyFor func(acceptorSubkey bool) (types.EncryptionKey, error)) ([]byte, error) {
	h, data, err := parseWrapToken(tok)
	if err != nil {
		return nil, err
	}
	if h.flags&wrapSentByAcceptor == 0 {
		return nil, errors.New("wrap token was not sent by the acceptor (flag 0x01 clear): a reflected token?")
	}
	if h.flags&wrapSealed != 0 {
		return nil, errors.New("wrap token is sealed (encrypted), but RFC 4752 wraps the security-layer messages for integrity only; sealed tokens are not supported")
	}
	key, err := keyFor(h.flags&wrapAcceptorSubkey != 0)
	if err != nil {
		return nil, err
	}
	size, err := checksumSize(key)
	if err != nil {
		return nil, err
	}
	if int(h.ec) != size || len(data) < size {
		return nil, fmt.Errorf("wrap token checksum is %d bytes (EC) in %d bytes of data, want %d", h.ec, len(data), size)
	}
	payload, sum := data[:len(data)-size], data[len(data)-size:]
	want, err := wrapChecksum(key, usageAcceptorSeal, h.flags, h.seq, payload)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(sum, want) {
		return nil, errors.New("wrap token checksum does not verify (not made with this context's key)")
	}
	return payload, nil
}
