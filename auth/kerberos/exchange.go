package kerberos

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cqlwire/cqlwire/auth/internal/sasl"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

type gssState uint8

const (
	gssStateMechanism   gssState = iota // DSE: "GSSAPI" sent, "GSSAPI-START" expected
	gssStateAPRep                       // AP-REQ sent with mutual authentication: AP-REP expected
	gssStateEstablished                 // context complete: security-layer challenge expected
	gssStateDone                        // security layer negotiated
	gssStateFailed
)

// GSS-API context flags (RFC 2744) put in the authenticator checksum.
const (
	gssFlagMutual = 0x02
	gssFlagConf   = 0x10
	gssFlagInteg  = 0x20
)

// gssapiStart is DSE's answer to the mechanism choice "GSSAPI".
const gssapiStart = "GSSAPI-START"

// Security layers of RFC 4752 3.3.
const (
	layerNone = 0x01
)

// gssExchange is one connection's SASL GSSAPI exchange (client side).
type gssExchange struct {
	principal, service string
	authzid            string
	mutual             bool
	state              gssState

	apReq          []byte
	sessionKey     types.EncryptionKey // the service ticket's session key
	subkey         types.EncryptionKey // our authenticator's subkey
	acceptorSubkey types.EncryptionKey // from the AP-REP, when the server chose one
	seq            uint64              // our sequence number (from the authenticator)
	ctime          time.Time
	cusec          int
	apRepSeen      bool
	emptySeen      bool
}

func isAES(etype int32) bool {
	switch etype {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96,
		etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192:
		return true
	}
	return false
}

// keyByteSize is the key length of an enctype. (gokrb5 v8.4.4 says 24 for
// aes256-cts-hmac-sha384-192, whose keys have 32 bytes, RFC 8009.)
func keyByteSize(et etype.EType) int {
	if et.GetETypeID() == etypeID.AES256_CTS_HMAC_SHA384_192 {
		return 32
	}
	return et.GetKeyByteSize()
}

// initSecContext builds the initial context token: the AP-REQ for tkt.
func (x *gssExchange) initSecContext(cl *client.Client, tkt messages.Ticket, key types.EncryptionKey) ([]byte, error) {
	fail := func(reason string, err error) ([]byte, error) {
		return nil, &Error{Step: "building the AP-REQ", Principal: x.principal, Service: x.service, Reason: reason, Err: err}
	}
	if !isAES(key.KeyType) {
		return fail(fmt.Sprintf("the session key uses enctype %d; only AES enctypes (17, 18, 19, 20) are supported", key.KeyType), nil)
	}
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return fail("", err)
	}
	a, err := types.NewAuthenticator(cl.Credentials.Domain(), cl.Credentials.CName())
	if err != nil {
		return fail("", err)
	}
	if err := a.GenerateSeqNumberAndSubKey(key.KeyType, keyByteSize(et)); err != nil {
		return fail("", err)
	}
	gssFlags := uint32(gssFlagConf | gssFlagInteg)
	if x.mutual {
		gssFlags |= gssFlagMutual
	}
	// RFC 4121 4.1.1: Lgth (16, little-endian), Bnd (16 zero bytes: no
	// channel bindings), Flags (little-endian).
	sum := make([]byte, 24)
	binary.LittleEndian.PutUint32(sum[0:], 16)
	binary.LittleEndian.PutUint32(sum[20:], gssFlags)
	a.Cksum = types.Checksum{CksumType: chksumtype.GSSAPI, Checksum: sum}

	req, err := messages.NewAPReq(tkt, key, a)
	if err != nil {
		return fail("", err)
	}
	if x.mutual {
		types.SetFlag(&req.APOptions, flags.APOptionMutualRequired)
	}
	msg, err := req.Marshal()
	if err != nil {
		return fail("", err)
	}
	x.sessionKey, x.subkey = key, a.SubKey
	x.seq = uint64(a.SeqNumber) & 0xffffffff
	x.ctime, x.cusec = a.CTime, a.Cusec
	return frameContextToken(tokAPReq, msg), nil
}

func (x *gssExchange) sentAPReq() {
	if x.mutual {
		x.state = gssStateAPRep
	} else {
		x.state = gssStateEstablished
	}
}

func (x *gssExchange) fail(step string, err error) error {
	x.state = gssStateFailed
	var ke *Error
	if errors.As(err, &ke) {
		return err
	}
	return &Error{Step: step, Principal: x.principal, Service: x.service, Reason: err.Error()}
}

// Challenge answers the server's challenges (see GSSAPI).
func (x *gssExchange) Challenge(ctx context.Context, token []byte) ([]byte, error) {
	switch x.state {
	case gssStateMechanism:
		if string(token) != gssapiStart {
			return nil, x.fail("choosing the mechanism", fmt.Errorf("DSE challenged the mechanism choice with %s, want %q", sasl.DescribeToken(token), gssapiStart))
		}
		x.sentAPReq()
		return x.apReq, nil
	case gssStateAPRep:
		if len(token) == 0 {
			return nil, x.fail("verifying the server's AP-REP", errors.New("the server sent an empty token instead of its AP-REP, though mutual authentication was requested"))
		}
		if err := x.readAPRep(token); err != nil {
			return nil, x.fail("verifying the server's AP-REP", err)
		}
		x.state = gssStateEstablished
		return []byte{}, nil
	case gssStateEstablished:
		if len(token) == 0 {
			// A server whose context completed without an output token
			// (no mutual authentication) may send it anyway, empty.
			if x.emptySeen {
				return nil, x.fail("negotiating the security layer", errors.New("the server sent a second empty challenge"))
			}
			x.emptySeen = true
			return []byte{}, nil
		}
		if token[0] == 0x60 && !x.apRepSeen {
			// An AP-REP we did not ask for (or a KRB-ERROR): it may set
			// the acceptor subkey the wrap tokens use.
			if err := x.readAPRep(token); err != nil {
				return nil, x.fail("verifying the server's AP-REP", err)
			}
			return []byte{}, nil
		}
		resp, err := x.securityLayer(token)
		if err != nil {
			return nil, x.fail("negotiating the security layer", err)
		}
		x.state = gssStateDone
		return resp, nil
	case gssStateDone:
		return nil, x.fail("negotiating the security layer", fmt.Errorf("unexpected challenge (%s) after the security layer was negotiated", sasl.DescribeToken(token)))
	default:
		return nil, &Error{Step: "continuing the exchange", Principal: x.principal, Service: x.service, Reason: "the exchange already failed"}
	}
}

// Success accepts the server's AUTH_SUCCESS. With mutual authentication
// the server must have proved its identity (its AP-REP, possibly carried
// by this very token) first.
func (x *gssExchange) Success(token []byte) error {
	switch x.state {
	case gssStateMechanism:
		if x.mutual {
			return x.fail("verifying the server", errors.New("the server accepted the login before any Kerberos exchange, so it could not prove its identity (mutual authentication was requested)"))
		}
	case gssStateAPRep:
		if len(token) == 0 {
			return x.fail("verifying the server's AP-REP", errors.New("the server reported success without sending its AP-REP, though mutual authentication was requested"))
		}
		if err := x.readAPRep(token); err != nil {
			return x.fail("verifying the server's AP-REP", err)
		}
	case gssStateFailed:
		return &Error{Step: "completing the exchange", Principal: x.principal, Service: x.service, Reason: "the exchange already failed"}
	}
	return nil
}

// safely runs a parser of hostile bytes from a library, turning a panic
// into an error.
func safely(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed %s", what)
		}
	}()
	return f()
}

// readAPRep verifies the server's AP-REP context token (or reports its
// KRB-ERROR token).
func (x *gssExchange) readAPRep(token []byte) error {
	id, msg, err := parseContextToken(token)
	if err != nil {
		return err
	}
	switch id {
	case tokKRBError:
		var ke messages.KRBError
		if err := safely("KRB-ERROR", func() error { return ke.Unmarshal(msg) }); err != nil {
			return fmt.Errorf("the server answered with a KRB-ERROR token that does not parse: %v", err)
		}
		code, name, reason := krbErrorParts(ke)
		return &Error{Step: "authenticating to the server", Principal: x.principal, Service: x.service, Code: code, Name: name,
			Reason: "the server rejected the AP-REQ: " + reason}
	case tokAPRep:
	default:
		return fmt.Errorf("expected an AP-REP context token, got token id %02x %02x", id[0], id[1])
	}
	var rep messages.APRep
	if err := safely("AP-REP", func() error { return rep.Unmarshal(msg) }); err != nil {
		return fmt.Errorf("the AP-REP does not parse: %v", err)
	}
	var plain []byte
	if err := safely("AP-REP encrypted part", func() (err error) {
		plain, err = crypto.DecryptEncPart(rep.EncPart, x.sessionKey, keyusage.AP_REP_ENCPART)
		return err
	}); err != nil {
		return fmt.Errorf("the AP-REP does not decrypt with the session key (the server does not hold the service key?): %v", err)
	}
	var part messages.EncAPRepPart
	if err := safely("AP-REP encrypted part", func() error { return part.Unmarshal(plain) }); err != nil {
		return fmt.Errorf("the AP-REP's encrypted part does not parse: %v", err)
	}
	if part.CTime.Unix() != x.ctime.Unix() || part.Cusec != x.cusec {
		return errors.New("the AP-REP does not echo the authenticator's time (a replayed or forged reply)")
	}
	if part.Subkey.KeyType != 0 || len(part.Subkey.KeyValue) != 0 {
		if !isAES(part.Subkey.KeyType) {
			return fmt.Errorf("the server chose a subkey of enctype %d; only AES enctypes are supported", part.Subkey.KeyType)
		}
		et, err := crypto.GetEtype(part.Subkey.KeyType)
		if err != nil || len(part.Subkey.KeyValue) != keyByteSize(et) {
			return fmt.Errorf("the server's subkey has %d bytes, wrong for enctype %d", len(part.Subkey.KeyValue), part.Subkey.KeyType)
		}
		x.acceptorSubkey = part.Subkey
	}
	x.apRepSeen = true
	return nil
}

// keyFor returns the key of the wrap tokens: the acceptor's subkey when the
// token says so, else our subkey (RFC 4121 4.2.2).
func (x *gssExchange) keyFor(acceptorSubkey bool) (types.EncryptionKey, error) {
	if acceptorSubkey {
		if len(x.acceptorSubkey.KeyValue) == 0 {
			return types.EncryptionKey{}, errors.New("wrap token claims the acceptor's subkey, but the server chose none")
		}
		return x.acceptorSubkey, nil
	}
	return x.subkey, nil
}

// securityLayer verifies the server's security-layer challenge and returns
// the wrapped answer: no security layer, maximum size 0, authorization id.
func (x *gssExchange) securityLayer(token []byte) ([]byte, error) {
	payload, err := unwrapFromAcceptor(token, x.keyFor)
	if err != nil {
		return nil, err
	}
	if len(payload) != 4 {
		return nil, fmt.Errorf("the security-layer challenge carries %d bytes, want 4", len(payload))
	}
	if payload[0]&layerNone == 0 {
		return nil, fmt.Errorf("the server requires a security layer (offered mask %#02x: integrity 0x02, confidentiality 0x04) and this driver supports none; configure the server's QOP as \"auth\"", payload[0])
	}
	resp := make([]byte, 4, 4+len(x.authzid))
	resp[0] = layerNone // chosen layer: none; max size 0 (RFC 4752 3.1)
	resp = append(resp, x.authzid...)
	var fl byte
	useAcceptor := len(x.acceptorSubkey.KeyValue) != 0
	if useAcceptor {
		fl |= wrapAcceptorSubkey
	}
	key, _ := x.keyFor(useAcceptor)
	return wrapToken(key, usageInitiatorSeal, fl, x.seq, resp)
}

// String never shows keys.
func (x *gssExchange) String() string {
	return "GSSAPI exchange for " + x.principal + " to " + x.service
}

// Format prints String whatever the verb: the exchange holds keys.
func (x *gssExchange) Format(f fmt.State, verb rune) { fmt.Fprint(f, x.String()) }
