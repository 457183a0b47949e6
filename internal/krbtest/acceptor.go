package krbtest

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Acceptor is the configuration of the server side of SASL GSSAPI (RFC
// 4752) with a service keytab: it is what DSE's Kerberos authentication
// does, since Apache Cassandra has none. NewSession starts one connection's
// exchange. The zero values of the optional fields give the behaviour of a
// Java SASL server configured for QOP "auth".
type Acceptor struct {
	// Keytab holds the service key(s).
	Keytab *keytab.Keytab
	// Principal is the service principal to accept ("service/host@REALM",
	// or without realm); a ticket for another principal is refused. Empty
	// accepts any principal whose key is in Keytab.
	Principal string

	// DSE makes the session expect DSE's mechanism negotiation first: the
	// token "GSSAPI", answered by the challenge "GSSAPI-START".
	DSE bool
	// Layers is the security-layer mask offered in the security-layer
	// challenge (0x01 none, 0x02 integrity, 0x04 confidentiality); zero
	// means 0x01.
	Layers byte
	// MaxMessageSize is the maximum message size announced with the layers
	// (3 bytes); zero means 65536.
	MaxMessageSize uint32
	// DirectSecurityLayer sends the security-layer challenge right after
	// the AP-REQ when there is no AP-REP to send (no mutual
	// authentication), as Cyrus SASL does, instead of an empty challenge
	// first, as Java's SASL server does.
	DirectSecurityLayer bool
	// NoAcceptorSubkey leaves the subkey out of the AP-REP, so that wrap
	// tokens use the client's subkey.
	NoAcceptorSubkey bool
	// MaxClockSkew is the tolerated clock difference; zero means 5 minutes.
	MaxClockSkew time.Duration
	// Authorize, when set, decides whether user (name@REALM) may act as
	// role (the authorization id; equal to user when none was sent).
	Authorize func(user, role string) error
}

// LoadAcceptor reads a service keytab and returns an Acceptor for principal.
func LoadAcceptor(keytabFile, principal string) (*Acceptor, error) {
	kt, err := keytab.Load(keytabFile)
	if err != nil {
		return nil, fmt.Errorf("krbtest: reading keytab %s: %w", keytabFile, err)
	}
	return &Acceptor{Keytab: kt, Principal: principal}, nil
}

// NewSession starts the server side of one connection's exchange.
func (a *Acceptor) NewSession() *Session { return &Session{acc: a} }

type sessionState uint8

const (
	stMechanism sessionState = iota // DSE: expecting "GSSAPI"
	stAPReq                         // expecting the AP-REQ
	stEmpty                         // context token sent: expecting an empty answer
	stLayer                         // security-layer challenge sent: expecting the answer
	stDone
	stFailed
)

// Session is the server side of one connection's SASL GSSAPI exchange. Its
// Step and Identity methods are those of internal/testserver's SASLServer
// and Identity interfaces.
type Session struct {
	acc   *Acceptor
	state sessionState

	sessionKey     types.EncryptionKey
	initiatorKey   types.EncryptionKey // authenticator subkey, if any
	acceptorSubkey types.EncryptionKey
	clientSeq      uint64
	serverSeq      uint64

	// what was learnt, for tests
	user, role string
	authzID    string
	mutual     bool
	gssFlags   uint32
	chosen     byte
	maxSize    uint32
}

const (
	startToken    = "GSSAPI-START"
	mechanismName = "GSSAPI"
)

// Step implements the SASL exchange: see the package documentation. A
// malformed token is an error, never a panic.
func (s *Session) Step(token []byte) (challenge []byte, done bool, success []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			challenge, done, success, err = s.fail(fmt.Errorf("malformed token (%v)", r))
		}
	}()
	if s.acc.DSE && s.state == stMechanism {
		if string(token) != mechanismName {
			return s.fail(fmt.Errorf("expected the mechanism name %q, got %q", mechanismName, token))
		}
		s.state = stAPReq
		return []byte(startToken), false, nil, nil
	}
	if s.state == stMechanism {
		s.state = stAPReq
	}
	switch s.state {
	case stAPReq:
		out, err := s.acceptAPReq(token)
		if err != nil {
			return s.fail(err)
		}
		if out == nil && s.acc.DirectSecurityLayer {
			return s.layerChallenge()
		}
		s.state = stEmpty
		if out == nil {
			out = []byte{}
		}
		return out, false, nil, nil
	case stEmpty:
		if len(token) != 0 {
			return s.fail(fmt.Errorf("expected an empty response after the context was established, got %d bytes", len(token)))
		}
		return s.layerChallenge()
	case stLayer:
		if err := s.readLayerResponse(token); err != nil {
			return s.fail(err)
		}
		s.state = stDone
		return nil, true, nil, nil
	case stDone:
		return s.fail(errors.New("the exchange is already complete"))
	default:
		return s.fail(errors.New("the exchange already failed"))
	}
}

func (s *Session) fail(err error) ([]byte, bool, []byte, error) {
	s.state = stFailed
	return nil, false, nil, fmt.Errorf("kerberos acceptor: %w", err)
}

// Identity returns the client principal (name@REALM) and the role it acts
// as (its authorization id, else itself).
func (s *Session) Identity() (user, role string) { return s.user, s.role }

// AuthorizationID returns the authorization id the client sent ("" if none).
func (s *Session) AuthorizationID() string { return s.authzID }

// Mutual reports whether the client asked for mutual authentication.
func (s *Session) Mutual() bool { return s.mutual }

// GSSFlags returns the GSS-API flags of the client's authenticator checksum.
func (s *Session) GSSFlags() uint32 { return s.gssFlags }

// Chosen returns the security layer and maximum size the client chose.
func (s *Session) Chosen() (layer byte, maxSize uint32) { return s.chosen, s.maxSize }

// Done reports whether the exchange succeeded.
func (s *Session) Done() bool { return s.state == stDone }

// acceptAPReq validates the AP-REQ; it returns the AP-REP context token
// when the client asked for mutual authentication, else nil.
func (s *Session) acceptAPReq(token []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed initial context token (%v)", r)
		}
	}()
	var tok spnego.KRB5Token
	if err := tok.Unmarshal(token); err != nil {
		return nil, fmt.Errorf("initial context token: %v", err)
	}
	if !tok.IsAPReq() {
		return nil, errors.New("initial context token is not an AP-REQ")
	}
	req := &tok.APReq
	if want := s.acc.Principal; want != "" {
		name, realm, _ := strings.Cut(want, "@")
		got := strings.Join(req.Ticket.SName.NameString, "/")
		if got != name || (realm != "" && req.Ticket.Realm != realm) {
			return nil, fmt.Errorf("ticket is for %s@%s, this service is %s", got, req.Ticket.Realm, want)
		}
	}
	skew := s.acc.MaxClockSkew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	settings := service.NewSettings(s.acc.Keytab, service.DecodePAC(false), service.MaxClockSkew(skew))
	ok, creds, err := service.VerifyAPREQ(req, settings)
	if err != nil {
		return nil, fmt.Errorf("AP-REQ for %s@%s rejected: %v", strings.Join(req.Ticket.SName.NameString, "/"), req.Ticket.Realm, err)
	}
	if !ok {
		return nil, errors.New("AP-REQ rejected")
	}
	s.user = creds.CName().PrincipalNameString() + "@" + creds.Domain()
	s.sessionKey = req.Ticket.DecryptedEncPart.Key
	auth := req.Authenticator
	if auth.Cksum.CksumType != chksumtype.GSSAPI || len(auth.Cksum.Checksum) < 24 || binary.LittleEndian.Uint32(auth.Cksum.Checksum) != 16 {
		return nil, fmt.Errorf("authenticator checksum is not a GSS-API checksum (type %d, %d bytes)", auth.Cksum.CksumType, len(auth.Cksum.Checksum))
	}
	s.gssFlags = binary.LittleEndian.Uint32(auth.Cksum.Checksum[20:])
	s.mutual = types.IsFlagSet(&req.APOptions, flags.APOptionMutualRequired) || s.gssFlags&gssapi.ContextFlagMutual != 0
	if len(auth.SubKey.KeyValue) > 0 {
		s.initiatorKey = auth.SubKey
	}
	s.clientSeq = uint64(auth.SeqNumber) & 0xffffffff
	s.serverSeq = s.clientSeq // RFC 1964/4121: without an AP-REP both sides start at the initiator's number
	if !s.mutual {
		return nil, nil
	}
	var seq [4]byte
	rand.Read(seq[:])
	s.serverSeq = uint64(binary.BigEndian.Uint32(seq[:]) & 0x3fffffff)
	part := encAPRepPart{CTime: auth.CTime.UTC(), Cusec: auth.Cusec, SequenceNumber: int64(s.serverSeq)}
	if !s.acc.NoAcceptorSubkey {
		et, err := crypto.GetEtype(s.sessionKey.KeyType)
		if err != nil {
			return nil, err
		}
		n := et.GetKeyByteSize()
		if s.sessionKey.KeyType == 20 { // aes256-cts-hmac-sha384-192: 32 bytes (gokrb5 says 24)
			n = 32
		}
		k := make([]byte, n)
		rand.Read(k)
		s.acceptorSubkey = types.EncryptionKey{KeyType: s.sessionKey.KeyType, KeyValue: k}
		part.Subkey = encryptionKey{KeyType: s.acceptorSubkey.KeyType, KeyValue: k}
	}
	b, err := marshalApplication(asnAppTag.EncAPRepPart, part)
	if err != nil {
		return nil, err
	}
	enc, err := crypto.GetEncryptedData(b, s.sessionKey, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		return nil, err
	}
	rep := apRep{PVNO: iana.PVNO, MsgType: msgtype.KRB_AP_REP, EncPart: encryptedData{EType: enc.EType, Cipher: enc.Cipher}}
	rb, err := marshalApplication(asnAppTag.APREP, rep)
	if err != nil {
		return nil, err
	}
	// GSS-API framing (RFC 2743 3.1): [APPLICATION 0] { OID, TOK_ID 02 00, AP-REP }.
	inner, err := asn1.Marshal(krb5OID)
	if err != nil {
		return nil, err
	}
	inner = append(inner, 0x02, 0x00)
	inner = append(inner, rb...)
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: 0, IsCompound: true, Bytes: inner})
}

// The Kerberos V5 GSS-API mechanism.
var krb5OID = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}

// RFC 4120 5.5.2 structures, encoded with the standard library's
// encoding/asn1 (independently of gokrb5's encoder).
type encryptionKey struct {
	KeyType  int32  `asn1:"explicit,tag:0"`
	KeyValue []byte `asn1:"explicit,tag:1"`
}

type encAPRepPart struct {
	CTime          time.Time     `asn1:"generalized,explicit,tag:0"`
	Cusec          int           `asn1:"explicit,tag:1"`
	Subkey         encryptionKey `asn1:"optional,explicit,tag:2"`
	SequenceNumber int64         `asn1:"optional,explicit,tag:3"`
}

type encryptedData struct {
	EType  int32  `asn1:"explicit,tag:0"`
	Cipher []byte `asn1:"explicit,tag:2"`
}

type apRep struct {
	PVNO    int           `asn1:"explicit,tag:0"`
	MsgType int           `asn1:"explicit,tag:1"`
	EncPart encryptedData `asn1:"explicit,tag:2"`
}

// marshalApplication encodes v wrapped in an [APPLICATION tag] tag.
func marshalApplication(tag int, v any) ([]byte, error) {
	b, err := asn1.Marshal(v)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: tag, IsCompound: true, Bytes: b})
}

// wrapKey is the key of the wrap tokens: the acceptor subkey, else the
// initiator's subkey, else the session key (RFC 4121 2).
func (s *Session) wrapKey() (types.EncryptionKey, byte) {
	if len(s.acceptorSubkey.KeyValue) > 0 {
		return s.acceptorSubkey, 0x04
	}
	if len(s.initiatorKey.KeyValue) > 0 {
		return s.initiatorKey, 0
	}
	return s.sessionKey, 0
}

// layerChallenge sends the wrapped security-layer offer.
func (s *Session) layerChallenge() ([]byte, bool, []byte, error) {
	layers := s.acc.Layers
	if layers == 0 {
		layers = 0x01
	}
	max := s.acc.MaxMessageSize
	if max == 0 {
		max = 65536
	}
	key, fl := s.wrapKey()
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return s.fail(err)
	}
	wt := gssapi.WrapToken{
		Flags:     0x01 | fl, // sent by the acceptor
		EC:        uint16(et.GetHMACBitLength() / 8),
		SndSeqNum: s.serverSeq,
		Payload:   []byte{layers, byte(max >> 16), byte(max >> 8), byte(max)},
	}
	if err := wt.SetCheckSum(key, keyusage.GSSAPI_ACCEPTOR_SEAL); err != nil {
		return s.fail(err)
	}
	b, err := wt.Marshal()
	if err != nil {
		return s.fail(err)
	}
	s.state = stLayer
	return b, false, nil, nil
}

// readLayerResponse verifies the client's wrapped choice and authorization id.
func (s *Session) readLayerResponse(token []byte) error {
	var wt gssapi.WrapToken
	if err := wt.Unmarshal(token, false); err != nil {
		return fmt.Errorf("security-layer response: %v", err)
	}
	key, fl := s.wrapKey()
	if wt.Flags&0x02 != 0 {
		return errors.New("security-layer response is sealed; RFC 4752 wraps it for integrity only")
	}
	if wt.Flags&0x04 != fl {
		return fmt.Errorf("security-layer response has flags %#02x; the acceptor-subkey flag should be %#02x", wt.Flags, fl)
	}
	if wt.RRC != 0 {
		return fmt.Errorf("security-layer response has RRC %d; this acceptor expects 0", wt.RRC)
	}
	if ok, err := wt.Verify(key, keyusage.GSSAPI_INITIATOR_SEAL); !ok {
		return fmt.Errorf("security-layer response checksum: %v", err)
	}
	if wt.SndSeqNum != s.clientSeq {
		return fmt.Errorf("security-layer response has sequence number %d, want the authenticator's %d", wt.SndSeqNum, s.clientSeq)
	}
	p := wt.Payload
	if len(p) < 4 {
		return fmt.Errorf("security-layer response carries %d bytes, want at least 4", len(p))
	}
	s.chosen, s.maxSize = p[0], uint32(p[1])<<16|uint32(p[2])<<8|uint32(p[3])
	offered := s.acc.Layers
	if offered == 0 {
		offered = 0x01
	}
	if s.chosen&(s.chosen-1) != 0 || s.chosen&offered == 0 {
		return fmt.Errorf("client chose security layer %#02x, offered %#02x", s.chosen, offered)
	}
	if s.chosen == 0x01 && s.maxSize != 0 {
		return fmt.Errorf("client chose no security layer but a maximum size of %d (RFC 4752: must be 0)", s.maxSize)
	}
	s.authzID = string(p[4:])
	if bytes.IndexByte(p[4:], 0) >= 0 {
		return errors.New("authorization id contains a NUL byte")
	}
	s.role = s.user
	if s.authzID != "" {
		s.role = s.authzID
	}
	if s.acc.Authorize != nil {
		if err := s.acc.Authorize(s.user, s.role); err != nil {
			return fmt.Errorf("%s may not act as %s: %v", s.user, s.role, err)
		}
	}
	return nil
}
